/**
 * The invariant, in one place: **no voluntary kill may leave the job below its SLA, and a job below
 * its SLA gets no voluntary kill.** Every voluntary kill Sluice plans — drains, rolling updates
 * (replace, scale down), operator kills — asks this module first and records what it took, so they
 * all draw on one budget per job (`JobKillLedger`, `decideKills`).
 *
 * A job **meets its SLA** with `up` instances up (rows.ts: RUNNING for the duration, healthy where
 * checked) and `required` required (policy.ts) iff
 *   up ≥ required                                                   (the count rule), or
 *   the policy has `max_unavailable_domains: N` and the instances not up touch at most N domains
 *   (domains.ts) and up ≥ 1                                          (the domain rule).
 * The domain rule is the job owner's statement that the job survives losing every instance in N
 * domains at once (replicated stores spread over racks); "up ≥ 1" keeps a job that is not spread at
 * all from being emptied by it.
 *
 * What a kill of one row costs (`killCost`):
 * - 'free': the row is not running at all (PENDING, STAGING, STARTING, KILLING, UNREACHABLE,
 *   terminal), a kill is already requested, it is not one of the job's instances (beyond the job
 *   size), or its instance stays up through another row that counts as up (the make-before-break
 *   replacement has aged). Nothing that counts is lost: always allowed.
 * - 'serving': RUNNING but not up (younger than the duration, or unhealthy / not yet checked) and
 *   the instance's only serving chance. Up does not drop and the instance's domains are already
 *   touched, but it was serving: allowed only while the job meets its SLA. A job below its SLA (just
 *   deployed, recovering, unhealthy) loses no serving instance — it moves only by make-before-break.
 * - 'up': the instance's only up row. Allowed iff the job still meets its SLA afterwards: up − 1 ≥
 *   required, or (domain rule) the domains touched plus the killed row's domain and those of the
 *   instance's other live rows (`killDomains`) are at most N, with up − 1 ≥ 1.
 *
 * Forced kills (--force after a drain timeout) knowingly bypass the rule; they are still recorded
 * in the ledger so that what follows in the same plan sees the real state.
 *
 * A coordinator policy (policy.ts) adds a question per kill: `decideKills` puts a kill the counting
 * rules allow into `ask` instead of `kill` until the coordinator has said yes to that task. For such
 * a job every kill of a RUNNING row needs that yes — also the ones that would be free by the count
 * (beyond the job size on a scale-down, or a make-before-break replacement up): the coordinator, not
 * Sluice, knows what its service can lose. Only rows not running at all go without a question. At
 * most one question per job at a time over every cause (`asking`: questions out, from the one
 * approval book), none while another instance's yes is still unused, none while a voluntary kill
 * of the job is in flight, and none while the replacement of an instance a voluntary kill took
 * (drain, update) is not serving yet — so the coordinator always answers about a settled service.
 */
import { coordinatorOf, describeSla, domainRule, durationMs } from './policy.js';
import type { AnySlaJob } from './policy.js';
import type { SlaInstance } from './rows.js';
import { isLive, isRowUp, isServing, isTerminalRow, isUnhealthy } from './rows.js';
import { killDomains } from './domains.js';
import type { SlaStatus } from './status.js';
import { meetsSla, slaStatus } from './status.js';

export type KillCost = 'free' | 'serving' | 'up';

/**
 * The cost of killing `row` now. `otherUpRows`: how many other rows of the same instance count as
 * up now (and are not being killed). `inJob`: the row's index is one of the job's instances.
 */
export function killCost(row: SlaInstance, duration_ms: number, now: number, otherUpRows: number, inJob = true): KillCost {
  if (!inJob || row.state !== 'TASK_RUNNING' || row.kill_requested_ms !== undefined) return 'free';
  if (otherUpRows > 0) return 'free';
  return isRowUp(row, duration_ms, now) ? 'up' : 'serving';
}

/** May a kill of this cost happen with `up` instances up and `required` required (count rule only)? */
export function killAllowed(cost: KillCost, up: number, required: number): boolean {
  if (cost === 'free') return true;
  if (cost === 'serving') return up >= required;
  return up - 1 >= required;
}

/**
 * A job's state while one plan decides several kills: each kill taken updates it, so the next
 * decision sees what the previous ones left. Built from a status (with its domain rule, if any).
 */
