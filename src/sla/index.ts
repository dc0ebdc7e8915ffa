/**
 * The SLA module (pure): what "up", "required", "budget" and a voluntary kill mean, defined once
 * and used by the drainer, the probe, inverse offers, the drain simulator, metrics and the tests.
 *
 * - policy.ts — SLA policies, `required` (the rounding rule), durations;
 * - rows.ts — task rows and when a row counts as up;
 * - status.ts — a job's up / required / margin / budget and refill times;
 * - kill.ts — the invariant: no voluntary kill may leave fewer than the required instances up.
 *
 * Imports only src/mesos and src/util (test/architecture enforces it).
 */
export * from './policy.js';
export * from './rows.js';
export * from './status.js';
export * from './kill.js';
