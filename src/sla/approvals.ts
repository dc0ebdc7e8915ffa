/**
 * Coordinator answers between plans (pure): what has been asked, what was answered, and which
 * answers still stand. There is ONE `CoordinatorBook` per Sluice, in the scheduler's state
 * (`SchedulerState.coordinator`, not persisted: after a restart everything is asked again), shared
 * by every cause of a voluntary kill: the drain planner and rolling updates / scale-downs put the
 * questions `decideKills(...).ask` names through `toAsk` (src/scheduler/coordinator.ts), the
 * scheduler's I/O edge sends them with src/coordinator once the step is durable, and each answer
 * comes back as an input recorded with `answered`. Every decision reads the same book through
 * `coordinatorView` and passes its `approved` and `asking` sets to `decideKills`, so the drain and
 * an update never ask about two instances of one job at once, nor kill on each other's question.
 *
 * - a yes stands for `yes_ttl_ms` (default 30 s): a kill not made by then is asked about again (the
 *   service may have changed its mind);
 * - after a no, the same task is asked again only after `retry_ms` (default 15 s), so a coordinator
 *   that says no is not hammered by every re-plan;
 * - a question unanswered after `lost_ms` (default 120 s; the client times out long before) is
 *   forgotten and asked again.
 * Each function returns a new book; nothing is mutated.
 */
import type { CoordinatorQuestion } from './coordinator.js';
import { clock } from './explain.js';

export interface CoordinatorAnswerRecord {
  allow: boolean;
  reason?: string;
  at_ms: number;
}

export interface CoordinatorBook {
  /** task id → when its question was sent (no answer yet). */
  readonly asked: ReadonlyMap<string, number>;
  /** task id → the last answer. */
  readonly answers: ReadonlyMap<string, CoordinatorAnswerRecord>;
}

export interface BookTimes {
  yes_ttl_ms: number;
  retry_ms: number;
  lost_ms: number;
}

export const DEFAULT_BOOK_TIMES: BookTimes = { yes_ttl_ms: 30_000, retry_ms: 15_000, lost_ms: 120_000 };

export const EMPTY_BOOK: CoordinatorBook = { asked: new Map(), answers: new Map() };

/** Tasks whose yes still stands at `now`. */
export function approvedTasks(book: CoordinatorBook, now: number, t: BookTimes = DEFAULT_BOOK_TIMES): Set<string> {
  const out = new Set<string>();
  for (const [id, a] of book.answers) if (a.allow && now - a.at_ms < t.yes_ttl_ms) out.add(id);
  return out;
}

/**
 * Of the questions a plan wants asked, those to send now (not in flight, no standing yes, no recent
 * no), and the book with them marked as asked.
 */
export function toAsk(book: CoordinatorBook, wanted: readonly CoordinatorQuestion[], now: number, t: BookTimes = DEFAULT_BOOK_TIMES): { send: CoordinatorQuestion[]; book: CoordinatorBook } {
  const asked = new Map(book.asked);
  const send: CoordinatorQuestion[] = [];
  for (const q of wanted) {
    const since = asked.get(q.task_id);
    if (since !== undefined && now - since < t.lost_ms) continue;
    const a = book.answers.get(q.task_id);
    if (a && a.allow && now - a.at_ms < t.yes_ttl_ms) continue;
    if (a && !a.allow && now - a.at_ms < t.retry_ms) continue;
    asked.set(q.task_id, now);
    send.push(q);
  }
  return { send, book: send.length ? { asked, answers: book.answers } : book };
}

/** Record an answer (from the coordinator client) for a task. */
export function answered(book: CoordinatorBook, task_id: string, a: { allow: boolean; reason?: string }, now: number): CoordinatorBook {
  const asked = new Map(book.asked);
  asked.delete(task_id);
  const answers = new Map(book.answers);
  const rec: CoordinatorAnswerRecord = { allow: a.allow, at_ms: now };
  if (a.reason !== undefined) rec.reason = a.reason;
  answers.set(task_id, rec);
  return { asked, answers };
}

/** Forget tasks that no longer exist (killed, gone) and answers too old to matter. */
export function pruneBook(book: CoordinatorBook, live: (task_id: string) => boolean, now: number, t: BookTimes = DEFAULT_BOOK_TIMES): CoordinatorBook {
  const keep = Math.max(t.yes_ttl_ms, t.retry_ms, t.lost_ms);
  const asked = new Map([...book.asked].filter(([id, at]) => live(id) && now - at < keep));
  const answers = new Map([...book.answers].filter(([id, a]) => live(id) && now - a.at_ms < keep));
  return { asked, answers };
}

/** The answers a decision may use at `now` (what `decideKills` and the views read). */
export interface CoordinatorView {
  /** Tasks whose coordinator's yes still stands. */
  approved: ReadonlySet<string>;
  /** Tasks whose coordinator said no lately: why, when, and when they are asked again. */
  refused: ReadonlyMap<string, { reason: string; at_ms: number; retry_ms: number }>;
  /** Tasks whose question is out (no answer yet), with when it was sent. */
  asking: ReadonlySet<string>;
  /** When each question out was sent. */
  asked_ms: ReadonlyMap<string, number>;
}

/** The book as decisions read it at `now`: standing yeses, recent noes, questions out (not lost). */
export function coordinatorView(book: CoordinatorBook, now: number, t: BookTimes = DEFAULT_BOOK_TIMES): CoordinatorView {
  const refused = new Map<string, { reason: string; at_ms: number; retry_ms: number }>();
  for (const [id, a] of book.answers) if (!a.allow && now - a.at_ms < t.retry_ms) refused.set(id, { reason: a.reason ?? 'coordinator said no', at_ms: a.at_ms, retry_ms: a.at_ms + t.retry_ms });
  const asked_ms = new Map<string, number>();
  for (const [id, at] of book.asked) if (now - at < t.lost_ms) asked_ms.set(id, at);
  return { approved: approvedTasks(book, now, t), refused, asking: new Set(asked_ms.keys()), asked_ms };
}

/**
 * Why a kill the coordinator is asked about waits, in one sentence (logs, `job get`, `sla probe`,
 * blockers): "job kafka: coordinator said no to instance 2 at 12:00:05Z (…); asking again at
 * 12:00:20Z", or "job kafka: asking its coordinator about instance 2 (since 12:00:05Z)".
 */
export function coordinatorWait(job: string, index: number, task_id: string, v: CoordinatorView): { reason: string; until_ms?: number } {
  const no = v.refused.get(task_id);
  if (no) return { reason: `job ${job}: coordinator said no to instance ${index} at ${clock(no.at_ms)} (${no.reason}); asking again at ${clock(no.retry_ms)}`, until_ms: no.retry_ms };
  const at = v.asked_ms.get(task_id);
  return { reason: `job ${job}: asking its coordinator about instance ${index}${at !== undefined ? ` (since ${clock(at)})` : ''}` };
}
