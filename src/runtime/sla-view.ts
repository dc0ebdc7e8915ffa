/** Per-job SLA gauges for /metrics: the SLA module's status of each job's workload rows. */
import type { JobSnapshot } from '../metrics/metrics.js';
import type { SchedulerState } from '../scheduler/state.js';
import { workloadRows } from '../scheduler/workload-rows.js';
import { rowsByJob, slaStatus } from '../sla/index.js';

export function jobSlaSnapshot(s: SchedulerState, now: number): JobSnapshot[] {
  const byJob = rowsByJob(workloadRows(s));
  const out: JobSnapshot[] = [];
  for (const [name, job] of s.jobs) {
    const st = slaStatus({ name, instances: job.spec.instances, ...(job.spec.sla ? { sla: job.spec.sla } : {}) }, byJob.get(name) ?? [], now);
    out.push({ job: name, instances: st.instances, up: st.up, required: st.required });
  }
  return out;
}
