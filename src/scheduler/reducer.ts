/**
 * The scheduler's decisions: pure functions from (state, input, now) to calls.
 *
 *   onEvent(state, event, now)      a Mesos scheduler Event (SUBSCRIBED, OFFERS, UPDATE, FAILURE, ...)
 *   onDisconnected(state, now)      the subscription broke (offers are gone; no calls until SUBSCRIBED)
 *   onTick(state, now)              periodic: reconciliation, kill retries, backoff expiry, rolling updates
 *   applyCommand(state, cmd, now)   operator/maintenance commands: create/update/delete job, restart
 *                                   instances, set the hosts blocked for placement
 *
 * Each returns a StepResult: the same state object (mutated: the reducer owns it, see state.ts), the
 * calls to send, log effects, and `changes`, the persisted records it touched. The runtime writes
 * `changes` to the store BEFORE it sends `calls` (write-ahead): a task is on disk as LAUNCHING before
 * the ACCEPT that launches it leaves, and an update is on disk before it is acknowledged.
 * No I/O, no timers, no Date.now() here: time is the `now` parameter.
 */
import { calls as C } from '../mesos/calls.js';
import type { Call, Event, Offer, OfferID, TaskInfo, TaskState, TaskStatus } from '../mesos/types.js';
import { isTerminal } from '../mesos/types.js';
import { jobTaskVersion, type Job, type JobSpec } from './job-spec.js';
import { offerAttribute, place, unavailableFromMs, type DeclineReason, type OfferDecision, type PlaceResult, type PlacementRequest } from './placement.js';
import {
  addUsage,
  getInstance,
  indexAdd,
  indexDelete,
  isWanted,
  pendingAdd,
  pendingDelete,
  removeUsage,
  usageOf,
  type Instance,
  type KillState,
  type SchedulerState,
  type TaskRecord,
} from './state.js';
import { instanceKey, LABEL_INSTANCE, LABEL_JOB, LABEL_VERSION, makeTaskId, parseTaskId } from './task-id.js';
import { taskDefinitionChanged, validateJobSpec, type FieldError } from './validate.js';

// ---------------------------------------------------------------------------------------------
// Results

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

export interface StepResult {
  state: SchedulerState;
  calls: Call[];
  effects: Effect[];
  changes: Changes;
}

export type SchedulerCommand =
  | { type: 'create_job'; spec: unknown }
  | { type: 'update_job'; spec: unknown }
  | { type: 'delete_job'; name: string }
  /** Kill the instances' current tasks and launch replacements (maintenance drains use this). */
  | { type: 'restart_instances'; job: string; indices: number[]; reason?: string }
  /** Kill these tasks (drainer KillOrders): an instance's task is replaced, a surge is dropped. */
  | { type: 'kill_tasks'; task_ids: string[]; reason?: string }
  /** Make-before-break: launch one extra task per instance while `task_id` keeps running. */
  | { type: 'surge_instances'; orders: Array<{ job: string; instance: number; task_id: string }> }
  /** Replace the set of hosts where nothing new may be placed (maintenance seam). */
  | { type: 'set_blocked_hosts'; hosts: Iterable<string> };

export type CommandResult =
  | { ok: true; status: 200 | 201 | 202; body: unknown }
  | { ok: false; status: 400 | 404 | 409; error: string; details?: FieldError[] | unknown };

export interface CommandStepResult extends StepResult {
  result: CommandResult;
}

// ---------------------------------------------------------------------------------------------
// Step context

class Step {
  readonly calls: Call[] = [];
  readonly effects: Effect[] = [];
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
    return { state: this.s, calls: this.calls, effects: this.effects, changes: this.changes };
  }
}

/**
 * Distinct values of an agent attribute (rack_spread) over known agents and tasks. Cached per
 * attribute; new agents update the cache incrementally, a lost agent clears it.
 */
function rackValues(s: SchedulerState, attr: string): Set<string> {
  let vals = s.rackCounts.get(attr);
  if (vals === undefined) {
    vals = new Set<string>();
    for (const a of s.agents.values()) vals.add(a.attributes[attr] ?? '');
    for (const t of s.tasks.values()) if (t.rack !== undefined) vals.add(t.rack);
    s.rackCounts.set(attr, vals);
  }
  return vals;
}
function rackCount(s: SchedulerState, attr: string): number {
  return rackValues(s, attr).size;
}
function agentAdded(s: SchedulerState, attributes: Record<string, string>): void {
  for (const [attr, vals] of s.rackCounts) vals.add(attributes[attr] ?? '');
}
function invalidateRacks(s: SchedulerState): void {
  s.rackCounts.clear();
}

// ---------------------------------------------------------------------------------------------
// Public reducers

export function onEvent(s: SchedulerState, event: Event, now: number): StepResult {
  const st = new Step(s, now);
  switch (event.type) {
    case 'SUBSCRIBED':
      handleSubscribed(st, event.subscribed?.framework_id?.value);
      break;
    case 'OFFERS':
      handleOffers(st, event.offers?.offers ?? []);
      break;
    case 'UPDATE':
      if (event.update?.status) handleUpdate(st, event.update.status);
      break;
    case 'RESCIND':
      // Offers are answered in the step that receives them, so none is held to forget.
      st.log('debug', 'offer_rescinded', { reason: event.rescind?.offer_id?.value });
      break;
    case 'FAILURE':
      handleFailure(st, event.failure ?? {});
      break;
    case 'ERROR':
      st.log('warn', 'master_error', { reason: event.error?.message });
      markDisconnected(st);
      break;
    default:
      // HEARTBEAT, MESSAGE, INVERSE_OFFERS, RESCIND_INVERSE_OFFER (src/maintenance), ...
      break;
  }
  finish(st);
  return st.done();
}

export function onDisconnected(s: SchedulerState, now: number): StepResult {
  const st = new Step(s, now);
  markDisconnected(st);
  return st.done();
}

export function onTick(s: SchedulerState, now: number): StepResult {
  const st = new Step(s, now);
  if (s.subscribed) {
    launchTimeouts(st);
    explicitReconcileRetry(st);
    implicitReconcile(st);
    killRetries(st);
  }
  for (const j of s.converging) st.touched.add(j);
  finish(st);
  return st.done();
}

