/**
 * The ZooKeeper ensemble loses its quorum under a leading Sluice replica (3-server ensemble on
 * loopback, replicas as child processes, the simulator in this process, real clock).
 *
 * Ground truth: the simulator's record of the scheduler calls it received, with the stream id each
 * carried. The leader's lease is 2/3 of the session timeout after its last confirmed round trip, so
 * once the ensemble stops answering it must not issue a call later than `lostAt + lease` (plus a
 * margin for a call already on the wire), and it says why (logs, /api/v1/status while it is up).
 */
import { expect } from 'chai';
import type { Subscription } from 'rxjs';
import { startZooKeeperEnsemble, type ZooKeeperEnsemble } from '../helpers/zookeeper.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { api, quietLogger, realDelay } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';
import { haStatus, recordCalls, role, spawnReplica, waitFor, type CallRec, type Replica } from './replica-helpers.js';

const SESSION_MS = 3_000;
const LEASE_MS = (SESSION_MS * 2) / 3;
/** A call already on the wire when the lease ends may still arrive. */
const WIRE_MARGIN_MS = 500;

describe('HA: the ZooKeeper ensemble loses its quorum (3 servers, child-process replicas)', function () {
  this.timeout(240_000);
  let ens: ZooKeeperEnsemble;
  let sim: Sim;
  let sub: Subscription;
  let calls: CallRec[] = [];
  const replicas: Replica[] = [];

  before(async () => {
    ens = await startZooKeeperEnsemble(3);
    sim = await startSim({ agents: 6, racks: 3, seed: 5, taskStartupDelayMs: 100, logger: quietLogger() });
    ({ calls, sub } = recordCalls(sim));
  });
  after(async () => {
    for (const r of replicas) r.kill();
    sub?.unsubscribe();
    await sim?.close();
    await ens?.stop();
  });

  it('the leader stops acting within its lease and says why; when quorum returns a restarted replica leads with the same framework id', async () => {
    const ha = ens.url('/sluice-quorum');
    const start = async () => {
      const r = await spawnReplica(sim.url, ha, { sessionTimeout: `${SESSION_MS / 1000}s` });
      replicas.push(r);
      return r;
    };
    const a = await start();
    await waitFor('a leads', async () => (await role(a)) === 'leader', 60_000);
    const b = await start();
    await waitFor('b is a standby', async () => (await role(b)) === 'standby', 60_000);

    expect((await api(a.url, 'POST', '/api/v1/jobs', job('web', 3))).status).to.equal(201);
    await waitFor('web running', async () => {
      const r = await api(a.url, 'GET', '/api/v1/jobs/web');
      return r.status === 200 && r.body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING').length === 3;
    });
    const fwId = (await api(a.url, 'GET', '/api/v1/status')).body.framework_id as string;
    const aStream = calls.find((c) => c.type === 'SUBSCRIBE')!.streamId;
    expect(aStream).to.be.a('string');

    // poll the leader's status throughout the outage (a request must not hang on ZooKeeper)
    const seen: Array<{ at: number; ha: Awaited<ReturnType<typeof haStatus>> }> = [];
    let polling = true;
    const poller = (async () => {
      while (polling && a.proc.exitCode === null) {
        const ha = await Promise.race([haStatus(a), realDelay(1_000).then(() => 'timeout' as const)]);
        seen.push({ at: Date.now(), ha: ha === 'timeout' ? { role: 'timeout' } : ha });
        await realDelay(100);
      }
    })();

    // quorum loss: a follower, then the ZooKeeper leader → the last server stops serving at once
    const modes = await ens.modes();
    const zkLeader = modes.indexOf('leader');
    const follower = modes.findIndex((m, i) => i !== zkLeader && m === 'follower');
    await ens.stopServer(follower);
    await ens.stopServer(zkLeader);
    const lostAt = Date.now();
    // after the lease has ended, give the old leader work it must not do: tasks crash (their
    // updates would be acknowledged, the instances replaced). Crashing earlier makes the leader
    // write to the store, which fails with CONNECTION_LOSS and stops it at once (also correct).
    const crash = (async () => {
      await realDelay(LEASE_MS + WIRE_MARGIN_MS);
      for (let i = 0; i < 12; i++) {
        const t = sim.groundTruth().find((x) => x.frameworkId === fwId && x.state === 'TASK_RUNNING');
        if (t) sim.faults.killTask(fwId, t.taskId);
        await realDelay(400);
      }
    })();

    const codeA = await a.exited;
    const exitMs = Date.now() - lostAt;
    polling = false;
    await poller;
    await crash;
    expect(codeA, a.output().slice(-3000)).to.equal(75);
    expect(exitMs, 'leader exited long after quorum loss').to.be.lessThan(SESSION_MS + 10_000);

    // ground truth: nothing from the old leader after its lease ended
    const late = calls.filter((c) => c.at > lostAt + LEASE_MS + WIRE_MARGIN_MS && (c.streamId === aStream || c.type === 'SUBSCRIBE'));
    expect(late, `calls after the lease (exit after ${exitMs} ms)`).to.deep.equal([]);

    // it says why: logs, and /api/v1/status answered (never hung) while it was up
    expect(a.output()).to.match(/"event":"zk_disconnected"/);
    expect(a.output()).to.match(/"event":"replica_stepping_down","reason":"[^"]*(lease|session|CONNECTION_LOSS)/);
    expect(a.output()).to.match(/leadership lost \(.*(lease|session|CONNECTION_LOSS).*\); exiting with 75/);
    expect(seen.filter((s) => s.ha?.role === 'timeout'), JSON.stringify(seen)).to.deep.equal([]);
    const during = seen.filter((s) => s.at > lostAt);
    expect(
      during.some((s) => s.ha?.zk_session === 'disconnected' || s.ha?.lost_reason),
      `status during the outage: ${JSON.stringify(during)}`,
    ).to.equal(true);

    // the standby cannot keep its session either: it exits 75 for its supervisor too
    expect(await b.exited, b.output().slice(-2000)).to.equal(75);

    // quorum returns; the supervisor restarts a replica: it leads, with the framework id from ZooKeeper
    ens.startServer(zkLeader);
    ens.startServer(follower);
    await ens.waitQuorum();
    const subsBefore = calls.filter((c) => c.type === 'SUBSCRIBE').length;
    const c = await start();
    await waitFor('c leads', async () => (await role(c)) === 'leader', 60_000);
    await waitFor('c subscribed', () => calls.filter((x) => x.type === 'SUBSCRIBE').length > subsBefore);
    expect(calls.filter((x) => x.type === 'SUBSCRIBE').at(-1)!.frameworkId).to.equal(fwId);
    // and it resumes: the crashed instances run again (ground truth)
    await waitFor('web back to 3 running (ground truth)', () => sim.groundTruth().filter((t) => t.frameworkId === fwId && t.state === 'TASK_RUNNING').length === 3, 60_000);
    const st = await api(c.url, 'GET', '/api/v1/jobs/web');
    expect(st.body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING')).to.have.length(3);
  });
});
