/**
 * The Mesos v1 scheduler HTTP client (in the spirit of mesos-rxjava): one long-lived SUBSCRIBE
 * stream whose RecordIO events become RxJS observables, and calls sent as separate POSTs on a
 * keep-alive pool to the master that holds the subscription.
 *
 * Behaviour (see also README "Scheduler client" and the option docs below):
 *
 * - Connection loop: detect leader → POST SUBSCRIBE (no Mesos-Stream-Id) → 307: follow the
 *   protocol-relative Location and tell the detector → 200: read the RecordIO stream until it ends
 *   → back off (capped exponential with jitter, default cap 15 s) → re-SUBSCRIBE with the same
 *   framework id (top-level `framework_id` and `framework_info.id`, gotcha 23). The stream id of
 *   the newest stream is used for every call.
 * - Never silently dead: every failure (503/404/refused/reset, other 4xx, ERROR event, EOF, cut,
 *   RecordIO or codec error, heartbeat watchdog) is logged, reported on `clientErrors$` and in the
 *   `backing-off` state, and followed by another attempt. The single exception is the master's
 *   ERROR "Framework has been removed": the framework id is dead for good, so the client reports a
 *   FrameworkRemovedError and stops (state `stopped` with that error). Starting over means creating
 *   a new client whose FrameworkInfo has no id — a new framework; deciding that is the caller's job.
 * - Heartbeat watchdog: if no complete event arrives for `heartbeatTimeoutFactor` (5) ×
 *   `heartbeat_interval_seconds`, `heartbeat_missed` is logged and the stream is aborted and
 *   re-established (bytes of an unfinished record do not count). Before that, SUBSCRIBED must
 *   arrive within `subscribedTimeoutMs` (30 s) of the response headers. Both are suspended while
 *   the client itself has paused reading for backpressure.
 * - The reconnect backoff starts over only after a stream stayed healthy for `healthyStreamMs`
 *   (default 3 heartbeat intervals): no reconnect storm against a master that drops every stream.
 * - A malformed record (RecordIO framing or codec) never throws out of the client: events decoded
 *   before it are delivered, the error is logged with its stream offset, and the stream is
 *   re-established.
 * - Backpressure: events are delivered synchronously to subscribers, in order. A consumer that
 *   needs time calls `pause()`; events are then held in an internal FIFO (never dropped). When the
 *   FIFO holds `maxBufferedEvents` events, `slow_consumer` is logged with the count and the HTTP
 *   body is paused (TCP flow control pushes back on the master) until `resume()` drains it below
 *   half. Memory is bounded by maxBufferedEvents plus one HTTP chunk of records.
 *   `maxBufferedEvents: 0` pauses the body as soon as the consumer pauses.
 * - Calls while not subscribed: ACCEPT / DECLINE / ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS
 *   reject at once with NotSubscribedError (the master dropped those offers when the stream broke,
 *   so a late answer could only launch tasks on invalid offers). Every other call waits in a
 *   bounded queue (`maxQueuedCalls`) for the next subscription, up to the call timeout (75 s), then
 *   rejects with NotSubscribedError.
 * - Call responses: 2xx → resolve; 307 → follow Location (and tell the detector); 503/404 and
 *   connection failures that certainly happened before sending → retry with backoff up to
 *   `maxCallRetries` times; everything else → MesosHttpError {status, body, callType}; 403
 *   "Framework is not subscribed" also forces a re-SUBSCRIBE.
 * - `stop()` aborts the stream and every call, clears every timer, closes the undici agents and
 *   completes the event observables (undelivered buffered events are dropped). It does NOT tear
 *   the framework down: the master keeps it for `failover_timeout`. `teardown()` does that.
 *
 * Where the parts live: this file is the public surface, the connection loop and the session
 * bookkeeping; subscribe.ts opens a stream (leader, SUBSCRIBE, redirects); stream-reader.ts reads
 * it (RecordIO, decode, heartbeat watchdog, body backpressure); delivery.ts hands events to the
 * consumer; call-sender.ts sends calls (queueing, redirects, retries); options.ts, the options.
 */
