/** The TaskInfo of a launch, built from a per-job-version template whose shared parts are frozen. */
import type { Offer, TaskInfo } from '../mesos/types.js';
import { jobTaskVersion, type Job, type JobSpec } from './job-spec.js';
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
  return {
    name: `${spec.name}.${instance}`,
    task_id: { value: taskId },
    agent_id: offer.agent_id,
    resources,
    command,
    labels: { labels: [tpl.jobLabel, { key: LABEL_INSTANCE, value: instance }, tpl.versionLabel] },
    kill_policy: tpl.killPolicy,
  };
}
