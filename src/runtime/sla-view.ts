/** Per-job SLA gauges for /metrics (up = RUNNING for the SLA duration with no kill requested). */
import type { JobSnapshot } from '../metrics/metrics.js';
import type { SchedulerState } from '../scheduler/state.js';
import { requiredUp } from '../scheduler/workload-rows.js';

export function jobSlaSnapshot(s: SchedulerState, now: number): JobSnapshot[] {
  const out: JobSnapshot[] = [];
  for (const [name, job] of s.jobs) {
    const durMs = (job.spec.sla?.duration_seconds ?? 0) * 1000;
    let up = 0;
    for (const inst of s.instances.get(name)?.values() ?? []) {
      if (inst.index >= job.spec.instances || inst.state !== 'TASK_RUNNING' || inst.running_since_ms === undefined) continue;
      const t = inst.task_id ? s.tasks.get(inst.task_id) : undefined;
      if (t?.kill) continue;
      if (inst.running_since_ms <= now - durMs) up++;
    }
    out.push({ job: name, instances: job.spec.instances, up, required: requiredUp(job.spec.instances, job.spec.sla) });
  }
  return out;
}
