/**
 * The scheduler's state: everything the pure reducers (reducer.ts) read and write.
 *
 * Ownership: a SchedulerState is owned by exactly one reducer loop (src/runtime). Reducers mutate it
 * in place and return it; nobody else writes it. Readers (API views, metrics, the maintenance
 * module) get it between reducer steps and must treat it as read-only.
 *
 * Persisted (see `Changes` and src/runtime/persist.ts): framework id, jobs, instances, tasks and the
 * task sequence counter. Everything else (agents seen in offers, indexes, reconciliation
 * bookkeeping, whether offers are suppressed) is rebuilt after a restart by `restoreState`.
 */
import type { TaskState } from '../mesos/types.js';
import type { Job } from './job-spec.js';
import { instanceKey } from './task-id.js';
import { EMPTY_BOOK, type CoordinatorBook } from '../sla/index.js';

/** Instance states: PENDING (no task; waiting for an offer or for its backoff), else its task's. */
export type InstanceState = 'PENDING' | TaskLifecycleState;
/** LAUNCHING: recorded (write-ahead) before the ACCEPT is sent; no status from Mesos yet. */
export type TaskLifecycleState = 'LAUNCHING' | TaskState;

export interface Instance {
  job: string;
  index: number;
  state: InstanceState;
  /** The task Sluice counts as this instance, if any. */
  task_id?: string;
  agent_id?: string;
  host?: string;
  rack?: string;
  /** Job task_version the current task runs. */
  version: number;
  /** When the current task last became RUNNING (ms since epoch); absent unless RUNNING. */
  running_since_ms?: number;
  /** Consecutive crashes (TASK_FAILED/ERROR/FINISHED) of this instance, for crash-loop backoff. */
  failures: number;
  /** Crash-loop backoff: do not launch before this time. */
  not_before_ms?: number;
  /** What ended the previous task. */
  last_terminal?: { task_id: string; state: string; reason?: string; message?: string; at_ms: number };
  /**
   * Make-before-break replacement ordered by the maintenance drainer: one extra task for this
   * instance while `for_task_id` keeps running. Until launched `task_id` is absent. When the
   * instance's current task ends, the surge task becomes the instance's task.
   */
  surge?: { for_task_id: string; requested_ms: number; task_id?: string; cause?: 'drain' | 'update' };
  /** Why the instance's next / current task was launched (what took the previous one away). */
  launch_cause?: 'deploy' | 'drain' | 'update' | 'failure';
  /** The failure domain (the SLA's domain attribute) where the previous task was lost while serving. */
  lost_domain?: string;
}

export interface KillState {
  /** Why Sluice kills it: 'replace' (rolling update / restart: relaunch after), 'remove' (scale down, job deleted), 'orphan' (not an instance's task: duplicate or unknown). */
  reason: 'replace' | 'remove' | 'orphan' | 'restart' | 'drain';
  requested_ms: number;
  /** Last time KILL went out (absent: not sent yet, e.g. requested while disconnected). */
  last_sent_ms?: number;
  attempts: number;
  grace_ms: number;
}

export interface TaskRecord {
  task_id: string;
  job: string;
  index: number;
  agent_id?: string;
  host?: string;
  rack?: string;
  state: TaskLifecycleState;
  /** Job task_version this task runs. */
  version: number;
  launched_ms: number;
  /** Last state change or status received. */
  updated_ms: number;
  running_since_ms?: number;
  reason?: string;
  message?: string;
  kill?: KillState;
  /** A make-before-break replacement (its instance's `surge.task_id`), not yet the instance's task. */
  surge?: boolean;
  /** The task was launched with a health check (TaskInfo.health_check). */
  health_check?: boolean;
  /** The last TaskStatus.healthy received (absent: not checked yet). */
  healthy?: boolean;
}

export interface AgentRecord {
  agent_id: string;
  /** Hostname as offered (lower-cased). */
  host: string;
  /** Text/set attributes of the agent (rack, zone, ...). */
  attributes: Record<string, string>;
  last_offer_ms: number;
  /** Start of an announced unavailability window (ms), from the latest offer. */
  unavailable_from_ms?: number;
  /** What the latest offer had left after Sluice's launches on it (an estimate of free room). */
  free?: { cpus: number; mem: number; at_ms: number };
}

