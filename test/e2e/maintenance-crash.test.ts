/**
 * Host maintenance under failure.
 *
 * 1. kill -9 of the Sluice process mid-drain. As in workload-crash.test.ts, the simulator runs in
 *    this test process on its real clock (it outlives the child) and Sluice runs as a child process
 *    (`node dist/src/cli/main.js start`) with its store on disk; SLA durations are a few seconds of
 *    real time. The proof is the simulator's ground truth: SLAs sampled at every agent-side task
 *    transition, instances never duplicated, the master's own /master/maintenance/status.
 * 2. `post_drain`: runs once per host after the machine is DOWN on the master; a failing command is
 *    recorded and blocks no other host. In-process, VirtualClock (like maintenance.test.ts).
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startSim, type Sim } from '../../src/sim/index.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import { api, liveByInstance, quietLogger, realDelay, tmpDir, type Env } from './workload-helpers.js';
import { SlaWatch, allRunning, hostStates, job, masterJson, startWebOnTwelveAgents } from './maintenance-helpers.js';
import { spawnSluice, waitFor } from './maintenance-child.js';

const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR']);

/**
 * Per instance, at every agent-side transition: live tasks in total, and live tasks outside the
 * hosts under maintenance. A make-before-break surge legitimately overlaps the task it replaces
 * (which is on a maintenance host), so the bounds are: at most 2 alive, at most 1 off those hosts.
 */
class InstanceWatch {
  maxAlive = 0;
  maxAliveOff = 0;
  readonly worst: string[] = [];
  private readonly alive = new Map<string, Map<string, string>>();
  private readonly off: () => void;
  constructor(sim: Sim, private readonly fw: () => string | undefined, private readonly maint: ReadonlySet<string>) {
    this.off = sim.onTaskTransition((t) => {
      if (t.frameworkId !== this.fw()) return;
      const p = parseTaskId(t.taskId);
      const key = p ? `${p.job}.${p.index}` : t.taskId;
      let m = this.alive.get(key);
      if (!m) this.alive.set(key, (m = new Map()));
      if (TERMINAL.has(t.to)) m.delete(t.taskId);
      else m.set(t.taskId, t.hostname);
      const offHosts = [...m.values()].filter((h) => !this.maint.has(h)).length;
      if (m.size > 2 || offHosts > 1) this.worst.push(`${key}: ${[...m].map(([id, h]) => `${id}@${h}`).join(', ')}`);
      this.maxAlive = Math.max(this.maxAlive, m.size);
      this.maxAliveOff = Math.max(this.maxAliveOff, offHosts);
    });
  }
  stop(): void {
    this.off();
  }
}

