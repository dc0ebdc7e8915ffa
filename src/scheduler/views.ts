/** Read-only views of the scheduler state (API, CLI, metrics). */
import { jobTaskVersion, type JobSpec } from './job-spec.js';
import type { Instance, SchedulerState } from './state.js';
import { coordinatorNow } from './coordinator.js';

/** What the service's coordinator has been asked about an instance's task, and what still stands. */
export interface InstanceCoordinatorView {
  /** asking: the question is out; yes: a yes that still stands (the kill follows); no: a recent no. */
  state: 'asking' | 'yes' | 'no';
  /** When asked (asking) or answered (yes, no). */
  at_ms: number;
  reason?: string;
  /** A no: when it is asked again. */
  retry_ms?: number;
}

/** The instance's own fields a view shows as they are, when present (state.ts documents them). */
const SHOWN = ['task_id', 'agent_id', 'host', 'rack', 'running_since_ms', 'not_before_ms'] as const satisfies ReadonlyArray<keyof Instance>;

/** An instance as the API shows it: fields of the Instance record, and what its tasks tell. */
export type InstanceView = Pick<Instance, 'index' | 'state' | 'version' | 'failures'> &
  Partial<Pick<Instance, (typeof SHOWN)[number] | 'last_terminal'>> & {
    killing?: boolean;
    /** With a health check: true/false from the last TaskStatus.healthy, null while not checked yet. */
    healthy?: boolean | null;
    /** Make-before-break replacement in progress. */
    surge?: { task_id?: string; state: string; host?: string; for_task_id: string };
    /** Coordinator policies: the question about this task (drain or update), if any. */
    coordinator?: InstanceCoordinatorView;
  };

export interface JobView {
  name: string;
  status: 'active' | 'deleting';
  version: number;
  task_version: number;
  created_ms: number;
  updated_ms: number;
  spec: JobSpec;
  counts: Record<string, number>;
  /** RUNNING instances whose health check says unhealthy or has not passed yet (not counted up). */
  unhealthy: number;
  /** Instances still running an older task definition (rolling update in progress). */
  outdated: number;
  /** Why the rolling update or scale-down waits (SLA budget, coordinator); absent when it does not. */
  update_wait?: string;
  instances: InstanceView[];
}

export function jobView(s: SchedulerState, name: string, now: number): JobView | undefined {
  const job = s.jobs.get(name);
  if (!job) return undefined;
  const cv = s.coordinator.asked.size || s.coordinator.answers.size ? coordinatorNow(s, now) : undefined;
  const tv = jobTaskVersion(job);
  const counts: Record<string, number> = {};
  let outdated = 0;
  let unhealthy = 0;
  const instances: InstanceView[] = [];
  const insts = [...(s.instances.get(name)?.values() ?? [])].sort((a, b) => a.index - b.index);
  for (const i of insts) {
    counts[i.state] = (counts[i.state] ?? 0) + 1;
    if (i.task_id && i.version < tv) outdated++;
    const t = i.task_id ? s.tasks.get(i.task_id) : undefined;
    const v: InstanceView = { index: i.index, state: i.state, version: i.version, failures: i.failures };
    for (const k of SHOWN) {
      const x = i[k];
      if (x !== undefined && x !== '') (v as Record<string, unknown>)[k] = x;
    }
    if (t?.kill) v.killing = true;
    if (t?.health_check) {
      v.healthy = t.healthy ?? null;
      if (i.state === 'TASK_RUNNING' && t.healthy !== true) unhealthy++;
    }
    if (i.last_terminal) v.last_terminal = i.last_terminal;
    if (cv && i.task_id) {
      const id = i.task_id;
      const no = cv.refused.get(id);
      const yes = cv.approved.has(id) ? s.coordinator.answers.get(id) : undefined;
      const asked = cv.asked_ms.get(id);
      if (asked !== undefined) v.coordinator = { state: 'asking', at_ms: asked };
      else if (yes) v.coordinator = { state: 'yes', at_ms: yes.at_ms, ...(yes.reason !== undefined ? { reason: yes.reason } : {}) };
      else if (no) v.coordinator = { state: 'no', at_ms: no.at_ms, reason: no.reason, retry_ms: no.retry_ms };
    }
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
  const out: JobView = {
    name,
    status: job.status ?? 'active',
    version: job.version,
    task_version: tv,
    created_ms: job.created_ms,
    updated_ms: job.updated_ms,
    spec: job.spec,
    counts,
    unhealthy,
    outdated,
    instances,
  };
  const wait = s.updateWaits.get(name);
  if (wait !== undefined) out.update_wait = wait;
  return out;
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
