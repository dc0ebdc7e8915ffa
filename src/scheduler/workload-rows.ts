/**
 * The workload as rows for SLA accounting (the SLA core's `SlaInstance`, src/sla/rows.ts):
 * one row per instance's current task, one PENDING row per instance without a task. Orphans being
 * killed are not instances and are left out. Pure, read-only.
 */
import type { KillCause, SlaInstance } from '../sla/index.js';
import type { AnySlaPolicy } from './job-spec.js';
import { domainAttribute, type KillState, type SchedulerState, type TaskRecord } from './state.js';

/** One row of the workload: exactly the SLA core's instance row (src/sla/rows.ts), built from the scheduler's state. */
export type WorkloadRow = SlaInstance;

/** What consumes the budget when Sluice kills a task (orphans are not instances: none). */
export function killCause(reason: KillState['reason']): KillCause | undefined {
  if (reason === 'drain') return 'drain';
  if (reason === 'replace' || reason === 'remove') return 'update';
  if (reason === 'restart') return 'operator';
  return undefined;
}

function taskFacts(s: SchedulerState, row: WorkloadRow, t: TaskRecord | undefined, attr: string): void {
  if (!t) return;
  if (t.health_check) {
    row.has_health_check = true;
    if (t.healthy !== undefined) row.healthy = t.healthy;
  }
  if (t.kill) {
    row.kill_requested_ms = t.kill.requested_ms;
    const c = killCause(t.kill.reason);
    if (c) row.kill_cause = c;
  }
  const a = t.agent_id !== undefined ? s.agents.get(t.agent_id) : undefined;
  const d = a?.attributes[attr];
  if (d !== undefined) row.domain = d;
}

export function workloadRows(s: SchedulerState): WorkloadRow[] {
  const rows: WorkloadRow[] = [];
  for (const job of s.instances.keys()) jobRowsInto(s, job, rows);
  return rows;
}

/** The rows of one job (`retiring`: also the instances beyond its size, being scaled down). */
export function jobRows(s: SchedulerState, job: string, retiring = false): WorkloadRow[] {
  return jobRowsInto(s, job, [], retiring);
}

function jobRowsInto(s: SchedulerState, job: string, rows: WorkloadRow[], retiring = false): WorkloadRow[] {
  const insts = s.instances.get(job);
  const j = s.jobs.get(job);
  if (!j || !insts) return rows;
  const attr = domainAttribute(s, job);
  for (const inst of insts.values()) {
    if (inst.index >= j.spec.instances && !retiring) continue;
    const row: WorkloadRow = { job, index: inst.index, state: inst.state };
    if (inst.launch_cause) row.launch_cause = inst.launch_cause;
    if (inst.lost_domain !== undefined) row.lost_domain = inst.lost_domain;
    if (inst.task_id) {
      row.task_id = inst.task_id;
      const t = s.tasks.get(inst.task_id);
      if (inst.agent_id) row.agent_id = inst.agent_id;
      if (inst.host) row.hostname = inst.host;
      if (inst.running_since_ms !== undefined && inst.state === 'TASK_RUNNING') row.running_since_ms = inst.running_since_ms;
      taskFacts(s, row, t, attr);
    }
    rows.push(row);
    if (inst.surge) {
      // ordered but not launched yet: a PENDING surge row; launched: the surge task's row
      const sur = inst.surge.task_id ? s.tasks.get(inst.surge.task_id) : undefined;
      const srow: WorkloadRow = { job, index: inst.index, state: sur?.state ?? 'PENDING', surge: true, launch_cause: inst.surge.cause ?? 'drain' };
      if (sur) {
        srow.task_id = sur.task_id;
        if (sur.agent_id) srow.agent_id = sur.agent_id;
        if (sur.host) srow.hostname = sur.host;
        if (sur.state === 'TASK_RUNNING' && sur.running_since_ms !== undefined) srow.running_since_ms = sur.running_since_ms;
        taskFacts(s, srow, sur, attr);
      }
      rows.push(srow);
    }
  }
  return rows;
}

/** Per-job facts the drainer needs (src/maintenance/drainer.ts JobView has this shape). */
export interface WorkloadJob {
  name: string;
  instances: number;
  sla?: AnySlaPolicy;
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