export interface ReconcileState {
  /** Explicit reconciliation: task id -> agent id asked about, not answered yet. */
  awaiting: Map<string, string | undefined>;
  /** Attempts of the current explicit round (drives its backoff). */
  attempt: number;
  nextRetryMs?: number;
  /** When the current explicit round started (undefined when none is running). */
  startedMs?: number;
  /** When the last explicit round was fully answered. */
  completedMs?: number;
  nextImplicitMs?: number;
  lastImplicitMs?: number;
  /**
   * After the first subscription of a restored state: no placement before this time, so the
   * answers to an immediate implicit reconciliation (tasks the store does not know, e.g. after a
   * repair dropped its last writes) are adopted or killed before anything new is launched.
   */
  placementHoldUntilMs?: number;
  /** The state came from disk and has not subscribed since. */
  restored?: boolean;
}

export interface SchedulerConfig {
  /** Framework roles (MULTI_ROLE). Jobs without `role` run in roles[0]. */
  roles: string[];
  /** refuse_seconds when declining because nothing is pending (Sluice also SUPPRESSes). */
  declineIdleSeconds: number;
  /** refuse_seconds when declining an offer pending work could not use (too small, constraints). */
  declineUnfitSeconds: number;
  /** refuse_seconds for offers from hosts in maintenance or with an unavailability too soon. */
  declineBlockedSeconds: number;
  /** refuse_seconds for what is left of an offer after a launch. */
  acceptFilterSeconds: number;
  /** Periodic implicit reconciliation. */
  implicitReconcileIntervalMs: number;
  /** Explicit reconciliation retry backoff (truncated exponential). */
  explicitReconcileInitialMs: number;
  explicitReconcileMaxMs: number;
  /** A task with no status for this long after launch is explicitly reconciled. */
  launchTimeoutMs: number;
  /** KILL is re-sent when no terminal status arrived within grace + this. */
  killRetryMs: number;
  /** Crash-loop backoff: first delay, cap, factor. */
  crashBackoffInitialMs: number;
  crashBackoffMaxMs: number;
  crashBackoffFactor: number;
  /** A task RUNNING at least this long resets the instance's crash counter when it ends. */
  stableRunningMs: number;
  /** Kill grace period when the job does not set one. */
  defaultKillGraceSeconds: number;
  /** Placement hold after the first subscription of a restored state (see ReconcileState). */
  restartPlacementHoldMs: number;
  /** refuse_seconds for offers declined during that hold. */
  declineHoldSeconds: number;
  /** Agent attribute naming the rack, for jobs whose rack_spread names none (--rack-attribute). */
  rackAttribute: string;
}

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  roles: ['*'],
  declineIdleSeconds: 300,
  declineUnfitSeconds: 10,
  declineBlockedSeconds: 60,
  acceptFilterSeconds: 5,
  implicitReconcileIntervalMs: 15 * 60_000,
  explicitReconcileInitialMs: 5_000,
  explicitReconcileMaxMs: 120_000,
  launchTimeoutMs: 120_000,
  killRetryMs: 30_000,
  crashBackoffInitialMs: 5_000,
  crashBackoffMaxMs: 300_000,
  crashBackoffFactor: 2,
  stableRunningMs: 300_000,
  defaultKillGraceSeconds: 10,
  restartPlacementHoldMs: 3_000,
  declineHoldSeconds: 1,
  rackAttribute: 'rack',
};

/** Live hosts/racks used by one job's instances (indexes for the placement constraints). */
export interface JobUsage {
  hosts: Map<string, number>;
  racks: Map<string, number>;
}

