/**
 * The console's data routes (/api/v1/agents, /api/v1/sla/jobs) answer from the durable state
 * (runtime.read), like every other API read: a change the runtime has made in memory but not yet
 * written is never shown. Real parts: the runtime on the ZooKeeper store of a real ZooKeeper, which
 * is SIGSTOPped to hold a write on the wire, and the console's routes over real HTTP.
 */
import { expect } from 'chai';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { ZkSession } from '../../src/zk/session.js';
import { parseZkUrl } from '../../src/zk/url.js';
import { ZkStore } from '../../src/ha/zk-store.js';
import { SluiceRuntime } from '../../src/runtime/runtime.js';
import { Router } from '../../src/api/router.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { registerConsole } from '../../src/console/routes.js';
import { quietLogger, realDelay } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';

describe('console reads: from the durable state only', function () {
  this.timeout(60_000);
  let zk: ZooKeeperStandalone;
  let session: ZkSession;
  let store: ZkStore;
  let runtime: SluiceRuntime;
  let api: ApiServer;
  let paused = false;
  const signal = (s: NodeJS.Signals) => process.kill(-zk.server.child!.pid!, s); // the server's process group

  before(async () => {
    zk = await startZooKeeper();
    session = await ZkSession.connect(parseZkUrl(zk.url('/durable-reads')), { sessionTimeoutMs: 10_000 });
    store = await ZkStore.open(session, '/durable-reads', { owner: 'test' });
    // no master answers: the loop only takes commands and writes them
    runtime = SluiceRuntime.start({
      store,
      masters: ['http://127.0.0.1:1'],
      framework: { name: 'sluice', user: 'root', roles: ['*'], failoverTimeoutSeconds: 60 },
      logger: quietLogger(),
      client: { random: () => 0.5 },
    });
    const router = new Router();
    registerConsole(router, runtime);
    api = await startApiServer({ listen: '127.0.0.1:0', router });
  });
  after(async () => {
    if (paused) signal('SIGCONT');
    await api?.close();
    await runtime?.stop();
    await store?.close();
    await session?.close();
    await zk?.stop();
  });

  const get = async (p: string) => (await fetch(api.url + p)).json() as Promise<{ jobs?: Array<{ job: string }>; agents?: unknown[] }>;

  it('a job created while its write is held is shown only once the write is durable', async () => {
    expect((await get('/api/v1/sla/jobs')).jobs).to.deep.equal([]);
    const order: string[] = [];
    signal('SIGSTOP');
    paused = true;
    const created = runtime.submit({ type: 'create_job', spec: job('web', 2) }).then((r) => {
      order.push('durable');
      return r;
    });
    // the loop has applied the command in memory: only the write is outstanding
    while (!runtime.state.jobs.has('web')) await realDelay(5);
    const answers = ['/api/v1/sla/jobs', '/api/v1/agents'].map((p) =>
      get(p).then((b) => {
        order.push(p);
        return b;
      }),
    );
    await realDelay(300); // room for an answer from memory to arrive (the old, live read did)
    signal('SIGCONT');
    paused = false;
    expect((await created).ok).to.equal(true);
    const [sla, agents] = await Promise.all(answers);
    expect(order[0], `answered before the write was durable: ${order.join(', ')}`).to.equal('durable');
    expect(sla!.jobs!.map((j) => j.job)).to.deep.equal(['web']);
    expect(agents!.agents).to.deep.equal([]);
  });
});