export function applyCommand(s: SchedulerState, cmd: SchedulerCommand, now: number): CommandStepResult {
  const st = new Step(s, now);
  let result: CommandResult;
  switch (cmd.type) {
    case 'create_job':
      result = createJob(st, cmd.spec);
      break;
    case 'update_job':
      result = updateJob(st, cmd.spec);
      break;
    case 'delete_job':
      result = deleteJob(st, cmd.name);
      break;
    case 'restart_instances':
      result = restartInstances(st, cmd.job, cmd.indices, cmd.reason ?? 'restart');
      break;
    case 'kill_tasks':
      result = killTasks(st, cmd.task_ids, cmd.reason ?? 'drain');
      break;
    case 'surge_instances':
      result = surgeInstances(st, cmd.orders);
      break;
    case 'set_blocked_hosts':
      result = setBlocked(st, cmd.hosts);
      break;
    default:
      result = { ok: false, status: 400, error: `unknown command ${(cmd as { type: string }).type}` };
  }
  finish(st);
  // views are computed after converging, so a created job shows its instances
  if (result.ok && (cmd.type === 'create_job' || cmd.type === 'update_job')) {
    const name = (result.body as { name: string }).name;
    result = { ...result, body: jobView(s, name, now) };
  }
  return { ...st.done(), result };
}

/**
 * A call failed to reach the master (or was refused). ACCEPT: its tasks may or may not exist, so
 * they are reconciled explicitly now (an unknown task comes back LOST/GONE and is replaced).
 * SUPPRESS/REVIVE: the master's offer state is unknown; flip our belief so the next step resends.
 * Others (KILL, RECONCILE, ACKNOWLEDGE, DECLINE) are retried by their own mechanisms.
 */
export function onCallFailed(s: SchedulerState, call: Call, now: number): StepResult {
  const st = new Step(s, now);
  if (call.type === 'ACCEPT') {
    const ask: Array<[string, string | undefined]> = [];
    for (const op of call.accept?.operations ?? []) {
      for (const ti of op.launch?.task_infos ?? []) {
        const t = s.tasks.get(ti.task_id.value);
        if (t && t.state === 'LAUNCHING' && !s.reconcile.awaiting.has(t.task_id)) {
          s.reconcile.awaiting.set(t.task_id, t.agent_id);
          ask.push([t.task_id, t.agent_id]);
        }
      }
    }
    if (ask.length) {
      st.log('warn', 'launch_unconfirmed', { tasks: ask.length, task_id: ask[0]![0] });
      if (s.subscribed) {
        sendExplicit(st, ask);
        s.reconcile.startedMs ??= now;
        s.reconcile.nextRetryMs ??= now + s.config.explicitReconcileInitialMs;
      }
    }
  } else if (call.type === 'REVIVE') {
    s.suppressed = true;
  } else if (call.type === 'SUPPRESS') {
    s.suppressed = false;
  }
  finish(st);
  return st.done();
}

/** Convenience for src/maintenance: replace the placement-blocked host set. */
export function setPlacementBlockedHosts(s: SchedulerState, hosts: Iterable<string>, now: number): StepResult {
  return applyCommand(s, { type: 'set_blocked_hosts', hosts }, now);
}

// ---------------------------------------------------------------------------------------------
// Subscription and reconciliation

function handleSubscribed(st: Step, frameworkId: string | undefined): void {
  const s = st.s;
  if (frameworkId && frameworkId !== s.frameworkId) {
    st.log('info', 'framework_registered', { framework_id: frameworkId, previous: s.frameworkId });
    s.frameworkId = frameworkId;
    st.changes.frameworkId = true;
  }
  s.subscribed = true;
  s.suppressed = false; // a SUBSCRIBE without suppressed_roles leaves every role unsuppressed
  // Explicit reconciliation of every task we know (docs/reconciliation.md), retried until answered.
  s.reconcile.awaiting.clear();
  for (const t of s.tasks.values()) s.reconcile.awaiting.set(t.task_id, t.agent_id);
  s.reconcile.attempt = 0;
  s.reconcile.startedMs = st.now;
  if (s.reconcile.awaiting.size) {
    sendExplicit(st, [...s.reconcile.awaiting]);
    s.reconcile.nextRetryMs = st.now + s.config.explicitReconcileInitialMs;
  } else {
    s.reconcile.startedMs = undefined;
    s.reconcile.completedMs = st.now;
    s.reconcile.nextRetryMs = undefined;
  }
  s.reconcile.nextImplicitMs ??= st.now + s.config.implicitReconcileIntervalMs;
  if (s.reconcile.restored) {
    // The store may be behind the cluster (a repaired store lost its last writes): ask for every
    // task the master knows, and place nothing until the answers are in.
    s.reconcile.restored = false;
    st.calls.push(C.reconcile([]));
    s.reconcile.lastImplicitMs = st.now;
    s.reconcile.placementHoldUntilMs = st.now + s.config.restartPlacementHoldMs;
    st.log('info', 'reconcile_implicit', { reason: 'restart', hold_ms: s.config.restartPlacementHoldMs });
  }
  st.log('info', 'reconcile_explicit', { framework_id: s.frameworkId, tasks: s.reconcile.awaiting.size });
  // kills requested while disconnected (or before a restart) go out now
  for (const id of s.killing) {
    const t = s.tasks.get(id);
    if (t?.kill) sendKill(st, t);
  }
}

function markDisconnected(st: Step): void {
  const s = st.s;
  if (!s.subscribed) return;
  s.subscribed = false;
  s.reconcile.nextRetryMs = undefined;
  st.log('warn', 'disconnected', { framework_id: s.frameworkId });
}

const RECONCILE_CHUNK = 1000;

function sendExplicit(st: Step, entries: Array<[string, string | undefined]>): void {
  for (let i = 0; i < entries.length; i += RECONCILE_CHUNK) {
    st.calls.push(
      C.reconcile(entries.slice(i, i + RECONCILE_CHUNK).map(([task_id, agent_id]) => (agent_id ? { task_id, agent_id } : { task_id }))),
    );
  }
}

function explicitReconcileRetry(st: Step): void {
  const r = st.s.reconcile;
  if (!r.awaiting.size || r.nextRetryMs === undefined || st.now < r.nextRetryMs) {
    if (r.awaiting.size && r.nextRetryMs === undefined) r.nextRetryMs = st.now; // resumed after a reconnect
    return;
  }
  r.attempt++;
  sendExplicit(st, [...r.awaiting]);
  const c = st.s.config;
  r.nextRetryMs = st.now + Math.min(c.explicitReconcileMaxMs, c.explicitReconcileInitialMs * 2 ** r.attempt);
  st.log('info', 'reconcile_retry', { tasks: r.awaiting.size, attempt: r.attempt });
}

function implicitReconcile(st: Step): void {
  const r = st.s.reconcile;
  if (r.nextImplicitMs === undefined || st.now < r.nextImplicitMs) return;
  st.calls.push(C.reconcile([]));
  r.lastImplicitMs = st.now;
  r.nextImplicitMs = st.now + st.s.config.implicitReconcileIntervalMs;
  st.log('info', 'reconcile_implicit', { tasks: st.s.tasks.size });
}