export interface SchedulerState {
  config: SchedulerConfig;
  frameworkId?: string;
  /** True between SUBSCRIBED and a disconnect. Calls are only produced while subscribed. */
  subscribed: boolean;
  /** What Sluice last told the master: true after SUPPRESS, false after REVIVE or SUBSCRIBE. */
  suppressed: boolean;
  jobs: Map<string, Job>;
  /** job name -> index -> instance. Holds instances beyond `instances` while they are killed (scale down). */
  instances: Map<string, Map<number, Instance>>;
  /** Non-terminal tasks (current tasks of instances, and orphans being killed). */
  tasks: Map<string, TaskRecord>;
  /** Next task sequence number (persisted). */
  nextTaskSeq: number;
  /** Agents seen in offers since this process started (not persisted). */
  agents: Map<string, AgentRecord>;
  /**
   * Maintenance seam: lower-cased hostnames where no new task may be placed (hosts Sluice holds
   * in maintenance). Filled by src/maintenance through the `set_blocked_hosts` command or
   * `setPlacementBlockedHosts`. Existing tasks there are untouched by this set.
   */
  placementBlockedHosts: ReadonlySet<string>;
  /** Jobs whose rolling update waits for the SLA budget, with the last reason logged (not persisted). */
  updateWaits: Map<string, string>;
  /**
   * The one coordinator approval book (src/sla/approvals.ts) for every voluntary kill — drains,
   * rolling updates, scale-downs (not persisted: asked again after a restart). src/scheduler/coordinator.ts.
   */
  coordinator: CoordinatorBook;
  /** Instances carrying a `lost_domain` (`job#index`), cleared once they are up again. */
  lostDomains: Set<string>;
  reconcile: ReconcileState;
  // ---- indexes, rebuilt by restoreState, maintained by the reducers ----
  /** job -> indices of PENDING instances (including those in crash-loop backoff). */
  pending: Map<string, Set<number>>;
  /** job -> indices of instances with a make-before-break surge ordered but not launched yet. */
  surges: Map<string, Set<number>>;
  /** Task ids with a kill in progress. */
  killing: Set<string>;
  /** job -> hosts/racks of its instances' current tasks. */
  usage: Map<string, JobUsage>;
  /** Jobs whose instances may not match their spec yet (new, scaled, rolling, deleting). */
  converging: Set<string>;
  /** Cache: rack attribute -> distinct values over known agents and tasks (rack_spread). */
  rackCounts: Map<string, Set<string>>;
}

export function createState(config: Partial<SchedulerConfig> = {}): SchedulerState {
  return {
    config: { ...DEFAULT_SCHEDULER_CONFIG, ...config },
    subscribed: false,
    suppressed: false,
    jobs: new Map(),
    instances: new Map(),
    tasks: new Map(),
    nextTaskSeq: 1,
    agents: new Map(),
    placementBlockedHosts: new Set(),
    updateWaits: new Map(),
    coordinator: EMPTY_BOOK,
    lostDomains: new Set(),
    reconcile: { awaiting: new Map(), attempt: 0 },
    pending: new Map(),
    surges: new Map(),
    killing: new Set(),
    usage: new Map(),
    converging: new Set(),
    rackCounts: new Map(),
  };
}

/** What a persisted state consists of (the store holds exactly these records). */
export interface PersistedState {
  frameworkId?: string;
  nextTaskSeq?: number;
  jobs: Job[];
  instances: Instance[];
  tasks: TaskRecord[];
}

/**
 * Rebuilds a state from persisted records: indexes, usage, and repairs of records a crash could
 * leave inconsistent (an instance naming a task record that is missing keeps the task id and is
 * explicitly reconciled; a task no instance claims is an orphan and gets killed).
 */
export function restoreState(p: PersistedState, config: Partial<SchedulerConfig> = {}): SchedulerState {
  const s = createState(config);
  s.frameworkId = p.frameworkId;
  s.reconcile.restored = p.frameworkId !== undefined;
  s.nextTaskSeq = Math.max(1, p.nextTaskSeq ?? 1);
  for (const j of p.jobs) {
    s.jobs.set(j.spec.name, j);
    s.converging.add(j.spec.name); // check every job once after a restart
  }
  for (const t of p.tasks) {
    s.tasks.set(t.task_id, t);
    const seq = Number(t.task_id.slice(t.task_id.lastIndexOf('.') + 1));
    if (Number.isFinite(seq) && seq >= s.nextTaskSeq) s.nextTaskSeq = seq + 1;
  }
  for (const i of p.instances) {
    if (i.lost_domain !== undefined) s.lostDomains.add(`${i.job}#${i.index}`);
    let m = s.instances.get(i.job);
    if (!m) s.instances.set(i.job, (m = new Map()));
    m.set(i.index, i);
    if (i.task_id !== undefined) {
      let t = s.tasks.get(i.task_id);
      if (!t) {
        t = {
          task_id: i.task_id,
          job: i.job,
          index: i.index,
          agent_id: i.agent_id,
          host: i.host,
          rack: i.rack,
          state: 'LAUNCHING',
          version: i.version,
          launched_ms: 0,
          updated_ms: 0,
        };
        s.tasks.set(t.task_id, t);
      }
      addUsage(s, i.job, t.host, t.rack);
    } else {
      i.state = 'PENDING';
      pendingAdd(s, i.job, i.index);
    }
  }
  // Instances a job wants but the store lacks (e.g. a repaired store) exist as PENDING at once, so a
  // task found by reconciliation can be adopted by its instance.
  for (const j of s.jobs.values()) {
    if (j.status === 'deleting') continue;
    let m = s.instances.get(j.spec.name);
    for (let i = 0; i < j.spec.instances; i++) {
      if (m?.has(i)) continue;
      if (!m) s.instances.set(j.spec.name, (m = new Map()));
      m.set(i, { job: j.spec.name, index: i, state: 'PENDING', version: j.task_version ?? j.version, failures: 0 });
      pendingAdd(s, j.spec.name, i);
    }
  }
  for (const inst of p.instances) {
    if (!inst.surge) continue;
    if (inst.task_id === undefined || inst.surge.for_task_id !== inst.task_id) inst.surge = undefined;
    else if (inst.surge.task_id === undefined) indexAdd(s.surges, inst.job, inst.index);
    else {
      const st = s.tasks.get(inst.surge.task_id);
      if (st) addUsage(s, inst.job, st.host, st.rack);
      else inst.surge = undefined;
    }
  }
  for (const t of s.tasks.values()) {
    const inst = s.instances.get(t.job)?.get(t.index);
    if (!inst || (inst.task_id !== t.task_id && inst.surge?.task_id !== t.task_id)) {
      if (!t.kill) t.kill = { reason: 'orphan', requested_ms: t.updated_ms, attempts: 0, grace_ms: 0 };
    }
    if (t.kill) {
      t.kill.last_sent_ms = undefined; // re-send after subscribing
      s.killing.add(t.task_id);
    }
  }
  return s;
}

