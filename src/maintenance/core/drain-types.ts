/**
 * The drainer's vocabulary: what it reads (DrainView), what it is told (DrainOptions) and what it
 * answers (DrainPlan). See src/maintenance/core/drainer.ts.
 */
import type { HostRecord, HostState } from './host-state.js';
import { DEFAULT_LEAD_MS } from './host-state.js';
import type { AnySlaPolicy, CoordinatorQuestion, CoordinatorView, CoordinatorRef, SlaGuardrails, SlaInstance, SlaJob, SlaOverride, SlaPolicy } from '../../sla/index.js';

/** A job as the planner sees it (`P`: the policies it may have; the drainer takes any). */
export interface JobView<P extends AnySlaPolicy = SlaPolicy> extends SlaJob<P> {
  /** Per-task resources (for make-before-break capacity checks). */
  resources?: { cpus: number; mem: number };
  /** At most one instance of this job per host. */
  host_unique?: boolean;
}

/** Free resources on an agent where new tasks may be placed (UP, not in maintenance). */
export interface AgentCapacity {
  hostname: string;
  cpus: number;
  mem: number;
}

export interface DrainView {
  hosts: Iterable<HostRecord>;
  jobs: readonly JobView<AnySlaPolicy>[];
  instances: readonly SlaInstance[];
  /** Absent: make-before-break disabled (the planner cannot know there is room). */
  capacity?: readonly AgentCapacity[];
  /** Cluster default SLA and upper bound (src/sla/guardrails.ts); absent: none. */
  guardrails?: SlaGuardrails;
  /** Hosts (by hostKey) whose request lowered the SLAs (`--override-sla … --reason`): for them only. */
  overrides?: ReadonlyMap<string, SlaOverride>;
  /** What the services' coordinators have answered (absent: nothing yet). */
  coordinator?: CoordinatorView;
}

/** The coordinator answers the plan may use (src/sla/approvals.ts; the scheduler's one approval book). */
export type { CoordinatorView };

/** A question the runtime must ask a coordinator before the kill can be planned. */
export interface CoordinatorAsk {
  ref: CoordinatorRef;
  question: CoordinatorQuestion;
}

export interface DrainOptions {
  lead_ms: number;
  make_before_break: boolean;
  /** Estimated time from launch to TASK_RUNNING of a replacement (estimates only). */
  startup_estimate_ms: number;
  /** Estimated time from KILL to the terminal update (estimates only). */
  kill_estimate_ms: number;
  /** Re-send KILL for tasks whose kill has been pending this long. */
  kill_retry_ms: number;
  /** Most kills per plan (a cap on master load); absent = no cap. */
  max_kills?: number;
  /** Most hosts DRAINING at once cluster-wide (setting max_draining_hosts); absent = no cap. */
  max_draining_hosts?: number;
}

export const DEFAULT_DRAIN_OPTIONS: DrainOptions = {
  lead_ms: DEFAULT_LEAD_MS,
  make_before_break: true,
  startup_estimate_ms: 30_000,
  kill_estimate_ms: 5_000,
  kill_retry_ms: 60_000,
};

export type KillReason = 'not-up' | 'replacement-up' | 'sla-budget' | 'no-sla' | 'forced' | 'retry';

export interface KillOrder {
  task_id: string;
  agent_id?: string;
  hostname: string;
  job: string;
  instance: number;
  reason: KillReason;
  detail: string;
}

export interface SurgeOrder {
  job: string;
  instance: number;
  /** The task being replaced (stays up until its replacement has aged). */
  task_id: string;
  hostname: string;
  reason: string;
}

export interface WaitItem {
  job: string;
  /** When re-planning can kill more of this job's tasks (absent: after replacements start). */
  until_ms?: number;
  tasks: number;
  hosts: string[];
  reason: string;
}

export interface PlannedTransition {
  hostname: string;
  from: HostState;
  to: HostState;
  reason: string;
}

export interface TimeoutNotice {
  hostname: string;
  deadline_ms: number;
  forced: boolean;
  tasks_left: number;
}

export interface Blocker {
  job?: string;
  tasks: number;
  /** A complete sentence for an operator; it starts with `job NAME: ` when `job` is set (print it as-is). */
  reason: string;
  until_ms?: number;
}

export interface HostProgress {
  hostname: string;
  state: HostState;
  origin: HostRecord['origin'];
  request_id?: string;
  group: string;
  window?: HostRecord['window'];
  since_ms: number;
  /** Our live tasks on the host (including those being killed). */
  tasks_left: number;
  killing: number;
  /** Tasks whose make-before-break replacement is on its way. */
  replacing: number;
  blockers: Blocker[];
  /** Estimated time the host is empty (Infinity: not possible under the SLAs as things stand). */
  estimated_empty_ms?: number;
  timed_out: boolean;
}

export interface DrainPlan {
  at_ms: number;
  transitions: PlannedTransition[];
  kills: KillOrder[];
  makeBeforeBreak: SurgeOrder[];
  waits: WaitItem[];
  /** Coordinator questions wanted before more kills (at most one per job). */
  questions: CoordinatorAsk[];
  timeouts: TimeoutNotice[];
  progress: HostProgress[];
  next_wakeup_ms?: number;
  stats: { draining_hosts: number; tasks_left: number; kills: number; surges: number; jobs_waiting: number };
}
