/**
 * Typed errors of the maintenance module. Every error carries a machine-readable `code`, the
 * per-host problems (so one answer lists every bad host of a request at once), and its domain
 * outcome (`invalid`: the request itself is malformed; `conflict`: it clashes with the current
 * state). HTTP statuses are chosen by the operator API (src/api/host-routes.ts), not here.
 */
import type { Failure, Outcome } from './outcome.js';

export type MaintenanceErrorCode =
  | 'illegal-transition'
  | 'empty-request'
  | 'invalid-host-name'
  | 'unknown-host'
  | 'duplicate-host'
  | 'missing-ip'
  | 'already-in-maintenance'
  | 'not-in-maintenance'
  | 'wrong-state'
  | 'external-window'
  | 'invalid-option'
  | 'window-conflict'
  | 'machine-down'
  | 'invalid-schedule';

export interface HostProblem {
  /** The host as the operator spelled it ('' for request-wide problems). */
  hostname: string;
  code: MaintenanceErrorCode;
  message: string;
  /** The request field at fault (`hosts[2]`, `window.start`, `dry_run`), when there is one. */
  path?: string;
}

const INVALID: ReadonlySet<MaintenanceErrorCode> = new Set<MaintenanceErrorCode>([
  'empty-request',
  'invalid-host-name',
  'unknown-host',
  'duplicate-host',
  'invalid-option',
  'invalid-schedule',
]);

export class MaintenanceError extends Error {
  override readonly name: string = 'MaintenanceError';
  constructor(
    message: string,
    readonly code: MaintenanceErrorCode,
    readonly problems: readonly HostProblem[] = [],
  ) {
    super(message);
  }

  /** `invalid` for malformed requests (bad names, options), `conflict` with the current state. */
  get outcome(): Extract<Outcome, 'invalid' | 'conflict'> {
    if (this.problems.length === 0) return INVALID.has(this.code) ? 'invalid' : 'conflict';
    return this.problems.some((p) => INVALID.has(p.code)) ? 'invalid' : 'conflict';
  }

  toJSON(): { error: string; code: MaintenanceErrorCode; problems: readonly HostProblem[] } {
    return { error: this.message, code: this.code, problems: this.problems };
  }
}

/** A host state change the state machine does not allow. */
export class IllegalTransitionError extends MaintenanceError {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly hostname: string,
    readonly from: string,
    readonly to: string,
    why = '',
  ) {
    super(
      `illegal host state transition for ${hostname}: ${from} → ${to}${why ? ` (${why})` : ''}`,
      'illegal-transition',
      [{ hostname, code: 'illegal-transition', message: `${from} → ${to} is not allowed` }],
    );
  }
}

/** An operator request (start/complete/abort/probe) rejected as a whole; `problems` lists why. */
export class MaintenanceRequestError extends MaintenanceError {
  override readonly name = 'MaintenanceRequestError';
  constructor(verb: string, problems: readonly HostProblem[]) {
    const first = problems[0];
    const code = first ? first.code : 'empty-request';
    const text = problems.map((p) => (p.hostname ? `${p.hostname}: ${p.message}` : p.message)).join('; ');
    super(`${verb} rejected: ${text}`, code, problems);
  }
}

/** The master's maintenance schedule cannot take the change (Mesos validation rules, §4.4). */
export class ScheduleError extends MaintenanceError {
  override readonly name = 'ScheduleError';
  constructor(message: string, code: MaintenanceErrorCode, problems: readonly HostProblem[] = []) {
    super(message, code, problems);
  }
}

/** A refusal as data (it crosses the loop as a reply). */
export function failureOf(e: MaintenanceError): Failure {
  return { outcome: e.outcome, error: e.message, code: e.code, details: e.problems };
}
