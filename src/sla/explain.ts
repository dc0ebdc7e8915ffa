/**
 * Why a job's budget is what it is: structured data for `sla probe` and `host query` to render,
 * per blocking job — the budget, what consumes it, and when it refills.
 *
 * Each instance that is not up is put down to one consumer, from its rows (first match):
 * - a live row with a kill requested or KILLING → the kill's cause: 'drain', 'update' (rolling
 *   replace, scale down) or 'operator' (absent cause: 'operator');
 * - a RUNNING row with a health check that is not healthy → 'unhealthy';
 * - UNREACHABLE / LOST / GONE / … rows, or a row launched to replace a lost instance → 'failure';
 * - a row launched by a drain (make-before-break, relaunch after a drain kill) → 'drain', by an
 *   update → 'update';
 * - anything else not up yet (pending, starting, younger than the duration) → 'starting'.
 * Refill: the earliest time the budget reaches 1 (or, below its count, the job is back at it) if
 * nothing else happens — young instances age; unhealthy ones count once healthy, from
 * max(now, running since + duration); instances not running yet must first start and age.
 */
import type { AnySlaJob } from './policy.js';
import { coordinatorOf, describeSla, durationMs } from './policy.js';
import type { SlaInstance } from './rows.js';
import { earliestUp, isLive, isRowUp, isUnhealthy, upFrom } from './rows.js';
import { chargedDomains } from './domains.js';
import type { SlaStatus } from './status.js';
import { refillTime, slaStatus } from './status.js';

export type Consumer = 'drain' | 'update' | 'operator' | 'failure' | 'unhealthy' | 'starting';

export interface DownInstance {
  index: number;
  consumer: Consumer;
  state: string;
  hostname?: string;
  /** With a domain rule: the domains its unavailability is charged to (domains.ts). */
  domains?: string[];
  /** When it counts as up if nothing else happens (absent: it must start, or turn healthy, first). */
  up_at_ms?: number;
  /** For an unhealthy instance: the earliest it could count as up, once healthy. */
  up_if_healthy_at_ms?: number;
}

export interface BudgetExplanation {
  job: string;
  /** The policy, described (no URL). */
  policy: string;
  instances: number;
  required: number;
  up: number;
  /** Up instances that may go down now by the count rule. */
  budget: number;
  margin: number;
  meets_sla: boolean;
  domains?: { max: number; attribute: string; down: string[] };
  /** Instances not up, by consumer. */
  consumers: Record<Consumer, number>;
  down: DownInstance[];
  refill: {
    /** When one more up instance may go down (or, below the SLA, the job is back at it). */
    at_ms?: number;
    /** Instances that must start (and age) first when `at_ms` is absent. */
    needs_starts: number;
    /** Unhealthy instances that would refill it by turning healthy. */
    needs_healthy: number;
  };
  /** Voluntary kills of this job also need the service coordinator's yes. */
  coordinator: boolean;
  /** One line for an operator, starting `job NAME: `. */
  text: string;
}

