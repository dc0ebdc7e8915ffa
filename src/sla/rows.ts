/**
 * Task rows and the one definition of "up".
 *
 * Rows: one per task of a job instance, plus one PENDING row per instance waiting for a task.
 * During a make-before-break replacement an instance has two rows (the old task and the `surge`).
 *
 * A row is **up** at time t iff it is TASK_RUNNING, no kill has been requested for it, and it has
 * been running since ≤ t − duration. An instance is up iff one of its rows is. Conservative by
 * construction:
 * - a task whose kill was requested (KILL sent, no terminal update yet) counts as down at once;
 * - STAGING / STARTING / KILLING / UNREACHABLE / PENDING rows are down;
 * - a task RUNNING for less than the duration ("young") is down — it serves traffic, but the SLA
 *   does not count it yet (kill.ts decides what may happen to it);
 * - a replacement counts only once it has been RUNNING for the whole duration.
 * Between events, up(t) can only grow (tasks age); it drops only when a task is killed or fails.
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
}

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

/** The time from which this row counts as up (undefined: not on track to be up without events). */
export function upFrom(row: SlaInstance, duration_ms: number): number | undefined {
  if (!isServing(row) || row.running_since_ms === undefined) return undefined;
  return row.running_since_ms + duration_ms;
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