import { BehaviorSubject, Observable, Subject, filter, map } from 'rxjs';
import type { Dispatcher } from 'undici';
import { codecFor, type Codec, type MediaType } from '../mesos/codec.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../mesos/recordio.js';
import type { AgentID, Call, DurationInfo, Event, ExecutorID, Filters, FrameworkInfo, InverseOffer, MasterInfo, Offer, OfferID, Operation, TaskStatus } from '../mesos/types.js';
import { RealClock, type Clock, type TimerHandle } from '../util/clock.js';
import { nullLogger, type Logger } from '../util/logger.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from '../util/backoff.js';
import { calls, type IdLike } from '../mesos/calls.js';
import { CallSender, NOT_SUBSCRIBED, type Session } from './call-sender.js';
import { EventDelivery } from './delivery.js';
import { StaticListDetector, type LeaderDetector } from './detector.js';
import type { ConnectionState, ErrorPayload, FailurePayload, MessagePayload, OperationStatusPayload, SchedulerClientOptions, SubscribedInfo } from './options.js';
import { DEFAULT_HEARTBEAT_INTERVAL_S, StreamReader, type StreamHost } from './stream-reader.js';
import { openSubscription, type StreamOutcome } from './subscribe.js';
import { ClientStoppedError, FrameworkRemovedError, MesosErrorEvent, NotSubscribedError, SchedulerClientError, StreamError } from './errors.js';
import { basicAuthHeader, createDispatcher, describeError, masterCredentials, parseMasterUrls, type BasicAuth } from './http.js';

export type { ConnectionState, ErrorPayload, FailurePayload, MessagePayload, OperationStatusPayload, SchedulerClientOptions, SubscribedInfo } from './options.js';

const CALL = 'mesos.v1.scheduler.Call';
/** Least healthy time that resets the backoff by default, whatever the heartbeat interval. */
const MIN_HEALTHY_STREAM_MS = 3_000;
const FRAMEWORK_REMOVED = 'Framework has been removed';

interface Sleeper {
  timer: TimerHandle;
  resolve: () => void;
}

export class SchedulerClient {
  // ---- observables ----
  readonly events$: Observable<Event>;
  readonly subscribed$: Observable<SubscribedInfo>;
  readonly offers$: Observable<Offer[]>;
  readonly inverseOffers$: Observable<InverseOffer[]>;
  readonly rescind$: Observable<OfferID>;
  readonly rescindInverseOffer$: Observable<OfferID>;
  readonly updates$: Observable<TaskStatus>;
  readonly operationUpdates$: Observable<OperationStatusPayload['status']>;
  readonly messages$: Observable<MessagePayload>;
  readonly failures$: Observable<FailurePayload>;
  /** ERROR events of the master (payload `{message}`). */
  readonly errors$: Observable<ErrorPayload>;
  /** HEARTBEAT events; the value is the client clock's time of arrival (ms). */
  readonly heartbeats$: Observable<number>;
  /** Client-side problems: HTTP errors, stream failures, decode errors, the fatal FrameworkRemovedError. */
  readonly clientErrors$: Observable<Error>;
  /** Current connection state; a late subscriber gets the current value at once. Never completes. */
  readonly connection$: BehaviorSubject<ConnectionState>;

  private readonly eventsSubject = new Subject<Event>();
  private readonly clientErrorsSubject = new Subject<Error>();