describe('e2e: kill -9 of Sluice mid-drain, then restart', function () {
  this.timeout(90_000);
  let sim: Sim;
  const children: ChildProcess[] = [];

  before(async () => {
    sim = await startSim({ agents: 9, racks: 3, seed: 5, taskStartupDelayMs: 100, logger: quietLogger() });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await sim.close();
  });

  it('the drain resumes from the store and finishes: hosts DOWN on the master, SLAs kept, no instance twice, all running elsewhere', async () => {
    const t0 = Date.now();
    const storeDir = tmpDir('sluice-mcrash-');
    const start = async () => {
      const c = await spawnSluice(sim.url, storeDir);
      children.push(c.proc);
      return c;
    };
    // SLA durations in real seconds; a tight SLA (web: 5 of 6) forces the drain to go one task at
    // a time (or by surges), so it is still in progress when Sluice dies.
    const JOBS: JobSpec[] = [
      job('web', 6, { sla: { kind: 'count', count: 5, duration_seconds: 2 }, constraints: { host_unique: true }, kill_grace_period_seconds: 1 }),
      job('db', 4, { sla: { kind: 'percentage', percentage: 75, duration_seconds: 2 }, constraints: { host_unique: true }, kill_grace_period_seconds: 1 }),
      job('batch', 8, { resources: { cpus: 0.25, mem: 64, ports: 1 }, kill_grace_period_seconds: 1 }),
    ];
    let c = await start();
    for (const j of JOBS) expect((await api(c.url, 'POST', '/api/v1/jobs', j)).status).to.equal(201);
    const fw: string = (await api(c.url, 'GET', '/api/v1/status')).body.framework_id;
    expect(fw).to.be.a('string');
    await waitFor('jobs RUNNING', async () => {
      for (const j of JOBS) if (!(await allRunning({ url: c.url } as Env, j.name, j.instances))) return false;
      return true;
    });
    await realDelay(2200); // every task older than its SLA duration

    const rack = sim.agents().filter((a) => a.rack === 'rack-1').map((a) => a.hostname);
    expect(rack).to.have.length(3);
    const maint = new Set(rack);
    const onRack = () => sim.groundTruth().filter((t) => t.frameworkId === fw && maint.has(t.hostname));
    expect(onRack().filter((t) => t.taskId.startsWith('web.')).length, 'web tasks on the rack (more than its budget of 1)').to.be.at.least(2);
    const sla = new SlaWatch(sim, fw, JOBS);
    const inst = new InstanceWatch(sim, () => fw, maint);

    const onRackAtStart = onRack().length;
    const r = await api(c.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: rack });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    let draining: string[] = [];
    // mid-drain: it has begun (a surge is alive or a rack task is gone) and is not finished
    await waitFor('drain under way: a host DRAINING with tasks still on it (ground truth)', async () => {
      const hs = await hostStates({ url: c.url } as Env);
      draining = rack.filter((h) => hs.get(h)?.state === 'DRAINING');
      const begun = inst.maxAlive >= 2 || onRack().length < onRackAtStart;
      return begun && draining.some((h) => onRack().some((t) => t.hostname === h));
    }, 10_000);
    const leftAtKill = onRack().length;
    c.proc.kill('SIGKILL');
    await c.exited;
    expect(leftAtKill, 'tasks on the rack when Sluice died').to.be.greaterThan(0);
    const downAtKill = ((await masterJson({ sim } as Env, '/master/maintenance/status')).down_machines ?? []).length;
    expect(downAtKill, 'the rack was not yet down when Sluice died').to.be.below(rack.length);

    c = await start();
    await waitFor('maintenance_restored logged', () => c.output().includes('"maintenance_restored"'), 5000);
    expect((await api(c.url, 'GET', '/api/v1/status')).body.framework_id).to.equal(fw);
    const after = await hostStates({ url: c.url } as Env);
    for (const h of rack) expect(after.get(h)?.state, `${h} restored from the store`).to.be.oneOf(['SCHEDULED', 'DRAINING', 'DRAINED', 'DOWN']);

    await waitFor('the rack DOWN on the master', async () => {
      const st = await masterJson({ sim } as Env, '/master/maintenance/status');
      const down = new Set((st.down_machines ?? []).map((m: { hostname: string }) => m.hostname));
      return rack.every((h) => down.has(h));
    }, 40_000);
    await waitFor('every instance RUNNING once, off the rack (ground truth)', () => {
      const live = liveByInstance(sim, fw);
      return JOBS.every((j) => {
        for (let i = 0; i < j.instances; i++) {
          const ids = live.get(`${j.name}.${i}`) ?? [];
          if (ids.length !== 1) return false;
          const t = sim.groundTruth().find((x) => x.taskId === ids[0])!;
          if (t.state !== 'TASK_RUNNING' || maint.has(t.hostname)) return false;
        }
        return true;
      });
    }, 20_000);
    sla.stop();
    inst.stop();
    if (process.env['SLUICE_TEST_VERBOSE']) console.log({ minMargin: [...sla.minMargin], samples: sla.samples, leftAtKill, draining, maxAlive: inst.maxAlive, wallMs: Date.now() - t0 });

    const st = await masterJson({ sim } as Env, '/master/maintenance/status');
    expect((st.down_machines ?? []).map((m: { hostname: string }) => m.hostname).sort()).to.deep.equal([...rack].sort());
    const hs = await hostStates({ url: c.url } as Env);
    for (const h of rack) expect(hs.get(h)?.state, h).to.equal('DOWN');
    expect(onRack().map((t) => t.taskId)).to.deep.equal([]);
    expect(sla.samples).to.be.greaterThan(leftAtKill);
    expect(sla.violations, sla.violations.join('\n')).to.deep.equal([]);
    expect(inst.worst, inst.worst.join('\n')).to.deep.equal([]);
    expect(inst.maxAliveOff).to.equal(1);
    // each wanted instance exactly once (and nothing else of ours alive)
    const live = liveByInstance(sim, fw);
    expect(live.size).to.equal(JOBS.reduce((n, j) => n + j.instances, 0));
    c.proc.kill('SIGTERM');
    expect(await c.exited).to.equal(0);
  });
});

