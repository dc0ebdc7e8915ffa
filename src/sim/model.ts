/**
 * In-memory model of the simulated cluster.
 *
 * One `Agent` object per simulated agent and one `Task` object per task carry both the agent-side
 * truth (what "really" runs, the status update manager's queue) and the current leading master's
 * view of them, so 200,000 tasks cost 200,000 objects. The master-side part of a Task is valid only
 * while `task.mEpoch === master.epoch`; a master failover bumps the epoch, which makes every task
 * unknown to the new leader in O(1) until its agent re-registers. The master-side part of an Agent
 * is the `agent.m` record, replaced on (re-)registration and dropped on failover.
 */
import type { ServerResponse } from 'node:http';
import type { Codec } from '../mesos/codec.js';
import { encodeRecord } from '../mesos/recordio.js';
import type {
  Attribute,
  Event,
  FrameworkInfo,
  HealthCheck,
  MachineID,
  TaskState,
  TaskStatus,
  TimeInfo,
  Unavailability,
} from '../mesos/types.js';
import type { Res } from './resources.js';
import type { SimTimer } from './timers.js';
import { Rng, uuidString } from './util.js';

export const EVENT = 'mesos.v1.scheduler.Event';

/** How a simulated task behaves on its agent. */
export interface TaskBehaviour {
  /** Delay between TASK_STARTING and TASK_RUNNING being produced by the executor (ms). */
  startupDelayMs: number;
  /** After reaching RUNNING, exit with `exitCode` (non-zero: TASK_FAILED) after this many ms. */
  failAfterMs?: number;
  /** After reaching RUNNING, exit 0 (TASK_FINISHED) after this many ms. */
  finishAfterMs?: number;
  /** Exit code used by failAfterMs (default 1). */
  exitCode: number;
  /** true: exits as soon as it gets SIGTERM; false (default): only SIGKILL after the grace period ends it. */
  exitOnSigterm: boolean;
  /** What the task's health checks find (only with a TaskInfo.health_check; default healthy). */
  health?: HealthBehaviour;
}

/**
 * Outcome of each health check: always passes, always fails, alternates (pass first), or fails
 * until `recoverAfterMs` after the task started running and passes from then on.
 */
export type HealthBehaviour = { kind: 'healthy' } | { kind: 'unhealthy' } | { kind: 'flap' } | { kind: 'recover'; recoverAfterMs: number };

/** A task's health check parameters (TaskInfo.health_check with the mesos.proto defaults), in ms. */
export interface HealthParams {
  delayMs: number;
  intervalMs: number;
  graceMs: number;
  consecutiveFailures: number;
}

/** A task's health check and the executor's checker state (src/checks/health_checker.cpp). */
export interface HealthState {
  readonly params: HealthParams;
  /** When the checker started (the task's launch: just before TASK_RUNNING). */
  startMs: number;
  /** No check has passed yet (grace period applies). */
  initializing: boolean;
  consecutiveFailures: number;
  checks: number;
  timer: SimTimer | undefined;
  /** The executor killed the task after too many failed checks. */
  killedTask: boolean;
}

export interface StatusLite {
  state: TaskState;
  timestamp: number;
  healthy?: boolean;
}

export class Task {
  // ---- identity
  readonly key: string;
  /** Executor id as the agent reports it (the task id for command tasks). */
  readonly executorId: string;
  /** Seed of the container id (the UUID string is derived on demand to keep tasks small). */
  private readonly containerSeed: number;
  readonly executorPid: number;
  labels: unknown;
  killGraceNs: bigint | undefined;
  /** TaskInfo.health_check and its checker (agent side), when the task has one. */
  health: HealthState | undefined;
  /** TaskInfo.health_check as launched: the master's Task keeps it (protobuf::createTask) and shows it. */
  healthCheck: HealthCheck | undefined;
  /** Master-side executor id (unset for command tasks, as in Mesos). */
  readonly masterExecutorId: string | undefined;

  // ---- agent side (the truth)
  state: TaskState = 'TASK_STAGING';
  since: number;
  /** Pending status updates (head is in flight, the rest wait for its acknowledgement). */
  queue: TaskStatus[] | undefined;
  retry: SimTimer | undefined;
  retryMs = 0;
  life: SimTimer | undefined;
  killed = false;
  killStart = 0;
  killDeadline = 0;
  /** A KILL the master could not deliver yet (agent disconnected): grace ns, -1 for none. */
  pendingKill: bigint | undefined;
  /** The agent has forgotten the task (terminal update acknowledged, agent removed, framework shut down). */
  gone = false;

  // ---- leading master's view (valid iff mEpoch === master.epoch)
  mEpoch = -1;
  mState: TaskState = 'TASK_STAGING';
  mSUState: TaskState | undefined;
  mSUUuid: Uint8Array | undefined;
  mStatuses: StatusLite[] | undefined;

