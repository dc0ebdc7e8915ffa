/**
 * Sluice replicas (`sluice start --ha zk://…`, real child processes) against a real ZooKeeper and
 * the simulator (in this process, real clock). Ground truth: the simulator's record of the
 * scheduler calls it received, each with the Mesos-Stream-Id it carried.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Subscription } from 'rxjs';
import { projectRoot } from '../helpers/fixtures.js';
import { startZooKeeper, type ZooKeeperStandalone } from '../helpers/zookeeper.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { api, childEnv, quietLogger, realDelay } from '../e2e/workload-helpers.js';
import { job, metric } from '../e2e/maintenance-helpers.js';

const MAIN = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');

interface Replica {
  proc: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

interface CallRec {
  at: number;
  type: string;
  frameworkId?: string;
  streamId?: string;
}

function spawnReplica(simUrl: string, haUrl: string): Promise<Replica> {
  const proc = spawn(
    process.execPath,
    [MAIN, 'start', '--ha', haUrl, '--ha-session-timeout', '3s', '--master', simUrl, '--api-listen', '127.0.0.1:0', '--no-demo', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv({ SLUICE_LOG_FORMAT: 'json' }) },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise<Replica>((resolve, reject) => {
    const check = () => {
      const m = /operator API:\s+(http:\/\/\S+)/.exec(out);
      if (m) {
        proc.stdout!.off('data', check);
        resolve({ proc, url: m[1]!, output: () => out, exited });
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`replica exited (${code}) before it was ready:\n${out.slice(-3000)}`)));
  });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await realDelay(50);
  }
}

async function role(r: Replica): Promise<string | undefined> {
  try {
    const s = await api(r.url, 'GET', '/api/v1/status');
    return s.body?.ha?.role as string | undefined;
  } catch {
    return undefined;
  }
}

describe('HA replicas (child processes, real ZooKeeper, simulator)', function () {
  this.timeout(120_000);
  let zk: ZooKeeperStandalone;
  let sim: Sim;
  let sub: Subscription;
  const calls: CallRec[] = [];
  const replicas: Replica[] = [];

  before(async () => {
    zk = await startZooKeeper();
    sim = await startSim({ agents: 6, racks: 3, seed: 3, taskStartupDelayMs: 100, logger: quietLogger() });
    sub = sim.events$.subscribe((e) => {
      if (e.kind === 'call') calls.push({ at: Date.now(), type: e.type, frameworkId: e.frameworkId, streamId: e.streamId });
    });
  });
  after(async () => {
    for (const r of replicas) {
      if (r.proc.exitCode === null && r.proc.signalCode === null) {
        r.proc.kill('SIGCONT');
        r.proc.kill('SIGKILL');
      }
    }
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
    expect(redirect.headers.get('location')).to.equal(a.url);

    expect((await api(a.url, 'POST', '/api/v1/jobs', job('web', 3))).status).to.equal(201);
    let fwId = '';
    await waitFor('web running', async () => {
      const r = await api(a.url, 'GET', '/api/v1/jobs/web');
      return r.status === 200 && r.body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING').length === 3;
    });
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
