/**
 * Reading the audit trail (`GET /api/v1/audit`, `sluice audit`, `sluice host history`): filters and
 * seq-paginated pages over entries in seq order. Pure: the caller hands the entries (the journal's
 * backlog, the store's older ones).
 *
 * Pages: with `after` the oldest matching entries with seq > after (oldest first; continue with
 * `after = next_after`); otherwise the newest matching entries (with seq < `before` when given),
 * still listed oldest first (go further back with `before = prev_before`).
 */
import type { AuditEntry, AuditKind } from './types.js';

export interface AuditQuery {
  /** case-insensitive host name (an entry's `host`, or one of a request's `detail.hosts`) */
  host?: string;
  actor?: string;
  kinds?: readonly AuditKind[];
  /** ts_ms >= sinceMs */
  sinceMs?: number;
  /** ts_ms <= untilMs */
  untilMs?: number;
  after?: number;
  before?: number;
  limit: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** more matching entries exist past this page (in its direction) */
  more: boolean;
  /** ascending pages: pass as `after` for the next page */
  next_after?: number;
  /** newest-first pages: pass as `before` for older entries */
  prev_before?: number;
}

export function matches(e: AuditEntry, q: AuditQuery): boolean {
  if (q.host !== undefined && !aboutHost(e, q.host.toLowerCase())) return false;
  if (q.actor !== undefined && e.actor !== q.actor) return false;
  if (q.kinds && q.kinds.length && !q.kinds.includes(e.kind)) return false;
  if (q.sinceMs !== undefined && !(e.ts_ms >= q.sinceMs)) return false;
  if (q.untilMs !== undefined && !(e.ts_ms <= q.untilMs)) return false;
  return true;
}

/** Is the entry about this (lower-case) host: its `host`, or one of a request's `detail.hosts`? */
function aboutHost(e: AuditEntry, host: string): boolean {
  if ((e.host ?? '').toLowerCase() === host) return true;
  const hosts = e.detail?.['hosts'];
  return Array.isArray(hosts) && hosts.some((h) => typeof h === 'string' && h.toLowerCase() === host);
}

/** Index of the first entry with seq > after (entries in increasing seq order). */
export function firstAfter(entries: readonly AuditEntry[], after: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.seq <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first `limit` matches over `order` (indices into `entries`), and whether one more exists. */
function collect(entries: readonly AuditEntry[], q: AuditQuery, order: Iterable<number>): { out: AuditEntry[]; more: boolean } {
  const out: AuditEntry[] = [];
  for (const i of order) {
    const e = entries[i]!;
    if (!matches(e, q)) continue;
    if (out.length === q.limit) return { out, more: true };
    out.push(e);
  }
  return { out, more: false };
}

function* range(from: number, to: number, step: 1 | -1): Iterable<number> {
  for (let i = from; step > 0 ? i < to : i > to; i += step) yield i;
}

/** One page of `entries` (increasing seq order) for `q`. */
export function auditPage(entries: readonly AuditEntry[], q: AuditQuery): AuditPage {
  if (q.after !== undefined) {
    const { out, more } = collect(entries, q, range(firstAfter(entries, q.after), entries.length, 1));
    return { entries: out, more, ...(more ? { next_after: out[out.length - 1]!.seq } : {}) };
  }
  const end = q.before === undefined ? entries.length : firstAfter(entries, q.before - 1);
  const { out, more } = collect(entries, q, range(end - 1, -1, -1));
  out.reverse();
  return { entries: out, more, ...(more ? { prev_before: out[0]!.seq } : {}) };
}
