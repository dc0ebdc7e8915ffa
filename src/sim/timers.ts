/**
 * The simulator's scheduler of deferred work.
 *
 * Everything time-based (heartbeats, allocation ticks, filters, retries, task lifetimes, failover
 * timeouts) goes into one binary heap keyed by due time, driven by a single timer on the injected
 * Clock. This keeps the number of Clock timers at one no matter how many tasks exist (a VirtualClock
 * scans its timers linearly), and runs hours of simulated time quickly.
 *
 * Zero-delay work ("right after this HTTP response") runs on the Node event loop via setImmediate,
 * not on the Clock: it is not timing, only ordering, and must not wait for a VirtualClock advance.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

export interface SimTimer {
  due: number;
  seq: number;
  fn: (() => void) | undefined;
  /** Index in the heap, -1 when not queued. */
  idx: number;
  every?: number;
}

export class TimerQueue {
  private heap: SimTimer[] = [];
  private seq = 0;
  private armed: TimerHandle | undefined;
  private armedFor = Infinity;
  private immediates: Array<() => void> = [];
  private immediateHandle: NodeJS.Immediate | undefined;
  private closed = false;
  private running = false;
  /** Called with errors thrown by callbacks (they never escape into the Clock). */
  onError: (e: unknown) => void = () => {};

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.heap.length;
  }

  /** Runs `fn` after `ms` of clock time. `ms <= 0` runs it on the next event-loop turn. */
  after(ms: number, fn: () => void): SimTimer {
    const t: SimTimer = { due: this.clock.now() + Math.max(0, ms), seq: this.seq++, fn, idx: -1 };
    if (this.closed) return t;
    if (ms <= 0) {
      this.soon(() => {
        if (t.fn) {
          const f = t.fn;
          t.fn = undefined;
          f();
        }
      });
      return t;
    }
    this.push(t);
    return t;
  }

  /** Runs `fn` every `ms` of clock time (first run after `ms`). */
  every(ms: number, fn: () => void): SimTimer {
    const t: SimTimer = { due: this.clock.now() + ms, seq: this.seq++, fn, idx: -1, every: ms };
    if (!this.closed) this.push(t);
    return t;
  }

  cancel(t: SimTimer | undefined): void {
    if (!t) return;
    t.fn = undefined;
    if (t.idx >= 0) this.removeAt(t.idx);
  }

  /** Runs `fn` on the next event-loop turn (ordering only, no clock time passes). */
  soon(fn: () => void): void {
    if (this.closed) return;
    this.immediates.push(fn);
    if (!this.immediateHandle) {
      this.immediateHandle = setImmediate(() => this.flushImmediates());
    }
  }

  close(): void {
    this.closed = true;
    this.clock.clearTimer(this.armed);
    this.armed = undefined;
    if (this.immediateHandle) clearImmediate(this.immediateHandle);
    this.immediateHandle = undefined;
    this.immediates = [];
    for (const t of this.heap) {
      t.fn = undefined;
      t.idx = -1;
    }
    this.heap = [];
  }

  private flushImmediates(): void {
    this.immediateHandle = undefined;
    // Work queued while flushing runs in the same turn (bounded by what callbacks enqueue).
    for (let guard = 0; this.immediates.length > 0 && guard < 1000; guard++) {
      const batch = this.immediates;
      this.immediates = [];
      for (const f of batch) {
        if (this.closed) return;
        try {
          f();
        } catch (e) {
          this.onError(e);
        }
      }
    }
    if (this.immediates.length > 0 && !this.immediateHandle && !this.closed) {
      this.immediateHandle = setImmediate(() => this.flushImmediates());
    }
  }

  private fire(): void {
    this.armed = undefined;
    this.armedFor = Infinity;
    if (this.closed) return;
    this.running = true;
    try {
      const now = this.clock.now();
      while (this.heap.length > 0 && this.heap[0]!.due <= now) {
        const t = this.heap[0]!;
        this.removeAt(0);
        const f = t.fn;
        if (!f) continue;
        if (t.every !== undefined) {
          t.due += t.every;
          if (t.due <= now) t.due = now + t.every; // a stalled real clock does not replay missed ticks
          t.seq = this.seq++;
          this.push(t);
        } else {
          t.fn = undefined;
        }
        try {
          f();
        } catch (e) {
          this.onError(e);
        }
        if (this.closed) return;
      }
    } finally {
      this.running = false;
    }
    this.arm();
  }

  private arm(): void {
    if (this.closed || this.running) return;
    const top = this.heap[0];
    if (!top) {
      if (this.armed) {
        this.clock.clearTimer(this.armed);
        this.armed = undefined;
        this.armedFor = Infinity;
      }
      return;
    }
    if (this.armed && this.armedFor <= top.due) return;
    if (this.armed) this.clock.clearTimer(this.armed);
    this.armedFor = top.due;
    this.armed = this.clock.setTimeout(() => this.fire(), Math.max(0, top.due - this.clock.now()));
  }

  // ----- binary heap -----
  private less(a: SimTimer, b: SimTimer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(t: SimTimer): void {
    t.idx = this.heap.length;
    this.heap.push(t);
    this.up(t.idx);
    this.arm();
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    const last = h.pop()!;
    t.idx = -1;
    if (i < h.length) {
      h[i] = last;
      last.idx = i;
      this.down(i);
      this.up(last.idx);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(h[l]!, h[m]!)) m = l;
      if (r < n && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    h[j] = a;
    a.idx = j;
    b.idx = i;
  }
}
