/**
 * SLA accounting (pure) from a narrow view of the workload.
 *
 * Rows: one per task of a job instance, plus one PENDING row per instance waiting for a task.
 * During a make-before-break replacement an instance has two rows (the old task and the `surge`).
 *
 * An instance is UP at time t iff one of its rows is TASK_RUNNING, has no kill requested, and has
 * been running since ≤ t − duration. Conservative by construction:
 * - a task whose kill was requested (KILL sent, no terminal update yet) counts as down right away;
 * - STAGING / STARTING / KILLING / UNREACHABLE / PENDING rows are down;
 * - a replacement counts only once it has been RUNNING for the whole duration.
 * Between events, up(t) can only grow (tasks age); it drops only when a task is killed or fails.
 * So checking `budget ≥ 1` before each kill of an up instance keeps up(t) ≥ required at every
 * instant, as far as Sluice's own kills are concerned.
 *
 * required = ceil(percentage/100 × instances) or `count`; there is no minimum job size below which
 * the SLA is skipped (a job of 1 instance with 95% may never lose its instance without a surge).
 */
import { TERMINAL_STATES } from '../mesos/types.js';
import type { SlaPolicy } from '../scheduler/job-spec.js';
import type { TaskState } from '../mesos/types.js';
import { fmtClock } from './format.js';

export interface SlaJob {
  name: string;
  instances: number;
  sla?: SlaPolicy;
}

/**
 * A row's state: a Mesos TaskState, 'PENDING' (no task yet), or any other workload state (e.g. the
 * scheduler's 'LAUNCHING'): unknown non-terminal states count as live and down, conservatively.
 */
export type RowState = TaskState | 'PENDING' | (string & {});

export interface SlaInstance {
  job: string;
  index: number;
  task_id?: string;
  agent_id?: string;
  hostname?: string;
  state: RowState;
  /** When the task's current run started (first TASK_RUNNING). */
  running_since_ms?: number;
  /** When Sluice sent KILL for it (no terminal update yet). Counts as down from then on. */
  kill_requested_ms?: number;
  /** An extra task launched for make-before-break (the instance's other row is being replaced). */
  surge?: boolean;
}

const TERMINAL: ReadonlySet<string> = TERMINAL_STATES;

/** A row that still occupies (or may occupy) an agent: not PENDING, not terminal. */
export function isLive(row: SlaInstance): boolean {
  const s = row.state;
  if (s === 'TASK_RUNNING' || s === 'TASK_STAGING' || s === 'TASK_STARTING' || s === 'TASK_KILLING') return true;
  return s !== 'PENDING' && !TERMINAL.has(s);
}

export function isTerminalRow(row: SlaInstance): boolean {
  return TERMINAL.has(row.state);
}

export function durationMs(job: SlaJob): number {
  return job.sla ? Math.max(0, job.sla.duration_seconds) * 1000 : 0;
}

/** Instances that must be up. 0 without an SLA. Exceeds `instances` only for a percentage > 100. */
export function requiredUp(job: SlaJob): number {
  const sla = job.sla;
  if (!sla) return 0;
  if (sla.kind === 'percentage') {
    const x = (sla.percentage * job.instances) / 100;
    return Math.max(0, Math.ceil(x - 1e-9));
  }
  // A count above the job size means "every instance" (same rule as src/scheduler/workload-rows.ts).
  return Math.max(0, Math.min(job.instances, Math.ceil(sla.count)));
}

/** The time from which this row counts as up (undefined: not on track to be up without events). */
export function upFrom(row: SlaInstance, duration_ms: number): number | undefined {
  if (row.state !== 'TASK_RUNNING' || row.kill_requested_ms !== undefined || row.running_since_ms === undefined) {
    return undefined;
  }
  return row.running_since_ms + duration_ms;
}

export function isRowUp(row: SlaInstance, duration_ms: number, now: number): boolean {
  const f = upFrom(row, duration_ms);
  return f !== undefined && f <= now;
}

export function describeSla(sla: SlaPolicy | undefined): string {
  if (!sla) return 'no SLA';
  if (sla.kind === 'percentage') return `SLA ${sla.percentage}% over ${sla.duration_seconds}s`;
  return `SLA ${sla.count} up over ${sla.duration_seconds}s`;
}

export interface SlaStatus {
  job: string;
  instances: number;
  required: number;
  /** Instances up now. */
  up: number;
  /** up − required: how many more up instances may go down now (≤ 0: none). */
  budget: number;
  /** Most instances that can ever be down at once: instances − required. */
  max_budget: number;
  duration_ms: number;
  /** Instances not up, by cause. */
  killing: number;
  aging: number;
  starting: number;
  pending: number;
  /** When the budget next reaches ≥ 1 (if it is ≤ 0 now and enough replacements are running). */
  refill_at_ms?: number;
  /** Replacements that still have to reach RUNNING before the budget can refill. */
  refill_needs_starts: number;
  /** Times at which instances that are not up now become up (absent further events), ascending. */
  aging_up_at_ms: number[];
  /** True when the SLA can never be met (required > instances). */
  unattainable: boolean;
  sla?: SlaPolicy;
}

/**
 * Group rows by job once (for many jobs). Rows of jobs not in `jobs` are ignored by slaStatus.
 */
