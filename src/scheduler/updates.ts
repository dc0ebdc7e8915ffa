/**
 * Status updates: a task's new state, the instance it belongs to (replaced, with crash backoff, or
 * retired), make-before-break surges ending or taking over, and tasks we do not know (adopted or
 * killed as orphans). The ACKNOWLEDGE goes last, after the change is in `changes`.
 */
import { calls as C } from '../mesos/calls.js';
import type { TaskState, TaskStatus } from '../mesos/types.js';
import { isTerminal } from '../mesos/types.js';
import { durationMs } from '../sla/index.js';
import { jobTaskVersion } from './job-spec.js';
import { attach, deleteInstance, detach, setPending, takeTask } from './instances.js';
import { killTask } from './kills.js';
import { domainOf, getInstance, indexDelete, isWanted, removeUsage, type Instance, type TaskRecord } from './state.js';
import type { Step } from './step.js';
import { parseTaskId } from './task-id.js';

/** States after which the task does not exist for us: terminal, or unknown to the master. */
export function isGone(state: TaskState): boolean {
  return isTerminal(state) || state === 'TASK_UNKNOWN';
}

export function handleUpdate(st: Step, status: TaskStatus): void {
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

export function applyStatus(st: Step, t: TaskRecord, status: TaskStatus): void {
  const s = st.s;
  const prev = t.state;
  const state = status.state;
  const id = t.task_id;
  t.state = state;
  t.updated_ms = st.now;
  // Health: a TASK_RUNNING with REASON_TASK_HEALTH_CHECK_STATUS_UPDATED is the same run, healthier
  // or not — RUNNING-since stays (below, only a transition into RUNNING starts a run).
  const healthBefore = t.healthy;
  if (status.healthy !== undefined) t.healthy = status.healthy;
  else if (state !== 'TASK_RUNNING') t.healthy = undefined;
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
  if (t.healthy !== healthBefore && status.healthy !== undefined) {
    st.log(t.healthy ? 'info' : 'warn', 'task_health', { job: t.job, instance: t.index, task_id: id, agent_id: t.agent_id, host: t.host, healthy: t.healthy, reason: status.reason, status_message: status.message });
    if (inst) st.inst(inst);
    if (s.converging.has(t.job)) st.touched.add(t.job); // a rolling update may proceed (or must wait)
  }
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
    noteLoss(st, inst, t);
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

/**
 * The instance's task `t` is going away: why its replacement will be launched (`launch_cause`) and,
 * if it was serving, the failure domain it was lost in (`lost_domain`, charged until the instance
 * is up again — workload-rows.ts).
 */
export function noteLoss(st: Step, inst: Instance, t: TaskRecord): void {
  const k = t.kill?.reason;
  inst.launch_cause = k === 'drain' ? 'drain' : k === 'replace' || k === 'restart' ? 'update' : k === undefined ? 'failure' : inst.launch_cause;
  if (t.running_since_ms !== undefined) {
    const d = domainOf(st.s, t.job, t.agent_id);
    if (d !== undefined) {
      inst.lost_domain = d;
      st.s.lostDomains.add(`${inst.job}#${inst.index}`);
    }
  }
  st.inst(inst);
}

/**
 * `lost_domain` lasts until the instance is up again (RUNNING for the SLA duration, healthy where
 * checked): checked on every tick for the instances that carry one (few: recently lost).
 */
export function clearLostDomains(st: Step): void {
  const s = st.s;
  for (const key of s.lostDomains) {
    const [job, idx] = splitKey(key);
    const inst = getInstance(s, job, idx);
    const j = s.jobs.get(job);
    if (!inst || inst.lost_domain === undefined || !j) {
      s.lostDomains.delete(key);
      continue;
    }
    const t = inst.task_id !== undefined ? s.tasks.get(inst.task_id) : undefined;
    if (!t || t.state !== 'TASK_RUNNING' || t.kill || t.running_since_ms === undefined) continue;
    if (t.health_check && t.healthy !== true) continue;
    if (st.now - t.running_since_ms < durationMs({ name: job, instances: j.spec.instances, sla: j.spec.sla })) continue;
    inst.lost_domain = undefined;
    s.lostDomains.delete(key);
    st.inst(inst);
  }
}

const splitKey = (key: string): [string, number] => {
  const i = key.lastIndexOf('#');
  return [key.slice(0, i), Number(key.slice(i + 1))];
};

export const CRASH_STATES = new Set<TaskState>(['TASK_FAILED', 'TASK_ERROR', 'TASK_FINISHED']);

/** The instance's current task is gone: replace it (with backoff after crashes) or retire the instance. */
export function taskEnded(st: Step, inst: Instance, t: TaskRecord, status: TaskStatus): void {
  const s = st.s;
  const state = status.state;
  noteLoss(st, inst, t);
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
      inst.not_before_ms = undefined;
      takeTask(st, inst, sur);
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
export function surgeEnded(st: Step, inst: Instance, t: TaskRecord, state: TaskState): void {
  removeUsage(st.s, inst.job, t.host, t.rack);
  inst.surge = undefined;
  st.inst(inst);
  st.log(t.kill ? 'info' : 'warn', 'surge_dropped', { job: inst.job, instance: inst.index, task_id: t.task_id, host: t.host, state_to: state });
}

export function adoptOrKill(st: Step, status: TaskStatus): void {
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
    if (job.spec.health_check) base.health_check = true;
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