  // ---- configuration ----
  private readonly masters: string[];
  private readonly frameworkInfo: FrameworkInfo;
  private readonly suppressedRoles: readonly string[];
  private readonly contentType: MediaType;
  private readonly codec: Codec;
  private readonly authHeader: string | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly subscribeTimeoutMs: number;
  private readonly healthyStreamMs: number | undefined;
  private readonly maxRedirects: number;
  private readonly detector: LeaderDetector;
  private readonly ownsDetector: boolean;
  private readonly streamAgent: Dispatcher;
  private readonly callAgent: Dispatcher;
  /** What every stream reader needs of the client. */
  private readonly streamHost: StreamHost;
  private readonly calls: CallSender;
  private readonly delivery: EventDelivery;

  // ---- state ----
  private started = false;
  private stopped = false;
  private frameworkId: string | undefined;
  private session: Session | undefined;
  private stream: StreamReader | undefined;
  private epoch = 0;
  private sleeper: Sleeper | undefined;
  private subscribeAbort: AbortController | undefined;
  private readonly statsCounters = { bytes: 0, chunks: 0, records: 0, streams: 0 };
  private readonly readyWaiters = new Set<{ resolve: (s: ConnectionState) => void; reject: (e: Error) => void }>();
  private shuttingDown: Promise<void> | undefined;
  private leaderChangeOff: (() => void) | undefined;

  constructor(opts: SchedulerClientOptions) {
    // with a detector of its own (e.g. ZooKeeper for a zk:// URL), the masters are its business
    this.masters = opts.detector ? [] : parseMasterUrls(opts.masters);
    if (!opts.frameworkInfo) throw new SchedulerClientError('frameworkInfo is required');
    this.frameworkInfo = opts.frameworkInfo;
    this.suppressedRoles = opts.suppressedRoles ?? [];
    this.frameworkId = opts.frameworkInfo.id?.value;
    this.contentType = opts.contentType ?? 'application/json';
    this.codec = codecFor(this.contentType);
    this.clock = opts.clock ?? new RealClock();
    this.log = opts.logger ?? nullLogger();
    this.authHeader = basicAuthHeader(this.resolveAuth(opts));
    this.backoff = { ...DEFAULT_BACKOFF, ...(opts.backoff ?? {}) };
    this.random = opts.random ?? Math.random;
    this.subscribeTimeoutMs = opts.subscribeTimeoutMs ?? 75_000;
    this.healthyStreamMs = opts.healthyStreamMs;
    this.maxRedirects = opts.maxRedirects ?? 5;
    this.streamAgent = createDispatcher(opts.tls, { keepAlive: false });
    this.callAgent = createDispatcher(opts.tls, { keepAlive: true });
    this.ownsDetector = !opts.detector;
    this.detector =
      opts.detector ?? new StaticListDetector(this.masters, { tls: opts.tls, clock: this.clock, logger: this.log });
    this.streamHost = this.makeStreamHost(opts);
    this.calls = this.makeCallSender(opts);
    this.delivery = new EventDelivery({
      emit: (ev) => this.eventsSubject.next(ev),
      stopped: () => this.stopped,
      onFlow: () => this.updateFlow(),
    });
    // ZooKeeper announced another leader: drop the stream to the old one (or stop backing off) at once
    this.leaderChangeOff = this.detector.onLeaderChange?.((origin) => {
      if (!origin || this.stopped) return;
      const s = this.stream;
      if (s && !s.done && s.masterUrl !== origin) {
        this.log.info('leader_changed', { event: 'leader_changed', from: s.masterUrl, to: origin, framework_id: this.frameworkId });
        s.finish({ reason: 'leader_changed' });
      } else if (!s) this.sleeper?.resolve();
    });

    this.connection$ = new BehaviorSubject<ConnectionState>({ state: 'disconnected' });
    this.events$ = this.eventsSubject.asObservable();
    this.clientErrors$ = this.clientErrorsSubject.asObservable();
    const ofType = <R>(type: Event['type'], pick: (e: Event) => R | undefined): Observable<R> =>
      this.events$.pipe(
        filter((e) => e.type === type),
        map(pick),
        filter((x): x is R => x !== undefined),
      );
    this.subscribed$ = ofType('SUBSCRIBED', (e) => e.subscribed);
    this.offers$ = ofType('OFFERS', (e) => e.offers?.offers ?? []);
    this.inverseOffers$ = ofType('INVERSE_OFFERS', (e) => e.inverse_offers?.inverse_offers ?? []);
    this.rescind$ = ofType('RESCIND', (e) => e.rescind?.offer_id);
    this.rescindInverseOffer$ = ofType('RESCIND_INVERSE_OFFER', (e) => e.rescind_inverse_offer?.inverse_offer_id);
    this.updates$ = ofType('UPDATE', (e) => e.update?.status);
    this.operationUpdates$ = ofType('UPDATE_OPERATION_STATUS', (e) => e.update_operation_status?.status);
    this.messages$ = ofType('MESSAGE', (e) => e.message);
    this.failures$ = ofType('FAILURE', (e) => e.failure);
    this.errors$ = ofType('ERROR', (e) => e.error);
    this.heartbeats$ = this.events$.pipe(
      filter((e) => e.type === 'HEARTBEAT'),
      map(() => this.clock.now()),
    );
  }

