/**
 * A job: N identical instances of a long-running service. Shared vocabulary of the workload
 * (src/scheduler) and maintenance (src/maintenance) modules, the operator API, the CLI and the store.
 */

/**
 * A job's availability promise, checked before Sluice takes an instance down (Aurora's SLA
 * policies). Defined, with what "up" and "required" mean, in src/sla.
 */
import type { AnySlaPolicy, SlaPolicy } from '../sla/index.js';
export type { AnySlaPolicy, SlaPolicy };

/**
 * A health check the agent's executor runs (sent as TaskInfo.health_check, mesos.v1.HealthCheck):
 * exactly one of `http`, `tcp`, `command`. Times in seconds; absent fields take the mesos.proto
 * defaults (delay 15, interval 10, timeout 20, grace 10, consecutive failures 3). The executor
 * reports each change as TASK_RUNNING with `healthy` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED,
 * and kills the task after `consecutive_failures` failures in a row (after the grace period).
 * `http` / `tcp` name the port checked by exactly one of `port` (a fixed number) or `port_index`
 * (the n-th port allocated to the task from the offer's "ports", `resources.ports`; 0 is the first,
 * the task's $PORT0), resolved at placement into the TaskInfo's `http.port` / `tcp.port`.
 */
export interface JobHealthCheck {
  http?: { port?: number; port_index?: number; path?: string; scheme?: 'http' | 'https'; statuses?: number[] };
  tcp?: { port?: number; port_index?: number };
  command?: { value: string; shell?: boolean; arguments?: string[] };
  delay_seconds?: number;
  interval_seconds?: number;
  timeout_seconds?: number;
  grace_period_seconds?: number;
  consecutive_failures?: number;
}

export interface PlacementConstraints {
  /** At most one instance of this job per host. */
  host_unique?: boolean;
  /** Spread instances evenly over racks (attribute named by `rack_attribute`, default "rack"). */
  rack_spread?: boolean;
  rack_attribute?: string;
}

export interface JobResources {
  cpus: number;
  mem: number;
  disk?: number;
  /** Number of host ports the task needs from the offer's "ports" ranges. */
  ports?: number;
}

export interface JobSpec {
  name: string;
  instances: number;
  resources: JobResources;
  command: { value: string; shell?: boolean; arguments?: string[] };
  environment?: Record<string, string>;
  constraints?: PlacementConstraints;
  sla?: AnySlaPolicy;
  /** Health check run by the agent's executor: an instance is up only while healthy. */
  health_check?: JobHealthCheck;
  /**
   * Extra TaskInfo labels (key → value), e.g. the simulator's behaviour labels (`sim.health`).
   * Keys starting `sluice.` are Sluice's own and refused.
   */
  labels?: Record<string, string>;
  /**
   * Never place on an agent whose offer carries an `unavailability` starting within this many
   * seconds from now (default: any announced unavailability blocks placement).
   */
  unavailability_horizon_seconds?: number;
  /** Grace period between SIGTERM and SIGKILL when instances are killed (seconds). */
  kill_grace_period_seconds?: number;
  role?: string;
  /**
   * Rolling replace (an update that changes what a task runs): at most this many instances are
   * down for replacement at once (default: max(1, floor(25% of instances))).
   */
  update_batch_size?: number;
}

/** A stored job: the spec plus a version bumped on every update (rolling replace compares it). */
export interface Job {
  spec: JobSpec;
  version: number;
  created_ms: number;
  updated_ms: number;
  /**
   * The `version` at which what a task runs (command, environment, resources, constraints, role,
   * kill grace) last changed. Instances whose task runs an older task_version are replaced by a
   * rolling update; changing only `instances`, `sla` or the horizon does not restart anything.
   * Absent = equal to `version`.
   */
  task_version?: number;
  /** 'deleting' after DELETE: every task is being killed; the job disappears when none is left. */
  status?: 'active' | 'deleting';
}

/** Job names: DNS-label-like, so they can be embedded in task ids (`<job>.<index>.<seq>`). */
export const JOB_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function jobTaskVersion(job: Job): number {
  return job.task_version ?? job.version;
}