const FAILED = new Set(['TASK_UNREACHABLE', 'TASK_LOST', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_FAILED', 'TASK_DROPPED', 'TASK_ERROR', 'TASK_UNKNOWN']);

function consumerOf(rows: readonly SlaInstance[]): { consumer: Consumer; row?: SlaInstance } {
  const killed = rows.find((r) => isLive(r) && (r.kill_requested_ms !== undefined || r.state === 'TASK_KILLING'));
  if (killed) return { consumer: killed.kill_cause ?? 'operator', row: killed };
  const sick = rows.find(isUnhealthy);
  if (sick) return { consumer: 'unhealthy', row: sick };
  const lost = rows.find((r) => FAILED.has(r.state) || r.launch_cause === 'failure');
  if (lost) return { consumer: 'failure', row: lost };
  const by = rows.find((r) => r.launch_cause === 'drain' || r.launch_cause === 'update');
  if (by) return { consumer: by.launch_cause as Consumer, row: by };
  return { consumer: 'starting', row: rows.find(isLive) ?? rows[0] };
}

/** The explanation of `job`'s budget at `now` from its rows (`status`: pass it if already computed). */
export function explainBudget(job: AnySlaJob, rows: readonly SlaInstance[], now: number, status?: SlaStatus): BudgetExplanation {
  const st = status ?? slaStatus(job, rows, now);
  const D = durationMs(job);
  const n = st.instances;
  const byIndex = new Map<number, SlaInstance[]>();
  for (const r of rows) {
    if (!Number.isInteger(r.index) || r.index < 0 || r.index >= n) continue;
    let l = byIndex.get(r.index);
    if (!l) byIndex.set(r.index, (l = []));
    l.push(r);
  }
  const consumers: Record<Consumer, number> = { drain: 0, update: 0, operator: 0, failure: 0, unhealthy: 0, starting: 0 };
  const down: DownInstance[] = [];
  const healthyAt: number[] = [];
  for (let i = 0; i < n; i++) {
    const rs = byIndex.get(i) ?? [];
    if (rs.some((r) => isRowUp(r, D, now))) continue;
    const { consumer, row } = consumerOf(rs);
    consumers[consumer]++;
    const d: DownInstance = { index: i, consumer, state: row?.state ?? 'PENDING' };
    if (row?.hostname !== undefined) d.hostname = row.hostname;
    if (st.domains) d.domains = chargedDomains(rs, i);
    let upAt = Infinity;
    let ifHealthy = Infinity;
    for (const r of rs) {
      const f = upFrom(r, D);
      if (f !== undefined) upAt = Math.min(upAt, f);
      else if (isUnhealthy(r)) ifHealthy = Math.min(ifHealthy, earliestUp(r, D, now) ?? Infinity);
    }
    if (upAt < Infinity) d.up_at_ms = upAt;
    else if (ifHealthy < Infinity) {
      d.up_if_healthy_at_ms = ifHealthy;
      healthyAt.push(ifHealthy);
    }
    down.push(d);
  }
  const k = st.margin >= 0 ? 1 : 0;
  const at = refillTime(st, now, k);
  const needAging = at === undefined ? Math.max(0, k - st.margin - st.aging_up_at_ms.length) : 0;
  const needs_healthy = Math.min(needAging, healthyAt.length);
  const refill: BudgetExplanation['refill'] = { needs_starts: needAging - needs_healthy, needs_healthy };
  if (at !== undefined) refill.at_ms = at;
  const e: BudgetExplanation = {
    job: job.name,
    policy: describeSla(job.sla),
    instances: n,
    required: st.required,
    up: st.up,
    budget: st.budget,
    margin: st.margin,
    meets_sla: st.meets_sla,
    consumers,
    down,
    refill,
    coordinator: coordinatorOf(job.sla) !== undefined,
    text: '',
  };
  if (st.domains) e.domains = { max: st.domains.max, attribute: st.domains.attribute, down: st.domains.down };
  e.text = explanationText(e, now);
  return e;
}

/** "12:34:56Z": a UTC clock time as SLA texts show it. */
export function clock(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 19) + 'Z' : 'never';
}

/** One line: `job web: SLA 95% over 1800s: 95 up, 95 required, budget 0; not up: 3 drain, 2 unhealthy; refills at 12:30:00Z`. */
export function explanationText(e: BudgetExplanation, now: number): string {
  const used = (Object.entries(e.consumers) as Array<[Consumer, number]>).filter(([, v]) => v > 0).map(([c, v]) => `${v} ${c}`);
  let s = `job ${e.job}: ${e.policy}: ${e.up} up, ${e.required} required, budget ${e.budget}`;
  if (!e.meets_sla) s += ' (below its SLA)';
  if (e.domains) s += `; ${e.domains.attribute}s with instances not up: ${e.domains.down.length ? e.domains.down.join(', ') : 'none'} (at most ${e.domains.max})`;
  s += used.length ? `; not up: ${used.join(', ')}` : '';
  const r = e.refill;
  if (r.at_ms !== undefined) s += r.at_ms <= now ? '' : `; refills at ${clock(r.at_ms)}`;
  else {
    const parts: string[] = [];
    if (r.needs_healthy) parts.push(r.needs_healthy === 1 ? '1 instance turns healthy' : `${r.needs_healthy} instances turn healthy`);
    if (r.needs_starts) parts.push(r.needs_starts === 1 ? '1 instance starts and ages' : `${r.needs_starts} instances start and age`);
    if (parts.length) s += `; refills once ${parts.join(' and ')}`;
  }
  if (e.coordinator) s += '; each kill also needs the coordinator\'s yes';
  return s;
}