/** Tasks without any status long after launch are asked about explicitly. */
function launchTimeouts(st: Step): void {
  const s = st.s;
  const limit = st.now - s.config.launchTimeoutMs;
  const add: Array<[string, string | undefined]> = [];
  for (const t of s.tasks.values()) {
    if ((t.state === 'LAUNCHING' || t.state === 'TASK_STAGING') && t.updated_ms <= limit && !s.reconcile.awaiting.has(t.task_id)) {
      s.reconcile.awaiting.set(t.task_id, t.agent_id);
      add.push([t.task_id, t.agent_id]);
      t.updated_ms = st.now; // ask again only after another timeout
      st.log('warn', 'launch_timeout', { task_id: t.task_id, job: t.job, agent_id: t.agent_id, state_from: t.state });
    }
  }
  if (add.length) {
    sendExplicit(st, add);
    s.reconcile.startedMs ??= st.now;
    s.reconcile.nextRetryMs ??= st.now + s.config.explicitReconcileInitialMs;
  }
}

// ---------------------------------------------------------------------------------------------
// Status updates

/** States after which the task does not exist for us: terminal, or unknown to the master. */
function isGone(state: TaskState): boolean {
  return isTerminal(state) || state === 'TASK_UNKNOWN';
}

function handleUpdate(st: Step, status: TaskStatus): void {
  const s = st.s;
  const id = status.task_id.value;
  const state = status.state;
  const agentId = status.agent_id?.value;

  if (s.reconcile.awaiting.delete(id) && s.reconcile.awaiting.size === 0 && s.reconcile.startedMs !== undefined) {
    st.log('info', 'reconcile_complete', { took_ms: st.now - s.reconcile.startedMs });
    s.reconcile.startedMs = undefined;
    s.reconcile.completedMs = st.now;
    s.reconcile.nextRetryMs = undefined;
    s.reconcile.attempt = 0;
  }

  const t = s.tasks.get(id);
  if (!t) {
    if (!isGone(state)) adoptOrKill(st, status);
    else st.log('debug', 'status_unknown_task', { task_id: id, agent_id: agentId, state_to: state, reason: status.reason });
  } else {
    applyStatus(st, t, status);
  }

  // Acknowledge last: the runtime sends calls only after the state change above is on disk.
  if (status.uuid && status.uuid.length && agentId) st.calls.push(C.acknowledge(agentId, id, status.uuid));
}

function applyStatus(st: Step, t: TaskRecord, status: TaskStatus): void {
  const s = st.s;
  const prev = t.state;
  const state = status.state;
  const id = t.task_id;
  t.state = state;
  t.updated_ms = st.now;
  if (status.reason !== undefined) t.reason = status.reason;
  if (status.message !== undefined) t.message = status.message;
  const agentId = status.agent_id?.value;
  if (agentId && agentId !== t.agent_id) {
    t.agent_id = agentId;
    const a = s.agents.get(agentId);
    if (a) t.host = a.host;
  }
  st.task(id);
  const inst = getInstance(s, t.job, t.index);
  const current = inst !== undefined && inst.task_id === id;
  const surge = inst !== undefined && !current && inst.surge?.task_id === id;
  if (prev !== state) {
    st.log(isGone(state) && !t.kill && state !== 'TASK_FINISHED' ? 'warn' : 'info', 'task_state', {
      job: t.job,
      instance: t.index,
      task_id: id,
      agent_id: t.agent_id,
      host: t.host,
      state_from: prev,
      state_to: state,
      reason: status.reason,
      status_message: status.message,
    });
  }

  if (isGone(state)) {
    s.tasks.delete(id);
    s.killing.delete(id);
    if (current) taskEnded(st, inst, t, status);
    else if (surge) surgeEnded(st, inst, t, state);
    return;
  }
  if (surge) {
    if (state === 'TASK_UNREACHABLE') {
      surgeEnded(st, inst, t, state);
      killTask(st, t, 'orphan');
      return;
    }
    if (state === 'TASK_RUNNING') {
      if (prev !== 'TASK_RUNNING' || t.running_since_ms === undefined) t.running_since_ms = st.now;
    } else t.running_since_ms = undefined;
    st.inst(inst);
    return;
  }
  if (!current) {
    // an orphan (duplicate, replaced after unreachable, unknown job) that is alive: make sure it dies
    if (!t.kill) killTask(st, t, 'orphan');
    return;
  }
  if (state === 'TASK_UNREACHABLE') {
    // Partitioned agent: replace now; if the task comes back it is an orphan and gets killed.
    detach(st, inst);
    inst.last_terminal = { task_id: id, state, reason: status.reason, message: status.message, at_ms: st.now };
    inst.not_before_ms = undefined;
    setPending(st, inst);
    killTask(st, t, 'orphan');
    st.log('warn', 'instance_replaced', { job: t.job, instance: t.index, task_id: id, agent_id: t.agent_id, host: t.host, reason: 'unreachable' });
    return;
  }
  inst.state = state;
  if (state === 'TASK_RUNNING') {
    if (prev !== 'TASK_RUNNING' || t.running_since_ms === undefined) t.running_since_ms = st.now;
    inst.running_since_ms = t.running_since_ms;
  } else {
    t.running_since_ms = undefined;
    inst.running_since_ms = undefined;
  }
  if (t.agent_id !== inst.agent_id) {
    inst.agent_id = t.agent_id;
  }
  st.inst(inst);
}

const CRASH_STATES = new Set<TaskState>(['TASK_FAILED', 'TASK_ERROR', 'TASK_FINISHED']);

/** The instance's current task is gone: replace it (with backoff after crashes) or retire the instance. */
function taskEnded(st: Step, inst: Instance, t: TaskRecord, status: TaskStatus): void {
  const s = st.s;
  const state = status.state;
  detach(st, inst);
  inst.last_terminal = { task_id: t.task_id, state, reason: status.reason, message: status.message, at_ms: st.now };
  if (s.converging.has(inst.job)) st.touched.add(inst.job); // a rolling update / scale-down may proceed
  if (inst.surge) {
    const sid = inst.surge.task_id;
    const sur = sid !== undefined ? s.tasks.get(sid) : undefined;
    inst.surge = undefined;
    indexDelete(s.surges, inst.job, inst.index);
    if (sur) {
      // make-before-break: the replacement is this instance's task now (its usage is counted already)
      sur.surge = undefined;
      st.task(sur.task_id);
      inst.task_id = sur.task_id;
      inst.state = sur.state;
      inst.agent_id = sur.agent_id;
      inst.host = sur.host;
      inst.rack = sur.rack;
      inst.version = sur.version;
      inst.running_since_ms = sur.state === 'TASK_RUNNING' ? sur.running_since_ms : undefined;
      inst.not_before_ms = undefined;
      st.inst(inst);
      st.log('info', 'surge_promoted', { job: inst.job, instance: inst.index, task_id: sur.task_id, host: sur.host, reason: `${t.task_id} ${state}` });
      if (!isWanted(s, inst.job, inst.index)) st.touched.add(inst.job);
      return;
    }
  }
  if (!isWanted(s, inst.job, inst.index)) {
    deleteInstance(st, inst);
    return;
  }
  const crashed = CRASH_STATES.has(state) && !t.kill;
  if (crashed) {
    const c = s.config;
    const stable = t.running_since_ms !== undefined && st.now - t.running_since_ms >= c.stableRunningMs;
    inst.failures = stable ? 1 : inst.failures + 1;
    const delay = Math.min(c.crashBackoffMaxMs, c.crashBackoffInitialMs * c.crashBackoffFactor ** (inst.failures - 1));
    inst.not_before_ms = st.now + delay;
    st.log('warn', 'instance_backoff', { job: inst.job, instance: inst.index, task_id: t.task_id, failures: inst.failures, delay_ms: delay, reason: status.reason ?? state });
  } else {
    inst.not_before_ms = undefined;
    if (t.kill || (t.running_since_ms !== undefined && st.now - t.running_since_ms >= s.config.stableRunningMs)) inst.failures = 0;
  }
  setPending(st, inst);
}

