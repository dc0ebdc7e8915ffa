/**
 * Coordinator answers between plans (pure): what has been asked, what was answered, and which
 * answers still stand. The runtime keeps one `CoordinatorBook` in its state (not persisted: after a
 * restart everything is asked again), feeds `decideKills(...).ask` through `toAsk`, sends the
 * questions with src/coordinator, and records each answer with `answered`; the next plan passes
 * `approvedTasks` to `decideKills` as `approved`.
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
