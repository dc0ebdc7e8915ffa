/**
 * Bounded retention of the audit trail (setting `audit_retention`): which of the oldest entries to
 * delete so that at most `maxEntries` remain and none is older than `maxAgeMs`. Pure: the runtime
 * extension (src/api/audit-routes.ts) reads the store and issues the deletes inside the loop, in a
 * batch of their own; readers never see a gap inside what is retained, since only the oldest go.
 */
import { auditKey, type AuditEntry } from './types.js';

export interface RetentionPolicy {
  maxEntries: number;
  maxAgeMs?: number;
}

/** Deletes per decision at most (a large backlog is pruned over several ticks, in small batches). */
export const PRUNE_BUDGET = 5000;

export interface RetainedView {
  /** seq of the newest entry held */
  newest: number;
  /** seqs possibly held, oldest first (holes allowed) */
  oldest(): Iterable<number>;
  get(seq: number): AuditEntry | undefined;
}

/**
 * The seqs to delete now (oldest first), at most `budget`: every seq more than `maxEntries` below
 * the newest (seqs are consecutive, so at most `maxEntries` stay), and every entry older than
 * `maxAgeMs`, walking from the oldest until one is young enough.
 */
export function planPrune(view: RetainedView, policy: RetentionPolicy, now: number, budget = PRUNE_BUDGET): number[] {
  const out: number[] = [];
  const cutoff = policy.maxAgeMs === undefined ? undefined : now - policy.maxAgeMs;
  const keepFrom = view.newest - policy.maxEntries + 1;
  let steps = 0;
  for (const seq of view.oldest()) {
    if (seq > view.newest || out.length >= budget || ++steps > budget * 2) break;
    const e = view.get(seq);
    if (e === undefined) continue; // a hole: nothing to delete
    if (seq >= keepFrom && !(cutoff !== undefined && e.ts_ms < cutoff)) break;
    out.push(seq);
  }
  return out;
}

export function pruneOps(collection: string, seqs: readonly number[]): Array<{ op: 'delete'; collection: string; key: string }> {
  return seqs.map((s) => ({ op: 'delete' as const, collection, key: auditKey(s) }));
}