  private makeCallSender(opts: SchedulerClientOptions): CallSender {
    return new CallSender({
      clock: this.clock,
      log: this.log,
      codec: this.codec,
      detector: this.detector,
      dispatcher: this.callAgent,
      callTimeoutMs: opts.callTimeoutMs ?? 75_000,
      maxCallRetries: opts.maxCallRetries ?? 3,
      maxRedirects: this.maxRedirects,
      maxQueuedCalls: opts.maxQueuedCalls ?? 1000,
      backoff: this.backoff,
      random: this.random,
      headers: (streamId) => this.headers(streamId),
      session: () => this.session,
      stopped: () => this.stopped,
      forceResubscribe: (epoch, cause) => this.forceResubscribe(epoch, cause),
    });
  }

  private makeStreamHost(opts: SchedulerClientOptions): StreamHost {
    return {
      clock: this.clock,
      log: this.log,
      heartbeatFactor: opts.heartbeatTimeoutFactor ?? 5,
      subscribedTimeoutMs: opts.subscribedTimeoutMs ?? 30_000,
      maxRecordBytes: opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      maxBufferedEvents: opts.maxBufferedEvents ?? 1000,
      stats: this.statsCounters,
      stopped: () => this.stopped,
      frameworkId: () => this.frameworkId,
      received: (reader, ev) => this.received(reader, ev),
      deliver: () => this.delivery.deliver(),
      updateFlow: () => this.updateFlow(),
      closed: (reader) => {
        if (this.stream === reader) this.stream = undefined;
        if (this.session?.epoch === reader.epoch) this.session = undefined;
      },
    };
  }

  /**
   * Explicit `auth` wins; otherwise credentials in the master URLs are used as HTTP Basic auth.
   * Only the fact is logged (and the principal), never a secret.
   */
  private resolveAuth(opts: SchedulerClientOptions): BasicAuth | undefined {
    // (a detector's URL, e.g. zk://user:pass@…, carries its own credentials, not the master's)
    const fromUrls = opts.detector ? undefined : masterCredentials(opts.masters);
    if (!fromUrls) return opts.auth;
    if (opts.auth) {
      if (opts.auth.principal !== fromUrls.principal || opts.auth.secret !== fromUrls.secret) {
        this.log.warn('master_url_credentials_ignored', {
          event: 'master_url_credentials_ignored',
          detail: 'the master URLs carry credentials that differ from the configured principal/secret; the configured ones are used',
        });
      }
      return opts.auth;
    }
    this.log.info('master_url_credentials', { event: 'master_url_credentials', principal: fromUrls.principal });
    return fromUrls;
  }

  // ------------------------------------------------------------------------------------------
  // lifecycle

