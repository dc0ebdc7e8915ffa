/**
 * Issue 12: young instances are protected. A job deployed less than its SLA duration ago is below
 * its SLA (no instance counts as up yet): a drain of every host it runs on must not kill any of its
 * running instances until replacements count as up (or the instances have aged and the budget
 * allows), and an inverse offer whose window cannot be met under that rule is DECLINEd.
 * Real Sluice + real simulator over loopback HTTP on a VirtualClock; truth from the simulator.
 */
import { expect } from 'chai';
import type { Sim } from '../../src/sim/index.js';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { requiredFor } from '../../src/sla/index.js';
import { api, startEnv, type Env } from './workload-helpers.js';
import { AcceptWatch, allRunning, hostStates, job, masterJson } from './maintenance-helpers.js';

/**
 * Samples the simulator's ground truth at every task transition: per job, the instances with a
 * task RUNNING (young or not). Records every instant where fewer than the SLA's required number run.
 */
class RunningWatch {
  readonly violations: string[] = [];
  samples = 0;
  minRunning = Infinity;
  private readonly off: () => void;
  constructor(
    private readonly sim: Sim,
    private readonly frameworkId: string,
    private readonly spec: JobSpec,
  ) {
    this.off = sim.onTaskTransition(() => this.sample());
    this.sample();
  }

  sample(): void {
    this.samples++;
    const running = new Set<number>();
    for (const t of this.sim.groundTruth()) {
      if (t.frameworkId !== this.frameworkId || t.state !== 'TASK_RUNNING') continue;
      const p = parseTaskId(t.taskId);
      if (p && p.job === this.spec.name && p.index < this.spec.instances) running.add(p.index);
    }
    this.minRunning = Math.min(this.minRunning, running.size);
    const need = requiredFor(this.spec.instances, this.spec.sla);
    if (running.size < need && this.violations.length < 20) {
      this.violations.push(`${new Date(this.sim.clock.now()).toISOString()} job ${this.spec.name}: ${running.size} running < ${need} required`);
    }
  }

  stop(): void {
    this.off();
  }
}

function hostsOf(env: Env, fw: string, name: string): string[] {
  return [...new Set(env.sim.groundTruth().filter((t) => t.frameworkId === fw && parseTaskId(t.taskId)?.job === name).map((t) => t.hostname))].sort();
}

describe('e2e: young instances are protected (issue 12)', function () {
  this.timeout(120_000);
  let env: Env;
  afterEach(async () => env?.stop());

  it('drain of every host running a freshly deployed job: never fewer than required running, nothing killed before replacements or aging', async () => {
    env = await startEnv({ sim: { agents: 12, racks: 3 } });
    const fresh = job('fresh', 4, { sla: { kind: 'count', count: 3, duration_seconds: 600 }, constraints: { host_unique: true } });
    expect((await api(env.url, 'POST', '/api/v1/jobs', fresh)).status).to.equal(201);
    await env.until('fresh RUNNING', () => allRunning(env, 'fresh', 4), 120_000, 1000);
    const fw = env.frameworkId();
    const hosts = hostsOf(env, fw, 'fresh');
    expect(hosts).to.have.length(4);
    const deployedAt = env.clock.now();
    const watch = new RunningWatch(env.sim, fw, fresh);
    const firstKill: { at?: number } = {};
    const sub = env.sim.events$.subscribe((e) => {
      if (e.kind === 'call' && e.type === 'KILL' && firstKill.at === undefined) firstKill.at = env.clock.now();
    });

    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    // a minute later: every old task still runs on its draining host (the job is below its SLA)
    await env.advance(60_000, 1000);
    expect(hostsOf(env, fw, 'fresh').filter((h) => hosts.includes(h))).to.deep.equal(hosts);
    expect(firstKill.at, 'no KILL while the job is below its SLA and no replacement counts as up').to.equal(undefined);

    await env.until('every drained host DRAINED', async () => {
      const st = await hostStates(env);
      return hosts.every((h) => st.get(h)?.state === 'DRAINED' || st.get(h)?.state === 'DOWN');
    }, 40 * 60_000, 5000);
    await env.until('fresh RUNNING elsewhere', () => allRunning(env, 'fresh', 4), 120_000, 1000);
    sub.unsubscribe();
    watch.stop();
    expect(watch.violations, 'fewer instances running than the SLA requires').to.deep.equal([]);
    expect(watch.minRunning).to.be.at.least(3);
    expect(watch.samples).to.be.greaterThan(8);
    // the first KILL came only once something counted as up: an aged instance or a replacement
    expect(firstKill.at! - deployedAt).to.be.at.least(600_000 - 5000);
    expect(hostsOf(env, fw, 'fresh').filter((h) => hosts.includes(h))).to.deep.equal([]);
  });

  it('count 4 of 4, deployed a minute ago, window 60 s ahead: the task stays and the inverse offer is DECLINEd', async () => {
    env = await startEnv({ sim: { agents: 12, racks: 3 } });
    const db = job('db', 4, { sla: { kind: 'count', count: 4, duration_seconds: 600 }, constraints: { host_unique: true } });
    expect((await api(env.url, 'POST', '/api/v1/jobs', db)).status).to.equal(201);
    await env.until('db RUNNING', () => allRunning(env, 'db', 4), 120_000, 1000);
    await env.advance(60_000, 1000);
    const fw = env.frameworkId();
    const host = hostsOf(env, fw, 'db')[0]!;
    const watch = new RunningWatch(env.sim, fw, db);
    const accepts = new AcceptWatch(env.sim, fw);

    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], window: { start: '+1m', duration: '1h' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until('a DECLINE recorded on the master', async () => {
      const status = await masterJson(env, '/master/maintenance/status');
      const m = (status.draining_machines ?? []).find((d: { id: { hostname: string } }) => d.id.hostname === host);
      return (m?.statuses ?? []).some((s: { framework_id: { value: string }; status: string }) => s.framework_id.value === fw && s.status === 'DECLINE');
    }, 60_000, 500);
    await env.advance(30_000, 1000);
    expect(accepts.accepts, 'no ACCEPT while our task is on the agent').to.equal(0);
    expect(accepts.declines).to.be.at.least(1);
    expect(env.sim.groundTruth().filter((t) => t.frameworkId === fw && t.hostname === host && t.state === 'TASK_RUNNING')).to.have.length(1);
    expect(watch.violations).to.deep.equal([]);
    accepts.stop();
    watch.stop();
  });
});
