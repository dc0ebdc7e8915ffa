/**
 * Helpers of the maintenance end-to-end tests: ground-truth watches on the simulator (never on
 * Sluice's own view) — SLA at every agent-side task transition, ACCEPT_INVERSE_OFFERS calls against
 * the tasks still on the agent at that instant.
 */
import { expect } from 'chai';
import type { Sim } from '../../src/sim/index.js';
import { parseTaskId } from '../../src/scheduler/task-id.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { durationMs, requiredFor } from '../../src/sla/index.js';
import { api, startEnv, type Env } from './workload-helpers.js';

export function job(name: string, instances: number, extra: Partial<JobSpec> = {}): JobSpec {
  return { name, instances, resources: { cpus: 0.5, mem: 128, ports: 1 }, command: { value: 'sleep 36000', shell: true }, ...extra };
}

export async function allRunning(env: Env, name: string, n: number): Promise<boolean> {
  const r = await api(env.url, 'GET', `/api/v1/jobs/${name}`);
  return r.status === 200 && r.body.instances.length === n && r.body.instances.every((i: { state: string }) => i.state === 'TASK_RUNNING');
}

/**
 * Samples the simulator's ground truth at every task transition: per job, instances with a task
 * RUNNING for at least the SLA duration. Records every instant where a job is below its SLA.
 */
export class SlaWatch {
  readonly violations: string[] = [];
  samples = 0;
  readonly minMargin = new Map<string, number>();
  private readonly off: () => void;
  constructor(
    private readonly sim: Sim,
    private readonly frameworkId: string,
    private readonly jobs: JobSpec[],
  ) {
    this.off = sim.onTaskTransition(() => this.sample());
    this.sample();
  }

  sample(): void {
    this.samples++;
    const now = this.sim.clock.now();
    const up = new Map<string, Set<number>>();
    for (const t of this.sim.groundTruth()) {
      if (t.frameworkId !== this.frameworkId || t.state !== 'TASK_RUNNING') continue;
      const p = parseTaskId(t.taskId);
      if (!p) continue;
      const spec = this.jobs.find((j) => j.name === p.job);
      if (!spec || p.index >= spec.instances) continue;
      if (now - t.since < durationMs(spec)) continue;
      let s = up.get(p.job);
      if (!s) up.set(p.job, (s = new Set()));
      s.add(p.index);
    }
    for (const j of this.jobs) {
      const need = requiredFor(j.instances, j.sla);
      const have = up.get(j.name)?.size ?? 0;
      this.minMargin.set(j.name, Math.min(this.minMargin.get(j.name) ?? Infinity, have - need));
      if (have < need && this.violations.length < 20) this.violations.push(`${new Date(now).toISOString()} job ${j.name}: ${have} up < ${need} required`);
    }
  }

  stop(): void {
    this.off();
  }
}

/**
 * Every ACCEPT_INVERSE_OFFERS call that reaches the master: the agents whose status for our
 * framework became ACCEPT at that instant must carry no task of ours (ground truth).
 */
export class AcceptWatch {
  accepts = 0;
  acceptedHosts = new Set<string>();
  declines = 0;
  readonly violations: string[] = [];
  private readonly sub: { unsubscribe(): void };
  constructor(
    private readonly sim: Sim,
    private readonly frameworkId: string,
  ) {
    this.sub = sim.events$.subscribe((e) => {
      if (e.kind !== 'call') return;
      if (e.type === 'DECLINE_INVERSE_OFFERS') this.declines++;
      if (e.type !== 'ACCEPT_INVERSE_OFFERS') return;
      this.accepts++;
      const nowNs = BigInt(this.sim.clock.now()) * 1_000_000n;
      const status = this.sim.master?.maintenanceStatus() ?? {};
      for (const d of status.draining_machines ?? []) {
        for (const s of d.statuses ?? []) {
          if (s.framework_id.value !== this.frameworkId || s.status !== 'ACCEPT') continue;
          const ts = s.timestamp.nanoseconds;
          if (ts < nowNs - 1_000_000n) continue; // recorded earlier
          const host = d.id.hostname!;
          this.acceptedHosts.add(host);
          const ours = this.sim.groundTruth().filter((t) => t.frameworkId === this.frameworkId && t.hostname.toLowerCase() === host.toLowerCase());
          if (ours.length) this.violations.push(`ACCEPT for ${host} while ${ours.map((t) => `${t.taskId} (${t.state})`).join(', ')} ran there`);
        }
      }
    });
  }
  stop(): void {
    this.sub.unsubscribe();
  }
}

