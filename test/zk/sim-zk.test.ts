/**
 * End to end through ZooKeeper: the simulator's 3 masters register in a real ZooKeeper as Mesos
 * masters do (`--zk`), a whole in-process Sluice started with `--master zk://…` subscribes to the
 * leader it finds there, and a failover announced through ZooKeeper makes it re-subscribe to the
 * new leader without a restart, with the same framework ID.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import { firstValueFrom, filter, take, timeout, toArray } from 'rxjs';
import { SchedulerClient, type ConnectionState } from '../../src/client/client.js';
import { masterInfoJson } from '../../src/zk/master-info.js';
import { ZkMasterDetector } from '../../src/zk/master-detector.js';
import { loadConfig } from '../../src/config.js';
import { startSluice, type SluiceApp } from '../../src/app/app.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { parseSimArgs, SimCliError } from '../../src/sim/cli.js';
import { ZkSession } from '../../src/zk/session.js';
import { parseZkUrl } from '../../src/zk/url.js';
import { captureLogger } from '../client/helpers.js';
import { readFixture } from '../helpers/fixtures.js';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { tmpDir } from '../e2e/workload-helpers.js';

const REC = JSON.parse(readFixture('real-mesos-1.12', 'zk', '1-one-master.json').toString('utf8')) as Array<{ path: string; data: string }>;
const RECORDED = REC.find((n) => n.path.includes('json.info_'))!.data;
const RECORDED_ID = '114bd390-b388-4541-810c-41b0ffb5e6cc';

describe('simulator masters in ZooKeeper + Sluice with --master zk:// (real ZooKeeper, real HTTP)', function () {
  this.timeout(90_000);
  let zk: ZooKeeperStandalone;
  let admin: ZkSession;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    zk = await startZooKeeper();
    admin = await ZkSession.connect(parseZkUrl(zk.url('/x')));
  });
  after(async () => {
    await admin?.close();
    await zk?.stop();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });

  const masterNodes = async (path: string) => {
    const children = (await admin.getChildren(path)).children.filter((c) => c.startsWith('json.info_')).sort();
    return Promise.all(children.map(async (c) => ({ name: c, data: (await admin.getData(`${path}/${c}`)).data.toString('utf8') })));
  };

  it('each master registers json.info_ with its MasterInfo in the recorded format; the lowest leads; close() removes them', async () => {
    const sim = await startSim({ agents: 2, masters: 3, zk: zk.url('/mesos-reg') });
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await sim.close();
    });
    const nodes = await masterNodes('/mesos-reg');
    expect(nodes).to.have.length(3);
    nodes.forEach((n, i) => {
      const node = sim.nodes[i]!;
      // byte for byte the recorded data, with this master's id and port
      expect(n.data).to.equal(RECORDED.replace(RECORDED_ID, node.masterId).replaceAll('5050', String(node.port)));
    });
    expect(sim.leader).to.equal(sim.nodes[0]);
    await sim.close();
    closed = true;
    expect(await masterNodes('/mesos-reg')).to.deep.equal([]);
  });

  it('Sluice finds the leader through ZooKeeper and follows a failover announced there (same framework ID, no restart)', async () => {
    const sim: Sim = await startSim({ agents: 3, racks: 3, masters: 3, zk: zk.url('/mesos') });
    cleanups.push(() => sim.close());
    const log = captureLogger();
    const cfg = loadConfig({ master: zk.url('/mesos'), store: tmpDir('sluice-zk-e2e-'), 'api-listen': '127.0.0.1:0', 'no-demo': true }, {});
    cleanups.push(async () => fs.rmSync(cfg.storePath, { recursive: true, force: true }));
    const app: SluiceApp = await startSluice(cfg, { logger: log.logger, runtime: { client: { backoff: { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 } } } });
    cleanups.push(() => app.stop());
    const subscribedAt = (url: string) =>
      firstValueFrom(
        app.runtime.client.connection$.pipe(
          filter((s): s is Extract<ConnectionState, { state: 'subscribed' }> => s.state === 'subscribed' && s.masterUrl === url),
          timeout(30_000),
        ),
      );
    const first = await subscribedAt(sim.nodes[0]!.url);
    expect(log.events('zk_leader_detected').map((e) => e['master'])).to.include(sim.nodes[0]!.url);

    const before = (await masterNodes('/mesos')).map((n) => n.name);
    const resubscribed = subscribedAt(sim.nodes[1]!.url);
    await sim.faults.failover(); // master 0 dies: its znode goes, ZooKeeper announces master 1
    const second = await resubscribed;
    expect(second.frameworkId).to.equal(first.frameworkId);
    expect(second.streamId).to.not.equal(first.streamId);
    expect(app.runtime.state.frameworkId).to.equal(first.frameworkId);
    expect(sim.leader).to.equal(sim.nodes[1]);
    expect(log.events('zk_leader_detected').map((e) => e['master'])).to.include(sim.nodes[1]!.url);

    // ZooKeeper's view: master 0's old node is gone; it came back behind the others with a new id
    const after = await masterNodes('/mesos');
    expect(after.map((n) => n.name)).to.not.include(before[0]);
    expect(after.map((n) => n.name).slice(0, 2)).to.deep.equal(before.slice(1));
    expect(JSON.parse(after[0]!.data).address.port).to.equal(sim.nodes[1]!.port);
    expect(JSON.parse(after[2]!.data).id).to.equal(sim.nodes[0]!.masterId);
  });

  it('a leader change pushed by ZooKeeper drops a still-healthy stream at once (no heartbeat wait)', async () => {
    // ZooKeeper names master 1 while master 0's stream is still fine: the client must not wait for
    // the stream to die (75 s watchdog); master 1 (a standby here) redirects it back to master 0.
    const sim = await startSim({ agents: 1, masters: 2 });
    cleanups.push(() => sim.close());
    const owner = await ZkSession.connect(parseZkUrl(zk.url('/push')));
    cleanups.push(() => owner.close());
    await owner.mkdirp('/push');
    const n0 = await owner.create('/push/json.info_', masterInfoJson(sim.nodes[0]!.info), { mode: 'ephemeral_sequential' });
    const log = captureLogger();
    const detector = new ZkMasterDetector(zk.url('/push'), { logger: log.logger });
    cleanups.push(() => detector.close());
    const client = new SchedulerClient({ masters: [zk.url('/push')], detector, frameworkInfo: { user: 'u', name: 'push-test', roles: ['*'], failover_timeout: 3600, capabilities: [{ type: 'MULTI_ROLE' }] }, logger: log.logger, backoff: { initialMs: 50, maxMs: 200, factor: 2, jitter: 0 } });
    cleanups.push(() => client.stop());
    client.start();
    const subscribed = (n: number) => firstValueFrom(client.connection$.pipe(filter((c) => c.state === 'subscribed'), take(n), toArray(), timeout(30_000)));
    const first = (await subscribed(1))[0] as Extract<ConnectionState, { state: 'subscribed' }>;
    expect(first.masterUrl).to.equal(sim.nodes[0]!.url);
    const again = subscribed(1 + 1);
    await owner.create('/push/json.info_', masterInfoJson(sim.nodes[1]!.info), { mode: 'ephemeral_sequential' });
    await owner.remove(n0);
    const [, second] = (await again) as Array<Extract<ConnectionState, { state: 'subscribed' }>>;
    expect(second!.frameworkId).to.equal(first.frameworkId);
    expect(log.events('leader_changed')[0]).to.include({ from: sim.nodes[0]!.url, to: sim.nodes[1]!.url });
    expect(log.events('stream_closed').map((e) => e['reason'])).to.include('leader_changed');
    expect(log.events('redirected').map((e) => e['to'])).to.include(sim.nodes[0]!.url);
  });

  it('sluice sim --zk is validated like every zk:// URL', () => {
    expect(parseSimArgs(['--zk', 'zk://127.0.0.1:2181/mesos'])).to.include({ zk: 'zk://127.0.0.1:2181/mesos' });
    expect(() => parseSimArgs(['--zk', 'zk://127.0.0.1:2181'])).to.throw(SimCliError, /--zk: missing znode path/);
    expect(() => parseSimArgs(['--zk', 'http://127.0.0.1:2181/mesos'])).to.throw(SimCliError, /unsupported scheme/);
  });
});