describe('e2e: post_drain command', function () {
  this.timeout(60_000);
  let env: Env;

  beforeEach(async () => {
    env = await startWebOnTwelveAgents();
  });
  afterEach(async () => {
    await env.stop();
  });

  it('runs once per host after the machine is DOWN on the master; a failing command is recorded and blocks no other host', async () => {
    const dir = tmpDir('sluice-postdrain-');
    const marker = path.join(dir, 'marker');
    // The hook asks the master itself whether its host is down at the moment it runs.
    const script = path.join(dir, 'hook.mjs');
    fs.writeFileSync(
      script,
      `import fs from 'node:fs';
const h = process.env.SLUICE_HOST;
const st = await fetch(${JSON.stringify(env.sim.url)} + '/master/maintenance/status').then((r) => r.json());
const down = (st.down_machines ?? []).some((m) => m.hostname === h);
fs.appendFileSync(${JSON.stringify(marker)}, h + ' ' + process.env.SLUICE_IP + ' ' + process.env.SLUICE_AGENT_ID + ' ' + (down ? 'down' : 'NOT-DOWN') + '\\n');
if (h === process.argv[2]) { console.error('hook failing on purpose for ' + h); process.exit(1); }
`,
    );
    const rack = env.sim.agents().filter((a) => a.rack === 'rack-2').map((a) => a.hostname);
    expect(rack.length).to.be.at.least(3);
    const bad = rack[0]!;
    const cmd = `"${process.execPath}" "${script}" ${bad}`;
    // one host at a time, the failing host first: the others come after it
    const r = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: rack, max_parallel: 1, post_drain: cmd });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);

    const lines = () => (fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []);
    const results = async () => {
      const hs = await hostStates(env);
      return rack.map((h) => hs.get(h)!);
    };
    await env.until('every host DOWN with a post_drain result', async () => {
      await realDelay(5); // the hook is a real process
      return (await results()).every((h) => h.state === 'DOWN' && h['post_drain_result'] !== undefined);
    }, 3 * 3600_000, 2000);
    // more time passes: nothing is run again (not even the failed one)
    await env.advance(60_000, 2000);
    await realDelay(300);

    const got = lines();
    expect(got.map((l) => l.split(' ')[0]).sort(), got.join('\n')).to.deep.equal([...rack].sort());
    for (const l of got) {
      const [host, ip, agentId, down] = l.split(' ');
      const a = env.sim.agents().find((x) => x.hostname === host)!;
      expect(ip, `${host} SLUICE_IP`).to.equal(a.ip);
      expect(agentId, `${host} SLUICE_AGENT_ID`).to.equal(a.id);
      expect(down, `${host} was down on the master when its hook ran`).to.equal('down');
    }
    const hs = new Map((await results()).map((h) => [h['hostname'] as string, h]));
    const res = (h: string) => hs.get(h)!['post_drain_result'] as { exit_code: number | null; timed_out: boolean; output_tail?: string };
    expect(res(bad).exit_code).to.equal(1);
    expect(res(bad).timed_out).to.equal(false);
    expect(res(bad).output_tail).to.contain(`hook failing on purpose for ${bad}`);
    for (const h of rack.filter((x) => x !== bad)) expect(res(h).exit_code, h).to.equal(0);
    const st = await masterJson(env, '/master/maintenance/status');
    expect((st.down_machines ?? []).map((m: { hostname: string }) => m.hostname).sort()).to.deep.equal([...rack].sort());
    // the failed host's DOWN came first: the others were drained after its hook had failed
    const badDown = hs.get(bad)!['down_posted_ms'] as number;
    for (const h of rack.filter((x) => x !== bad)) expect(hs.get(h)!['down_posted_ms'] as number, h).to.be.at.least(badDown);
  });
});
