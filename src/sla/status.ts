/**
 * A job's SLA state at an instant: up, required, budget, margin, and when the budget refills.
 *
 * - up: instances up now (rows.ts);
 * - required: policy.ts;
 * - margin = up − required (negative: the job is below its SLA — just deployed, recovering from
 *   failures, or knowingly overridden);
 * - budget = max(0, margin): how many more up instances may go down now. Never negative.
 */
import type { SlaJob, SlaPolicy } from './policy.js';
import { durationMs, requiredUp } from './policy.js';
import type { SlaInstance } from './rows.js';
import { isLive, upFrom } from './rows.js';

export interface SlaStatus {
  job: string;
  instances: number;
  required: number;
  /** Instances up now. */
  up: number;
  /** up − required: negative while the job is below its SLA. */
  margin: number;
  /** max(0, up − required): how many more up instances may go down now. */
  budget: number;
  /** Most instances that can ever be down at once: instances − required. */
  max_budget: number;
  duration_ms: number;
  /** Instances not up, by cause. */
  killing: number;
  /** RUNNING for less than the duration (serving, not counted up yet). */
  aging: number;
  starting: number;
  pending: number;
  /** When the budget next reaches ≥ 1 (if it is 0 now and enough instances are aging). */
  refill_at_ms?: number;
  /** Replacements that still have to reach RUNNING before the budget can refill. */
  refill_needs_starts: number;
  /** Times at which instances that are not up now become up (absent further events), ascending. */
  aging_up_at_ms: number[];
  /** True when the SLA can never be met (required > instances). */
  unattainable: boolean;
  sla?: SlaPolicy;
}

/** Is the job below its SLA (fewer instances up than required)? */
export function belowSla(st: Pick<SlaStatus, 'margin'>): boolean {
  return st.margin < 0;
}

const CAUSE_KILLING = 1;
const CAUSE_AGING = 2;
const CAUSE_STARTING = 3;

/**
 * The SLA state of one job at `now`, from the job's rows (other jobs' rows must not be passed;
 * rows of indices outside 0..instances−1 are ignored).
 */
export function slaStatus(job: SlaJob, rows: readonly SlaInstance[], now: number): SlaStatus {
  const D = durationMs(job);
  const required = requiredUp(job);
  const n = Math.max(0, job.instances);
  // Per instance: up now? otherwise the earliest time one of its rows becomes up, and why it is down.
  const upNow = new Uint8Array(n);
  const nextUp = new Float64Array(n).fill(Infinity);
  const cause = new Uint8Array(n);
  for (const r of rows) {
    if (r.index < 0 || r.index >= n || !Number.isInteger(r.index)) continue;
    const f = upFrom(r, D);
    if (f !== undefined) {
      if (f <= now) upNow[r.index] = 1;
      else {
        if (f < nextUp[r.index]!) nextUp[r.index] = f;
        cause[r.index] = Math.max(cause[r.index]!, CAUSE_AGING);
      }
    } else if (isLive(r)) {
      const c = r.kill_requested_ms !== undefined || r.state === 'TASK_KILLING' ? CAUSE_KILLING : CAUSE_STARTING;
      cause[r.index] = Math.max(cause[r.index]!, c);
    }
  }
  let up = 0;
  let killing = 0;
  let aging = 0;
  let starting = 0;
  let pending = 0;
  const agingTimes: number[] = [];
  for (let i = 0; i < n; i++) {
    if (upNow[i]) up++;
    else if (nextUp[i]! < Infinity) {
      aging++;
      agingTimes.push(nextUp[i]!);
    } else if (cause[i] === CAUSE_STARTING) starting++;
    else if (cause[i] === CAUSE_KILLING) killing++;
    else pending++;
  }
  agingTimes.sort((a, b) => a - b);
  const margin = up - required;
  const status: SlaStatus = {
    job: job.name,
    instances: n,
    required,
    up,
    margin,
    budget: Math.max(0, margin),
    max_budget: n - required,
    duration_ms: D,
    killing,
    aging,
    starting,
    pending,
    refill_needs_starts: 0,
    aging_up_at_ms: agingTimes,
    unattainable: required > n,
  };
  if (job.sla) status.sla = job.sla;
  if (margin < 1) {
    const t = refillTime(status, now, 1);
    if (t !== undefined) status.refill_at_ms = t;
    else status.refill_needs_starts = 1 - margin - agingTimes.length;
  }
  return status;
}

/**
 * From a status: earliest time at which the margin reaches `k` (now if it already has), assuming
 * no other event (kills, failures, new replacements). k = 1: one more up instance may go down;
 * k = 0: the job is back at its SLA. undefined: not without replacements starting first.
 */
export function refillTime(st: Pick<SlaStatus, 'margin' | 'aging_up_at_ms'>, now: number, k = 1): number | undefined {
  if (st.margin >= k) return now;
  const need = k - st.margin;
  return st.aging_up_at_ms.length >= need ? st.aging_up_at_ms[need - 1] : undefined;
}

/** The job's budget now: how many more up instances may go down (never negative). */
export function budget(job: SlaJob, rows: readonly SlaInstance[], now: number): number {
  return slaStatus(job, rows, now).budget;
}

/** Earliest time at which `k` more up instances may go down (see refillTime). */
export function budgetRefillAt(job: SlaJob, rows: readonly SlaInstance[], now: number, k = 1): number | undefined {
  return refillTime(slaStatus(job, rows, now), now, k);
}

/** May one more up instance of the job go down now? */
export function canTakeDown(job: SlaJob, rows: readonly SlaInstance[], now: number): boolean {
  return slaStatus(job, rows, now).budget >= 1;
}
