/**
 * The coordinator protocol (pure part): what Sluice asks a service's coordinator before a voluntary
 * kill, and what counts as "yes". The HTTP exchange itself is src/coordinator/client.ts.
 *
 * Question: `POST <url>` with `Content-Type: application/json` and the body
 *   {"job": "kafka", "instance": 3, "host": "agent-7.example", "task_id": "kafka-3-…", "reason": "drain"}
 * (`reason`: why the instance would go — "drain", "update" or "operator"). User info in the URL is
 * sent as HTTP Basic credentials and never logged.
 *
 * Answer: only a 2xx response whose Content-Type is JSON (application/json or application/*+json)
 * and whose body is a JSON object with `"allow": true` means yes; `"reason"` (a string) is shown to
 * operators either way; other fields are ignored. Everything else means no, with a reason: a non-2xx
 * status (redirects are not followed), another content type, a body that is not JSON or not an
 * object, `allow` missing or anything but `true`, a body above 64 KiB, a timeout, a refused or
 * reset connection.
 */
import type { SlaInstance } from './rows.js';

export interface CoordinatorQuestion {
  job: string;
  instance: number;
  host: string;
  task_id: string;
  reason: 'drain' | 'update' | 'operator';
}

export type CoordinatorAnswer = { allow: true; reason?: string } | { allow: false; reason: string };

/** Largest answer body read; a larger one is a "no". */
export const COORDINATOR_MAX_BODY_BYTES = 64 * 1024;
/** Longest coordinator reason kept (the rest is cut). */
const MAX_REASON = 200;

/** The question about killing `row` (which must have a task id and a host). */
export function coordinatorQuestion(row: SlaInstance, reason: CoordinatorQuestion['reason']): CoordinatorQuestion | undefined {
  if (row.task_id === undefined || row.hostname === undefined) return undefined;
  return { job: row.job, instance: row.index, host: row.hostname, task_id: row.task_id, reason };
}

/** A coordinator-supplied text made safe to show: control characters removed, length bounded. */
export function cleanReason(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  const s = v.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  if (!s) return undefined;
  return s.length > MAX_REASON ? `${s.slice(0, MAX_REASON)}…` : s;
}

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;.*)?$/i;

/** Decide yes/no from a completed HTTP exchange (status, Content-Type header, body text). */
export function parseCoordinatorReply(status: number, contentType: string | undefined, body: string): CoordinatorAnswer {
  if (status >= 300 && status < 400) return { allow: false, reason: `coordinator answered a redirect (HTTP ${status}), which is not followed` };
  if (status < 200 || status >= 300) {
    let why: string | undefined;
    if (contentType && JSON_TYPE.test(contentType)) {
      try {
        const o: unknown = JSON.parse(body);
        if (typeof o === 'object' && o !== null && !Array.isArray(o)) why = cleanReason((o as Record<string, unknown>)['reason']);
      } catch {
        /* not JSON: no reason */
      }
    }
    return { allow: false, reason: `coordinator answered HTTP ${status}${why ? `: ${why}` : ''}` };
  }
  if (!contentType || !JSON_TYPE.test(contentType)) return { allow: false, reason: `coordinator answer is not JSON (Content-Type ${contentType ? JSON.stringify(contentType.slice(0, 60)) : 'missing'})` };
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch {
    return { allow: false, reason: 'coordinator answer is not valid JSON' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { allow: false, reason: 'coordinator answer is not a JSON object' };
  const rec = o as Record<string, unknown>;
  const why = cleanReason(rec['reason']);
  if (rec['allow'] === true) return why ? { allow: true, reason: why } : { allow: true };
  if (rec['allow'] === false) return { allow: false, reason: `coordinator said no${why ? `: ${why}` : ''}` };
  return { allow: false, reason: `coordinator answer has no "allow": true or false${why ? ` (reason: ${why})` : ''}` };
}
