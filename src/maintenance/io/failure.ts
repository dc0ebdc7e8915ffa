/** What a failed I/O request (or a refused operator request) means, as data the loop can carry. */
import { redactText } from '../../util/redact.js';
import { MaintenanceError } from '../core/errors.js';
import type { Failure } from '../core/outcome.js';
import { failureOf } from '../core/errors.js';
import { MasterAuthError, MasterHttpError, MasterUnavailableError } from './operator-client.js';

export function failureFromError(e: unknown): Failure {
  if (e instanceof MaintenanceError) return failureOf(e);
  if (e instanceof MasterUnavailableError) return { outcome: 'unavailable', error: 'no Mesos master reachable', details: redactText(e.message) };
  if (e instanceof MasterAuthError) return { outcome: 'upstream_error', error: e.message, details: { status: e.status, principal: e.principal ?? null } };
  if (e instanceof MasterHttpError) return { outcome: 'upstream_error', error: redactText(`the Mesos master refused: ${e.body.trim() || e.status}`), details: { status: e.status, body: e.body, url: e.url } };
  if (e instanceof Error && e.name === 'RuntimeStoppedError') return { outcome: 'stopped', error: 'the scheduler cannot take commands now', details: e.message };
  return { outcome: 'failed', error: redactText(`maintenance request failed: ${(e as Error)?.message ?? String(e)}`) };
}
