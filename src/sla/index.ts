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
 *
 * Imports only src/mesos and src/util (test/architecture enforces it).
 */
export * from './policy.js';
export * from './rows.js';
export * from './status.js';
export * from './kill.js';
export * from './domains.js';
