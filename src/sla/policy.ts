/**
 * SLA policies and what they require — the one definition of "required" in Sluice.
 *
 * A job's SLA says how many of its instances must be **up** at every instant, where up means
 * RUNNING without interruption for at least `duration_seconds` (see rows.ts):
 * - percentage: required = ⌈percentage / 100 × instances⌉;
 * - count: required = min(count, instances).
 *
 * Rounding, decided once here: a percentage rounds **up** (95 % of 10 instances requires 10, 90 %
 * of 7 requires 7, 50 % of 7 requires 4). This is Aurora's rule (SlaManager#meetsSLAInstances:
 * `running / total × 100 ≥ percentage` ⇔ `running ≥ ⌈percentage × total / 100⌉`); rounding down
 * would let a job go below the percentage its owner wrote. The product is formed as
 * `percentage × instances / 100` and a 1e-9 slack absorbs binary floating-point error
 * (e.g. 7 % of 100 must require 7, not 8).
 *
 * Where Sluice differs from Aurora, on purpose:
 * - the base is the job's configured `instances`, not the tasks active at the moment (a job with
 *   instances down does not lower its own requirement);
 * - no minimum job size and no silent relaxation: Aurora quietly lets one instance of a job go when
 *   the policy allows none (count = instances, or 99 % of 10); Sluice keeps the policy as written —
 *   such a job moves only by make-before-break (or an explicit override).
 * A count above the job size means "every instance".
 */

/**
 * A job's availability promise (Aurora's SLA policies).
 * - percentage: at least `percentage`% of the job's instances must be up (e.g. 95 over 1800 s);
 * - count: at least `count` instances must be up.
 */
export type SlaPolicy =
  | { kind: 'percentage'; percentage: number; duration_seconds: number }
  | { kind: 'count'; count: number; duration_seconds: number };

/** What the SLA rules need to know about a job. */
export interface SlaJob {
  name: string;
  instances: number;
  sla?: SlaPolicy;
}

/** Slack for binary floating-point error in percentage × instances / 100. */
const EPSILON = 1e-9;

/**
 * Instances that must be up, for `instances` configured instances and the policy (0 without one).
 * Exceeds `instances` only for a percentage above 100 (an SLA that can never be met).
 */
export function requiredFor(instances: number, sla: SlaPolicy | undefined): number {
  if (!sla) return 0;
  const n = Math.max(0, instances);
  if (sla.kind === 'percentage') return Math.max(0, Math.ceil((sla.percentage * n) / 100 - EPSILON));
  return Math.max(0, Math.min(n, Math.ceil(sla.count)));
}

/** Instances the job's SLA requires up. */
export function requiredUp(job: SlaJob): number {
  return requiredFor(job.instances, job.sla);
}

/** The SLA duration in ms (0 without an SLA): how long a task must have been RUNNING to count as up. */
export function durationMs(job: SlaJob): number {
  return job.sla ? Math.max(0, job.sla.duration_seconds) * 1000 : 0;
}

export function describeSla(sla: SlaPolicy | undefined): string {
  if (!sla) return 'no SLA';
  if (sla.kind === 'percentage') return `SLA ${sla.percentage}% over ${sla.duration_seconds}s`;
  return `SLA ${sla.count} up over ${sla.duration_seconds}s`;
}