  constructor(
    readonly fwId: string,
    readonly id: string,
    readonly name: string,
    readonly agent: Agent,
    readonly res: Res,
    readonly role: string,
    executorId: string | undefined,
    containerSeed: number,
    executorPid: number,
    readonly behaviour: TaskBehaviour,
    now: number,
  ) {
    this.key = taskKey(fwId, id);
    this.masterExecutorId = executorId;
    this.executorId = executorId ?? id;
    this.containerSeed = containerSeed >>> 0;
    this.executorPid = executorPid;
    this.since = now;
  }

  /** The container id (a version 4 UUID derived from the task's seed). */
  get containerId(): string {
    const b = new Rng(this.containerSeed ^ 0x5bd1e995).bytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    return uuidString(b);
  }

  /** The statuses the master keeps for the task (last one per state, in order). */
  statuses(): StatusLite[] {
    return this.mStatuses ?? [{ state: this.mState, timestamp: this.since / 1000 }];
  }
}

export function taskKey(fwId: string, taskId: string): string {
  return fwId + '\u0000' + taskId;
}

export interface OfferFilter {
  fw: Framework;
  role: string;
  res: Res;
  timer: SimTimer;
}

/** The leading master's record of a registered agent. */
export class AgentM {
  connected = true;
  /** Not deactivated (DEACTIVATE_AGENT / DRAIN_AGENT) and connected. */
  active = true;
  free: Res;
  offers = new Set<Offer>();
  inverseOffers = new Set<InverseOffer>();
  /** Number of offers and resource-holding tasks per framework on this agent. */
  fwUse = new Map<Framework, number>();
  /** Executors (LAUNCH_GROUP) per framework. */
  executors = new Map<string, Set<string>>();
  filters: OfferFilter[] | undefined;
  invFilters: Map<Framework, SimTimer> | undefined;
  maint:
    | {
        unavailability: Unavailability;
        statuses: Map<string, { status: 'ACCEPT' | 'DECLINE'; framework_id: { value: string }; timestamp: TimeInfo }>;
        outstanding: Set<Framework>;
      }
    | undefined;
  used: Res;
  reregisteredTime: number | undefined;
  /** Master's Slave::estimatedDrainStartTime: set by DRAIN_AGENT, cleared by REACTIVATE_AGENT (ms). */
  estimatedDrainStartMs: number | undefined;
  pingTimer: SimTimer | undefined;

  constructor(
    readonly agent: Agent,
    readonly machine: Machine,
    readonly registeredTime: number,
    free: Res,
    used: Res,
  ) {
    this.free = free;
    this.used = used;
  }
}

export interface DrainState {
  state: 'DRAINING' | 'DRAINED';
  maxGracePeriodNs?: bigint;
  markGone: boolean;
}

export class Agent {
  /** Agent id value; '' until the agent first registers. */
  id = '';
  /** The agent process runs (false after machine DOWN shutdown or stopAgent()). */
  up = true;
  /** Network partition between agent and masters. */
  partitioned = false;
  /** Agent-side tasks (not yet forgotten by the agent), keyed by Task.key. */
  tasks = new Map<string, Task>();
  /** FrameworkInfos of frameworks with tasks here (agents report them when re-registering). */
  fwInfos = new Map<string, FrameworkInfo>();
  /** Agent-side drain (DRAIN_AGENT). */
  draining: DrainState | undefined;
  /** Leading master's record, when registered with it. */
  m: AgentM | undefined;
  /** Pending (re-)registration attempt. */
  regTimer: SimTimer | undefined;

  constructor(
    readonly index: number,
    readonly hostname: string,
    readonly ip: string,
    readonly port: number,
    readonly total: Res,
    readonly attributes: Attribute[],
  ) {}

  get machineId(): MachineID {
    return { hostname: this.hostname, ip: this.ip };
  }
}

export type MachineMode = 'UP' | 'DRAINING' | 'DOWN';

export interface MachineInfoRec {
  id: MachineID;
  mode: MachineMode;
  unavailability?: Unavailability;
}

/** The master's `machines` entry: keyed by MachineID equality (case-insensitive hostname, exact ip, presence). */
export interface Machine {
  key: string;
  /** The MachineID the entry was first created with (what /maintenance/status reports). */
  id: MachineID;
  info: MachineInfoRec;
  agents: Set<Agent>;
}

export function machineKey(m: MachineID): string {
  const h = m.hostname === undefined ? '\u0001' : 'h' + m.hostname.toLowerCase();
  const i = m.ip === undefined ? '\u0001' : 'i' + m.ip;
  return h + '\u0000' + i;
}

export class Offer {
  constructor(
    readonly id: string,
    readonly fw: Framework,
    readonly agent: Agent,
    readonly res: Res,
    readonly role: string,
  ) {}
}

