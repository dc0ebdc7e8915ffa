/**
 * The pending two-phase operations of a running Sluice (intent records, src/maintenance/core/pending.ts):
 * those it started itself ("live") and those a previous process left in the store ("orphans", resolved
 * by the next reconciliation). Store operations are returned into the caller's step, so an intent is
 * written in the same atomic batch as the records it concerns.
 */
import { randomUUID } from 'node:crypto';
import type { BatchOp } from '../store/index.js';
import { PENDING_COLLECTION, type PendingOp } from './core/pending.js';

export class PendingOps {
  readonly live = new Map<string, PendingOp>();
  readonly orphans = new Map<string, PendingOp>();

  /** Loaded from the store at start-up: all of them belong to a previous process. */
  load(ops: Iterable<PendingOp>): void {
    for (const op of ops) this.orphans.set(op.id, op);
  }

  /** An operation of ours is pending on the host (live, or left by a previous process). */
  busy(key: string): boolean {
    for (const op of this.live.values()) if (op.hosts.includes(key)) return true;
    for (const op of this.orphans.values()) if (op.hosts.includes(key)) return true;
    return false;
  }

  /** A new live operation (the host is busy from now on); persist it with `put`. */
  create<K extends PendingOp['kind']>(kind: K, hosts: string[], now: number, extra: Omit<Extract<PendingOp, { kind: K }>, 'id' | 'kind' | 'hosts' | 'created_ms'>): PendingOp {
    const op = { id: `op-${randomUUID()}`, kind, hosts, created_ms: now, ...extra } as PendingOp;
    this.live.set(op.id, op);
    return op;
  }

  put(storeOps: BatchOp[], op: PendingOp): void {
    storeOps.push({ op: 'put', collection: PENDING_COLLECTION, key: op.id, value: op });
  }

  /** Resolved (or abandoned): deleted in the caller's batch. */
  drop(storeOps: BatchOp[], id: string): void {
    this.live.delete(id);
    this.orphans.delete(id);
    storeOps.push({ op: 'delete', collection: PENDING_COLLECTION, key: id });
  }
}
