/**
 * How the scheduler state lives in the store (src/store): one collection per record kind.
 *
 *   framework  "id"           -> { framework_id }
 *   meta       "scheduler"    -> { next_task_seq }
 *   jobs       <job name>     -> Job
 *   instances  "<job>/<idx>"  -> Instance
 *   tasks      <task id>      -> TaskRecord (non-terminal tasks only)
 *
 * The maintenance module keeps its own collections (e.g. "hosts") in the same store, written in the
 * same atomic batches through RuntimeExtension.storeOps.
 */
import type { BatchOp, Store } from '../store/index.js';
import type { Changes } from '../scheduler/reducer.js';
import type { Job } from '../scheduler/job-spec.js';
import { restoreState, type Instance, type SchedulerConfig, type SchedulerState, type TaskRecord } from '../scheduler/state.js';

export const COLLECTIONS = {
  framework: 'framework',
  meta: 'meta',
  jobs: 'jobs',
  instances: 'instances',
  tasks: 'tasks',
} as const;

/** Store operations that make the records named in `changes` equal to the state (put or delete). */
export function changesToOps(s: SchedulerState, c: Changes): BatchOp[] {
  const ops: BatchOp[] = [];
  if (c.frameworkId) {
    if (s.frameworkId) ops.push({ op: 'put', collection: COLLECTIONS.framework, key: 'id', value: { framework_id: s.frameworkId } });
    else ops.push({ op: 'delete', collection: COLLECTIONS.framework, key: 'id' });
  }
  if (c.meta) ops.push({ op: 'put', collection: COLLECTIONS.meta, key: 'scheduler', value: { next_task_seq: s.nextTaskSeq } });
  for (const name of c.jobs) {
    const j = s.jobs.get(name);
    ops.push(j ? { op: 'put', collection: COLLECTIONS.jobs, key: name, value: j } : { op: 'delete', collection: COLLECTIONS.jobs, key: name });
  }
  for (const key of c.instances) {
    const slash = key.lastIndexOf('/');
    const inst = s.instances.get(key.slice(0, slash))?.get(Number(key.slice(slash + 1)));
    ops.push(inst ? { op: 'put', collection: COLLECTIONS.instances, key, value: inst } : { op: 'delete', collection: COLLECTIONS.instances, key });
  }
  for (const id of c.tasks) {
    const t = s.tasks.get(id);
    ops.push(t ? { op: 'put', collection: COLLECTIONS.tasks, key: id, value: t } : { op: 'delete', collection: COLLECTIONS.tasks, key: id });
  }
  return ops;
}

/** Builds the scheduler state from the store (values are copied: the store's are frozen). */
export function loadState(store: Store, config: Partial<SchedulerConfig> = {}): SchedulerState {
  const fw = store.get<{ framework_id?: string }>(COLLECTIONS.framework, 'id');
  const meta = store.get<{ next_task_seq?: number }>(COLLECTIONS.meta, 'scheduler');
  const jobs = store.list<Job>(COLLECTIONS.jobs).map(([, v]) => structuredClone(v) as Job);
  const instances = store.list<Instance>(COLLECTIONS.instances).map(([, v]) => structuredClone(v) as Instance);
  const tasks = store.list<TaskRecord>(COLLECTIONS.tasks).map(([, v]) => structuredClone(v) as TaskRecord);
  return restoreState({ frameworkId: fw?.framework_id, nextTaskSeq: meta?.next_task_seq, jobs, instances, tasks }, config);
}
