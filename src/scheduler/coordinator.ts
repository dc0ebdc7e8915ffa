/**
 * Coordinator questions, scheduler side (pure): the ONE approval book of a Sluice (`s.coordinator`,
 * src/sla/approvals.ts) and the I/O requests that ask services' coordinators.
 *
 * Every voluntary kill of a job with a coordinator policy waits for a fresh yes about that task
 * (src/sla `decideKills`). Whoever wants to kill — a rolling update or scale-down here, the drain
 * planner through the `coordinator_ask` command — puts its questions through `askCoordinator`: a
 * question already out, answered yes lately, or answered no within the retry time is not sent
 * again; the others are marked asked and emitted as `coordinator-ask` I/O requests in the step. The
 * runtime hands them to the scheduler's I/O edge once the step is durable (src/coordinator/edge.ts
 * performs the POST), and the answer comes back as the `coordinator_answer` command: recorded here,
 * and the job converges again (an update waiting for it proceeds or keeps waiting). A yes expires
 * (`yes_ttl_ms`); a no is asked again after `retry_ms`; anything but an explicit yes is a no.
 */
import { answered, coordinatorView, pruneBook, toAsk, type CoordinatorQuestion, type CoordinatorRef, type CoordinatorView } from '../sla/index.js';
import type { SchedulerState } from './state.js';
import type { Step } from './step.js';

/** Ask this coordinator this question (an I/O request of a scheduler step). */
export interface CoordinatorAsk {
  ref: CoordinatorRef;
  question: CoordinatorQuestion;
}

/** The book as decisions read it now. */
export function coordinatorNow(s: Readonly<SchedulerState>, now: number): CoordinatorView {
  return coordinatorView(s.coordinator, now);
}

/** Send the questions not out already (nor answered lately); log each one sent. */
export function askCoordinator(st: Step, asks: readonly CoordinatorAsk[]): void {
  if (!asks.length) return;
  const refs = new Map(asks.map((a) => [a.question.task_id, a.ref]));
  const r = toAsk(st.s.coordinator, asks.map((a) => a.question), st.now);
  st.s.coordinator = r.book;
  for (const q of r.send) {
    st.io.push({ kind: 'coordinator-ask', ref: refs.get(q.task_id)!, question: q });
    st.log('info', 'coordinator_ask', { job: q.job, instance: q.instance, task_id: q.task_id, host: q.host, cause: q.reason, reason: `the SLA allows the kill (${q.reason}); asking the service's coordinator first` });
  }
}

/** A coordinator's answer (or the failure of the question, as a no): recorded; the job converges again. */
export function coordinatorAnswered(st: Step, q: CoordinatorQuestion, a: { allow: boolean; reason?: string }): void {
  const s = st.s;
  if (typeof q?.task_id !== 'string' || typeof q.job !== 'string') return;
  const allow = a.allow === true;
  const rec: { allow: boolean; reason?: string } = { allow };
  if (typeof a.reason === 'string') rec.reason = a.reason;
  s.coordinator = answered(s.coordinator, q.task_id, rec, st.now);
  const reason = allow ? `coordinator said yes${rec.reason ? `: ${rec.reason}` : ''}` : (rec.reason ?? 'coordinator said no');
  st.log(allow ? 'info' : 'warn', 'coordinator_answer', { job: q.job, instance: q.instance, task_id: q.task_id, host: q.host, cause: q.reason, allow, reason });
  if (s.jobs.has(q.job)) {
    st.touched.add(q.job);
    s.converging.add(q.job);
  }
}

/** Forget questions and answers about tasks that are gone (each tick). */
export function pruneCoordinator(st: Step): void {
  const s = st.s;
  if (!s.coordinator.asked.size && !s.coordinator.answers.size) return;
  s.coordinator = pruneBook(s.coordinator, (id) => s.tasks.has(id), st.now);
}
