/**
 * TypeScript types of the Mesos v1 messages Sluice uses, in "Mesos object form" (docs/DESIGN.md):
 * the shape of Mesos's JSON, with bigint for 64-bit integers and Uint8Array for bytes.
 * Only the fields Sluice reads or writes are typed; the codecs carry every field of the protos.
 */

export interface Id {
  value: string;
}
export type FrameworkID = Id;
export type AgentID = Id;
export type OfferID = Id;
export type TaskID = Id;
export type ExecutorID = Id;

export interface TimeInfo {
  nanoseconds: bigint;
}
export interface DurationInfo {
  nanoseconds: bigint;
}
export interface Unavailability {
  start: TimeInfo;
  duration?: DurationInfo;
}
export interface MachineID {
  hostname?: string;
  ip?: string;
}

export interface Address {
  hostname?: string;
  ip?: string;
  port: number;
}
export interface URL {
  scheme: string;
  address: Address;
  path?: string;
}

export type ValueType = 'SCALAR' | 'RANGES' | 'SET' | 'TEXT';
export interface Range {
  begin: bigint;
  end: bigint;
}
export interface Resource {
  name: string;
  type: ValueType;
  scalar?: { value: number };
  ranges?: { range?: Range[] };
  set?: { item?: string[] };
  role?: string;
  allocation_info?: { role?: string };
  reservations?: unknown[];
  [k: string]: unknown;
}
export interface Attribute {
  name: string;
  type: ValueType;
  scalar?: { value: number };
  ranges?: { range?: Range[] };
  set?: { item?: string[] };
  text?: { value: string };
}

export interface Offer {
  id: OfferID;
  framework_id: FrameworkID;
  agent_id: AgentID;
  hostname: string;
  url?: URL;
  resources?: Resource[];
  attributes?: Attribute[];
  executor_ids?: ExecutorID[];
  unavailability?: Unavailability;
  allocation_info?: { role?: string };
}

export interface InverseOffer {
  id: OfferID;
  url?: URL;
  framework_id: FrameworkID;
  agent_id?: AgentID;
  unavailability: Unavailability;
  resources?: Resource[];
}

export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_ERROR'
  | 'TASK_LOST'
  | 'TASK_DROPPED'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE'
  | 'TASK_GONE_BY_OPERATOR'
  | 'TASK_UNKNOWN';

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

export interface TaskStatus {
  task_id: TaskID;
  state: TaskState;
  message?: string;
  source?: 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';
  reason?: string;
  data?: Uint8Array;
  agent_id?: AgentID;
  executor_id?: ExecutorID;
  timestamp?: number;
  uuid?: Uint8Array;
  healthy?: boolean;
  unreachable_time?: TimeInfo;
  [k: string]: unknown;
}

export interface CommandInfo {
  value?: string;
  shell?: boolean;
  arguments?: string[];
  environment?: { variables?: Array<{ name: string; type?: 'VALUE' | 'SECRET'; value?: string }> };
  user?: string;
}

/** mesos.v1.HealthCheck (include/mesos/v1/mesos.proto): run by the task's executor. */
export type HealthCheckType = 'UNKNOWN' | 'COMMAND' | 'HTTP' | 'TCP';
export type NetworkProtocol = 'IPv4' | 'IPv6';
export interface HealthCheck {
  /** Seconds after TASK_RUNNING before the first check (default 15). */
  delay_seconds?: number;
  /** Seconds between the end of one check and the start of the next (default 10). */
  interval_seconds?: number;
  /** Seconds a check may take; longer counts as a failure; 0 = no limit (default 20). */
  timeout_seconds?: number;
  /** Consecutive failures after which the executor kills the task (default 3). */
  consecutive_failures?: number;
  /** Seconds after launch during which failures are ignored until the first success (default 10). */
  grace_period_seconds?: number;
  type?: HealthCheckType;
  command?: CommandInfo;
  http?: { protocol?: NetworkProtocol; scheme?: string; port: number; path?: string; statuses?: number[] };
  tcp?: { protocol?: NetworkProtocol; port: number };
}

/** The defaults mesos.proto declares for HealthCheck. */
export const HEALTH_CHECK_DEFAULTS = {
  delay_seconds: 15,
  interval_seconds: 10,
  timeout_seconds: 20,
  consecutive_failures: 3,
  grace_period_seconds: 10,
} as const;

/** TaskStatus.reason of the executor's TASK_RUNNING updates that carry a health change. */
export const REASON_TASK_HEALTH_CHECK_STATUS_UPDATED = 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED';

export interface TaskInfo {
  name: string;
  task_id: TaskID;
  agent_id: AgentID;
  resources?: Resource[];
  command?: CommandInfo;
  health_check?: HealthCheck;
  labels?: { labels?: Array<{ key: string; value?: string }> };
  kill_policy?: { grace_period?: DurationInfo };
  [k: string]: unknown;
}

export interface Filters {
  refuse_seconds?: number;
}

export type OperationType = 'LAUNCH' | 'LAUNCH_GROUP' | 'RESERVE' | 'UNRESERVE' | 'CREATE' | 'DESTROY';
export interface Operation {
  type: OperationType;
  launch?: { task_infos?: TaskInfo[] };
  launch_group?: { executor: unknown; task_group: { tasks?: TaskInfo[] } };
  [k: string]: unknown;
}