  /** Starts the connection loop (idempotent). Progress is visible on connection$; see ready(). */
  start(): void {
    if (this.stopped) throw new ClientStoppedError('SchedulerClient was stopped; create a new one');
    if (this.started) return;
    this.started = true;
    void this.runLoop().catch((e: unknown) => {
      // runLoop handles everything itself; this is a last line of defence, never a crash
      this.log.error('client_loop_crashed', { event: 'client_loop_crashed', error: describeError(e) });
      void this.terminate(e instanceof Error ? e : new Error(String(e)));
    });
  }

  /**
   * Resolves with the state once subscribed (at once if already), rejects if the client stops
   * first (e.g. FrameworkRemovedError) or, with `timeoutMs`, when that much clock time passes.
   */
  ready(timeoutMs?: number): Promise<Extract<ConnectionState, { state: 'subscribed' }>> {
    const cur = this.connection$.value;
    if (cur.state === 'subscribed') return Promise.resolve(cur);
    if (cur.state === 'stopped') return Promise.reject(cur.error ?? new ClientStoppedError('SchedulerClient is stopped'));
    return new Promise((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const w = {
        resolve: (s: ConnectionState) => {
          this.clock.clearTimer(timer);
          resolve(s as Extract<ConnectionState, { state: 'subscribed' }>);
        },
        reject: (e: Error) => {
          this.clock.clearTimer(timer);
          reject(e);
        },
      };
      if (timeoutMs !== undefined) {
        timer = this.clock.setTimeout(() => {
          this.readyWaiters.delete(w);
          reject(new NotSubscribedError(`Not subscribed within ${timeoutMs} ms`, 'SUBSCRIBE'));
        }, timeoutMs);
      }
      this.readyWaiters.add(w);
    });
  }

  /** The framework id (from FrameworkInfo.id or the last SUBSCRIBED), if known. */
  get currentFrameworkId(): string | undefined {
    return this.frameworkId;
  }

  /** The Mesos-Stream-Id of the current subscription, if subscribed. */
  get currentStreamId(): string | undefined {
    return this.session?.streamId;
  }

  /** Totals over the client's life: bytes and HTTP chunks read from SUBSCRIBE streams, records decoded, streams opened. */
  get stats(): { bytes: number; chunks: number; records: number; streams: number } {
    return { ...this.statsCounters };
  }

  get state(): ConnectionState {
    return this.connection$.value;
  }

  /** Events decoded but not yet delivered (held while the consumer is paused). */
  get bufferedEvents(): number {
    return this.delivery.buffered;
  }

  /**
   * Disconnects and releases everything (stream, calls, timers, sockets). Pending and queued calls
   * reject with ClientStoppedError. The framework stays registered at the master until its
   * failover_timeout expires; use teardown() to remove it.
   */
  async stop(): Promise<void> {
    await this.terminate(undefined);
  }

  // ------------------------------------------------------------------------------------------
  // backpressure

  /** The consumer is busy: hold events (and, past maxBufferedEvents, stop reading the stream). */
  pause(): void {
    this.delivery.pause();
  }

  /** Deliver held events and read the stream again. */
  resume(): void {
    this.delivery.resume();
  }

  get paused(): boolean {
    return this.delivery.paused;
  }

  // ------------------------------------------------------------------------------------------
  // calls