/** A make-before-break replacement ended before taking over: it is dropped (the drainer may order another). */
function surgeEnded(st: Step, inst: Instance, t: TaskRecord, state: TaskState): void {
  removeUsage(st.s, inst.job, t.host, t.rack);
  inst.surge = undefined;
  st.inst(inst);
  st.log(t.kill ? 'info' : 'warn', 'surge_dropped', { job: inst.job, instance: inst.index, task_id: t.task_id, host: t.host, state_to: state });
}

function adoptOrKill(st: Step, status: TaskStatus): void {
  const s = st.s;
  const id = status.task_id.value;
  const agentId = status.agent_id?.value;
  const parsed = parseTaskId(id);
  const host = agentId ? s.agents.get(agentId)?.host : undefined;
  const base: TaskRecord = {
    task_id: id,
    job: parsed?.job ?? '',
    index: parsed?.index ?? -1,
    agent_id: agentId,
    host,
    state: status.state,
    version: 0,
    launched_ms: st.now,
    updated_ms: st.now,
  };
  if (parsed && parsed.seq >= s.nextTaskSeq) {
    s.nextTaskSeq = parsed.seq + 1;
    st.changes.meta = true;
  }
  const job = parsed ? s.jobs.get(parsed.job) : undefined;
  const inst = parsed ? getInstance(s, parsed.job, parsed.index) : undefined;
  if (
    job &&
    inst &&
    parsed &&
    isWanted(s, parsed.job, parsed.index) &&
    inst.task_id === undefined &&
    status.state !== 'TASK_UNREACHABLE' &&
    status.state !== 'TASK_KILLING'
  ) {
    // We lost track of it (store older than the cluster): it is this instance's task again.
    // Its task definition is unknown; it is assumed current (a later update replaces it anyway).
    base.version = jobTaskVersion(job);
    if (status.state === 'TASK_RUNNING') base.running_since_ms = st.now;
    base.rack = host ? s.agents.get(agentId!)?.attributes[job.spec.constraints?.rack_attribute ?? s.config.rackAttribute] : undefined;
    s.tasks.set(id, base);
    st.task(id);
    attach(st, inst, base);
    st.log('warn', 'task_adopted', { job: base.job, instance: base.index, task_id: id, agent_id: agentId, host, state_to: status.state });
    return;
  }
  s.tasks.set(id, base);
  st.task(id);
  st.log('warn', 'task_orphan', {
    job: base.job,
    instance: base.index,
    task_id: id,
    agent_id: agentId,
    host,
    state_to: status.state,
    reason: !parsed ? 'not a Sluice task id' : !job ? 'unknown job' : inst?.task_id ? `instance runs ${inst.task_id}` : 'instance not wanted',
  });
  killTask(st, base, 'orphan');
}

function handleFailure(st: Step, f: NonNullable<Event['failure']>): void {
  const s = st.s;
  const agentId = f.agent_id?.value;
  if (!agentId) return;
  if (f.executor_id) {
    st.log('info', 'executor_failure', { agent_id: agentId, executor_id: f.executor_id.value, status: f.status });
    return;
  }
  const host = s.agents.get(agentId)?.host;
  if (s.agents.delete(agentId)) invalidateRacks(s);
  // Mesos sends (or will send) updates for its tasks; ask explicitly so none is missed.
  const ask: Array<[string, string | undefined]> = [];
  for (const t of s.tasks.values()) {
    if (t.agent_id === agentId && !s.reconcile.awaiting.has(t.task_id)) {
      s.reconcile.awaiting.set(t.task_id, agentId);
      ask.push([t.task_id, agentId]);
    }
  }
  st.log('warn', 'agent_lost', { agent_id: agentId, host, tasks: ask.length });
  if (ask.length && s.subscribed) {
    sendExplicit(st, ask);
    s.reconcile.startedMs ??= st.now;
    s.reconcile.nextRetryMs ??= st.now + s.config.explicitReconcileInitialMs;
  }
}

// ---------------------------------------------------------------------------------------------
// Kills

function graceMsOf(s: SchedulerState, job: string): number {
  const spec = s.jobs.get(job)?.spec;
  return 1000 * (spec?.kill_grace_period_seconds ?? s.config.defaultKillGraceSeconds);
}

function killTask(st: Step, t: TaskRecord, reason: KillState['reason']): void {
  const s = st.s;
  if (t.kill) return;
  t.kill = { reason, requested_ms: st.now, attempts: 0, grace_ms: reason === 'orphan' ? 0 : graceMsOf(s, t.job) };
  s.killing.add(t.task_id);
  st.task(t.task_id);
  st.log('info', 'task_kill', { job: t.job, instance: t.index, task_id: t.task_id, agent_id: t.agent_id, host: t.host, reason });
  if (s.subscribed) sendKill(st, t);
}

function sendKill(st: Step, t: TaskRecord): void {
  const k = t.kill!;
  k.attempts++;
  k.last_sent_ms = st.now;
  // Escalate: after the first attempt ran out, kill without grace.
  const grace = k.attempts > 1 ? 0 : k.grace_ms;
  st.calls.push(C.kill(t.task_id, t.agent_id, { grace_period: { nanoseconds: BigInt(grace) * 1_000_000n } }));
  st.task(t.task_id);
}

function killRetries(st: Step): void {
  const s = st.s;
  for (const id of s.killing) {
    const t = s.tasks.get(id);
    if (!t?.kill) {
      s.killing.delete(id);
      continue;
    }
    const k = t.kill;
    const wait = Math.min(600_000, (k.grace_ms + s.config.killRetryMs) * 2 ** Math.max(0, k.attempts - 1));
    if (k.last_sent_ms === undefined || st.now - k.last_sent_ms >= wait) sendKill(st, t);
  }
}

// ---------------------------------------------------------------------------------------------
// Instances

