/**
 * The workload as rows for SLA accounting (src/maintenance/sla.ts `SlaInstance` has this shape):
 * one row per instance's current task, one PENDING row per instance without a task. Orphans being
 * killed are not instances and are left out. Pure, read-only.
 */
import type { SchedulerState } from './state.js';

export interface WorkloadRow {
  job: string;
  index: number;
  task_id?: string;
  agent_id?: string;
  hostname?: string;
  state: string;
  running_since_ms?: number;
  /** When Sluice requested the kill of this task (it counts as down from then on). */
  kill_requested_ms?: number;
}

export function workloadRows(s: SchedulerState): WorkloadRow[] {
  const rows: WorkloadRow[] = [];
  for (const [job, insts] of s.instances) {
    const j = s.jobs.get(job);
    for (const inst of insts.values()) {
      if (!j || inst.index >= j.spec.instances) continue;
      const row: WorkloadRow = { job, index: inst.index, state: inst.state };
      if (inst.task_id) {
        row.task_id = inst.task_id;
        const t = s.tasks.get(inst.task_id);
        if (inst.agent_id) row.agent_id = inst.agent_id;
        if (inst.host) row.hostname = inst.host;
        if (inst.running_since_ms !== undefined && inst.state === 'TASK_RUNNING') row.running_since_ms = inst.running_since_ms;
        if (t?.kill) row.kill_requested_ms = t.kill.requested_ms;
      }
      rows.push(row);
    }
  }
  return rows;
}

/** Instances a job's SLA requires up (ceil(percentage × instances) or count; 0 without SLA). */
export function requiredUp(instances: number, sla: { kind: string; percentage?: number; count?: number } | undefined): number {
  if (!sla) return 0;
  if (sla.kind === 'count') return Math.min(instances, sla.count ?? 0);
  return Math.ceil(((sla.percentage ?? 0) / 100) * instances - 1e-9);
}
