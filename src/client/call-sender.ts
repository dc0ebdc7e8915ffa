/**
 * Sending scheduler calls (every call but SUBSCRIBE) as POSTs on a keep-alive pool to the master
 * that holds the subscription:
 *
 * - While not subscribed, offer-scoped calls (ACCEPT, DECLINE, ...INVERSE_OFFERS) reject at once
 *   with NotSubscribedError; every other call waits in a bounded queue (`maxQueuedCalls`) for the
 *   next subscription, up to the call timeout. An offer-scoped call whose subscription ended
 *   between retries is void.
 * - Responses: 2xx → resolve; 307 → follow Location (and tell the detector); 503/404 and
 *   connection failures that certainly happened before sending → retry with backoff up to
 *   `maxCallRetries` times; everything else → MesosHttpError {status, body, callType}; 403
 *   "Framework is not subscribed" also forces a re-SUBSCRIBE.
 */
import { request, type Dispatcher } from 'undici';
import { OFFER_SCOPED_CALLS, replaySafe } from '../mesos/calls.js';
import type { Codec } from '../mesos/codec.js';
import type { Call, CallType, FrameworkID } from '../mesos/types.js';
import { backoffDelay, type BackoffPolicy } from '../util/backoff.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { LeaderDetector } from './detector.js';
import { CallTimeoutError, ClientStoppedError, ConnectionError, MesosHttpError, NotSubscribedError } from './errors.js';
import { SCHEDULER_PATH, certainlyNotSent, describeError, errorCode, redactLocation, resolveLocation } from './http.js';
import { headerValue, readText } from './subscribe.js';

const CALL = 'mesos.v1.scheduler.Call';
export const NOT_SUBSCRIBED = 'Framework is not subscribed';

/** The subscription calls are sent in. */
export interface Session {
  frameworkId: string;
  streamId: string;
  masterUrl: string;
  epoch: number;
  codec: Codec;
}

export interface CallSenderDeps {
  clock: Clock;
  log: Logger;
  /** Encoding of the calls. */
  codec: Codec;
  detector: LeaderDetector;
  dispatcher: Dispatcher;
  callTimeoutMs: number;
  maxCallRetries: number;
  maxRedirects: number;
  maxQueuedCalls: number;
  backoff: BackoffPolicy;
  random: () => number;
  headers(streamId: string): Record<string, string>;
  session(): Session | undefined;
  stopped(): boolean;
  /** The master said the framework is not subscribed: drop the stream of that epoch. */
  forceResubscribe(epoch: number, cause: Error): void;
}

type Sent = { ok: true } | { ok: false; error: Error; retryable: boolean };

interface Waiter {
  resolve: (s: Session) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

interface Sleeper {
  timer: TimerHandle;
  resolve: () => void;
}

export class CallSender {
  private readonly waiters = new Set<Waiter>();
  private readonly inflight = new Set<AbortController>();
  private readonly sleepers = new Set<Sleeper>();

  constructor(private readonly d: CallSenderDeps) {}

  /** Sends one call with `framework_id` set from the subscription; resolves on 2xx. */
  async send(call: Call): Promise<void> {
    const { clock, log } = this.d;
    const type = call.type;
    const deadline = clock.now() + this.d.callTimeoutMs;
    const offerScoped = OFFER_SCOPED_CALLS.has(type);
    let firstEpoch: number | undefined;
    let retries = 0;
    for (;;) {
      const session = await this.waitForSession(type, deadline, offerScoped);
      if (firstEpoch === undefined) firstEpoch = session.epoch;
      else if (offerScoped && session.epoch !== firstEpoch) {
        throw new NotSubscribedError(`${type}: the subscription it was made in has ended; its offers are void`, type);
      }
      const body = this.d.codec.encode(CALL, { ...call, framework_id: { value: session.frameworkId } as FrameworkID });
      const result = await this.post(type, body, session, deadline);
      if (result.ok) return;
      const err = result.error;
      if (!result.retryable || retries >= this.d.maxCallRetries) throw this.failed(type, err, session);
      const delay = Math.min(backoffDelay(retries, this.d.backoff, this.d.random), Math.max(0, deadline - clock.now()));
      retries++;
      log.info('call_retry', {
        event: 'call_retry',
        type,
        attempt: retries,
        delay_ms: delay,
        ...(err instanceof MesosHttpError ? { status: err.status, body: err.body } : { error: describeError(err) }),
      });
      if (clock.now() + delay >= deadline) throw new CallTimeoutError(type, this.d.callTimeoutMs);
      await this.sleep(delay);
      if (this.d.stopped()) throw new ClientStoppedError(`${type}: SchedulerClient stopped`);
    }
  }

  /** A subscription is there: calls waiting for one go. */
  wake(s: Session): void {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      this.d.clock.clearTimer(w.timer);
      w.resolve(s);
    }
  }

