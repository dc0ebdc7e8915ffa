/**
 * A job's SLA state at an instant: up, required, budget, margin, and when the budget refills.
 *
 * - up: instances up now (rows.ts: RUNNING for the duration, healthy where checked);
 * - required: policy.ts;
 * - margin = up − required (negative: the job is below its count — just deployed, recovering from
 *   failures, unhealthy, or knowingly overridden);
 * - budget = max(0, margin): how many more up instances may go down now by the count rule. Never
 *   negative.
 * - with a failure-domain rule (policy.ts `max_unavailable_domains`): `down_domains`, the domains
 *   touched by the instances that are not up (domains.ts), and `meets_sla`: the count holds or the
 *   instances not up are confined to at most N domains with one instance still up (kill.ts).
 *
 * There is one budget per job: whatever takes an instance down — a drain kill, a rolling-update
 * replacement, a failure, a health check — shows in the rows as an instance not up, and every
 * voluntary kill (drain, update, operator) is decided against what the rows leave (kill.ts).
 */
import type { AnySlaJob, AnySlaPolicy } from './policy.js';
import { domainRule, durationMs, requiredUp } from './policy.js';
import type { SlaInstance } from './rows.js';
import { isLive, isUnhealthy, upFrom } from './rows.js';
import { downDomains } from './domains.js';

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
  /** RUNNING, with a health check that does not say healthy (serving, not counted up). */
  unhealthy: number;
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
  /** The failure-domain rule and the domains the instances not up touch now (sorted). */
  domains?: { max: number; attribute: string; down: string[] };
  /** The job meets its SLA now: margin ≥ 0, or its instances not up fit in its domain rule. */
  meets_sla: boolean;
  sla?: AnySlaPolicy;
}

/**
 * Is the job below its SLA? With a failure-domain rule, a job whose instances not up are confined
 * to ≤ N domains (one instance still up) is not below it, whatever its count.
 */
export function belowSla(st: Pick<SlaStatus, 'margin'> & { meets_sla?: boolean }): boolean {
  return st.meets_sla !== undefined ? !st.meets_sla : st.margin < 0;
}

/** Does a job with `up` instances up and the domains `down` touched meet its SLA? */
export function meetsSla(up: number, required: number, rule: { max: number } | undefined, down: { size: number } | undefined): boolean {
  if (up >= required) return true;
  return rule !== undefined && down !== undefined && down.size <= rule.max && up >= 1;
}

const CAUSE_KILLING = 1;
const CAUSE_AGING = 2;
const CAUSE_STARTING = 3;
const CAUSE_UNHEALTHY = 4;

/**
 * The SLA state of one job at `now`, from the job's rows (other jobs' rows must not be passed;
 * rows of indices outside 0..instances−1 are ignored).
 */
export function slaStatus(job: AnySlaJob, rows: readonly SlaInstance[], now: number): SlaStatus {
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
    } else if (isUnhealthy(r)) {
      cause[r.index] = Math.max(cause[r.index]!, CAUSE_UNHEALTHY);
    } else if (isLive(r)) {
      const c = r.kill_requested_ms !== undefined || r.state === 'TASK_KILLING' ? CAUSE_KILLING : CAUSE_STARTING;
      cause[r.index] = Math.max(cause[r.index]!, c);
    }
  }
  let up = 0;
  let killing = 0;
  let aging = 0;
  let unhealthy = 0;
  let starting = 0;
  let pending = 0;
  const agingTimes: number[] = [];
  for (let i = 0; i < n; i++) {
    if (upNow[i]) up++;
    else if (nextUp[i]! < Infinity) {
      aging++;
      agingTimes.push(nextUp[i]!);
    } else if (cause[i] === CAUSE_UNHEALTHY) unhealthy++;
    else if (cause[i] === CAUSE_STARTING) starting++;
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
    unhealthy,
    starting,
    pending,
    refill_needs_starts: 0,
    aging_up_at_ms: agingTimes,
    unattainable: required > n,
    meets_sla: margin >= 0,
  };
  if (job.sla) status.sla = job.sla;
  const rule = domainRule(job.sla);
  if (rule) {
    const down = downDomains(rows, n, upNow);
    status.domains = { max: rule.max, attribute: rule.attribute, down: [...down].sort() };
    status.meets_sla = meetsSla(up, required, rule, down);
  }
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
export function budget(job: AnySlaJob, rows: readonly SlaInstance[], now: number): number {
  return slaStatus(job, rows, now).budget;
}

/** Earliest time at which `k` more up instances may go down (see refillTime). */
export function budgetRefillAt(job: AnySlaJob, rows: readonly SlaInstance[], now: number, k = 1): number | undefined {
  return refillTime(slaStatus(job, rows, now), now, k);
}

/** May one more up instance of the job go down now? */
export function canTakeDown(job: AnySlaJob, rows: readonly SlaInstance[], now: number): boolean {
  return slaStatus(job, rows, now).budget >= 1;
}