  accept(offerIds: readonly IdLike[], operations: Operation[], filters?: Filters): Promise<void> {
    return this.call(calls.accept(offerIds, operations, filters));
  }
  decline(offerIds: readonly IdLike[], filters?: Filters): Promise<void> {
    return this.call(calls.decline(offerIds, filters));
  }
  acceptInverseOffers(inverseOfferIds: readonly IdLike[], filters?: Filters): Promise<void> {
    return this.call(calls.acceptInverseOffers(inverseOfferIds, filters));
  }
  declineInverseOffers(inverseOfferIds: readonly IdLike[], filters?: Filters): Promise<void> {
    return this.call(calls.declineInverseOffers(inverseOfferIds, filters));
  }
  revive(roles?: readonly string[]): Promise<void> {
    return this.call(calls.revive(roles));
  }
  suppress(roles?: readonly string[]): Promise<void> {
    return this.call(calls.suppress(roles));
  }
  kill(taskId: IdLike, agentId?: IdLike, killPolicy?: { grace_period?: DurationInfo }): Promise<void> {
    return this.call(calls.kill(taskId, agentId, killPolicy));
  }
  acknowledge(agentId: IdLike | AgentID, taskId: IdLike, uuid: Uint8Array): Promise<void> {
    return this.call(calls.acknowledge(agentId, taskId, uuid));
  }
  /**
   * Acknowledges a status update if it needs it: only updates carrying a `uuid` may be acked
   * (master-generated ones must not be, gotcha 6). Returns false when nothing was sent.
   */
  async acknowledgeUpdate(status: TaskStatus): Promise<boolean> {
    if (!status.uuid || !status.agent_id) return false;
    await this.acknowledge(status.agent_id, status.task_id, status.uuid);
    return true;
  }
  /** `[]` = implicit reconciliation. */
  reconcile(tasks: ReadonlyArray<{ task_id: IdLike; agent_id?: IdLike }>): Promise<void> {
    return this.call(calls.reconcile(tasks));
  }
  message(agentId: IdLike, executorId: IdLike | ExecutorID, data: Uint8Array): Promise<void> {
    return this.call(calls.message(agentId, executorId, data));
  }
  /** SHUTDOWN call: asks the agent to shut an executor down (not to be confused with stop()). */
  shutdown(executorId: IdLike, agentId: IdLike): Promise<void> {
    return this.call(calls.shutdown(executorId, agentId));
  }
  /**
   * TEARDOWN: the master removes the framework (kills all its tasks) and closes the stream. On
   * success the client stops; the framework id can never be used again.
   */
  async teardown(): Promise<void> {
    await this.call(calls.teardown());
    this.log.info('teardown', { event: 'teardown', framework_id: this.frameworkId });
    await this.terminate(undefined);
  }

  /**
   * Sends any scheduler call except SUBSCRIBE. `framework_id` is set from the subscription.
   * Resolves on 2xx (202 Accepted means queued by the master; results arrive as events).
   */
  async call(call: Call): Promise<void> {
    const type = call.type;
    if (type === 'SUBSCRIBE') throw new SchedulerClientError('SUBSCRIBE is sent by start(), not call()');
    if (this.stopped) throw new ClientStoppedError(`${type}: SchedulerClient is stopped`);
    return this.calls.send(call);
  }

  // ------------------------------------------------------------------------------------------
  // connection loop