function attach(st: Step, inst: Instance, t: TaskRecord): void {
  pendingDelete(st.s, inst.job, inst.index);
  inst.task_id = t.task_id;
  inst.state = t.state;
  inst.agent_id = t.agent_id;
  inst.host = t.host;
  inst.rack = t.rack;
  inst.version = t.version;
  inst.running_since_ms = t.state === 'TASK_RUNNING' ? t.running_since_ms : undefined;
  addUsage(st.s, inst.job, t.host, t.rack);
  st.inst(inst);
}

function detach(st: Step, inst: Instance): void {
  if (inst.task_id !== undefined) removeUsage(st.s, inst.job, inst.host, inst.rack);
  inst.task_id = undefined;
  inst.agent_id = undefined;
  inst.host = undefined;
  inst.rack = undefined;
  inst.running_since_ms = undefined;
  st.inst(inst);
}

function setPending(st: Step, inst: Instance): void {
  inst.state = 'PENDING';
  pendingAdd(st.s, inst.job, inst.index);
  st.inst(inst);
}

function deleteInstance(st: Step, inst: Instance): void {
  const s = st.s;
  pendingDelete(s, inst.job, inst.index);
  const m = s.instances.get(inst.job);
  m?.delete(inst.index);
  if (m && m.size === 0) s.instances.delete(inst.job);
  st.inst(inst);
  st.touched.add(inst.job);
  st.log('info', 'instance_removed', { job: inst.job, instance: inst.index });
}

/** Brings a job's instances towards its spec: create, scale down, roll, finish deletion. */
function converge(st: Step, name: string): boolean {
  const s = st.s;
  const job = s.jobs.get(name);
  if (!job) return true;
  let insts = s.instances.get(name);
  const want = job.status === 'deleting' ? 0 : job.spec.instances;
  let settled = true;
  // retire unwanted instances
  if (insts) {
    for (const inst of insts.values()) {
      if (inst.index < want) continue;
      settled = false;
      if (inst.surge && inst.surge.task_id === undefined) {
        inst.surge = undefined;
        indexDelete(s.surges, inst.job, inst.index);
      }
      if (inst.surge?.task_id) {
        const sur = s.tasks.get(inst.surge.task_id);
        if (sur) killTask(st, sur, 'remove');
      }
      if (inst.task_id === undefined) deleteInstance(st, inst);
      else {
        const t = s.tasks.get(inst.task_id);
        if (t) killTask(st, t, 'remove');
      }
    }
  }
  if (job.status === 'deleting') {
    // Done when no instance is left — including a job that never had one (instances: 0).
    if ((s.instances.get(name)?.size ?? 0) === 0) {
      s.instances.delete(name);
      s.jobs.delete(name);
      s.usage.delete(name);
      s.pending.delete(name);
      st.job(name);
      st.log('info', 'job_deleted', { job: name });
      return true;
    }
    return false;
  }
  const tv = jobTaskVersion(job);
  if (!insts) s.instances.set(name, (insts = new Map()));
  for (let i = 0; i < want; i++) {
    if (!insts.has(i)) {
      const inst: Instance = { job: name, index: i, state: 'PENDING', version: tv, failures: 0 };
      insts.set(i, inst);
      setPending(st, inst);
    }
  }
  // rolling replace: keep at most `batch` instances down while outdated ones are replaced
  const batch = job.spec.update_batch_size ?? Math.max(1, Math.floor(job.spec.instances * 0.25));
  let down = 0;
  const outdated: Instance[] = [];
  for (const inst of insts.values()) {
    if (inst.index >= want) continue;
    const t = inst.task_id !== undefined ? s.tasks.get(inst.task_id) : undefined;
    if (inst.state !== 'TASK_RUNNING' || t?.kill) down++;
    if (t && inst.version < tv) {
      settled = false;
      if (inst.state === 'TASK_RUNNING' && !t.kill) outdated.push(inst);
    }
  }
  if (outdated.length && down < batch) {
    outdated.sort((a, b) => a.index - b.index);
    for (const inst of outdated.slice(0, batch - down)) {
      const t = s.tasks.get(inst.task_id!)!;
      st.log('info', 'rolling_replace', { job: name, instance: inst.index, task_id: t.task_id, host: t.host, state_from: `v${inst.version}`, state_to: `v${tv}` });
      killTask(st, t, 'replace');
    }
  }
  return settled;
}

// ---------------------------------------------------------------------------------------------
// Offers and placement

/**
 * One OFFERS event: record the offering agents, place pending work, launch onto the offers that got
 * something (one ACCEPT per offer) and decline the rest (one DECLINE per refuse filter).
 */
function handleOffers(st: Step, offers: Offer[]): void {
  if (!offers.length) return;
  const batch = recordAgents(st, offers);
  const hold = st.s.reconcile.placementHoldUntilMs !== undefined && st.now < st.s.reconcile.placementHoldUntilMs;
  const { requests, tooBig } = hold ? { requests: [], tooBig: false } : placementRequests(st, offers.length, batch);
  const s = st.s;
  const result = place(requests, offers, {
    blocked: s.placementBlockedHosts,
    rackCount: (attr) => rackCount(s, attr),
    rackAttribute: s.config.rackAttribute,
    defaultRole: s.config.roles[0] ?? '*',
    nowMs: st.now,
  });
  for (const acc of result.accepts) launchOnOffer(st, acc);
  if (result.declines.length) declineOffers(st, result.declines, hold, tooBig);
}

/**
 * Agent records from the offers (new agents, last offer time, unavailability, free room before
 * this step's launches: launchOnOffer subtracts them). Returns the batch's total cpus and mem.
 */
function recordAgents(st: Step, offers: Offer[]): { cpus: number; mem: number } {
  const s = st.s;
  let sumCpus = 0;
  let sumMem = 0;
  for (let i = 0; i < offers.length; i++) {
    const o = offers[i]!;
    const id = o.agent_id.value;
    let a = s.agents.get(id);
    if (!a) {
      const attributes: Record<string, string> = {};
      for (const at of o.attributes ?? []) {
        const v = at.text?.value ?? at.set?.item?.join(',') ?? (at.scalar ? String(at.scalar.value) : undefined);
        if (v !== undefined) attributes[at.name] = v;
      }
      a = { agent_id: id, host: o.hostname.toLowerCase(), attributes, last_offer_ms: st.now };
      s.agents.set(id, a);
      agentAdded(s, attributes);
    }
    a.last_offer_ms = st.now;
    a.unavailable_from_ms = o.unavailability ? unavailableFromMs(o) : undefined;
    let cpus = 0;
    let mem = 0;
    const rs = o.resources;
    if (rs) {
      for (let k = 0; k < rs.length; k++) {
        const r = rs[k]!;
        if (r.name === 'cpus') cpus += r.scalar?.value ?? 0;
        else if (r.name === 'mem') mem += r.scalar?.value ?? 0;
      }
    }
    a.free = { cpus, mem, at_ms: st.now };
    sumCpus += cpus;
    sumMem += mem;
  }
  return { cpus: sumCpus, mem: sumMem };
}

