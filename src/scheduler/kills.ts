/** Killing tasks: the kill record, the KILL call (escalated without grace after the first), retries. */
import { calls as C } from '../mesos/calls.js';
import type { Job } from './job-spec.js';
import type { KillState, SchedulerState, TaskRecord } from './state.js';
import type { Step } from './step.js';

export function graceMsOf(s: SchedulerState, job: string): number {
  return graceMsOfJob(s, s.jobs.get(job));
}

export function graceMsOfJob(s: SchedulerState, job: Job | undefined): number {
  return 1000 * (job?.spec.kill_grace_period_seconds ?? s.config.defaultKillGraceSeconds);
}

export function killTask(st: Step, t: TaskRecord, reason: KillState['reason']): void {
  const s = st.s;
  if (t.kill) return;
  t.kill = { reason, requested_ms: st.now, attempts: 0, grace_ms: reason === 'orphan' ? 0 : graceMsOf(s, t.job) };
  s.killing.add(t.task_id);
  st.task(t.task_id);
  st.log('info', 'task_kill', { job: t.job, instance: t.index, task_id: t.task_id, agent_id: t.agent_id, host: t.host, reason });
  if (s.subscribed) sendKill(st, t);
}

export function sendKill(st: Step, t: TaskRecord): void {
  const k = t.kill!;
  k.attempts++;
  k.last_sent_ms = st.now;
  // Escalate: after the first attempt ran out, kill without grace.
  const grace = k.attempts > 1 ? 0 : k.grace_ms;
  st.calls.push(C.kill(t.task_id, t.agent_id, { grace_period: { nanoseconds: BigInt(grace) * 1_000_000n } }));
  st.task(t.task_id);
}

export function killRetries(st: Step): void {
  const s = st.s;
  for (const id of s.killing) {
    const t = s.tasks.get(id);
    if (!t?.kill) {
      s.killing.delete(id);
      continue;
    }
    const k = t.kill;
    const wait = Math.min(600_000, (k.grace_ms + s.config.killRetryMs) * 2 ** Math.max(0, k.attempts - 1));
    if (k.last_sent_ms === undefined || st.now - k.last_sent_ms >= wait) sendKill(st, t);
  }
}
