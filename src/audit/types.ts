/**
 * The audit trail and live event feed: one record type for "who did what, when, why" and for every
 * host transition (issue #13 audit, issue #14 SSE feed).
 *
 * Contract (shared by the maintenance loop, the operator API and the console):
 * - Cores emit `AuditInput`s as part of their step output (pure: no seq, no clock read — `ts_ms` is
 *   the `now` the decision was made with).
 * - The runtime loop assigns each a strictly increasing `seq` (continuing from the highest seq in the
 *   store at boot) and writes it as a store op `put(AUDIT_COLLECTION, auditKey(seq), entry)` IN THE
 *   SAME BATCH as the state change it describes, so an entry exists iff its change is durable and an
 *   operator request is acknowledged only after its entry is on disk.
 * - Only after that batch is durable are the entries handed to the `Journal` (in memory, bounded),
 *   which the SSE feed (`GET /api/v1/events`, id = seq, `Last-Event-ID` resume) and watchers read.
 * - Retention prunes the oldest entries (a store delete op in a later batch); readers never see gaps
 *   inside what is retained.
 * Pure module: no node:*, no I/O.
 */

export const AUDIT_COLLECTION = 'audit';

export type { AuditEntry, AuditInput, AuditKind } from './entry.js';
import type { AuditEntry, AuditKind } from './entry.js';

/** Store key of an entry: zero-padded so that lexical order is seq order. */
export function auditKey(seq: number): string {
  return String(seq).padStart(16, '0');
}

export function seqOfKey(key: string): number | undefined {
  return /^\d{16}$/.test(key) ? Number(key) : undefined;
}

/** Read side of the live feed. */
export interface Journal {
  /** seq of the newest entry published (0 when none) */
  readonly lastSeq: number;
  /** entries with seq > after that are still in the in-memory backlog, or 'gap' if some were dropped */
  since(after: number): AuditEntry[] | 'gap';
  /** called for each entry after it is durable; returns an unsubscribe function */
  subscribe(fn: (e: AuditEntry) => void): () => void;
}

/**
 * Every kind, for readers that filter by kind (`GET /api/v1/audit?kind=`). A Record over AuditKind:
 * adding a kind to the union without adding it here does not compile.
 */
const KIND_SET: Record<AuditKind, true> = {
  request: true,
  host_transition: true,
  drain_kill: true,
  drain_surge: true,
  inverse_offer: true,
  machine_down: true,
  machine_up: true,
  hook: true,
  leadership: true,
  sla_override: true,
  drain_agent: true,
};
export const AUDIT_KINDS = Object.keys(KIND_SET) as AuditKind[];
