/**
 * Health checks as the command executor runs them (src/checks/health_checker.cpp and
 * src/launcher/executor.cpp taskHealthUpdated, Mesos 1.12): the checker starts with the task (just
 * before TASK_RUNNING), checks after delay_seconds and then every interval_seconds; failures before
 * the first success within grace_period_seconds are ignored; the first success (and the first after
 * failures) and every counted failure become a TASK_RUNNING update with `healthy`; at
 * consecutive_failures failures in a row the executor kills the task. What each check finds comes
 * from the task's `sim.health` behaviour.
 */
import { HEALTH_CHECK_DEFAULTS, type TaskInfo } from '../mesos/types.js';
import type { Clock } from '../util/clock.js';
import { type HealthBehaviour, type HealthParams, type HealthState, type Task, isTerminalState } from './model.js';
import type { TimerQueue } from './timers.js';

/** `healthy` | `unhealthy` | `flap` | `recover-after:<seconds>`; undefined when not one of them. */
export function parseHealthBehaviour(value: string | undefined): HealthBehaviour | undefined {
  const v = (value ?? '').trim();
  if (v === 'healthy' || v === 'unhealthy' || v === 'flap') return { kind: v };
  const m = /^recover-after:(\d+(?:\.\d+)?)$/.exec(v);
  if (m) return { kind: 'recover', recoverAfterMs: Number(m[1]) * 1000 };
  return undefined;
}

/** Whether check number `n` (from 0), `sinceStartMs` after the checker started, passes. */
export function healthPasses(b: HealthBehaviour | undefined, n: number, sinceStartMs: number): boolean {
  switch (b?.kind ?? 'healthy') {
    case 'unhealthy':
      return false;
    case 'flap':
      return n % 2 === 0;
    case 'recover':
      return sinceStartMs >= (b as { recoverAfterMs: number }).recoverAfterMs;
    default:
      return true;
  }
}

/** TaskInfo.health_check -> the checker's parameters (mesos.proto defaults for absent fields). */
export function healthParams(info: TaskInfo): HealthParams | undefined {
  const hc = info.health_check;
  if (!hc) return undefined;
  const d = HEALTH_CHECK_DEFAULTS;
  const secs = (v: number | undefined, def: number): number => Math.max(0, (Number.isFinite(v) ? v! : def) * 1000);
  return {
    delayMs: secs(hc.delay_seconds, d.delay_seconds),
    intervalMs: secs(hc.interval_seconds, d.interval_seconds),
    graceMs: secs(hc.grace_period_seconds, d.grace_period_seconds),
    consecutiveFailures: hc.consecutive_failures ?? d.consecutive_failures,
  };
}

/** The checker of a task launched with a health_check (not started until TASK_RUNNING). */
export function healthState(info: TaskInfo): HealthState | undefined {
  const params = healthParams(info);
  return params && { params, startMs: 0, initializing: true, consecutiveFailures: 0, checks: 0, timer: undefined, killedTask: false };
}

/** What the checkers need from the agent runtime. */
export interface HealthHost {
  readonly clock: Clock;
  readonly timers: TimerQueue;
  /** The executor forwards TASK_RUNNING with `healthy` (REASON_TASK_HEALTH_CHECK_STATUS_UPDATED). */
  update(task: Task, healthy: boolean): void;
  /** The executor kills the task (kill_task). */
  kill(task: Task): void;
}

export class HealthCheckers {
  constructor(private readonly host: HealthHost) {}

  /** The checker of a task that has one starts (its task is about to be TASK_RUNNING). */
  start(task: Task): void {
    const h = task.health;
    if (!h) return;
    h.startMs = this.host.clock.now();
    this.schedule(task, h.params.delayMs);
  }

  private schedule(task: Task, ms: number): void {
    const h = task.health!;
    h.timer = this.host.timers.after(ms, () => {
      h.timer = undefined;
      this.check(task);
    });
  }

  /** Paused for good: the task is being killed, ended or forgotten. */
  stop(task: Task): void {
    if (!task.health) return;
    this.host.timers.cancel(task.health.timer);
    task.health.timer = undefined;
  }

  /** One check: success and failure as HealthChecker::success()/failure(); the executor's reaction. */
  private check(task: Task): void {
    const h = task.health!;
    const p = h.params;
    if (task.gone || task.killed || isTerminalState(task.state)) return;
    const now = this.host.clock.now();
    const passed = healthPasses(task.behaviour.health, h.checks++, now - h.startMs);
    if (passed) {
      // A healthy update on the first success and on the first success after failures.
      if (h.initializing || h.consecutiveFailures > 0) this.host.update(task, true);
      h.initializing = false;
      h.consecutiveFailures = 0;
    } else if (h.initializing && p.graceMs > 0 && now - h.startMs <= p.graceMs) {
      // "Ignoring failure as health check still in grace period"
    } else {
      h.consecutiveFailures++;
      this.host.update(task, false);
      if (h.consecutiveFailures >= p.consecutiveFailures) {
        // kill_task: the command executor kills the task (kill policy grace, TASK_KILLING when
        // the framework can take it); the terminal TASK_KILLED carries healthy=false.
        h.killedTask = true;
        this.host.kill(task);
        return;
      }
    }
    this.schedule(task, p.intervalMs);
  }
}
