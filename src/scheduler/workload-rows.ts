/**
 * The workload as rows for SLA accounting (src/maintenance/sla.ts `SlaInstance` has this shape):
 * one row per instance's current task, one PENDING row per instance without a task. Orphans being
 * killed are not instances and are left out. Pure, read-only.
 */
import type { SlaPolicy } from './job-spec.js';
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
  /** A make-before-break replacement (the instance's other row is the task it replaces). */
  surge?: boolean;
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
      if (inst.surge) {
        // ordered but not launched yet: a PENDING surge row; launched: the surge task's row
        const sur = inst.surge.task_id ? s.tasks.get(inst.surge.task_id) : undefined;
        const srow: WorkloadRow = { job, index: inst.index, state: sur?.state ?? 'PENDING', surge: true };
        if (sur) {
          srow.task_id = sur.task_id;
          if (sur.agent_id) srow.agent_id = sur.agent_id;
          if (sur.host) srow.hostname = sur.host;
          if (sur.state === 'TASK_RUNNING' && sur.running_since_ms !== undefined) srow.running_since_ms = sur.running_since_ms;
          if (sur.kill) srow.kill_requested_ms = sur.kill.requested_ms;
        }
        rows.push(srow);
      }
    }
  }
  return rows;
}

/** Per-job facts the drainer needs (src/maintenance/drainer.ts JobView has this shape). */
export interface WorkloadJob {
  name: string;
  instances: number;
  sla?: SlaPolicy;
  resources: { cpus: number; mem: number };
  host_unique?: boolean;
}

export function workloadJobs(s: SchedulerState): WorkloadJob[] {
  const out: WorkloadJob[] = [];
  for (const [name, j] of s.jobs) {
    if (j.status === 'deleting') continue;
    const w: WorkloadJob = { name, instances: j.spec.instances, resources: { cpus: j.spec.resources.cpus, mem: j.spec.resources.mem } };
    if (j.spec.sla) w.sla = j.spec.sla;
    if (j.spec.constraints?.host_unique) w.host_unique = true;
    out.push(w);
  }
  return out;
}

/**
 * Free room per agent where new tasks may go (not in `blocked`), from the latest offers (minus
 * Sluice's launches on them). An estimate: agents that have not offered since the process started
 * (e.g. while offers are suppressed) are absent.
 */
export function agentCapacity(s: SchedulerState, maxAgeMs = Infinity, now = 0): Array<{ hostname: string; cpus: number; mem: number }> {
  const out: Array<{ hostname: string; cpus: number; mem: number }> = [];
  for (const a of s.agents.values()) {
    if (!a.free || s.placementBlockedHosts.has(a.host)) continue;
    if (now - a.free.at_ms > maxAgeMs) continue;
    out.push({ hostname: a.host, cpus: a.free.cpus, mem: a.free.mem });
  }
  return out;
}
