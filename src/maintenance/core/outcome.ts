/**
 * Domain outcomes of the maintenance module's operator requests. The cores say what happened; the
 * operator API alone decides how that reads in HTTP (src/api/host-routes.ts: ok 200, accepted 202,
 * invalid 400, not_found 404, conflict 409, upstream_error 502, unavailable/stopped 503, failed 500).
 */
export type Outcome = 'ok' | 'accepted' | 'invalid' | 'not_found' | 'conflict' | 'upstream_error' | 'unavailable' | 'stopped' | 'failed';

/** A request that did not go through, as data (it crosses the loop as an input and an output). */
export interface Failure {
  outcome: Exclude<Outcome, 'ok' | 'accepted'>;
  error: string;
  /** Machine-readable code (MaintenanceErrorCode for domain refusals). */
  code?: string;
  /** Per-host problems, or other details for the operator. */
  details?: unknown;
}

/** The answer to one operator request. */
export type Reply = { outcome: 'ok' | 'accepted'; body: unknown } | Failure;

export function isFailure(r: Reply): r is Failure {
  return r.outcome !== 'ok' && r.outcome !== 'accepted';
}