export function rowsByJob(rows: Iterable<SlaInstance>): Map<string, SlaInstance[]> {
  const m = new Map<string, SlaInstance[]>();
  for (const r of rows) {
    let l = m.get(r.job);
    if (!l) m.set(r.job, (l = []));
    l.push(r);
  }
  return m;
}

/**
 * The SLA state of one job at `now`, from the job's rows (other jobs' rows must not be passed).
 * `budget(job, now)` of the design is `slaStatus(...).budget`.
 */
export function slaStatus(job: SlaJob, rows: readonly SlaInstance[], now: number): SlaStatus {
  const D = durationMs(job);
  const required = requiredUp(job);
  // Per instance: up now? otherwise the earliest time one of its rows becomes up, and why it is down.
  const upNow = new Uint8Array(job.instances);
  const nextUp = new Float64Array(job.instances).fill(Infinity);
  const cause = new Uint8Array(job.instances); // 0 none, 1 killing, 2 aging, 3 starting
  for (const r of rows) {
    if (r.index < 0 || r.index >= job.instances || !Number.isInteger(r.index)) continue;
    const f = upFrom(r, D);
    if (f !== undefined) {
      if (f <= now) upNow[r.index] = 1;
      else if (f < nextUp[r.index]!) nextUp[r.index] = f;
      if (f > now) cause[r.index] = Math.max(cause[r.index]!, 2);
    } else if (isLive(r)) {
      if (r.kill_requested_ms !== undefined || r.state === 'TASK_KILLING') cause[r.index] = Math.max(cause[r.index]!, 1);
      else cause[r.index] = Math.max(cause[r.index]!, 3);
    }
  }
  let up = 0;
  let killing = 0;
  let aging = 0;
  let starting = 0;
  let pending = 0;
  const agingTimes: number[] = [];
  for (let i = 0; i < job.instances; i++) {
    if (upNow[i]) {
      up++;
      continue;
    }
    if (nextUp[i]! < Infinity) {
      aging++;
      agingTimes.push(nextUp[i]!);
    } else if (cause[i] === 3) starting++;
    else if (cause[i] === 1) killing++;
    else pending++;
  }
  const budget = up - required;
  const status: SlaStatus = {
    job: job.name,
    instances: job.instances,
    required,
    up,
    budget,
    max_budget: job.instances - required,
    duration_ms: D,
    killing,
    aging,
    starting,
    pending,
    refill_needs_starts: 0,
    aging_up_at_ms: agingTimes,
    unattainable: required > job.instances,
  };
  if (job.sla) status.sla = job.sla;
  agingTimes.sort((a, b) => a - b);
  if (budget < 1) {
    const need = 1 - budget; // more up instances needed for one more kill
    if (agingTimes.length >= need) status.refill_at_ms = agingTimes[need - 1]!;
    else status.refill_needs_starts = need - agingTimes.length;
  }
  return status;
}

export function budget(job: SlaJob, rows: readonly SlaInstance[], now: number): number {
  return slaStatus(job, rows, now).budget;
}

/** May one more up instance of the job go down now? */
export function canTakeDown(job: SlaJob, rows: readonly SlaInstance[], now: number): boolean {
  return slaStatus(job, rows, now).budget >= 1;
}

/**
 * Earliest time at which `k` more up instances may go down, assuming no other event (kills,
 * failures, new replacements). undefined: not reachable without replacements starting first.
 */
export function budgetRefillAt(job: SlaJob, rows: readonly SlaInstance[], now: number, k = 1): number | undefined {
  const st = slaStatus(job, rows, now);
  return refillTime(st, now, k);
}

/** From a status: earliest time at which the budget reaches `k` (now if it already has). */
export function refillTime(st: SlaStatus, now: number, k = 1): number | undefined {
  if (st.budget >= k) return now;
  const need = k - st.budget;
  return st.aging_up_at_ms.length >= need ? st.aging_up_at_ms[need - 1] : undefined;
}

/**
 * One-line reason for an operator, e.g.
 * "job web: SLA 95% over 1800s allows 0 more down until 12:34:56Z (5 of 100 down: 3 killing, 2 starting)".
 */
export function slaBlockerText(st: SlaStatus, now: number): string {
  if (st.unattainable) {
    return `job ${st.job}: ${describeSla(st.sla)} requires ${st.required} up but the job has ${st.instances} instances — cannot be met, nothing may go down`;
  }
  const allows = Math.max(0, st.budget);
  let when: string;
  if (st.budget >= 1) when = '';
  else if (st.refill_at_ms !== undefined) when = ` until ${fmtClock(st.refill_at_ms)}`;
  else if (st.max_budget <= 0) when = ' ever (only make-before-break replacements can move it)';
  else when = ` until ${st.refill_needs_starts} replacement${st.refill_needs_starts === 1 ? ' starts and runs' : 's start and run'} ${Math.round(st.duration_ms / 1000)}s`;
  const down = st.instances - st.up;
  const parts: string[] = [];
  if (st.killing) parts.push(`${st.killing} killing`);
  if (st.starting) parts.push(`${st.starting} starting`);
  if (st.aging) parts.push(`${st.aging} running < ${Math.round(st.duration_ms / 1000)}s`);
  if (st.pending) parts.push(`${st.pending} pending`);
  void now;
  return `job ${st.job}: ${describeSla(st.sla)} allows ${allows} more down${when} (${down} of ${st.instances} down${parts.length ? ': ' + parts.join(', ') : ''})`;
}