export class JobKillLedger {
  private up: number;
  readonly required: number;
  private readonly maxDomains: number | undefined;
  private readonly down: Set<string> | undefined;
  private unknown = 0;
  constructor(st: Pick<SlaStatus, 'up' | 'required'> & { domains?: { max: number; down: readonly string[] } }) {
    this.up = st.up;
    this.required = st.required;
    if (st.domains) {
      this.maxDomains = st.domains.max;
      this.down = new Set(st.domains.down);
    }
  }

  /** The domains after adding `domains` (a fresh unknown domain when none are given). */
  private with(domains: readonly string[] | undefined): Set<string> | undefined {
    if (!this.down) return undefined;
    const s = new Set(this.down);
    if (domains && domains.length) for (const d of domains) s.add(d);
    else s.add(`?kill${this.unknown}`);
    return s;
  }

  /**
   * May a kill of this cost happen now? `domains`: what the instance touches once killed
   * (`killDomains`); without them, a kill counts as one more unknown domain.
   */
  allows(cost: KillCost, domains?: readonly string[]): boolean {
    if (cost === 'free') return true;
    const rule = this.maxDomains !== undefined ? { max: this.maxDomains } : undefined;
    if (cost === 'serving') return meetsSla(this.up, this.required, rule, this.down);
    return meetsSla(this.up - 1, this.required, rule, this.with(domains));
  }

  /** Record a kill (allowed, or forced). */
  take(cost: KillCost, domains?: readonly string[]): void {
    if (cost !== 'up') return;
    this.up--;
    if (this.down) {
      const next = this.with(domains)!;
      if (!(domains && domains.length)) this.unknown++;
      for (const d of next) this.down.add(d);
    }
  }

  get upNow(): number {
    return this.up;
  }

  /** An independent copy (to try a set of kills before taking them). */
  clone(): JobKillLedger {
    const c = new JobKillLedger({ up: this.up, required: this.required, ...(this.down ? { domains: { max: this.maxDomains!, down: [...this.down] } } : {}) });
    c.unknown = this.unknown;
    return c;
  }

  /** up − required after the kills taken (negative: below the count). */
  get margin(): number {
    return this.up - this.required;
  }

  /** Up instances that may still go down by the count rule (never negative). */
  get budget(): number {
    return Math.max(0, this.up - this.required);
  }

  /** Does the job meet its SLA after the kills taken (count or domain rule)? */
  get meets(): boolean {
    return meetsSla(this.up, this.required, this.maxDomains !== undefined ? { max: this.maxDomains } : undefined, this.down);
  }

  /** The domains touched after the kills taken (undefined: no domain rule). */
  get downDomains(): string[] | undefined {
    return this.down ? [...this.down].sort() : undefined;
  }
}

/** Why a voluntary kill is asked for. */
export type VoluntaryCause = 'drain' | 'update' | 'operator';

export interface KillRefusal {
  row: SlaInstance;
  cost: KillCost;
  /** A complete sentence starting `job NAME: `. */
  reason: string;
}

export interface KillDecisions {
  /** Kill these now (in the candidates' order). */
  kill: SlaInstance[];
  /** Ask the coordinator about these first (at most one per job); kill once it says yes. */
  ask: SlaInstance[];
  refused: KillRefusal[];
  /** The job's status before these decisions. */
  status: SlaStatus;
}

export interface DecideOptions {
  /** Tasks the coordinator has said yes to (and the answer is still fresh). */
  approved?: ReadonlySet<string>;
  /** Tasks whose coordinator question is out, whoever asked (drain, update): one per job at a time. */
  asking?: ReadonlySet<string>;
  /** At most this many kills (after free ones): e.g. an update's batch size. */
  max?: number;
}

/**
 * Which of `candidates` (rows of `job`, in priority order) may be killed now, for any voluntary
 * cause: the one decision that drains, rolling updates and operator kills share. Candidates with
 * nothing to kill (no task id, PENDING, terminal) are skipped; free kills are listed in `kill`
 * unless a kill is already requested. `rows`: every row
 * of the job (including the candidates), with kills already requested marked — so kills in flight
 * for any cause already consume the budget.
 */
