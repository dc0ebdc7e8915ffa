/**
 * Sluice replicas (`sluice start --ha zk://…`, real child processes) against a real ZooKeeper and
 * the simulator (in this process, real clock). Ground truth: the simulator's record of the
 * scheduler calls it received, each with the Mesos-Stream-Id it carried.
 */
import { expect } from 'chai';
import type { Subscription } from 'rxjs';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { api, quietLogger, realDelay } from '../e2e/workload-helpers.js';
import { job, metric } from '../e2e/maintenance-helpers.js';
import { recordCalls, role, spawnReplica, waitFor, type CallRec, type Replica } from './replica-helpers.js';

describe('HA replicas (child processes, real ZooKeeper, simulator)', function () {
  this.timeout(120_000);
  let zk: ZooKeeperStandalone;
  let sim: Sim;
  let sub: Subscription;
  let calls: CallRec[] = [];
  const replicas: Replica[] = [];

  before(async () => {
    zk = await startZooKeeper();
    sim = await startSim({ agents: 6, racks: 3, seed: 3, taskStartupDelayMs: 100, logger: quietLogger() });
    ({ calls, sub } = recordCalls(sim));
  });
  after(async () => {
    for (const r of replicas) r.kill();
    sub?.unsubscribe();
    await sim?.close();
    await zk?.stop();
  });

  it('one leader; kill -9 → a standby takes over with the same framework id; SIGSTOP past the session → the old leader never acts again', async () => {
    const ha = zk.url('/sluice-ha');
    const a = await spawnReplica(sim.url, ha);
    replicas.push(a);
    await waitFor('a leads', async () => (await role(a)) === 'leader');
    const b = await spawnReplica(sim.url, ha);
    replicas.push(b);
    await waitFor('b is a standby', async () => (await role(b)) === 'standby');

    // both serve /metrics: the leader reports 1, the standby 0; both sessions connected
    const [ma, mb] = await Promise.all([a, b].map(async (r) => (await fetch(`${r.url}/metrics`)).text()));
    expect(metric(ma!, 'sluice_leader')).to.equal(1);
    expect(metric(mb!, 'sluice_leader')).to.equal(0);
    expect(metric(ma!, 'sluice_leadership_changes_total')).to.equal(1);
    expect(metric(mb!, 'sluice_leadership_changes_total')).to.equal(0);
    for (const m of [ma!, mb!]) {
      expect(metric(m, 'sluice_zk_session_state', { state: 'connected' })).to.equal(1);
      expect(metric(m, 'sluice_zk_session_state', { state: 'disconnected' })).to.equal(0);
    }

    // the standby sends writes to the leader
    const redirect = await fetch(`${b.url}/api/v1/jobs`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(redirect.status).to.equal(307);
    expect(redirect.headers.get('location')).to.equal(`${a.url}/api/v1/jobs`);

    expect((await api(a.url, 'POST', '/api/v1/jobs', job('web', 3))).status).to.equal(201);
    let fwId = '';
    await waitFor('web running', async () => {
      const r = await api(a.url, 'GET', '/api/v1/jobs/web');
      return r.status === 200 && r.body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING').length === 3;
    });
    // the standby answers reads from its copy of the state in ZooKeeper, marked stale
    await waitFor('the standby sees web running', async () => {
      const r = await fetch(`${b.url}/api/v1/jobs/web`, { redirect: 'manual' });
      if (r.status !== 200) return false;
      const body = (await r.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      return body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING').length === 3;
    });
    const sr = await fetch(`${b.url}/api/v1/jobs`, { redirect: 'manual' });
    expect(sr.status).to.equal(200);
    expect(sr.headers.get('x-sluice-stale')).to.equal('true');
    const sb = (await sr.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(sb.stale).to.equal(true);
    expect(Date.parse(sb.as_of)).to.be.closeTo(Date.now(), 60_000);
    expect(sb.jobs.map((j: { name: string }) => j.name)).to.deep.equal(['web']);
    const sh = await api(b.url, 'GET', '/api/v1/hosts');
    expect(sh.status).to.equal(200);
    expect(sh.body).to.include({ stale: true });
    expect(sh.body.hosts).to.deep.equal([]);
    expect((await api(b.url, 'GET', '/api/v1/hosts?states=NOPE')).status).to.equal(400);
    expect((await api(b.url, 'GET', '/api/v1/jobs/nope')).status).to.equal(404);
    const bStatus = (await api(b.url, 'GET', '/api/v1/status')).body;
    expect(bStatus).to.include({ stale: true, jobs: 1, instances: 3 });
    // what needs the leader's live view still goes there
    const live = await fetch(`${b.url}/api/v1/sla/safe`, { redirect: 'manual' });
    expect(live.status).to.equal(307);
    expect(live.headers.get('location')).to.equal(`${a.url}/api/v1/sla/safe`);
    // the leader's own answers are not marked
    const lr = await fetch(`${a.url}/api/v1/jobs`);
    expect(lr.headers.get('x-sluice-stale')).to.equal(null);
    expect(((await lr.json()) as { stale?: boolean }).stale).to.equal(undefined);

    const subs = calls.filter((c) => c.type === 'SUBSCRIBE');
    expect(subs).to.have.length(1); // only the leader subscribed
    fwId = (await api(a.url, 'GET', '/api/v1/status')).body.framework_id;
    expect(fwId).to.be.a('string').and.not.equal('');

    // kill -9 the leader: b takes over (after the session timeout) with the framework id from ZooKeeper
    a.proc.kill('SIGKILL');
    await a.exited;
    await waitFor('b leads', async () => (await role(b)) === 'leader');
    await waitFor('b subscribed', () => calls.filter((c) => c.type === 'SUBSCRIBE').length === 2);
    const bSub = calls.filter((c) => c.type === 'SUBSCRIBE')[1]!;
    expect(bSub.frameworkId).to.equal(fwId);
    const st = await api(b.url, 'GET', '/api/v1/jobs/web');
    expect(st.body.instances).to.have.length(3);
    // the workload continues under b: scale up
    expect((await api(b.url, 'PUT', '/api/v1/jobs/web', { ...job('web', 4) })).status).to.be.oneOf([200, 202]);
    await waitFor('web scaled under b', async () => {
      const r = await api(b.url, 'GET', '/api/v1/jobs/web');
      return r.body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING').length === 4;
    });

    // a fresh standby, then freeze the leader b past the session timeout
    const c = await spawnReplica(sim.url, ha);
    replicas.push(c);
    await waitFor('c is a standby', async () => (await role(c)) === 'standby');
    b.proc.kill('SIGSTOP');
    await waitFor('c leads', async () => (await role(c)) === 'leader', 30_000);
    await waitFor('c subscribed', () => calls.filter((x) => c && x.type === 'SUBSCRIBE').length === 3);
    const cSub = calls.filter((x) => x.type === 'SUBSCRIBE')[2]!;
    expect(cSub.frameworkId).to.equal(fwId);
    await realDelay(500);
    const contAt = Date.now();
    b.proc.kill('SIGCONT');
    const code = await b.exited;
    expect(code, b.output().slice(-2000)).to.equal(75);
    await realDelay(500);
    // after SIGCONT the old leader issued nothing: no call on its stream, no new SUBSCRIBE
    const after = calls.filter((x) => x.at >= contAt);
    expect(after.filter((x) => x.streamId === bSub.streamId)).to.deep.equal([]);
    expect(after.filter((x) => x.type === 'SUBSCRIBE')).to.deep.equal([]);
    expect(b.output()).to.match(/leadership_lost|not the leader/);
    expect(await role(c)).to.equal('leader');
  });
});
