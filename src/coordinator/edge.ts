/**
 * The scheduler's coordinator I/O edge: performs the `coordinator-ask` requests of scheduler steps
 * (the questions of rolling updates, scale-downs and drains, all from the one approval book in the
 * scheduler's state) once their step is durable, and feeds each answer back into the decision loop
 * (the app wires `feed` to the `coordinator_answer` command). It decides nothing and keeps no state
 * beyond the questions in flight; the client never rejects (every failure is a no with a reason), and
 * an answer the loop cannot take any more (stopped) is dropped: after a restart everything is asked
 * again.
 */
import type { CoordinatorQuestion, CoordinatorRef } from '../sla/index.js';
import { CoordinatorClient, type CoordinatorClientOptions } from './client.js';

/** A question to ask (the scheduler's SchedulerIo of kind `coordinator-ask`). */
export interface CoordinatorAskRequest {
  kind: 'coordinator-ask';
  ref: CoordinatorRef;
  question: CoordinatorQuestion;
}

/** An answer for the loop: allow is true only for an explicit yes. */
export interface CoordinatorFeedback {
  question: CoordinatorQuestion;
  allow: boolean;
  reason?: string;
}

export class CoordinatorEdge {
  readonly client: CoordinatorClient;
  private feed: ((a: CoordinatorFeedback) => Promise<unknown>) | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(opts: CoordinatorClientOptions = {}) {
    this.client = new CoordinatorClient(opts);
  }

  /** Where answers go (the loop); until attached, answers are dropped (asked again later). */
  attach(feed: (a: CoordinatorFeedback) => Promise<unknown>): void {
    this.feed = feed;
  }

  /** Ask each question (the step asking is durable by now); each answer is fed back. */
  run(requests: readonly { kind: string }[]): void {
    for (const r of requests) {
      if (r.kind !== 'coordinator-ask') continue;
      const req = r as CoordinatorAskRequest;
      const p = this.client.ask(req.ref, req.question).then(async (a) => {
        const fb: CoordinatorFeedback = { question: req.question, allow: a.allow === true };
        if (a.reason !== undefined) fb.reason = a.reason;
        await this.feed?.(fb);
      }).catch(() => undefined);
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  /** Resolves once every question asked so far has been answered and fed back (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  /** Abort questions in flight (each answers no) and refuse new ones. */
  close(): void {
    this.client.close();
  }
}