export class InverseOffer {
  constructor(
    readonly id: string,
    readonly fw: Framework,
    readonly agent: Agent,
    readonly unavailability: Unavailability,
  ) {}
}

/** Where a SUBSCRIBE stream's bytes go (an HTTP response, or an in-process sink). */
export interface StreamSink {
  write(chunk: Buffer): void;
  end(): void;
  destroy(): void;
}

export function responseSink(res: ServerResponse): StreamSink {
  return {
    write: (c) => {
      res.write(c);
    },
    end: () => {
      res.end();
    },
    destroy: () => {
      res.destroy();
    },
  };
}

/** A SUBSCRIBE stream. */
export class Conn {
  closed = false;
  fw: Framework | undefined;
  /** Set by the simulator to observe every event written. */
  onEvent: ((conn: Conn, ev: Event) => void) | undefined;
  onError: ((e: unknown, ev: Event) => void) | undefined;

  constructor(
    readonly sink: StreamSink,
    readonly codec: Codec | undefined,
    readonly streamId: string,
    /** In-process frameworks get the event objects instead of bytes. */
    readonly direct?: (ev: Event) => void,
  ) {}

  write(ev: Event): void {
    if (this.closed) return;
    this.onEvent?.(this, ev);
    if (this.direct) {
      this.direct(ev);
      return;
    }
    let payload: Buffer;
    try {
      payload = this.codec!.encode(EVENT, ev);
    } catch (e) {
      // Never let a bad event object break the master's bookkeeping; the stream is cut instead.
      this.onError?.(e, ev);
      this.destroy();
      return;
    }
    this.sink.write(encodeRecord(payload));
  }

  /** Ends the stream cleanly (chunked terminator). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.end();
  }

  /** Cuts the TCP connection (fault injection, master process death). */
  destroy(): void {
    this.closed = true;
    this.sink.destroy();
  }
}

export interface FrameworkCaps {
  multiRole: boolean;
  partitionAware: boolean;
  taskKilling: boolean;
  reservationRefinement: boolean;
  regionAware: boolean;
}

export interface CompletedTask {
  task: Task;
  state: TaskState;
  statuses: StatusLite[];
}

export class Framework {
  conn: Conn | undefined;
  active = false;
  recovered = false;
  caps: FrameworkCaps;
  roles: string[];
  suppressed = new Set<string>();
  offers = new Set<Offer>();
  inverseOffers = new Set<InverseOffer>();
  /** Tasks the master tracks, by task id. */
  tasks = new Map<string, Task>();
  unreachable = new Map<string, { task: Task; time: TimeInfo; statuses: StatusLite[] }>();
  completed: CompletedTask[] = [];
  /** Offered + allocated resources (DRF share), in thousandths. */
  alloc = { cpus: 0, mem: 0, disk: 0 };
  filteredAgents = new Set<Agent>();
  invFilteredAgents = new Set<Agent>();
  failoverTimer: SimTimer | undefined;
  heartbeat: SimTimer | undefined;
  heartbeatsStopped = false;
  registeredTime: number;
  reregisteredTime: number;
  unregisteredTime = 0;
  offerConstraints: unknown;

  constructor(
    readonly id: string,
    public info: FrameworkInfo,
    now: number,
  ) {
    this.caps = capsOf(info);
    this.roles = rolesOf(info);
    this.registeredTime = now;
    this.reregisteredTime = now;
  }

  update(info: FrameworkInfo): void {
    this.info = info;
    this.caps = capsOf(info);
    this.roles = rolesOf(info);
  }

  get connected(): boolean {
    return this.conn !== undefined && !this.conn.closed;
  }

  send(ev: Event): void {
    if (this.conn && !this.conn.closed) this.conn.write(ev);
  }
}

export function capsOf(info: FrameworkInfo): FrameworkCaps {
  const has = (t: string): boolean => (info.capabilities ?? []).some((c) => c.type === t);
  return {
    multiRole: has('MULTI_ROLE'),
    partitionAware: has('PARTITION_AWARE'),
    taskKilling: has('TASK_KILLING_STATE'),
    reservationRefinement: has('RESERVATION_REFINEMENT'),
    regionAware: has('REGION_AWARE'),
  };
}

/** `protobuf::framework::getRoles`: roles for MULTI_ROLE frameworks, else the (deprecated) role. */
export function rolesOf(info: FrameworkInfo): string[] {
  if ((info.capabilities ?? []).some((c) => c.type === 'MULTI_ROLE')) return [...new Set(info.roles ?? [])];
  return [info.role ?? '*'];
}

/** Terminal in master accounting (contract §3.1); one list for the whole project. */
export { TERMINAL_STATES as TERMINAL, isTerminal as isTerminalState } from '../mesos/types.js';
