/**
 * The SLA module (pure): what "up", "required", "budget" and a voluntary kill mean, defined once
 * and used by the drainer, the probe, inverse offers, the drain simulator, metrics and the tests.
 *
 * - policy.ts — SLA policies, `required` (the rounding rule), durations;
 * - rows.ts — task rows and when a row counts as up;
 * - status.ts — a job's up / required / margin / budget and refill times;
 * - domains.ts — failure domains touched by the instances that are not up;
 * - kill.ts — the invariant: no voluntary kill may leave the job below its SLA (count or domains);
 *   `decideKills`, the one decision drains, rolling updates and operator kills share;
 * - validate.ts — strict validation of policies, guardrail settings and `--override-sla`;
 * - guardrails.ts — the effective policy (cluster default, upper bound, override) and why;
 * - explain.ts — per job: the budget, what consumes it, when it refills (for `sla probe`, `host query`);
 * - coordinator.ts — the coordinator protocol (question, what counts as yes); the HTTP client is
 *   src/coordinator;
 * - approvals.ts — the coordinator answers between plans (asked, yes with a TTL, retry after no).
 *
 * Imports only src/mesos and src/util (test/architecture enforces it).
 */
export * from './policy.js';
export * from './rows.js';
export * from './status.js';
export * from './kill.js';
export * from './domains.js';
export * from './validate.js';
export * from './guardrails.js';
export * from './explain.js';
export * from './coordinator.js';
export * from './approvals.js';
