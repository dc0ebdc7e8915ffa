/**
 * Task ids encode their job and instance: `<job>.<index>.<seq>`, e.g. `web.3.1042`. Job names
 * cannot contain dots (JOB_NAME_RE), `seq` is a framework-wide counter persisted with the task, so
 * ids are unique for the framework's lifetime and reconciliation can adopt a task it finds on the
 * master from its id alone. TaskInfo labels carry the same facts for humans and other tools.
 */
import { JOB_NAME_RE } from './job-spec.js';

/** TaskInfo label keys starting with this are Sluice's own. */
export const LABEL_PREFIX = 'sluice.';
export const LABEL_JOB = 'sluice.job';
export const LABEL_INSTANCE = 'sluice.instance';
export const LABEL_VERSION = 'sluice.version';

export function makeTaskId(job: string, index: number, seq: number): string {
  return `${job}.${index}.${seq}`;
}

export interface ParsedTaskId {
  job: string;
  index: number;
  seq: number;
}

export function parseTaskId(taskId: string): ParsedTaskId | undefined {
  const a = taskId.indexOf('.');
  const b = a < 0 ? -1 : taskId.indexOf('.', a + 1);
  if (a <= 0 || b < 0 || taskId.indexOf('.', b + 1) >= 0) return undefined;
  const job = taskId.slice(0, a);
  const idx = taskId.slice(a + 1, b);
  const seq = taskId.slice(b + 1);
  if (!JOB_NAME_RE.test(job) || !/^\d{1,9}$/.test(idx) || !/^\d{1,15}$/.test(seq)) return undefined;
  return { job, index: Number(idx), seq: Number(seq) };
}

export function instanceKey(job: string, index: number): string {
  return `${job}/${index}`;
}