  /** The client stops: retries end, requests abort, waiting calls reject. */
  stop(error: Error | undefined, stopErr: Error): void {
    for (const s of [...this.sleepers]) s.resolve();
    for (const ac of [...this.inflight]) ac.abort();
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      this.d.clock.clearTimer(w.timer);
      w.reject(error ? new ClientStoppedError(`SchedulerClient stopped: ${error.message}`) : stopErr);
    }
  }

  /** A call that will not be retried: logged (and a 403 "not subscribed" forces a re-SUBSCRIBE). */
  private failed(type: CallType, err: Error, session: Session): Error {
    if (err instanceof MesosHttpError) {
      this.d.log.warn('call_failed', { event: 'call_failed', type, status: err.status, body: err.body, master: session.masterUrl });
      if (err.status === 403 && err.body.includes(NOT_SUBSCRIBED)) this.d.forceResubscribe(session.epoch, err);
    } else {
      this.d.log.warn('call_failed', { event: 'call_failed', type, error: describeError(err), master: session.masterUrl });
    }
    return err;
  }

  private waitForSession(type: CallType, deadline: number, offerScoped: boolean): Promise<Session> {
    const { clock } = this.d;
    if (this.d.stopped()) return Promise.reject(new ClientStoppedError(`${type}: SchedulerClient is stopped`));
    const session = this.d.session();
    if (session) return Promise.resolve(session);
    if (offerScoped) {
      return Promise.reject(new NotSubscribedError(`${type} rejected: not subscribed (offers do not survive a lost subscription)`, type));
    }
    if (this.waiters.size >= this.d.maxQueuedCalls) {
      return Promise.reject(new NotSubscribedError(`${type} rejected: not subscribed and ${this.d.maxQueuedCalls} calls already wait`, type));
    }
    const remaining = deadline - clock.now();
    if (remaining <= 0) return Promise.reject(new NotSubscribedError(`${type}: not subscribed within the call timeout`, type));
    return new Promise<Session>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: clock.setTimeout(() => {
          this.waiters.delete(w);
          reject(new NotSubscribedError(`${type}: not subscribed within ${this.d.callTimeoutMs} ms`, type));
        }, remaining),
      };
      this.waiters.add(w);
    });
  }

  /** POSTs the call, following redirects, until an answer or the deadline. */
  private async post(type: CallType, body: Buffer, session: Session, deadline: number): Promise<Sent> {
    let url = session.masterUrl + SCHEDULER_PATH;
    for (let redirects = 0; ; redirects++) {
      const remaining = deadline - this.d.clock.now();
      if (remaining <= 0) return { ok: false, error: new CallTimeoutError(type, this.d.callTimeoutMs), retryable: false };
      const r = await this.postOnce(type, url, body, session, remaining, redirects);
      if ('ok' in r) return r;
      url = r.url;
    }
  }

  /** One POST, bounded by `remaining` ms: the outcome, or the URL a 307 sends it to. */
  private async postOnce(type: CallType, url: string, body: Buffer, session: Session, remaining: number, redirects: number): Promise<Sent | { url: string }> {
    const ac = new AbortController();
    this.inflight.add(ac);
    let timedOut = false;
    const timer = this.d.clock.setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, remaining);
    try {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { method: 'POST', headers: this.d.headers(session.streamId), body, dispatcher: this.d.dispatcher, signal: ac.signal });
      } catch (e) {
        if (this.d.stopped()) return { ok: false, error: new ClientStoppedError(`${type}: SchedulerClient stopped`), retryable: false };
        if (timedOut) return { ok: false, error: new CallTimeoutError(type, this.d.callTimeoutMs), retryable: false };
        const code = errorCode(e);
        const error = new ConnectionError(`${type} to ${new URL(url).origin} failed: ${describeError(e)}`, url, code, e);
        const retryable = certainlyNotSent(code) || (replaySafe(type) && (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'));
        return { ok: false, error, retryable };
      }
      const status = res.statusCode;
      if (status >= 200 && status < 300) {
        await res.body.dump().catch(() => undefined);
        return { ok: true };
      }
      if (status === 307) return await this.redirect(type, res, url, redirects);
      const text = await readText(res.body);
      return { ok: false, error: new MesosHttpError(status, text, type, url), retryable: status === 503 || status === 404 };
    } finally {
      this.d.clock.clearTimer(timer);
      this.inflight.delete(ac);
    }
  }

  /** A 307: the URL to follow (the detector is told), or why not. */
  private async redirect(type: CallType, res: Dispatcher.ResponseData, url: string, redirects: number): Promise<{ url: string } | Sent> {
    const location = headerValue(res.headers['location']);
    await res.body.dump().catch(() => undefined);
    if (!location) return { ok: false, error: new MesosHttpError(307, 'redirect without Location', type, url), retryable: false };
    let target: URL;
    try {
      target = resolveLocation(location, url);
    } catch {
      return { ok: false, error: new MesosHttpError(307, `unusable Location ${JSON.stringify(redactLocation(location))}`, type, url), retryable: false };
    }
    this.d.log.info('redirected', { event: 'redirected', from: new URL(url).origin, to: target.origin, location: redactLocation(location), call: type });
    this.d.detector.redirected(target.origin);
    if (redirects + 1 > this.d.maxRedirects) {
      return { ok: false, error: new MesosHttpError(307, `too many redirects (last: ${redactLocation(location)})`, type, url), retryable: false };
    }
    return { url: target.href };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s: Sleeper = {
        resolve: () => {
          this.d.clock.clearTimer(s.timer);
          this.sleepers.delete(s);
          resolve();
        },
        timer: this.d.clock.setTimeout(() => s.resolve(), ms),
      };
      this.sleepers.add(s);
    });
  }
}
