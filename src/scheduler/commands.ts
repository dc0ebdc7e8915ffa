/**
 * Operator and maintenance commands. Results are domain outcomes (`created`, `accepted`, `invalid`,
 * `not_found`, `conflict`, ...): what they mean over HTTP is decided in src/api, not here.
 */
import { calls as C } from '../mesos/calls.js';
import type { JobSpec, Job } from './job-spec.js';
import { hasEligiblePending } from './instances.js';
import { askCoordinator, coordinatorAnswered, type CoordinatorAsk } from './coordinator.js';
import type { CoordinatorQuestion } from '../sla/index.js';
import { killTask, sendKill } from './kills.js';
import { getInstance, indexAdd, isWanted } from './state.js';
import type { Step, StepResult } from './step.js';
import { taskDefinitionChanged, validateJobSpec, type FieldError } from './validate.js';

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
  | { type: 'set_blocked_hosts'; hosts: Iterable<string> }
  /** Ask services' coordinators before kills (the drain planner's questions; src/scheduler/coordinator.ts). */
  | { type: 'coordinator_ask'; asks: CoordinatorAsk[] }
  /** A coordinator's answer, fed back by the scheduler's I/O edge (anything but allow: true is a no). */
  | { type: 'coordinator_answer'; question: CoordinatorQuestion; allow: boolean; reason?: string };

/**
 * What became of a command. Done: `created` (a new job), `updated` (a changed job or host set),
 * `accepted` (the work is under way: kills, surges, deletion). Refused, nothing changed: `invalid`
 * (the command or spec is malformed; `details` lists the fields), `not_found` (no such job),
 * `conflict` (the job's current state forbids it: exists already, being deleted).
 */
export type CommandOutcome = 'created' | 'updated' | 'accepted' | 'invalid' | 'not_found' | 'conflict';

export type CommandResult =
  | { ok: true; outcome: 'created' | 'updated' | 'accepted'; body: unknown }
  | { ok: false; outcome: 'invalid' | 'not_found' | 'conflict'; error: string; details?: FieldError[] | unknown };

export interface CommandStepResult extends StepResult {
  result: CommandResult;
}

/** Runs one command in the step (the caller finishes the step). */
export function runCommand(st: Step, cmd: SchedulerCommand): CommandResult {
  switch (cmd.type) {
    case 'create_job':
      return createJob(st, cmd.spec);
    case 'update_job':
      return updateJob(st, cmd.spec);
    case 'delete_job':
      return deleteJob(st, cmd.name);
    case 'restart_instances':
      return restartInstances(st, cmd.job, cmd.indices, cmd.reason ?? 'restart');
    case 'kill_tasks':
      return killTasks(st, cmd.task_ids, cmd.reason ?? 'drain');
    case 'surge_instances':
      return surgeInstances(st, cmd.orders);
    case 'set_blocked_hosts':
      return setBlocked(st, cmd.hosts);
    case 'coordinator_ask':
      askCoordinator(st, Array.isArray(cmd.asks) ? cmd.asks : []);
      return { ok: true, outcome: 'accepted', body: {} };
    case 'coordinator_answer':
      coordinatorAnswered(st, cmd.question, cmd.reason !== undefined ? { allow: cmd.allow, reason: cmd.reason } : { allow: cmd.allow });
      return { ok: true, outcome: 'accepted', body: {} };
    default:
      return { ok: false, outcome: 'invalid', error: `unknown command ${(cmd as { type: string }).type}` };
  }
}

function invalid(errors: FieldError[]): CommandResult {
  return { ok: false, outcome: 'invalid', error: 'invalid job spec', details: errors };
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
      outcome: 'conflict',
      error: existing.status === 'deleting' ? `job ${spec.name} is being deleted; try again when it is gone` : `job ${spec.name} already exists (use update)`,
    };
  }
  const job: Job = { spec, version: 1, task_version: 1, created_ms: st.now, updated_ms: st.now, status: 'active' };
  s.jobs.set(spec.name, job);
  st.job(spec.name);
  st.touched.add(spec.name);
  st.log('info', 'job_created', { job: spec.name, instances: spec.instances });
  return { ok: true, outcome: 'created', body: { name: spec.name } };
}

function updateJob(st: Step, raw: unknown): CommandResult {
  const s = st.s;
  const v = validateJobSpec(raw, { roles: s.config.roles });
  if (!v.ok) return invalid(v.errors);
  const spec: JobSpec = v.spec;
  const job = s.jobs.get(spec.name);
  if (!job) return { ok: false, outcome: 'not_found', error: `job ${spec.name} not found` };
  if (job.status === 'deleting') return { ok: false, outcome: 'conflict', error: `job ${spec.name} is being deleted` };
  const restart = taskDefinitionChanged(job.spec, spec);
  const from = job.spec.instances;
  job.version += 1;
  if (restart) job.task_version = job.version;
  job.spec = spec;
  job.updated_ms = st.now;
  st.job(spec.name);
  st.touched.add(spec.name);
  st.log('info', 'job_updated', { job: spec.name, version: job.version, rolling: restart, instances_from: from, instances_to: spec.instances });
  return { ok: true, outcome: 'updated', body: { name: spec.name } };
}

function deleteJob(st: Step, name: string): CommandResult {
  const s = st.s;
  const job = s.jobs.get(name);
  if (!job) return { ok: false, outcome: 'not_found', error: `job ${name} not found` };
  if (job.status !== 'deleting') {
    job.status = 'deleting';
    job.updated_ms = st.now;
    st.job(name);
    st.log('info', 'job_deleting', { job: name });
  }
  st.touched.add(name);
  let tasks = 0;
  for (const inst of s.instances.get(name)?.values() ?? []) if (inst.task_id) tasks++;
  return { ok: true, outcome: 'accepted', body: { name, status: 'deleting', tasks_to_kill: tasks } };
}

function restartInstances(st: Step, name: string, indices: number[], reason: string): CommandResult {
  const s = st.s;
  const job = s.jobs.get(name);
  if (!job) return { ok: false, outcome: 'not_found', error: `job ${name} not found` };
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
  return { ok: true, outcome: 'accepted', body: { job: name, restarted } };
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
  return { ok: true, outcome: 'accepted', body: { killed, unknown } };
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
  return { ok: true, outcome: 'accepted', body: { accepted, refused } };
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
  return { ok: true, outcome: 'updated', body: { blocked_hosts: [...next] } };
}
