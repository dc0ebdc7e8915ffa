/**
 * The maintenance loop's state, inputs and outputs (the reducer is in loop.ts).
 *
 *   reduce(state, input, now) → MaintenanceStep { state, calls, commands, storeOps, io, audit, logs, replies }
 *
 * The state is owned by the runtime's single decision loop: only `reduce` changes it, and only
 * while the loop runs it (like the scheduler's reducer, it updates `state` in place and returns it).
 * Everything that must survive a crash is in the step's store operations: host records (collection
 * `hosts`) and pending two-phase operations (intents, collection `maintenance_pending`, core/pending.ts),
 * written in the same atomic batch as the decision. The rest (held inverse offers, learned agents,
 * timers, the reply tokens of operator requests waiting for the master) is rebuilt after a restart.
 *
 * I/O is never done here: the step lists `io` requests, which the I/O edge (src/maintenance/io/
 * executor.ts) runs once the step is durable, and whose results come back as `io` inputs.
 */
import type { Call, ClusterStatus, Event, MachineID, Schedule } from '../../mesos/types.js';
import type { Effect, SchedulerCommand, SchedulerState } from '../../scheduler/index.js';
import type { BatchOp } from '../../store/index.js';
import type { AuditInput } from '../../audit/types.js';
import type { HostRecord, InventoryHost, MaintenanceWindow, PauseMark, StartRequest } from './host-state.js';
import type { DrainOptions, HostProgress } from './drain-types.js';
import type { InverseOfferOptions } from './inverse-offers.js';
import type { PendingOp } from './pending.js';
import type { DrainAgentRequest, DrainAgentResult } from './drain-agent-types.js';
import { DEFAULT_OTHERS_POLICY, type OtherFramework, type OthersOnHost, type OthersPolicy } from './others.js';
import type { HookHost, MasterAgent, MasterStateView, PostDrainResult } from './master.js';
import type { HostSelector, Selection } from './select.js';
import type { Failure, Reply } from './outcome.js';
import type { SlaGuardrails } from '../../sla/index.js';

export const HOSTS_COLLECTION = 'hosts';
/** Cluster-wide maintenance controls (key `pause`: the `maintenance pause --all` mark). */
export const CONTROL_COLLECTION = 'maintenance_control';
export const PAUSE_KEY = 'pause';

export interface MaintenanceConfig {
  /** Hosts whose window starts within this time are drained (default 1 h). */
  leadMs: number;
  /** Least time between two plans triggered by task updates (ticks always plan). */
  planIntervalMs: number;
  /** Reconciliation with the master's schedule and status. */
  reconcileIntervalMs: number;
  /** Least time between two machine-down checks of a host. */
  downCheckIntervalMs: number;
  /** Agent attribute naming the rack. */
  rackAttribute: string;
  /** Secret values: masked in what the loop logs of a hook's command. */
  secrets: readonly string[];
  drain?: Partial<DrainOptions>;
  inverseOffers?: Partial<InverseOfferOptions>;
  /** Other frameworks on a host Sluice takes down (core/others.ts). */
  others: OthersPolicy;
  /** Cluster default SLA and upper bound on what a job may require (setting sla_guardrails). */
  slaGuardrails?: SlaGuardrails;
}

/** An inverse offer not answered yet (answered once the agent is empty, or declined). */
export interface HeldInverseOffer {
  id: string;
  agent_id: string;
  key: string;
  window: MaintenanceWindow;
  /** Its answer failed once already (a second failure drops it). */
  retried?: boolean;
}

/** A pending two-phase operation: the persisted intent and what this process keeps beside it. */
export interface PendingEntry {
  op: PendingOp;
  /** Started by this process (false: left by a previous one, resolved by the next reconciliation). */
  live: boolean;
  /** The operator request waiting for its outcome (reply token). */
  reply?: string;
  /** start: the records before the request (restored if the master refuses the window). */
  rollback?: Array<[string, HostRecord | undefined]>;
  /** start / complete / abort: who asked and why (for the audit entry). */
  request?: OperatorMeta & { selection?: Selection };
}

