/**
 * The in-memory, bounded backlog of audit entries that are already durable (see types.ts). The
 * runtime loop publishes each batch's entries after the store write; the SSE feed and watchers read
 * it. Pure: no timers, no I/O; subscribers are called synchronously in seq order.
 */
import type { AuditEntry, Journal } from './types.js';

export class MemoryJournal implements Journal {
  private readonly buf: AuditEntry[] = [];
  private readonly subs = new Set<(e: AuditEntry) => void>();
  private last = 0;
  /** seq of the oldest entry ever dropped from the backlog (0: none dropped) */
  private droppedUpTo = 0;

  constructor(readonly capacity = 10_000, initial: readonly AuditEntry[] = []) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`journal capacity must be a positive integer, got ${capacity}`);
    const sorted = [...initial].sort((a, b) => a.seq - b.seq);
    if (sorted.length > capacity) this.droppedUpTo = sorted[sorted.length - capacity - 1]!.seq;
    else if (sorted.length) this.droppedUpTo = sorted[0]!.seq - 1;
    for (const e of sorted.slice(-capacity)) this.buf.push(e);
    this.last = sorted.length ? sorted[sorted.length - 1]!.seq : 0;
  }

  get lastSeq(): number {
    return this.last;
  }

  /** Oldest seq still held (undefined when empty). */
  get firstSeq(): number | undefined {
    return this.buf[0]?.seq;
  }

  /** Only for entries already durable, in increasing seq order. */
  publish(entries: readonly AuditEntry[]): void {
    for (const e of entries) {
      if (e.seq <= this.last) throw new RangeError(`journal: seq ${e.seq} not after ${this.last}`);
      this.last = e.seq;
      this.buf.push(e);
      if (this.buf.length > this.capacity) this.droppedUpTo = this.buf.shift()!.seq;
      for (const fn of [...this.subs]) {
        try {
          fn(e);
        } catch {
          // a failing subscriber must not stop the loop nor the others; it is its own business
        }
      }
    }
  }

  since(after: number): AuditEntry[] | 'gap' {
    if (after >= this.last) return [];
    if (after < this.droppedUpTo) return 'gap';
    // entries are in seq order: binary search for the first seq > after
    let lo = 0;
    let hi = this.buf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.buf[mid]!.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    return this.buf.slice(lo);
  }

  subscribe(fn: (e: AuditEntry) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  get subscribers(): number {
    return this.subs.size;
  }
}
