/**
 * Task rows and the one definition of "up".
 *
 * Rows: one per task of a job instance, plus one PENDING row per instance waiting for a task.
 * During a make-before-break replacement an instance has two rows (the old task and the `surge`).
 *
 * A row is **up** at time t iff it is TASK_RUNNING, no kill has been requested for it, it has
 * been running since ≤ t − duration, and — when the task has a health check — its last status said
 * healthy (`healthy === true`; absent means "not checked yet" and counts as not healthy). An
 * instance is up iff one of its rows is. Conservative by construction:
 * - a task whose kill was requested (KILL sent, no terminal update yet) counts as down at once;
 * - STAGING / STARTING / KILLING / UNREACHABLE / PENDING rows are down;
 * - a task RUNNING for less than the duration ("young") is down — it serves traffic, but the SLA
 *   does not count it yet (kill.ts decides what may happen to it);
 * - a replacement counts only once it has been RUNNING for the whole duration;
 * - an unhealthy (or not yet checked) instance is down however long it has run; it counts again from
 *   the first healthy status once it has also run for the duration (health is a state, not a
 *   clock: a task that recovers after the duration counts at once).
 * Between events, up(t) can only grow (tasks age); it drops only when a task is killed, fails or
 * turns unhealthy.
 */
import { TERMINAL_STATES } from '../mesos/types.js';
import type { TaskState } from '../mesos/types.js';

/**
 * A row's state: a Mesos TaskState, 'PENDING' (no task yet), or any other workload state (e.g. the
 * scheduler's 'LAUNCHING'): unknown non-terminal states count as live and down, conservatively.
 */
export type RowState = TaskState | 'PENDING' | (string & {});

export interface SlaInstance {
  job: string;
  index: number;
  task_id?: string;
  agent_id?: string;
  hostname?: string;
  state: RowState;
  /** When the task's current run started (first TASK_RUNNING). */
  running_since_ms?: number;
  /** When Sluice sent KILL for it (no terminal update yet). Counts as down from then on. */
  kill_requested_ms?: number;
  /** An extra task launched for make-before-break (the instance's other row is being replaced). */
  surge?: boolean;
  /** The task has a health check (Mesos TaskInfo.health_check): it is up only while healthy. */
  has_health_check?: boolean;
  /** The last TaskStatus.healthy reported for the task (absent: not checked yet). */
  healthy?: boolean;
  /** Why Sluice requested the kill (with `kill_requested_ms`): what consumes the budget. */
  kill_cause?: KillCause;
  /** Why this task was launched: a replacement for an update, a drain, a lost instance, or a deploy. */
  launch_cause?: LaunchCause;
  /** The value of the job's failure-domain attribute (e.g. the rack) on the row's agent. */
  domain?: string;
  /**
   * On the replacement of an instance killed or lost while up: the domain where it was lost. Set by
   * whoever builds the rows from the moment the old task goes until the instance counts as up
   * again; the instance's unavailability is charged to that domain (domains.ts), wherever the
   * replacement starts.
   */
  lost_domain?: string;
}

/** Who asked for a kill: a drain, a rolling update (replace, scale down), or an operator. */
export type KillCause = 'drain' | 'update' | 'operator';
/** Why a task was launched. */
export type LaunchCause = 'deploy' | 'drain' | 'update' | 'failure';

const TERMINAL: ReadonlySet<string> = TERMINAL_STATES;

/** A row that still occupies (or may occupy) an agent: not PENDING, not terminal. */
export function isLive(row: SlaInstance): boolean {
  const s = row.state;
  if (s === 'TASK_RUNNING' || s === 'TASK_STAGING' || s === 'TASK_STARTING' || s === 'TASK_KILLING') return true;
  return s !== 'PENDING' && !TERMINAL.has(s);
}

export function isTerminalRow(row: SlaInstance): boolean {
  return TERMINAL.has(row.state);
}

/** RUNNING with no kill requested: serving, whether or not it counts as up yet. */
export function isServing(row: SlaInstance): boolean {
  return row.state === 'TASK_RUNNING' && row.kill_requested_ms === undefined;
}

/** A serving row with a health check whose last status was not healthy (or that is not checked yet). */
export function isUnhealthy(row: SlaInstance): boolean {
  return isServing(row) && row.has_health_check === true && row.healthy !== true;
}

/**
 * The time from which this row counts as up (undefined: not on track to be up without events —
 * not serving, or unhealthy: it needs a healthy status first).
 */
export function upFrom(row: SlaInstance, duration_ms: number): number | undefined {
  if (!isServing(row) || row.running_since_ms === undefined) return undefined;
  if (row.has_health_check === true && row.healthy !== true) return undefined;
  return row.running_since_ms + duration_ms;
}

/**
 * The earliest time this row could count as up if nothing else happens but (for an unhealthy row)
 * a healthy status: max(now, running since + duration). undefined: not serving.
 */
export function earliestUp(row: SlaInstance, duration_ms: number, now: number): number | undefined {
  if (!isServing(row) || row.running_since_ms === undefined) return undefined;
  return Math.max(now, row.running_since_ms + duration_ms);
}

export function isRowUp(row: SlaInstance, duration_ms: number, now: number): boolean {
  const f = upFrom(row, duration_ms);
  return f !== undefined && f <= now;
}

/**
 * Group rows by job once (for many jobs).
 */
export function rowsByJob(rows: Iterable<SlaInstance>): Map<string, SlaInstance[]> {
  const m = new Map<string, SlaInstance[]>();
  for (const r of rows) {
    let l = m.get(r.job);
    if (!l) m.set(r.job, (l = []));
    l.push(r);
  }
  return m;
}