export function indexAdd(m: Map<string, Set<number>>, job: string, index: number): void {
  let set = m.get(job);
  if (!set) m.set(job, (set = new Set()));
  set.add(index);
}

export function indexDelete(m: Map<string, Set<number>>, job: string, index: number): void {
  const set = m.get(job);
  if (!set) return;
  set.delete(index);
  if (set.size === 0) m.delete(job);
}

export function pendingAdd(s: SchedulerState, job: string, index: number): void {
  indexAdd(s.pending, job, index);
}

export function pendingDelete(s: SchedulerState, job: string, index: number): void {
  indexDelete(s.pending, job, index);
}

export function usageOf(s: SchedulerState, job: string): JobUsage {
  let u = s.usage.get(job);
  if (!u) s.usage.set(job, (u = { hosts: new Map(), racks: new Map() }));
  return u;
}

export function addUsage(s: SchedulerState, job: string, host: string | undefined, rack: string | undefined): void {
  const u = usageOf(s, job);
  if (host !== undefined) u.hosts.set(host, (u.hosts.get(host) ?? 0) + 1);
  if (rack !== undefined) u.racks.set(rack, (u.racks.get(rack) ?? 0) + 1);
}

export function removeUsage(s: SchedulerState, job: string, host: string | undefined, rack: string | undefined): void {
  const u = s.usage.get(job);
  if (!u) return;
  const dec = (m: Map<string, number>, k: string | undefined) => {
    if (k === undefined) return;
    const n = (m.get(k) ?? 0) - 1;
    if (n > 0) m.set(k, n);
    else m.delete(k);
  };
  dec(u.hosts, host);
  dec(u.racks, rack);
}

export function getInstance(s: SchedulerState, job: string, index: number): Instance | undefined {
  return s.instances.get(job)?.get(index);
}

/** Is this instance wanted by its job (not scaled away, job not being deleted)? */
export function isWanted(s: SchedulerState, job: string, index: number): boolean {
  const j = s.jobs.get(job);
  return !!j && j.status !== 'deleting' && index < j.spec.instances;
}

export { instanceKey };

/**
 * The failure domain of a job's task on an agent: the agent's value of the job's SLA domain
 * attribute (default: the rack attribute). undefined: agent or attribute unknown.
 */
export function domainOf(s: SchedulerState, job: string, agentId: string | undefined): string | undefined {
  if (agentId === undefined) return undefined;
  const a = s.agents.get(agentId);
  if (!a) return undefined;
  return a.attributes[domainAttribute(s, job)];
}

export function domainAttribute(s: SchedulerState, job: string): string {
  const sla = s.jobs.get(job)?.spec.sla;
  if (sla && sla.kind !== 'coordinator' && sla.max_unavailable_domains !== undefined) return sla.domain ?? 'rack';
  return s.config.rackAttribute;
}
