/**
 * The invariant, in one place: **no voluntary kill may leave fewer than the required number of
 * instances up.** Every voluntary kill Sluice plans (drains today; updates and other kills later)
 * asks `killAllowed` first and records it with `JobKillLedger#take`.
 *
 * What a kill of one row costs (`killCost`):
 * - 'free': the row is not running at all (PENDING, STAGING, STARTING, KILLING, UNREACHABLE,
 *   terminal), a kill is already requested, it is not one of the job's instances (beyond the job
 *   size), or its instance stays up through another row that counts as up (the make-before-break
 *   replacement has aged). Up does not drop and nothing serving is lost: always allowed.
 * - 'serving': RUNNING but not up yet (younger than the SLA duration) and the instance's only
 *   serving chance. Up does not drop, but the instance was serving: allowed only while the job is
 *   not below its SLA, i.e. up ≥ required after the kill. A job below its SLA (just deployed,
 *   recovering) loses no serving instance — it only moves by make-before-break.
 * - 'up': the instance's only up row. Up drops by one: allowed only if up − 1 ≥ required
 *   (budget ≥ 1 before the kill).
 *
 * Forced kills (--force after a drain timeout) knowingly bypass the rule; they are still recorded
 * in the ledger so that what follows in the same plan sees the real up count.
 */
import type { SlaInstance } from './rows.js';
import { isRowUp } from './rows.js';
import type { SlaStatus } from './status.js';

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

/** May a kill of this cost happen with `up` instances up and `required` required? */
export function killAllowed(cost: KillCost, up: number, required: number): boolean {
  if (cost === 'free') return true;
  if (cost === 'serving') return up >= required;
  return up - 1 >= required;
}

/**
 * A job's up count while one plan decides several kills: each allowed kill is taken from it, so the
 * next decision sees what the previous ones left.
 */
export class JobKillLedger {
  private up: number;
  readonly required: number;
  constructor(st: Pick<SlaStatus, 'up' | 'required'>) {
    this.up = st.up;
    this.required = st.required;
  }

  allows(cost: KillCost): boolean {
    return killAllowed(cost, this.up, this.required);
  }

  /** Record a kill (allowed, or forced). */
  take(cost: KillCost): void {
    if (cost === 'up') this.up--;
  }

  get upNow(): number {
    return this.up;
  }

  /** up − required after the kills taken (negative: below the SLA). */
  get margin(): number {
    return this.up - this.required;
  }

  /** Up instances that may still go down (never negative). */
  get budget(): number {
    return Math.max(0, this.up - this.required);
  }
}
