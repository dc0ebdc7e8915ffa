/**
 * What the simulated cluster is made of and what it reports: options of startSim(), agent
 * specifications, the views of agents and ground-truth tasks, failover options.
 */
import type { TaskInfo, TaskState } from '../mesos/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { SimAuthenticate, SimCredential } from './auth.js';
import type { TaskBehaviour } from './model.js';
import type { OtherFrameworkSpec } from './others.js';

export interface AgentSpec {
  hostname?: string;
  /** Agent IP (default 127.0.1.N: distinct loopback addresses, so MachineIDs are distinct). */
  ip?: string;
  port?: number;
  cpus?: number;
  mem?: number;
  disk?: number;
  /** Port ranges, inclusive (default [[31000, 32000]]). */
  ports?: Array<[number, number]>;
  /** Rack (a TEXT attribute `rack`); default rack-(i % racks + 1); null: no rack attribute. */
  rack?: string | null;
  /** Extra TEXT attributes. */
  attributes?: Record<string, string>;
}

export interface SimOptions {
  /** Number of agents (default 3) or explicit agents. */
  agents?: number | AgentSpec[];
  /** Racks the agents are spread over (default 1). */
  racks?: number;
  /** Defaults for generated agents. */
  agentDefaults?: Omit<AgentSpec, 'hostname' | 'ip' | 'rack'>;
  /** Time source (default RealClock). Use a VirtualClock in tests and benchmarks. */
  clock?: Clock;
  /** Number of master processes (default 1). The first leads. */
  masters?: number;
  /** First master's port (0 = ephemeral, the default; otherwise port, port+1, ...). */
  port?: number;
  /** --allocation_interval (default 1000 ms). */
  allocationIntervalMs?: number;
  logger?: Logger;
  /** Id of the first leader (default random UUID). */
  masterId?: string;
  /** Seed of all randomness (ids, uuids, re-registration delays). */
  seed?: number;
  /** --cluster (default "sluice-sim"). */
  cluster?: string;
  /** Delay between TASK_STARTING and TASK_RUNNING (default 0). */
  taskStartupDelayMs?: number;
  /**
   * `zk://host:port/mesos`: every master registers an ephemeral sequential `json.info_` znode with
   * its MasterInfo (as a Mesos master does), the lowest sequence leads, failover() goes through
   * ZooKeeper (the old leader's node is deleted) and close() removes every node.
   */
  zk?: string;
  /** Per-task behaviour hook (takes precedence over labels / command markers). */
  taskBehaviour?: (info: TaskInfo, frameworkId: string, agent: AgentView) => Partial<TaskBehaviour> | undefined;
  /** HTTP Basic credentials the masters accept (Mesos --credentials); see src/sim/auth.ts. */
  credentials?: SimCredential[];
  /** Realms requiring authentication (--authenticate_http_*); default { frameworks: true } with credentials. */
  authenticate?: SimAuthenticate;
  /**
   * Simulated other frameworks with tasks on the agents (src/sim/others.ts): a number N (behaviours
   * accept-when-empty, never, decline in turn, one task per agent) or one spec per framework.
   */
  otherFrameworks?: number | OtherFrameworkSpec[];
  /** The cluster's clock runs this many ms ahead of `clock` (negative: behind): Date headers, timestamps, windows. */
  clockOffsetMs?: number;
}

export interface AgentView {
  index: number;
  id: string;
  hostname: string;
  ip: string;
  port: number;
  rack: string | undefined;
  up: boolean;
  partitioned: boolean;
  registered: boolean;
  active: boolean;
  tasks: number;
}

export interface GroundTruthTask {
  taskId: string;
  frameworkId: string;
  agentId: string;
  hostname: string;
  state: TaskState;
  since: number;
}

export interface FailoverOptions {
  /** Index of the master that wins the election (default: the next one). */
  to?: number;
  /** Time without any leader (default 0). */
  gapMs?: number;
  /** Time the new leader answers 503 "Master has not finished recovery" (default 0). */
  recoveryMs?: number;
  /** Agents re-register after a random delay in [0, this) (default 1000 ms). */
  agentReregisterDelayMs?: number;
}

