/** The TaskInfo of a launch, built from a per-job-version template whose shared parts are frozen. */
import type { HealthCheck, Offer, TaskInfo } from '../mesos/types.js';
import { jobTaskVersion, type Job, type JobHealthCheck, type JobSpec } from './job-spec.js';
import { LABEL_INSTANCE, LABEL_JOB, LABEL_VERSION } from './task-id.js';

/**
 * The parts of a job's TaskInfos that are the same for every task of one job version: frozen and
 * shared by those tasks, so the JSON writer encodes them once (src/mesos/stout-writer.ts reuses the
 * bytes of deeply frozen objects).
 */
interface TaskTemplate {
  spec: JobSpec;
  version: number;
  graceMs: number;
  /** spec.environment, then SLUICE_JOB. */
  variables: ReadonlyArray<{ name: string; value: string }>;
  jobLabel: { key: string; value: string };
  versionLabel: { key: string; value: string };
  killPolicy: NonNullable<TaskInfo['kill_policy']>;
  /** spec.labels as TaskInfo labels (after Sluice's own). */
  extraLabels: ReadonlyArray<{ key: string; value: string }>;
  /** The health check, when its port is fixed (or it has none); else built per task (`healthPorts`). */
  healthCheck: HealthCheck | undefined;
  /** The health check names a port allocated to the task (`port_index`). */
  healthPorts: boolean;
}

/** Whether a job's health check names a port allocated to the task (`port_index`). */
function usesAllocatedPort(h: JobHealthCheck): boolean {
  return h.http?.port_index !== undefined || h.tcp?.port_index !== undefined;
}

/**
 * The mesos.v1.HealthCheck of a job's health check: the type, the one check, and only the times the
 * job set (the executor applies the mesos.proto defaults to the others). Deeply frozen. `ports`: the
 * ports allocated to the task, in the order of $PORT0, $PORT1… — a `port_index` is resolved into
 * `http.port` / `tcp.port` from them. Undefined when the index has no port (a spec that bypassed
 * validation, e.g. a damaged store): no check is sent, and the instance, never reported healthy,
 * never counts as up — the safe side.
 */
export function healthCheckInfo(h: JobHealthCheck, ports: readonly number[] = []): HealthCheck | undefined {
  const portOf = (c: { port?: number; port_index?: number }): number | undefined => (c.port_index !== undefined ? ports[c.port_index] : c.port);
  const hc: HealthCheck = {};
  if (h.delay_seconds !== undefined) hc.delay_seconds = h.delay_seconds;
  if (h.interval_seconds !== undefined) hc.interval_seconds = h.interval_seconds;
  if (h.timeout_seconds !== undefined) hc.timeout_seconds = h.timeout_seconds;
  if (h.consecutive_failures !== undefined) hc.consecutive_failures = h.consecutive_failures;
  if (h.grace_period_seconds !== undefined) hc.grace_period_seconds = h.grace_period_seconds;
  if (h.http) {
    hc.type = 'HTTP';
    const port = portOf(h.http);
    if (port === undefined) return undefined;
    const http: NonNullable<HealthCheck['http']> = { port };
    if (h.http.scheme !== undefined) http.scheme = h.http.scheme;
    if (h.http.path !== undefined) http.path = h.http.path;
    if (h.http.statuses) http.statuses = Object.freeze(h.http.statuses.slice()) as number[];
    hc.http = Object.freeze(http);
  } else if (h.tcp) {
    hc.type = 'TCP';
    const port = portOf(h.tcp);
    if (port === undefined) return undefined;
    hc.tcp = Object.freeze({ port });
  } else if (h.command) {
    hc.type = 'COMMAND';
    const cmd: NonNullable<HealthCheck['command']> = { value: h.command.value, shell: h.command.shell ?? true };
    if (h.command.arguments) cmd.arguments = Object.freeze(h.command.arguments.slice()) as string[];
    hc.command = Object.freeze(cmd);
  }
  return Object.freeze(hc);
}
const templates = new WeakMap<Job, TaskTemplate>();

function taskTemplate(job: Job, graceMs: number): TaskTemplate {
  const spec = job.spec;
  const version = jobTaskVersion(job);
  const cached = templates.get(job);
  if (cached && cached.spec === spec && cached.version === version && cached.graceMs === graceMs) return cached;
  const variables: Array<{ name: string; value: string }> = [];
  if (spec.environment) for (const k in spec.environment) variables.push(Object.freeze({ name: k, value: spec.environment[k]! }));
  variables.push(Object.freeze({ name: 'SLUICE_JOB', value: spec.name }));
  const t: TaskTemplate = {
    spec,
    version,
    graceMs,
    variables,
    jobLabel: Object.freeze({ key: LABEL_JOB, value: spec.name }),
    versionLabel: Object.freeze({ key: LABEL_VERSION, value: String(version) }),
    killPolicy: Object.freeze({ grace_period: Object.freeze({ nanoseconds: BigInt(graceMs) * 1_000_000n }) }),
    extraLabels: Object.entries(spec.labels ?? {}).map(([key, value]) => Object.freeze({ key, value })),
    healthCheck: spec.health_check && !usesAllocatedPort(spec.health_check) ? healthCheckInfo(spec.health_check) : undefined,
    healthPorts: spec.health_check !== undefined && usesAllocatedPort(spec.health_check),
  };
  templates.set(job, t);
  return t;
}

export function taskInfo(job: Job, index: number, taskId: string, offer: Offer, resources: TaskInfo['resources'], ports: number[], graceMs: number): TaskInfo {
  const spec = job.spec;
  const tpl = taskTemplate(job, graceMs);
  const instance = String(index);
  const variables = tpl.variables.slice();
  variables.push({ name: 'SLUICE_INSTANCE', value: instance }, { name: 'SLUICE_TASK_ID', value: taskId }, { name: 'HOST', value: offer.hostname });
  for (let i = 0; i < ports.length; i++) variables.push({ name: `PORT${i}`, value: String(ports[i]) });
  if (ports.length) variables.push({ name: 'PORT', value: String(ports[0]) });
  const command: NonNullable<TaskInfo['command']> = { value: spec.command.value, shell: spec.command.shell ?? true, environment: { variables } };
  if (spec.command.arguments) command.arguments = spec.command.arguments;
  const info: TaskInfo = {
    name: `${spec.name}.${instance}`,
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources,
    command,
    labels: { labels: [tpl.jobLabel, { key: LABEL_INSTANCE, value: instance }, tpl.versionLabel, ...tpl.extraLabels] },
    kill_policy: tpl.killPolicy,
  };
  const hc = tpl.healthPorts ? healthCheckInfo(spec.health_check!, ports) : tpl.healthCheck;
  if (hc) info.health_check = hc;
  return info;
}