  private async runLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.setState({ state: 'connecting', attempt: failures + 1 });
      const outcome = await this.attempt(failures + 1);
      if (this.stopped) break;
      if (outcome.fatal) {
        this.report(outcome.fatal);
        await this.terminate(outcome.fatal);
        break;
      }
      if (this.wasHealthy(outcome)) failures = 0;
      if (outcome.error) this.report(outcome.error);
      const delay = backoffDelay(failures, this.backoff, this.random);
      failures++;
      this.log.info('reconnecting', {
        event: 'reconnecting',
        attempt: failures,
        delay_ms: delay,
        reason: outcome.reason,
        master: outcome.masterUrl,
        framework_id: this.frameworkId,
      });
      this.setState({ state: 'backing-off', attempt: failures, delayMs: delay, reason: outcome.reason, error: outcome.error });
      await this.sleep(delay);
    }
  }

  /**
   * Did the stream stay healthy long enough to start the backoff over? Only a stream that kept
   * delivering events for healthyStreamMs (default 3 heartbeat intervals) after SUBSCRIBED does:
   * a master that subscribes and drops the stream (or garbles it) at once is retried with a
   * growing delay, not in a storm.
   */
  private wasHealthy(o: StreamOutcome): boolean {
    if (!o.subscribed) return false;
    const need = this.healthyStreamMs ?? Math.max(MIN_HEALTHY_STREAM_MS, 3 * (o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_S * 1000));
    return o.healthyMs >= need;
  }

  /** One connection attempt: detect, SUBSCRIBE (following redirects), read the stream to its end. */
  private async attempt(attemptNo: number): Promise<StreamOutcome> {
    const ac = new AbortController();
    this.subscribeAbort = ac;
    const opened = await openSubscription(
      {
        detector: this.detector,
        dispatcher: this.streamAgent,
        clock: this.clock,
        log: this.log,
        codec: this.codec,
        subscribeTimeoutMs: this.subscribeTimeoutMs,
        maxRedirects: this.maxRedirects,
        stopped: () => this.stopped,
        headers: () => this.headers(undefined),
        body: () => this.codec.encode(CALL, this.subscribeCall()),
        onRequest: (origin) => {
          this.setState({ state: 'connecting', attempt: attemptNo, masterUrl: origin });
          this.log.info('subscribe_attempt', {
            event: 'subscribe_attempt',
            master: origin,
            attempt: attemptNo,
            framework_id: this.frameworkId,
            content_type: this.contentType,
          });
        },
      },
      ac,
    );
    if ('failed' in opened) return opened.failed;
    const { body, origin, streamId, codec } = opened.stream;
    const reader = new StreamReader(this.streamHost, body, ac, ++this.epoch, origin, streamId, codec);
    this.statsCounters.streams++;
    this.stream = reader;
    const outcome = await reader.read();
    // the master may be gone (cut, EOF, silence, garbage): let the detector look again next time
    if (outcome.reason !== 'error_event' && outcome.reason !== 'not_subscribed' && outcome.reason !== 'stopped') {
      this.detector.failed(origin);
    }
    return { ...outcome, masterUrl: origin };
  }

  private subscribeCall(): Call {
    const info: FrameworkInfo = { ...this.frameworkInfo };
    const call: Call = { type: 'SUBSCRIBE', subscribe: { framework_info: info } };
    if (this.frameworkId) {
      // re-subscription: both ids must be present and identical (gotcha 23)
      info.id = { value: this.frameworkId };
      call.framework_id = { value: this.frameworkId };
    } else {
      delete info.id;
    }
    if (this.suppressedRoles.length) call.subscribe!.suppressed_roles = [...this.suppressedRoles];
    return call;
  }

  private headers(streamId: string | undefined): Record<string, string> {
    const h: Record<string, string> = { 'content-type': this.contentType, accept: this.contentType };
    if (streamId !== undefined) h['mesos-stream-id'] = streamId;
    if (this.authHeader) h['authorization'] = this.authHeader;
    return h;
  }

  /** Connection bookkeeping on receipt of an event (before delivery), then queue it for delivery. */
  private received(reader: StreamReader, ev: Event): void {
    if (ev.type === 'SUBSCRIBED') return this.subscribedEvent(reader, ev);
    if (ev.type !== 'ERROR') return this.delivery.enqueue(ev);
    const message = ev.error?.message ?? '';
    this.log.warn('error_event', { event: 'error_event', error_message: message, master: reader.masterUrl, framework_id: this.frameworkId });
    this.delivery.enqueue(ev);
    this.delivery.deliver();
    if (message.includes(FRAMEWORK_REMOVED)) {
      const fatal = new FrameworkRemovedError(this.frameworkId, message);
      this.log.error('framework_removed', { event: 'framework_removed', framework_id: this.frameworkId, error_message: message });
      reader.finish({ reason: 'error_event', fatal, error: fatal });
    } else {
      reader.finish({ reason: 'error_event', error: new MesosErrorEvent(message, reader.masterUrl) });
    }
  }

  /** SUBSCRIBED: the framework id, the heartbeat limit, the session calls go out in. */
  private subscribedEvent(reader: StreamReader, ev: Event): void {
    const sub = ev.subscribed;
    const fid = sub?.framework_id?.value;
    if (!fid) return this.delivery.enqueue(ev);
    if (this.frameworkId && this.frameworkId !== fid) {
      this.log.warn('framework_id_changed', { event: 'framework_id_changed', from: this.frameworkId, to: fid });
    }
    this.frameworkId = fid;
    const hb = sub.heartbeat_interval_seconds;
    reader.markSubscribed(hb);
    this.session = { frameworkId: fid, streamId: reader.streamId, masterUrl: reader.masterUrl, epoch: reader.epoch, codec: reader.codec };
    this.log.info('subscribed', {
      event: 'subscribed',
      framework_id: fid,
      stream_id: reader.streamId,
      master: reader.masterUrl,
      master_id: (sub.master_info as MasterInfo | undefined)?.id,
      heartbeat_interval_seconds: hb,
    });
    this.setState({ state: 'subscribed', frameworkId: fid, streamId: reader.streamId, masterUrl: reader.masterUrl });
    this.wakeWaiters();
    this.delivery.enqueue(ev);
  }

  /** Pauses or resumes the HTTP body according to the backlog. */
  private updateFlow(): void {
    this.stream?.flow(this.delivery.paused, this.delivery.buffered);
  }

  private wakeWaiters(): void {
    const s = this.session;
    if (!s) return;
    this.calls.wake(s);
    for (const r of [...this.readyWaiters]) {
      this.readyWaiters.delete(r);
      r.resolve(this.connection$.value);
    }
  }

  /** A call was told the framework is not subscribed: drop the stream of that epoch and re-SUBSCRIBE. */
  private forceResubscribe(epoch: number, cause: Error): void {
    const ctx = this.stream;
    if (!ctx || ctx.epoch !== epoch || ctx.done) return;
    this.log.warn('resubscribe_forced', { event: 'resubscribe_forced', master: ctx.masterUrl, stream_id: ctx.streamId, cause: cause.message });
    ctx.finish({ reason: 'not_subscribed', error: new StreamError(`Master says ${NOT_SUBSCRIBED}; re-subscribing`, 'not_subscribed', cause) });
  }

  // ------------------------------------------------------------------------------------------
  // helpers

  private setState(s: ConnectionState): void {
    if (this.stopped && s.state !== 'stopped') return;
    this.connection$.next(s);
  }

  private report(e: Error): void {
    this.clientErrorsSubject.next(e);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const s: Sleeper = {
        resolve: () => {
          this.clock.clearTimer(s.timer);
          if (this.sleeper === s) this.sleeper = undefined;
          resolve();
        },
        timer: this.clock.setTimeout(() => s.resolve(), ms),
      };
      this.sleeper = s;
    });
  }

  private terminate(error: Error | undefined): Promise<void> {
    if (this.shuttingDown) return this.shuttingDown;
    this.shuttingDown = (async () => {
      this.stopped = true;
      this.leaderChangeOff?.();
      this.session = undefined;
      this.subscribeAbort?.abort();
      this.stream?.finish({ reason: 'stopped' });
      this.sleeper?.resolve();
      const stopErr = error ?? new ClientStoppedError('SchedulerClient stopped');
      this.calls.stop(error, stopErr);
      for (const r of [...this.readyWaiters]) {
        this.readyWaiters.delete(r);
        r.reject(stopErr);
      }
      this.delivery.clear();
      this.connection$.next(error ? { state: 'stopped', error } : { state: 'stopped' });
      this.log.info('client_stopped', { event: 'client_stopped', framework_id: this.frameworkId, ...(error ? { error: error.message } : {}) });
      this.eventsSubject.complete();
      this.clientErrorsSubject.complete();
      await Promise.allSettled([
        this.streamAgent.destroy(),
        this.callAgent.destroy(),
        this.ownsDetector ? this.detector.close() : Promise.resolve(),
      ]);
    })();
    return this.shuttingDown;
  }
}