/**
 * What each job with pending work (make-before-break surges first) asks of this batch, bounded by
 * what the batch can hold so a large backlog is not scanned for every event. `tooBig`: some pending
 * work needs more than this whole batch offers (its declines are then 'no_fit').
 */
function placementRequests(st: Step, offerCount: number, batch: { cpus: number; mem: number }): { requests: PlacementRequest[]; tooBig: boolean } {
  const s = st.s;
  const requests: PlacementRequest[] = [];
  let tooBig = false;
  if (!s.subscribed || (!s.pending.size && !s.surges.size)) return { requests, tooBig };
  const jobsWithWork = new Set<string>([...s.pending.keys(), ...s.surges.keys()]);
  for (const job of jobsWithWork) {
    const j = s.jobs.get(job);
    if (!j || j.status === 'deleting') continue;
    const res = j.spec.resources;
    let cap = Math.floor(Math.min(batch.cpus / res.cpus, batch.mem / res.mem) + 1e-9);
    if (j.spec.constraints?.host_unique) cap = Math.min(cap, offerCount);
    if (cap <= 0) {
      tooBig = true;
      continue;
    }
    const insts = s.instances.get(job)!;
    const indices: number[] = [];
    // make-before-break replacements first: their hosts are being drained
    for (const idx of s.surges.get(job) ?? []) {
      if (indices.length >= cap) break;
      if (idx < j.spec.instances) indices.push(idx);
    }
    for (const idx of s.pending.get(job) ?? []) {
      if (indices.length >= cap) break;
      const inst = insts.get(idx);
      if (inst && idx < j.spec.instances && (inst.not_before_ms === undefined || inst.not_before_ms <= st.now)) indices.push(idx);
    }
    if (indices.length) requests.push({ job, spec: j.spec, indices, usage: usageOf(s, job) });
  }
  return { requests, tooBig };
}

/** Task records and TaskInfos for one offer's planned launches, and its ACCEPT. */
function launchOnOffer(st: Step, acc: OfferDecision): void {
  const s = st.s;
  const infos: TaskInfo[] = [];
  const agent = s.agents.get(acc.offer.agent_id.value);
  for (const pl of acc.launches) {
    const job = s.jobs.get(pl.job)!;
    const inst = getInstance(s, pl.job, pl.index)!;
    const seq = s.nextTaskSeq++;
    const taskId = makeTaskId(pl.job, pl.index, seq);
    const rack = pl.rack ?? offerAttribute(acc.offer, job.spec.constraints?.rack_attribute ?? s.config.rackAttribute);
    const t: TaskRecord = {
      task_id: taskId,
      job: pl.job,
      index: pl.index,
      agent_id: acc.offer.agent_id.value,
      host: pl.host,
      rack,
      state: 'LAUNCHING',
      version: jobTaskVersion(job),
      launched_ms: st.now,
      updated_ms: st.now,
    };
    s.tasks.set(taskId, t);
    st.task(taskId);
    if (inst.task_id !== undefined && inst.surge && inst.surge.task_id === undefined) {
      // a make-before-break replacement: the instance keeps its current task until this one takes over
      t.surge = true;
      inst.surge.task_id = taskId;
      indexDelete(s.surges, inst.job, inst.index);
      addUsage(s, inst.job, t.host, t.rack);
      st.inst(inst);
    } else attach(st, inst, t);
    infos.push(taskInfo(job, pl.index, taskId, acc.offer, pl.resources, pl.ports, graceMsOf(s, pl.job)));
    st.log('info', 'task_launching', { job: pl.job, instance: pl.index, task_id: taskId, agent_id: t.agent_id, host: pl.host, state_from: 'PENDING', state_to: 'LAUNCHING' });
    // what the agent still has free after this launch (drainer capacity estimate)
    if (agent?.free) {
      const res = job.spec.resources;
      agent.free.cpus = Math.max(0, Math.round((agent.free.cpus - res.cpus) * 1000) / 1000);
      agent.free.mem = Math.max(0, Math.round((agent.free.mem - res.mem) * 1000) / 1000);
    }
  }
  st.changes.meta = true;
  st.calls.push(C.accept([acc.offer.id], [{ type: 'LAUNCH', launch: { task_infos: infos } }], { refuse_seconds: s.config.acceptFilterSeconds }));
}

/** One DECLINE per refuse filter length (the reason decides the filter). */
function declineOffers(st: Step, declines: PlaceResult['declines'], hold: boolean, tooBig: boolean): void {
  const s = st.s;
  const bySeconds = new Map<number, OfferID[]>();
  for (const d of declines) {
    const sec = hold && d.reason === 'no_pending' ? s.config.declineHoldSeconds : declineSeconds(s, tooBig && d.reason === 'no_pending' ? 'no_fit' : d.reason);
    let list = bySeconds.get(sec);
    if (!list) bySeconds.set(sec, (list = []));
    list.push(d.offer.id);
  }
  for (const [sec, list] of bySeconds) st.calls.push(C.decline(list, { refuse_seconds: sec }));
}

function declineSeconds(s: SchedulerState, reason: DeclineReason): number {
  switch (reason) {
    case 'no_pending':
      return s.config.declineIdleSeconds;
    case 'blocked_host':
    case 'unavailable':
      return s.config.declineBlockedSeconds;
    case 'no_fit':
      return s.config.declineUnfitSeconds;
  }
}

/**
 * The parts of a job's TaskInfos that are the same for every task of one job version: frozen and
 * shared by those tasks, so the JSON writer encodes them once (src/mesos/stout-writer.ts reuses the
 * bytes of deeply frozen objects).
 */
interface TaskTemplate {
  spec: JobSpec;
  version: number;
  graceMs: number;
  /** spec.environment, then SLUICE_JOB. */
  variables: ReadonlyArray<{ name: string; value: string }>;
  jobLabel: { key: string; value: string };
  versionLabel: { key: string; value: string };
  killPolicy: NonNullable<TaskInfo['kill_policy']>;
}
const templates = new WeakMap<Job, TaskTemplate>();

function taskTemplate(job: Job, graceMs: number): TaskTemplate {
  const spec = job.spec;
  const version = jobTaskVersion(job);
  const cached = templates.get(job);
  if (cached && cached.spec === spec && cached.version === version && cached.graceMs === graceMs) return cached;
  const variables: Array<{ name: string; value: string }> = [];
  if (spec.environment) for (const k in spec.environment) variables.push(Object.freeze({ name: k, value: spec.environment[k]! }));
  variables.push(Object.freeze({ name: 'SLUICE_JOB', value: spec.name }));
  const t: TaskTemplate = {
    spec,
    version,
    graceMs,
    variables,
    jobLabel: Object.freeze({ key: LABEL_JOB, value: spec.name }),
    versionLabel: Object.freeze({ key: LABEL_VERSION, value: String(version) }),
    killPolicy: Object.freeze({ grace_period: Object.freeze({ nanoseconds: BigInt(graceMs) * 1_000_000n }) }),
  };
  templates.set(job, t);
  return t;
}