/** Prometheus text → the values of every series of `name` whose labels include `labels`. */
function seriesValues(text: string, name: string, labels: Record<string, string>): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const kv of (m[3] ?? '').split(',').filter(Boolean)) {
      const eq = kv.indexOf('=');
      have.set(kv.slice(0, eq), kv.slice(eq + 2, -1));
    }
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) out.push(Number(m[4]));
  }
  return out;
}

/** Prometheus text → value of one series (undefined when absent). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return seriesValues(text, name, labels)[0];
}

/** Sum of a metric over every series matching the labels. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return seriesValues(text, name, labels).reduce((a, b) => a + b, 0);
}

export async function hostStates(env: Env, states?: string): Promise<Map<string, { state: string; tasks_left: number; [k: string]: unknown }>> {
  const r = await api(env.url, 'GET', `/api/v1/hosts${states ? `?states=${states}` : ''}`);
  if (r.status !== 200) throw new Error(`GET /api/v1/hosts: ${r.status} ${JSON.stringify(r.body)}`);
  return new Map(r.body.hosts.map((h: { hostname: string; state: string; tasks_left: number }) => [h.hostname, h]));
}

export async function masterJson(env: Env, path: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(env.sim.url + path);
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

/**
 * `strict`: 4 instances one per host under an SLA of 4 of 4 over 600 s, aged past it so every
 * instance counts as up. `hostOf(index)` and `running(host)` read the simulator's ground truth;
 * `fw` is Sluice's framework id.
 */
export async function deployStrictJob(env: Env): Promise<{ strict: JobSpec; fw: string; hostOf(index: number): string; running(host: string): number }> {
  const strict = job('strict', 4, { sla: { kind: 'count', count: 4, duration_seconds: 600 }, constraints: { host_unique: true } });
  expect((await api(env.url, 'POST', '/api/v1/jobs', strict)).status).to.equal(201);
  await env.until('strict RUNNING', () => allRunning(env, 'strict', 4), 120_000, 1000);
  await env.advance(11 * 60_000, 5000); // every instance counts as up
  const fw = env.frameworkId();
  return {
    strict,
    fw,
    hostOf: (index) =>
      env.sim.groundTruth().find((t) => t.frameworkId === fw && t.state === 'TASK_RUNNING' && parseTaskId(t.taskId)?.job === 'strict' && parseTaskId(t.taskId)?.index === index)!.hostname,
    running: (host) => env.sim.groundTruth().filter((t) => t.frameworkId === fw && t.hostname === host && t.state === 'TASK_RUNNING').length,
  };
}

/** Ground truth of machine down: HOST is in the master's `/master/maintenance/status` down machines. */
export async function machineDown(env: Pick<Env, 'sim'>, host: string): Promise<boolean> {
  const status = (await masterJson(env as Env, '/master/maintenance/status')) as { down_machines?: Array<{ hostname?: string }> };
  return (status.down_machines ?? []).some((m) => m.hostname === host);
}

/**
 * 12 agents in 3 racks running `web` (8 instances, one per host, SLA 75% over 300 s), aged past
 * its SLA duration so every instance counts as up: the starting point of the maintenance flows.
 */
export async function startWebOnTwelveAgents(): Promise<Env> {
  const env = await startEnv({ sim: { agents: 12, racks: 3 } });
  const web = job('web', 8, { sla: { kind: 'percentage', percentage: 75, duration_seconds: 300 }, constraints: { host_unique: true } });
  expect((await api(env.url, 'POST', '/api/v1/jobs', web)).status).to.equal(201);
  await env.until('web RUNNING', () => allRunning(env, 'web', 8), 120_000, 1000);
  await env.advance(6 * 60_000, 5000);
  return env;
}