export interface OperatorMeta {
  /** Who asked: an operator name, "token", "local" (no authentication). */
  actor: string;
  reason?: string;
}

export interface MaintenanceState {
  readonly config: MaintenanceConfig;
  /** Host records by hostKey (persisted, collection `hosts`). */
  records: Map<string, HostRecord>;
  held: Map<string, HeldInverseOffer>;
  /** Inverse offers answered lately (a failed answer holds them again: call_failed). */
  answered: Map<string, HeldInverseOffer>;
  /** Subscribed to the master (inverse offers are valid only within a subscription). */
  connected: boolean;
  /** Agents by id: hostname, ip, rack (from offers, inverse offers and the master's state). */
  agents: Map<string, InventoryHost>;
  /** Pending two-phase operations by id (persisted intents). */
  pending: Map<string, PendingEntry>;
  /** The blocked host set last sent to the scheduler (joined), to send it only on change. */
  blockedKey?: string;
  /** Per-host progress of the last plan (the inverse-offer policy reads estimated_empty_ms). */
  lastProgress: HostProgress[];
  lastPlanMs: number;
  nextReconcileMs: number;
  /** A reconciliation read is out; `writes` as it was when the read was asked for. */
  reconcileFrom?: number;
  /** Write results processed so far, and per host the count at its last one (reconciliation skips hosts written since its read). */
  writes: number;
  touched: Map<string, number>;
  /** Machine-down checks: last one per host, and those in flight. */
  downChecked: Map<string, number>;
  downInflight: Set<string>;
  /**
   * Other frameworks on hosts in maintenance, as last read from the master (re-read after a restart;
   * what must survive one — their answers already audited, when the wait for them began, the
   * warning at the deadline — is on the host record, HostRecord.others_seen).
   */
  others: Map<string, OthersOnHost>;
  /** `maintenance pause --all`: no new kill, admission or machine down anywhere (persisted, CONTROL_COLLECTION). */
  pausedAll?: PauseMark;
  /** Ids of new intents: a process-unique prefix and a counter. */
  idPrefix: string;
  nextId: number;
  /** drain_agent steps in flight and when each intent's step last ran (core/drain-agent.ts; rebuilt after a restart). */
  drainAgent?: { inflight: Set<string>; last: Map<string, number>; warned: Set<string> };
}

/** The scheduler's state as the maintenance loop may read it (never change it: use commands). */
export type SchedulerView = Readonly<SchedulerState>;

/** The operator requests, as inputs of the loop (their reply token comes back in `replies`). */
export interface StartInput extends OperatorMeta {
  kind: 'start';
  request: StartRequest;
  select?: HostSelector;
  request_id: string;
  /** The master's agents and schedule, read by the edge just before. */
  agents: MasterAgent[];
  schedule: Schedule;
  reply: string;
}

export interface EndInput extends OperatorMeta {
  kind: 'end';
  verb: 'complete' | 'abort';
  hosts: readonly string[];
  reply: string;
}

/** pause / resume: the hosts of a request, some hosts, or every drain (`all`). */
export interface PauseInput extends OperatorMeta {
  kind: 'pause' | 'resume';
  target: { request_id: string } | { hosts: readonly string[] } | { all: true };
  reply: string;
}

/** In-flight edit of a request: max_parallel / timeout (null removes the limit). */
export interface EditInput extends OperatorMeta {
  kind: 'edit';
  request_id: string;
  max_parallel?: number | null;
  timeout_ms?: number | null;
  /** Say what would change (deadlines, hosts starting to drain) without changing or auditing anything. */
  dry_run?: boolean;
  reply: string;
}

