/**
 * Time as a dependency. Everything that waits or timestamps takes a Clock, so the same code runs
 * in real time (`npm start`, production) or on a VirtualClock (tests and benchmarks run hours of
 * cluster time in seconds).
 */
export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export class RealClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, Math.max(0, ms));
    t.unref?.();
    this.timers.set(id, t);
    return { id };
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const t = setInterval(fn, Math.max(1, ms));
    t.unref?.();
    this.timers.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.timers.get(handle.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(0, ms));
      // sleeping keeps the process alive on purpose (unlike background timers)
      void t;
    });
  }
}

interface VirtualTimer {
  id: number;
  due: number;
  seq: number;
  fn: () => void;
  every?: number;
}

/**
 * A clock that only moves when told to. `advance(ms)` runs every timer that falls due, in due-time
 * order (ties in creation order), letting promise callbacks settle between timers so async code
 * driven by the timers makes progress as it would in real time.
 */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private seq = 0;
  private readonly timers = new Map<number, VirtualTimer>();

  constructor(startMs: number = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.current + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const every = Math.max(1, ms);
    this.timers.set(id, { id, due: this.current + every, seq: this.seq++, fn, every });
    return { id };
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle) this.timers.delete(handle.id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Number of pending timers (for tests and leak checks). */
  get pending(): number {
    return this.timers.size;
  }

  /** Time of the next due timer, or undefined. */
  nextDue(): number | undefined {
    let best: number | undefined;
    for (const t of this.timers.values()) if (best === undefined || t.due < best) best = t.due;
    return best;
  }

  /** Move time forward by `ms`, running due timers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      await settle();
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.current = Math.max(this.current, next.due);
      if (next.every !== undefined) {
        next.due += next.every;
        next.seq = this.seq++;
      } else {
        this.timers.delete(next.id);
      }
      next.fn();
    }
    this.current = target;
    await settle();
  }

  private earliest(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers.values()) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Let queued promise reactions and I/O callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
