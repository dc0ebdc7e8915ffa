/**
 * What one reducer step produces, and the context every decision writes into: the calls to send,
 * log effects, and `changes` (the persisted records it touched, written before the calls leave).
 */
import type { Call } from '../mesos/types.js';
import type { CoordinatorQuestion, CoordinatorRef } from '../sla/index.js';
import type { Instance, SchedulerState } from './state.js';
import { instanceKey } from './task-id.js';


/** Persisted records touched by a step (keys; the runtime reads the values from the state). */
export interface Changes {
  frameworkId: boolean;
  /** nextTaskSeq changed. */
  meta: boolean;
  jobs: Set<string>;
  /** instanceKey(job, index) */
  instances: Set<string>;
  tasks: Set<string>;
}

export function emptyChanges(): Changes {
  return { frameworkId: false, meta: false, jobs: new Set(), instances: new Set(), tasks: new Set() };
}

export function hasChanges(c: Changes): boolean {
  return c.frameworkId || c.meta || c.jobs.size > 0 || c.instances.size > 0 || c.tasks.size > 0;
}

/** Merges `b` into `a` (the runtime batches several steps into one store write). */
export function mergeChanges(a: Changes, b: Changes): Changes {
  a.frameworkId ||= b.frameworkId;
  a.meta ||= b.meta;
  for (const k of b.jobs) a.jobs.add(k);
  for (const k of b.instances) a.instances.add(k);
  for (const k of b.tasks) a.tasks.add(k);
  return a;
}

/** Stable log fields (README "Log events"). */
export interface LogFields {
  job?: string;
  instance?: number;
  task_id?: string;
  agent_id?: string;
  host?: string;
  state_from?: string;
  state_to?: string;
  reason?: string;
  [k: string]: unknown;
}

export interface LogEffect {
  kind: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  event: string;
  fields: LogFields;
}
export type Effect = LogEffect;

/**
 * I/O a step asks for, performed by the scheduler's I/O edge once the step is durable; its result
 * comes back as a command (`coordinator-ask` → `coordinator_answer`).
 */
export type SchedulerIo = { kind: 'coordinator-ask'; ref: CoordinatorRef; question: CoordinatorQuestion };

export interface StepResult {
  state: SchedulerState;
  calls: Call[];
  effects: Effect[];
  changes: Changes;
  /** I/O requests (absent or empty: none). */
  io?: SchedulerIo[];
}

/** One step of a reducer: its state, its time, and what it produced so far. */
export class Step {
  readonly calls: Call[] = [];
  readonly effects: Effect[] = [];
  readonly io: SchedulerIo[] = [];
  readonly changes = emptyChanges();
  /** Jobs whose desired state may need converging after this step. */
  readonly touched = new Set<string>();

  constructor(
    readonly s: SchedulerState,
    readonly now: number,
  ) {}

  log(level: LogEffect['level'], event: string, fields: LogFields = {}): void {
    this.effects.push({ kind: 'log', level, event, fields });
  }
  inst(i: Instance): void {
    this.changes.instances.add(instanceKey(i.job, i.index));
  }
  task(id: string): void {
    this.changes.tasks.add(id);
  }
  job(name: string): void {
    this.changes.jobs.add(name);
  }
  done(): StepResult {
    const r: StepResult = { state: this.s, calls: this.calls, effects: this.effects, changes: this.changes };
    if (this.io.length) r.io = this.io;
    return r;
  }
}
