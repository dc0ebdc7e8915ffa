/**
 * Instances and convergence: attaching tasks to instances, pending sets, bringing a job towards its
 * spec (create, scale down, rolling replace, finish deletion), and the end of every step (converge
 * the touched jobs, then SUPPRESS or REVIVE offers).
 */
import { calls as C } from '../mesos/calls.js';
import { coordinatorOf, coordinatorQuestion, coordinatorWait, decideKills, type KillDecisions } from '../sla/index.js';
import { askCoordinator, coordinatorNow, type CoordinatorAsk } from './coordinator.js';
import { jobTaskVersion, type Job } from './job-spec.js';
import { killTask } from './kills.js';
import { addUsage, indexAdd, indexDelete, pendingAdd, pendingDelete, removeUsage, type Instance, type SchedulerState, type TaskRecord } from './state.js';
import { agentCapacity, jobRows } from './workload-rows.js';
import type { Step } from './step.js';

/** The instance's task is `t` now (its placement, state and version); no usage or index change. */
export function takeTask(st: Step, inst: Instance, t: TaskRecord): void {
  inst.task_id = t.task_id;
  inst.state = t.state;
  inst.agent_id = t.agent_id;
  inst.host = t.host;
  inst.rack = t.rack;
  inst.version = t.version;
  inst.running_since_ms = t.state === 'TASK_RUNNING' ? t.running_since_ms : undefined;
  st.inst(inst);
}

/** A pending instance gets task `t`: no longer pending, and its host/rack counted. */
export function attach(st: Step, inst: Instance, t: TaskRecord): void {
  pendingDelete(st.s, inst.job, inst.index);
  takeTask(st, inst, t);
  addUsage(st.s, inst.job, t.host, t.rack);
}

export function detach(st: Step, inst: Instance): void {
  if (inst.task_id !== undefined) removeUsage(st.s, inst.job, inst.host, inst.rack);
  inst.task_id = undefined;
  inst.agent_id = undefined;
  inst.host = undefined;
  inst.rack = undefined;
  inst.running_since_ms = undefined;
  st.inst(inst);
}

export function setPending(st: Step, inst: Instance): void {
  inst.state = 'PENDING';
  pendingAdd(st.s, inst.job, inst.index);
  st.inst(inst);
}

export function deleteInstance(st: Step, inst: Instance): void {
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
export function converge(st: Step, name: string): boolean {
  const s = st.s;
  const job = s.jobs.get(name);
  if (!job) return true;
  let insts = s.instances.get(name);
  const want = job.status === 'deleting' ? 0 : job.spec.instances;
  let settled = true;
  // retire unwanted instances (a scale-down of a job with a coordinator asks it first, RUNNING task
  // by task; deleting the job is the operator's explicit decision and does not)
  const ask = job.status !== 'deleting' && coordinatorOf(job.spec.sla) !== undefined;
  const retiring: TaskRecord[] = [];
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
        if (t && ask && t.state === 'TASK_RUNNING' && !t.kill) retiring.push(t);
        else if (t) killTask(st, t, 'remove');
      }
    }
  }
  if (retiring.length) {
    const ids = new Set(retiring.map((t) => t.task_id));
    const rows = jobRows(s, name, true);
    const d = decideKills({ name, instances: want, sla: job.spec.sla }, rows, rows.filter((r) => r.task_id !== undefined && ids.has(r.task_id)), st.now, coordinatorOptions(s, st.now));
    for (const r of d.kill) killTask(st, s.tasks.get(r.task_id!)!, 'remove');
    waitOrAsk(st, name, d, 'update');
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
  if (rollingReplace(st, job, insts, want, tv)) settled = false;
  return settled;
}

/**
 * Rolling replace: outdated instances are replaced at most `update_batch_size` at a time, and every
 * kill draws on the job's one SLA budget (src/sla `decideKills`, cause `update`), the same budget
 * drains and operator kills use: a batch waits while the budget is spent, and a job below its SLA
 * (young, unhealthy, failures) loses nothing serving. Where the budget refuses and the cluster has
 * room, the instance gets a make-before-break replacement at the new version; its old task goes
 * (for free) once the replacement counts as up. Returns whether the job is still rolling.
 */
