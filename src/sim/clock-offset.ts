/**
 * The simulated cluster's own clock: the host's clock shifted by a fixed offset, as a master whose
 * clock is skewed against the scheduler's host. Everything the simulated master stamps (the `Date`
 * header of every response, /master/state start/elected/registered times, status timestamps,
 * maintenance status timestamps) and every absolute-time decision it makes (a maintenance window's
 * start) uses it; durations (timers) are unaffected.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

export class OffsetClock implements Clock {
  constructor(
    readonly base: Clock,
    /** Milliseconds the cluster's clock runs ahead of `base` (negative: behind). */
    readonly offsetMs: number,
  ) {}

  now(): number {
    return this.base.now() + this.offsetMs;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(fn, ms);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.base.setInterval(fn, ms);
  }
  clearTimer(handle: TimerHandle | undefined): void {
    this.base.clearTimer(handle);
  }
  sleep(ms: number): Promise<void> {
    return this.base.sleep(ms);
  }
}