function taskInfo(job: Job, index: number, taskId: string, offer: Offer, resources: TaskInfo['resources'], ports: number[], graceMs: number): TaskInfo {
  const spec = job.spec;
  const tpl = taskTemplate(job, graceMs);
  const instance = String(index);
  const variables = tpl.variables.slice();
  variables.push({ name: 'SLUICE_INSTANCE', value: instance }, { name: 'SLUICE_TASK_ID', value: taskId }, { name: 'HOST', value: offer.hostname });
  for (let i = 0; i < ports.length; i++) variables.push({ name: `PORT${i}`, value: String(ports[i]) });
  if (ports.length) variables.push({ name: 'PORT', value: String(ports[0]) });
  const command: NonNullable<TaskInfo['command']> = { value: spec.command.value, shell: spec.command.shell ?? true, environment: { variables } };
  if (spec.command.arguments) command.arguments = spec.command.arguments;
  return {
    name: `${spec.name}.${instance}`,
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources,
    command,
    labels: { labels: [tpl.jobLabel, { key: LABEL_INSTANCE, value: instance }, tpl.versionLabel] },
    kill_policy: tpl.killPolicy,
  };
}

// ---------------------------------------------------------------------------------------------
// Suppress / revive, and the end of every step

function hasEligiblePending(s: SchedulerState, now: number): boolean {
  for (const job of s.surges.keys()) {
    const j = s.jobs.get(job);
    if (j && j.status !== 'deleting') return true;
  }
  for (const [job, set] of s.pending) {
    const j = s.jobs.get(job);
    if (!j || j.status === 'deleting') continue;
    const insts = s.instances.get(job);
    if (!insts) continue;
    for (const idx of set) {
      const inst = insts.get(idx);
      if (inst && idx < j.spec.instances && (inst.not_before_ms === undefined || inst.not_before_ms <= now)) return true;
    }
  }
  return false;
}