export function decideKills(job: AnySlaJob, rows: readonly SlaInstance[], candidates: readonly SlaInstance[], now: number, opts: DecideOptions = {}): KillDecisions {
  const status = slaStatus(job, rows, now);
  const D = durationMs(job);
  const n = Math.max(0, job.instances);
  const ledger = new JobKillLedger(status);
  const upRows = new Map<number, number>();
  const byIndex = new Map<number, SlaInstance[]>();
  let inFlight = false;
  for (const r of rows) {
    if (r.kill_requested_ms !== undefined && isLive(r)) inFlight = true;
    if (!Number.isInteger(r.index) || r.index < 0 || r.index >= n) continue;
    if (isRowUp(r, D, now)) upRows.set(r.index, (upRows.get(r.index) ?? 0) + 1);
    let l = byIndex.get(r.index);
    if (!l) byIndex.set(r.index, (l = []));
    l.push(r);
  }
  const coord = coordinatorOf(job.sla);
  // a question out, or a yes not used yet, about one instance holds every other instance of the job
  let open: SlaInstance | undefined;
  // the replacement of an instance a voluntary kill took is not serving yet: the service is not settled
  let settling = false;
  if (coord) {
    for (const r of rows) {
      if ((r.launch_cause === 'drain' || r.launch_cause === 'update') && r.index >= 0 && r.index < n && !r.surge && !(isServing(r) && !isUnhealthy(r)) && !isTerminalRow(r)) settling = true;
      if (open || r.task_id === undefined || !isLive(r) || r.kill_requested_ms !== undefined) continue;
      if (opts.asking?.has(r.task_id) || opts.approved?.has(r.task_id)) open = r;
    }
  }
  const out: KillDecisions = { kill: [], ask: [], refused: [], status };
  const text = describeSla(job.sla);
  let taken = 0;
  for (const r of candidates) {
    if (r.task_id === undefined || !isLive(r)) continue; // nothing to kill
    const inJob = Number.isInteger(r.index) && r.index >= 0 && r.index < n;
    const up = inJob && isRowUp(r, D, now);
    const others = inJob ? (upRows.get(r.index) ?? 0) - (up ? 1 : 0) : 0;
    const cost = killCost(r, D, now, others, inJob);
    const needsYes = coord !== undefined && r.state === 'TASK_RUNNING' && r.kill_requested_ms === undefined;
    if (cost === 'free' && !needsYes) {
      if (r.kill_requested_ms === undefined) out.kill.push(r);
      if (up) upRows.set(r.index, others);
      continue;
    }
    if (opts.max !== undefined && taken >= opts.max) {
      out.refused.push({ row: r, cost, reason: `job ${job.name}: at most ${opts.max} at a time` });
      continue;
    }
    const domains = cost === 'up' && domainRule(job.sla) ? killDomains(r, byIndex.get(r.index) ?? []) : undefined;
    if (!ledger.allows(cost, domains)) {
      out.refused.push({ row: r, cost, reason: refusalText(job, ledger, cost, text) });
      continue;
    }
    if (coord && !opts.approved?.has(r.task_id)) {
      if (open && open !== r && open.task_id !== r.task_id) {
        const what = opts.asking?.has(open.task_id!) ? `waiting for its coordinator's answer about instance ${open.index}` : `its coordinator's yes to instance ${open.index} is used first`;
        out.refused.push({ row: r, cost, reason: `job ${job.name}: ${what}; one instance at a time` });
      } else if (inFlight || settling || out.ask.length > 0 || taken > 0) {
        out.refused.push({ row: r, cost, reason: `job ${job.name}: the coordinator is asked about one instance at a time, once no kill is in flight and every replacement serves` });
      } else out.ask.push(r);
      continue;
    }
    ledger.take(cost, domains);
    if (up) upRows.set(r.index, others);
    out.kill.push(r);
    taken++;
  }
  return out;
}

function refusalText(job: AnySlaJob, ledger: JobKillLedger, cost: KillCost, text: string): string {
  const counts = `${ledger.upNow} up, ${ledger.required} required`;
  const dom = ledger.downDomains;
  const d = dom ? `; domains with instances not up: ${dom.length ? dom.join(', ') : 'none'}` : '';
  if (!ledger.meets) return `job ${job.name}: below its ${text} (${counts}${d}): no voluntary kill until it is back`;
  if (cost === 'serving') return `job ${job.name}: ${text} (${counts}${d})`;
  return `job ${job.name}: ${text} allows no more down now (${counts}${d})`;
}