export type FrameworkCapabilityType =
  | 'MULTI_ROLE'
  | 'PARTITION_AWARE'
  | 'TASK_KILLING_STATE'
  | 'GPU_RESOURCES'
  | 'REVOCABLE_RESOURCES'
  | 'SHARED_RESOURCES'
  | 'RESERVATION_REFINEMENT'
  | 'REGION_AWARE';

export interface FrameworkInfo {
  user: string;
  name: string;
  id?: FrameworkID;
  failover_timeout?: number;
  checkpoint?: boolean;
  role?: string;
  roles?: string[];
  hostname?: string;
  principal?: string;
  webui_url?: string;
  capabilities?: Array<{ type: FrameworkCapabilityType }>;
  labels?: { labels?: Array<{ key: string; value?: string }> };
}

export interface MasterInfo {
  id: string;
  ip: number;
  port: number;
  pid?: string;
  hostname?: string;
  version?: string;
  address?: Address;
  capabilities?: Array<{ type: string }>;
}

// ----- scheduler Event -----
export type EventType =
  | 'SUBSCRIBED'
  | 'OFFERS'
  | 'INVERSE_OFFERS'
  | 'RESCIND'
  | 'RESCIND_INVERSE_OFFER'
  | 'UPDATE'
  | 'UPDATE_OPERATION_STATUS'
  | 'MESSAGE'
  | 'FAILURE'
  | 'ERROR'
  | 'HEARTBEAT'
  | 'UNKNOWN';

export interface Event {
  type: EventType;
  subscribed?: { framework_id: FrameworkID; heartbeat_interval_seconds?: number; master_info?: MasterInfo };
  offers?: { offers?: Offer[] };
  inverse_offers?: { inverse_offers?: InverseOffer[] };
  rescind?: { offer_id: OfferID };
  rescind_inverse_offer?: { inverse_offer_id: OfferID };
  update?: { status: TaskStatus };
  update_operation_status?: { status: Record<string, unknown> };
  message?: { agent_id: AgentID; executor_id: ExecutorID; data: Uint8Array };
  failure?: { agent_id?: AgentID; executor_id?: ExecutorID; status?: number };
  error?: { message: string };
}

// ----- scheduler Call -----
export type CallType =
  | 'SUBSCRIBE'
  | 'TEARDOWN'
  | 'ACCEPT'
  | 'DECLINE'
  | 'ACCEPT_INVERSE_OFFERS'
  | 'DECLINE_INVERSE_OFFERS'
  | 'REVIVE'
  | 'KILL'
  | 'SHUTDOWN'
  | 'ACKNOWLEDGE'
  | 'ACKNOWLEDGE_OPERATION_STATUS'
  | 'RECONCILE'
  | 'RECONCILE_OPERATIONS'
  | 'MESSAGE'
  | 'REQUEST'
  | 'SUPPRESS'
  | 'UPDATE_FRAMEWORK';

export interface Call {
  framework_id?: FrameworkID;
  type: CallType;
  subscribe?: { framework_info: FrameworkInfo; suppressed_roles?: string[] };
  accept?: { offer_ids?: OfferID[]; operations?: Operation[]; filters?: Filters };
  decline?: { offer_ids?: OfferID[]; filters?: Filters };
  accept_inverse_offers?: { inverse_offer_ids?: OfferID[]; filters?: Filters };
  decline_inverse_offers?: { inverse_offer_ids?: OfferID[]; filters?: Filters };
  revive?: { roles?: string[] };
  suppress?: { roles?: string[] };
  kill?: { task_id: TaskID; agent_id?: AgentID; kill_policy?: { grace_period?: DurationInfo } };
  shutdown?: { executor_id: ExecutorID; agent_id: AgentID };
  acknowledge?: { agent_id: AgentID; task_id: TaskID; uuid: Uint8Array };
  reconcile?: { tasks?: Array<{ task_id: TaskID; agent_id?: AgentID }> };
  message?: { agent_id: AgentID; executor_id: ExecutorID; data: Uint8Array };
  update_framework?: { framework_info: FrameworkInfo; suppressed_roles?: string[] };
}

// ----- maintenance -----
export interface Window {
  machine_ids?: MachineID[];
  unavailability: Unavailability;
}
export interface Schedule {
  windows?: Window[];
}
export interface InverseOfferStatus {
  status: 'UNKNOWN' | 'ACCEPT' | 'DECLINE';
  framework_id: FrameworkID;
  timestamp: TimeInfo;
}
export interface ClusterStatus {
  draining_machines?: Array<{ id: MachineID; statuses?: InverseOfferStatus[] }>;
  down_machines?: MachineID[];
}

// ----- helpers -----
export function scalar(resources: Resource[] | undefined, name: string): number {
  let total = 0;
  for (const r of resources ?? []) if (r.name === name && r.scalar) total += r.scalar.value;
  return total;
}

export function attributeText(attributes: Attribute[] | undefined, name: string): string | undefined {
  for (const a of attributes ?? []) if (a.name === name) return a.text?.value ?? a.set?.item?.join(',');
  return undefined;
}

/** Milliseconds since epoch of a TimeInfo (precision: ms). */
export function timeInfoToMs(t: TimeInfo): number {
  return Number(t.nanoseconds / 1_000_000n);
}
export function msToTimeInfo(ms: number): TimeInfo {
  return { nanoseconds: BigInt(Math.round(ms)) * 1_000_000n };
}
export function durationToMs(d: DurationInfo | undefined): number | undefined {
  return d === undefined ? undefined : Number(d.nanoseconds / 1_000_000n);
}
