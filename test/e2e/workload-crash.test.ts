/**
 * kill -9 of the Sluice process during placement, then restart: nothing lost, nothing duplicated.
 *
 * The simulator runs in this test process (it outlives the child); Sluice runs as a child process
 * (`node dist/src/cli/main.js start --master <sim>`) with its store on disk in a temp dir. The proof
 * comes from the simulator's agents: every transition of every task is watched, and at no moment
 * may two tasks of one instance be alive; at the end each instance runs exactly once.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../helpers/fixtures.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { WAL_FILE } from '../../src/store/index.js';
import { api, childEnv, DuplicateWatch, liveByInstance, quietLogger, realDelay, tmpDir } from './workload-helpers.js';

const MAIN = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');

interface Child {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function spawnSluice(simUrl: string, storeDir: string, extra: string[] = []): { proc: ChildProcess; ready: Promise<Child>; exited: Promise<number | null>; output: () => string } {
  const proc = spawn(process.execPath, [MAIN, 'start', '--master', simUrl, '--store', storeDir, '--api-listen', '127.0.0.1:0', '--no-demo', '--log-level', 'info', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv({ SLUICE_LOG_FORMAT: 'json' }),
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const ready = new Promise<Child>((resolve, reject) => {
    const check = () => {
      const m = /operator API:\s+(http:\/\/\S+)/.exec(out);
      if (m) {
        proc.stdout!.off('data', check);
        resolve({ proc, url: m[1]!, stderr: () => err, exited });
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`sluice exited (${code}) before it was ready:\n${out}\n${err.slice(-3000)}`)));
  });
  return { proc, ready, exited, output: () => out + err };
}

/** Polls `cond` in real time; SLUICE_TEST_TIMING=1 prints how long each wait took. */
async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await realDelay(20);
  }
  if (process.env['SLUICE_TEST_TIMING']) console.log(`    [${what}: ${Date.now() - t0} ms]`);
}

function job(name: string, instances: number, extra: Partial<JobSpec> = {}): JobSpec {
  return { name, instances, resources: { cpus: 0.25, mem: 64, ports: 1 }, command: { value: 'sleep 3600', shell: true }, kill_grace_period_seconds: 1, ...extra };
}

