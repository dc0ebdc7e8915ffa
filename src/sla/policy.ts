/**
 * SLA policies and what they require — the one definition of "required" in Sluice.
 *
 * A job's SLA says how many of its instances must be **up** at every instant, where up means
 * RUNNING without interruption for at least `duration_seconds`, and healthy when the instance has a
 * health check (see rows.ts):
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
 *
 * Two options of percentage/count policies (validate.ts checks them):
 * - `max_unavailable_domains: N, domain: "rack"` — the job tolerates losing every instance in N
 *   failure domains (values of the agent attribute `domain`) at a time; kill.ts defines the rule;
 * - `coordinator: {url, timeout_seconds}` — the counting rule must allow a kill AND the service's
 *   coordinator must say yes to it.
 * And one policy of its own: `{"kind": "coordinator", url, timeout_seconds}` — the coordinator alone
 * decides (nothing is counted: required = 0); see coordinator.ts for the protocol.
 */

/** Where the service's coordinator is asked before each voluntary kill. */
export interface CoordinatorRef {
  /** http(s) URL; user info (credentials) is allowed and never logged (src/util/redact.ts). */
  url: string;
  /** The whole question (connect, answer, body) must finish within this many seconds, else "no". */
  timeout_seconds: number;
}

/** Options shared by the counting policies. */
export interface CountingOptions {
  /** Failure domains whose instances may all be unavailable at once (kill.ts). Needs `domain`. */
  max_unavailable_domains?: number;
  /** The agent attribute naming an instance's failure domain (default "rack"). */
  domain?: string;
  /** Also ask the service's coordinator before each voluntary kill. */
  coordinator?: CoordinatorRef;
}

/**
 * A job's availability promise, counted by Sluice (Aurora's SLA policies).
 * - percentage: at least `percentage`% of the job's instances must be up (e.g. 95 over 1800 s);
 * - count: at least `count` instances must be up.
 */
export type SlaPolicy =
  | ({ kind: 'percentage'; percentage: number; duration_seconds: number } & CountingOptions)
  | ({ kind: 'count'; count: number; duration_seconds: number } & CountingOptions);

/** The coordinator alone decides whether an instance may go (Aurora's CoordinatorSlaPolicy). */
export interface CoordinatorSlaPolicy extends CoordinatorRef {
  kind: 'coordinator';
}

/** Every policy a job may declare. */
export type AnySlaPolicy = SlaPolicy | CoordinatorSlaPolicy;

/**
 * What the SLA rules need to know about a job. `P` narrows the policies a caller handles (the
 * default, counting policies only, is what today's job specs carry); the rules accept any policy.
 */
export interface SlaJob<P extends AnySlaPolicy = SlaPolicy> {
  name: string;
  instances: number;
  sla?: P;
}

/** A job with any policy (what the functions of this module accept). */
export type AnySlaJob = SlaJob<AnySlaPolicy>;

/** Slack for binary floating-point error in percentage × instances / 100. */
const EPSILON = 1e-9;

/** The default failure-domain attribute. */
export const DEFAULT_DOMAIN_ATTRIBUTE = 'rack';

/**
 * Instances that must be up, for `instances` configured instances and the policy (0 without one,
 * and 0 for a coordinator-only policy). Exceeds `instances` only for a percentage above 100.
 */
export function requiredFor(instances: number, sla: AnySlaPolicy | undefined): number {
  if (!sla || sla.kind === 'coordinator') return 0;
  const n = Math.max(0, instances);
  if (sla.kind === 'percentage') return Math.max(0, Math.ceil((sla.percentage * n) / 100 - EPSILON));
  return Math.max(0, Math.min(n, Math.ceil(sla.count)));
}

/** Instances the job's SLA requires up. */
export function requiredUp(job: AnySlaJob): number {
  return requiredFor(job.instances, job.sla);
}

/** The SLA duration in ms (0 without a counting SLA): how long a task must have been RUNNING to count as up. */
export function durationMs(job: AnySlaJob): number {
  return job.sla && job.sla.kind !== 'coordinator' ? Math.max(0, job.sla.duration_seconds) * 1000 : 0;
}

/** The failure-domain rule of a policy, if it has one. */
export function domainRule(sla: AnySlaPolicy | undefined): { max: number; attribute: string } | undefined {
  if (!sla || sla.kind === 'coordinator' || sla.max_unavailable_domains === undefined) return undefined;
  return { max: sla.max_unavailable_domains, attribute: sla.domain ?? DEFAULT_DOMAIN_ATTRIBUTE };
}

/** The coordinator to ask before a voluntary kill, if the policy names one. */
export function coordinatorOf(sla: AnySlaPolicy | undefined): CoordinatorRef | undefined {
  if (!sla) return undefined;
  if (sla.kind === 'coordinator') return { url: sla.url, timeout_seconds: sla.timeout_seconds };
  return sla.coordinator;
}

/** A short human description. Never includes the coordinator URL (it may carry credentials). */
export function describeSla(sla: AnySlaPolicy | undefined): string {
  if (!sla) return 'no SLA';
  if (sla.kind === 'coordinator') return 'SLA decided by the service coordinator';
  let s = sla.kind === 'percentage' ? `SLA ${sla.percentage}% over ${sla.duration_seconds}s` : `SLA ${sla.count} up over ${sla.duration_seconds}s`;
  const d = domainRule(sla);
  if (d) s += `, or all of ${d.max} ${d.attribute}${d.max === 1 ? '' : 's'} down`;
  if (sla.coordinator) s += ', and the service coordinator agrees';
  return s;
}