function finish(st: Step): void {
  const s = st.s;
  // converge the jobs this step touched (the tick converges every unsettled job)
  for (const j of st.touched) {
    if (converge(st, j)) s.converging.delete(j);
    else s.converging.add(j);
  }
  if (!s.subscribed) return;
  const want = hasEligiblePending(s, st.now);
  if (want && s.suppressed) {
    s.suppressed = false;
    st.calls.push(C.revive());
    st.log('info', 'offers_revived', {});
  } else if (!want && !s.suppressed) {
    s.suppressed = true;
    st.calls.push(C.suppress());
    st.log('info', 'offers_suppressed', {});
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

function invalid(errors: FieldError[]): CommandResult {
  return { ok: false, status: 400, error: 'invalid job spec', details: errors };
}

function createJob(st: Step, raw: unknown): CommandResult {
  const s = st.s;
  const v = validateJobSpec(raw, { roles: s.config.roles });
  if (!v.ok) return invalid(v.errors);
  const spec = v.spec;
  const existing = s.jobs.get(spec.name);
  if (existing) {
    return {
      ok: false,
      status: 409,
      error: existing.status === 'deleting' ? `job ${spec.name} is being deleted; try again when it is gone` : `job ${spec.name} already exists (use update)`,
    };
  }
  const job: Job = { spec, version: 1, task_version: 1, created_ms: st.now, updated_ms: st.now, status: 'active' };
  s.jobs.set(spec.name, job);
  st.job(spec.name);
  st.touched.add(spec.name);
  st.log('info', 'job_created', { job: spec.name, instances: spec.instances });
  return { ok: true, status: 201, body: { name: spec.name } };
}

function updateJob(st: Step, raw: unknown): CommandResult {
  const s = st.s;
  const v = validateJobSpec(raw, { roles: s.config.roles });
  if (!v.ok) return invalid(v.errors);
  const spec: JobSpec = v.spec;
  const job = s.jobs.get(spec.name);
  if (!job) return { ok: false, status: 404, error: `job ${spec.name} not found` };
  if (job.status === 'deleting') return { ok: false, status: 409, error: `job ${spec.name} is being deleted` };
  const restart = taskDefinitionChanged(job.spec, spec);
  const from = job.spec.instances;
  job.version += 1;
  if (restart) job.task_version = job.version;
  job.spec = spec;
  job.updated_ms = st.now;
  st.job(spec.name);
  st.touched.add(spec.name);
  st.log('info', 'job_updated', { job: spec.name, version: job.version, rolling: restart, instances_from: from, instances_to: spec.instances });
  return { ok: true, status: 200, body: { name: spec.name } };
}

function deleteJob(st: Step, name: string): CommandResult {
  const s = st.s;
  const job = s.jobs.get(name);
  if (!job) return { ok: false, status: 404, error: `job ${name} not found` };
  if (job.status !== 'deleting') {
    job.status = 'deleting';
    job.updated_ms = st.now;
    st.job(name);
    st.log('info', 'job_deleting', { job: name });
  }
  st.touched.add(name);
  let tasks = 0;
  for (const inst of s.instances.get(name)?.values() ?? []) if (inst.task_id) tasks++;
  return { ok: true, status: 202, body: { name, status: 'deleting', tasks_to_kill: tasks } };
}

function restartInstances(st: Step, name: string, indices: number[], reason: string): CommandResult {
  const s = st.s;
  const job = s.jobs.get(name);
  if (!job) return { ok: false, status: 404, error: `job ${name} not found` };
  const restarted: number[] = [];
  for (const idx of indices) {
    const inst = getInstance(s, name, idx);
    if (!inst?.task_id) continue;
    const t = s.tasks.get(inst.task_id);
    if (!t || t.kill) continue;
    st.log('info', 'instance_restart', { job: name, instance: idx, task_id: t.task_id, host: t.host, reason });
    killTask(st, t, 'restart');
    restarted.push(idx);
  }
  return { ok: true, status: 202, body: { job: name, restarted } };
}

function killTasks(st: Step, ids: string[], reason: string): CommandResult {
  const s = st.s;
  const killed: string[] = [];
  const unknown: string[] = [];
  for (const id of ids) {
    const t = s.tasks.get(id);
    if (!t) {
      unknown.push(id);
      continue;
    }
    if (t.kill) {
      // already being killed: the caller's retry is ours too (re-send now if it has been a while)
      if (s.subscribed && t.kill.last_sent_ms !== undefined && st.now - t.kill.last_sent_ms >= s.config.killRetryMs) sendKill(st, t);
      continue;
    }
    st.log('info', 'task_kill_requested', { job: t.job, instance: t.index, task_id: id, host: t.host, reason });
    killTask(st, t, 'drain');
    killed.push(id);
  }
  return { ok: true, status: 202, body: { killed, unknown } };
}

function surgeInstances(st: Step, orders: Array<{ job: string; instance: number; task_id: string }>): CommandResult {
  const s = st.s;
  const accepted: Array<{ job: string; instance: number }> = [];
  const refused: Array<{ job: string; instance: number; reason: string }> = [];
  for (const o of orders) {
    const inst = getInstance(s, o.job, o.instance);
    let why: string | undefined;
    if (!inst || !isWanted(s, o.job, o.instance)) why = 'no such instance';
    else if (inst.task_id !== o.task_id) why = `the instance runs ${inst.task_id ?? 'nothing'}, not ${o.task_id}`;
    else if (inst.surge) why = 'a replacement is already on its way';
    else if (s.tasks.get(o.task_id)?.kill) why = 'its task is being killed';
    if (why || !inst) {
      refused.push({ job: o.job, instance: o.instance, reason: why ?? 'no such instance' });
      continue;
    }
    inst.surge = { for_task_id: o.task_id, requested_ms: st.now };
    indexAdd(s.surges, o.job, o.instance);
    st.inst(inst);
    st.log('info', 'surge_ordered', { job: o.job, instance: o.instance, task_id: o.task_id, host: inst.host });
    accepted.push({ job: o.job, instance: o.instance });
  }
  return { ok: true, status: 202, body: { accepted, refused } };
}

function setBlocked(st: Step, hosts: Iterable<string>): CommandResult {
  const s = st.s;
  const next = new Set<string>();
  for (const h of hosts) next.add(h.toLowerCase());
  let freed = false;
  for (const h of s.placementBlockedHosts) if (!next.has(h)) freed = true;
  s.placementBlockedHosts = next;
  // Hosts came back: their offers were declined with a long filter; REVIVE clears filters.
  if (freed && s.subscribed && hasEligiblePending(s, st.now) && !s.suppressed) {
    st.calls.push(C.revive());
    st.log('info', 'offers_revived', { reason: 'hosts_unblocked' });
  }
  return { ok: true, status: 200, body: { blocked_hosts: [...next] } };
}

// ---------------------------------------------------------------------------------------------
// Read-only views (API, CLI, metrics)

export interface InstanceView {
  index: number;
  state: string;
  task_id?: string;
  agent_id?: string;
  host?: string;
  rack?: string;
  version: number;
  running_since_ms?: number;
  failures: number;
  not_before_ms?: number;
  killing?: boolean;
  last_terminal?: Instance['last_terminal'];
  /** Make-before-break replacement in progress. */
  surge?: { task_id?: string; state: string; host?: string; for_task_id: string };
}

export interface JobView {
  name: string;
  status: 'active' | 'deleting';
  version: number;
  task_version: number;
  created_ms: number;
  updated_ms: number;
  spec: JobSpec;
  counts: Record<string, number>;
  /** Instances still running an older task definition (rolling update in progress). */
  outdated: number;
  instances: InstanceView[];
}

export function jobView(s: SchedulerState, name: string, _now: number): JobView | undefined {
  const job = s.jobs.get(name);
  if (!job) return undefined;
  const tv = jobTaskVersion(job);
  const counts: Record<string, number> = {};
  let outdated = 0;
  const instances: InstanceView[] = [];
  const insts = [...(s.instances.get(name)?.values() ?? [])].sort((a, b) => a.index - b.index);
  for (const i of insts) {
    counts[i.state] = (counts[i.state] ?? 0) + 1;
    if (i.task_id && i.version < tv) outdated++;
    const t = i.task_id ? s.tasks.get(i.task_id) : undefined;
    const v: InstanceView = { index: i.index, state: i.state, version: i.version, failures: i.failures };
    if (i.task_id) v.task_id = i.task_id;
    if (i.agent_id) v.agent_id = i.agent_id;
    if (i.host) v.host = i.host;
    if (i.rack) v.rack = i.rack;
    if (i.running_since_ms !== undefined) v.running_since_ms = i.running_since_ms;
    if (i.not_before_ms !== undefined) v.not_before_ms = i.not_before_ms;
    if (t?.kill) v.killing = true;
    if (i.last_terminal) v.last_terminal = i.last_terminal;
    if (i.surge) {
      const sur = i.surge.task_id ? s.tasks.get(i.surge.task_id) : undefined;
      v.surge = { for_task_id: i.surge.for_task_id, state: sur?.state ?? 'PENDING' };
      if (sur) {
        v.surge.task_id = sur.task_id;
        if (sur.host) v.surge.host = sur.host;
      }
    }
    instances.push(v);
  }
  return {
    name,
    status: job.status ?? 'active',
    version: job.version,
    task_version: tv,
    created_ms: job.created_ms,
    updated_ms: job.updated_ms,
    spec: job.spec,
    counts,
    outdated,
    instances,
  };
}

export interface JobSummary {
  name: string;
  status: 'active' | 'deleting';
  instances: number;
  running: number;
  pending: number;
  version: number;
}

export function listJobs(s: SchedulerState): JobSummary[] {
  const out: JobSummary[] = [];
  for (const [name, job] of s.jobs) {
    let running = 0;
    let pending = 0;
    for (const i of s.instances.get(name)?.values() ?? []) {
      if (i.state === 'TASK_RUNNING') running++;
      else if (i.state === 'PENDING') pending++;
    }
    out.push({ name, status: job.status ?? 'active', instances: job.spec.instances, running, pending, version: job.version });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function tasksByState(s: SchedulerState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of s.tasks.values()) out[t.state] = (out[t.state] ?? 0) + 1;
  return out;
}

export interface StatusView {
  framework_id?: string;
  subscribed: boolean;
  suppressed: boolean;
  jobs: number;
  instances: number;
  pending_instances: number;
  tasks: Record<string, number>;
  killing: number;
  agents_seen: number;
  placement_blocked_hosts: string[];
  reconciliation: { awaiting: number; last_explicit_completed_ms?: number; last_implicit_ms?: number; next_implicit_ms?: number };
}

export function statusView(s: SchedulerState): StatusView {
  let instances = 0;
  for (const m of s.instances.values()) instances += m.size;
  let pending = 0;
  for (const set of s.pending.values()) pending += set.size;
  return {
    framework_id: s.frameworkId,
    subscribed: s.subscribed,
    suppressed: s.suppressed,
    jobs: s.jobs.size,
    instances,
    pending_instances: pending,
    tasks: tasksByState(s),
    killing: s.killing.size,
    agents_seen: s.agents.size,
    placement_blocked_hosts: [...s.placementBlockedHosts].sort(),
    reconciliation: {
      awaiting: s.reconcile.awaiting.size,
      last_explicit_completed_ms: s.reconcile.completedMs,
      last_implicit_ms: s.reconcile.lastImplicitMs,
      next_implicit_ms: s.reconcile.nextImplicitMs,
    },
  };
}