describe('e2e: kill -9 of Sluice during placement, then restart', function () {
  this.timeout(90_000);
  let sim: Sim;
  let storeDir: string;
  let watch: DuplicateWatch;
  let frameworkId: string | undefined;
  const children: ChildProcess[] = [];

  before(async () => {
    sim = await startSim({ agents: 12, racks: 3, seed: 11, taskStartupDelayMs: 100, logger: quietLogger() });
    storeDir = tmpDir('sluice-crash-');
    watch = new DuplicateWatch(sim, () => frameworkId);
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    watch.stop();
    await sim.close();
  });

  const start = async (extra: string[] = []) => {
    const s = spawnSluice(sim.url, storeDir, extra);
    children.push(s.proc);
    return s.ready;
  };
  const kill9 = async (c: Child) => {
    c.proc.kill('SIGKILL');
    await c.exited;
  };
  const wanted = (jobs: Record<string, number>) => {
    const want = new Set<string>();
    for (const [name, n] of Object.entries(jobs)) for (let i = 0; i < n; i++) want.add(`${name}.${i}`);
    return want;
  };
  const exactlyOnce = (jobs: Record<string, number>) => {
    const live = liveByInstance(sim, frameworkId!);
    const want = wanted(jobs);
    return live.size === want.size && [...live].every(([k, tasks]) => want.has(k) && tasks.length === 1);
  };
  /** Sluice's view: every wanted instance has a task and none is being killed (states may lag: see below). */
  const allPlaced = async (c: Child, jobs: Record<string, number>) => {
    for (const [name, n] of Object.entries(jobs)) {
      const r = await api(c.url, 'GET', `/api/v1/jobs/${name}`);
      if (r.status !== 200 || r.body.instances.length !== n || r.body.instances.some((i: { task_id?: string; killing?: boolean }) => !i.task_id || i.killing)) return false;
    }
    return true;
  };
  const allRunning = async (c: Child, jobs: Record<string, number>) => {
    for (const [name, n] of Object.entries(jobs)) {
      const r = await api(c.url, 'GET', `/api/v1/jobs/${name}`);
      if (r.status !== 200 || r.body.instances.length !== n || r.body.instances.some((i: { state: string; killing?: boolean }) => i.state !== 'TASK_RUNNING' || i.killing)) return false;
    }
    return true;
  };

  it('with ACCEPTs in flight, and again right after launches landed: every instance ends up running exactly once', async () => {
    const jobs: Record<string, number> = { web: 10, db: 6, cache: 6 };
    // --- round 1: the ACCEPTs are held by the master when Sluice dies
    let c = await start();
    sim.faults.delayCalls(1500, { types: ['ACCEPT'], count: 1000 });
    expect((await api(c.url, 'POST', '/api/v1/jobs', job('web', 10))).status).to.equal(201);
    expect((await api(c.url, 'POST', '/api/v1/jobs', job('db', 6, { constraints: { host_unique: true } }))).status).to.equal(201);
    expect((await api(c.url, 'POST', '/api/v1/jobs', job('cache', 6, { constraints: { rack_spread: true } }))).status).to.equal(201);
    await waitFor('tasks recorded as LAUNCHING', async () => {
      const st = (await api(c.url, 'GET', '/api/v1/status')).body;
      frameworkId = st.framework_id;
      return (st.tasks.LAUNCHING ?? 0) > 0;
    });
    await realDelay(200); // the ACCEPTs are now at the master, held
    await kill9(c);
    sim.faults.clearCallFaults();
    c = await start();
    await waitFor('converged after restart 1', async () => exactlyOnce(jobs) && (await allPlaced(c, jobs)), 30_000);
    expect((await api(c.url, 'GET', '/api/v1/status')).body.framework_id).to.equal(frameworkId);

    // --- round 2: scale up and die right after the first new task appears on an agent
    const before = new Set(sim.groundTruth().map((t) => t.taskId));
    jobs['web'] = 16;
    expect((await api(c.url, 'PUT', '/api/v1/jobs/web', job('web', 16))).status).to.equal(200);
    await waitFor('a new launch on an agent', () => sim.groundTruth().some((t) => !before.has(t.taskId)), 10_000);
    await kill9(c);
    c = await start();
    await waitFor('converged after restart 2', async () => exactlyOnce(jobs) && (await allPlaced(c, jobs)), 30_000);

    // --- round 3: a crash loop of kills at random moments of a second scale-up
    jobs['db'] = 9;
    expect((await api(c.url, 'PUT', '/api/v1/jobs/db', job('db', 9, { constraints: { host_unique: true } }))).status).to.equal(200);
    await realDelay(5 + Math.floor(Math.random() * 40));
    await kill9(c);
    c = await start();
    await waitFor('converged after restart 3', async () => exactlyOnce(jobs) && (await allPlaced(c, jobs)), 30_000);

    // Sluice's states catch up once the agents re-send the updates the killed process never
    // acknowledged (Mesos retries un-acked status updates after 10 s; later ones wait behind them).
    await waitFor('every instance RUNNING in Sluice', () => allRunning(c, jobs), 30_000);
    expect(exactlyOnce(jobs)).to.equal(true);
    expect(watch.maxAlive, `two tasks alive at once for ${watch.worst}`).to.be.at.most(1);
    expect((await api(c.url, 'GET', '/api/v1/status')).body.framework_id).to.equal(frameworkId);
    c.proc.kill('SIGTERM');
    expect(await c.exited).to.equal(0);
  });

  it('a damaged store is a clear error, never an empty start; --repair-store keeps the good prefix', async () => {
    const wal = path.join(storeDir, WAL_FILE);
    const buf = fs.readFileSync(wal);
    expect(buf.length).to.be.greaterThan(200);
    const at = Math.floor(buf.length / 3);
    buf[at] = buf[at]! ^ 0xff;
    fs.writeFileSync(wal, buf);
    const s = spawnSluice(sim.url, storeDir);
    children.push(s.proc);
    const code = await s.exited;
    expect(code).to.equal(1);
    expect(s.output()).to.match(/store .* is damaged/).and.to.match(/--repair-store/);

    const c = await start(['--repair-store']);
    const st = (await api(c.url, 'GET', '/api/v1/status')).body;
    expect(st.framework_id).to.equal(frameworkId); // the first write survived
    // Whatever the good prefix holds, the cluster converges to it: tasks the store no longer knows
    // are adopted by their instance (implicit reconciliation at restart, before any placement) or
    // killed, and nothing is duplicated.
    const kept: Record<string, number> = {};
    for (const j of (await api(c.url, 'GET', '/api/v1/jobs')).body.jobs as Array<{ name: string; instances: number }>) kept[j.name] = j.instances;
    await waitFor('converged on the repaired store', async () => exactlyOnce(kept) && (await allPlaced(c, kept)), 30_000);
    expect(watch.maxAlive, `two tasks alive at once for ${watch.worst}`).to.be.at.most(1);
    c.proc.kill('SIGTERM');
    expect(await c.exited).to.equal(0);
  });
});