export type MaintenanceInput = { sched: SchedulerView } & (
  | { kind: 'loaded'; records: HostRecord[]; pending: PendingOp[]; pausedAll?: PauseMark }
  | { kind: 'event'; event: Event }
  | { kind: 'disconnected' }
  | { kind: 'tick' }
  /** A call this loop issued failed (routed back to its issuer by the runtime). */
  | { kind: 'call_failed'; call: Call; error: string }
  /** Agents the master reports (read by the edge for an operator request). */
  | { kind: 'agents'; agents: MasterAgent[] }
  | StartInput
  | EndInput
  | PauseInput
  | EditInput
  | { kind: 'io'; result: IoResult }
);

/** I/O the loop asks its edge for (run once the step that asks is durable). */
export type IoRequest =
  /** One schedule edit through the ScheduleWriter: add `window` for `machines` (`owned`: ours already). */
  | { kind: 'schedule-add'; op: string; hosts: string[]; machines: MachineID[]; window: MaintenanceWindow; owned: MachineID[]; reply?: string }
  /** complete / abort: machine up for `up`, then remove `unschedule` from the schedule. */
  | { kind: 'schedule-end'; op: string; hosts: string[]; up: MachineID[]; unschedule: MachineID[]; reply?: string }
  /** Read /maintenance/status and /master/state for a machine-down decision. */
  | { kind: 'down-check'; host: string }
  | { kind: 'machine-down'; op: string; host: string; machine: MachineID; reason: string; others_taken?: OtherFramework[] }
  | { kind: 'post-drain'; op: string; host: string; command: string; target: HookHost }
  /** Read the schedule, status and state, exclusive with the writer. */
  | { kind: 'reconcile-read' }
  /** One step of the drain_agent flow (core/drain-agent.ts). */
  | DrainAgentRequest;

type Req<K extends IoRequest['kind']> = Extract<IoRequest, { kind: K }>;

/** The result of one IoRequest, fed back into the loop. */
export type IoResult =
  | { kind: 'failed'; request: IoRequest; failure: Failure }
  | { kind: 'done'; request: Req<'schedule-add'> | Req<'schedule-end'> | Req<'machine-down'> }
  | { kind: 'down-check'; request: Req<'down-check'>; status: ClusterStatus; state: MasterStateView }
  | { kind: 'post-drain'; request: Req<'post-drain'>; result: PostDrainResult }
  | { kind: 'reconcile-read'; request: Req<'reconcile-read'>; schedule: Schedule; status: ClusterStatus; state: MasterStateView }
  | DrainAgentResult;

export interface MaintenanceStep {
  state: MaintenanceState;
  /** Calls to the master (ACCEPT / DECLINE_INVERSE_OFFERS), sent after the step is durable. */
  calls: Call[];
  /** Scheduler commands (set_blocked_hosts, kill_tasks, surge_instances), applied in the same batch. */
  commands: SchedulerCommand[];
  storeOps: BatchOp[];
  io: IoRequest[];
  audit: AuditInput[];
  logs: Effect[];
  /** Answers to operator requests (by reply token), delivered once the step is durable. */
  replies: Array<{ to: string; reply: Reply }>;
}

export const DEFAULT_CONFIG: MaintenanceConfig = {
  leadMs: 3_600_000,
  planIntervalMs: 1000,
  reconcileIntervalMs: 30_000,
  downCheckIntervalMs: 5_000,
  rackAttribute: 'rack',
  secrets: [],
  others: DEFAULT_OTHERS_POLICY,
};

export function initialState(config: Partial<MaintenanceConfig> = {}, idPrefix = 'op'): MaintenanceState {
  return {
    config: { ...DEFAULT_CONFIG, ...config },
    records: new Map(),
    held: new Map(),
    answered: new Map(),
    connected: false,
    agents: new Map(),
    pending: new Map(),
    lastProgress: [],
    lastPlanMs: -Infinity,
    nextReconcileMs: 0,
    writes: 0,
    touched: new Map(),
    downChecked: new Map(),
    downInflight: new Set(),
    others: new Map(),
    idPrefix,
    nextId: 1,
  };
}