function rollingReplace(st: Step, job: Job, insts: Map<number, Instance>, want: number, tv: number): boolean {
  const s = st.s;
  const name = job.spec.name;
  const batch = job.spec.update_batch_size ?? Math.max(1, Math.floor(job.spec.instances * 0.25));
  let busy = 0; // instances down or being replaced right now
  let rolling = false;
  const outdated = new Set<string>();
  for (const inst of insts.values()) {
    if (inst.index >= want) continue;
    const t = inst.task_id !== undefined ? s.tasks.get(inst.task_id) : undefined;
    if (inst.state !== 'TASK_RUNNING' || t?.kill || inst.surge) busy++;
    if (t && inst.version < tv) {
      rolling = true;
      if (inst.state === 'TASK_RUNNING' && !t.kill) outdated.add(t.task_id);
    }
  }
  if (!outdated.size) return rolling;
  const rows = jobRows(s, name);
  // outdated instances whose replacement already runs first (their kill may be free), then by index
  const cands = rows.filter((r) => r.task_id !== undefined && outdated.has(r.task_id)).sort((a, b) => a.index - b.index);
  const withSurge = cands.filter((r) => insts.get(r.index)?.surge);
  const rest = cands.filter((r) => !insts.get(r.index)?.surge);
  const coordinated = coordinatorOf(job.spec.sla) !== undefined;
  const d = decideKills({ name, instances: want, sla: job.spec.sla }, rows, [...withSurge, ...rest], st.now, { ...coordinatorOptions(s, st.now), max: Math.max(0, batch - busy) });
  for (const r of d.kill) {
    const t = s.tasks.get(r.task_id!)!;
    const inst = insts.get(r.index)!;
    st.log('info', 'rolling_replace', { job: name, instance: r.index, task_id: t.task_id, host: t.host, state_from: `v${inst.version}`, state_to: `v${tv}`, reason: inst.surge ? 'replacement up' : 'budget' });
    killTask(st, t, 'replace');
  }
  // make-before-break where the budget says no: a replacement first, within the batch (not for a
  // job with a coordinator: it alone says when its service can lose an instance, as in drains)
  let room = Math.max(0, batch - busy - d.kill.length - d.ask.length);
  if (room > 0 && d.refused.length && !coordinated && hasRoom(s, job)) {
    for (const ref of d.refused) {
      if (room <= 0) break;
      const inst = insts.get(ref.row.index);
      if (!inst || inst.surge || inst.task_id !== ref.row.task_id) continue;
      inst.surge = { for_task_id: inst.task_id!, requested_ms: st.now, cause: 'update' };
      indexAdd(s.surges, name, inst.index);
      st.inst(inst);
      st.log('info', 'surge_ordered', { job: name, instance: inst.index, task_id: inst.task_id, host: inst.host, reason: `update: ${ref.reason}` });
      room--;
    }
  }
  waitOrAsk(st, name, d, 'update');
  return true;
}

/** The coordinator answers a kill decision may use now (the one book). */
function coordinatorOptions(s: SchedulerState, now: number): { approved: ReadonlySet<string>; asking: ReadonlySet<string> } {
  const v = coordinatorNow(s, now);
  return { approved: v.approved, asking: v.asking };
}

/**
 * After an update's kill decision: ask the coordinator what `decideKills` says to ask (unless it
 * said no lately), and record why the update waits (`update_wait` in job get; logged once per reason).
 */
function waitOrAsk(st: Step, name: string, d: KillDecisions, cause: 'update'): void {
  const s = st.s;
  let why: string | undefined;
  if (d.ask.length) {
    const v = coordinatorNow(s, st.now);
    const ref = coordinatorOf(s.jobs.get(name)?.spec.sla);
    const asks: CoordinatorAsk[] = [];
    for (const r of d.ask) {
      const w = coordinatorWait(name, r.index, r.task_id!, v);
      why ??= w.reason;
      const q = coordinatorQuestion(r, cause);
      if (ref && q && !v.refused.has(q.task_id)) asks.push({ ref, question: q });
    }
    askCoordinator(st, asks);
    if (asks.length) why = coordinatorWait(name, d.ask[0]!.index, d.ask[0]!.task_id!, coordinatorNow(s, st.now)).reason;
  } else if (d.kill.length === 0 && d.refused.length) why = d.refused[0]!.reason;
  if (why === undefined) {
    s.updateWaits.delete(name);
    return;
  }
  if (s.updateWaits.get(name) !== why) {
    s.updateWaits.set(name, why);
    st.log('info', 'rolling_update_waits', { job: name, reason: why });
  }
}

/** Some agent's latest offer has room for one more task of the job (a rough make-before-break check). */
function hasRoom(s: SchedulerState, job: Job): boolean {
  const r = job.spec.resources;
  return agentCapacity(s).some((a) => a.cpus >= r.cpus && a.mem >= r.mem);
}

export function hasEligiblePending(s: SchedulerState, now: number): boolean {
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

export function finish(st: Step): void {
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
