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
 */
import { BehaviorSubject, Observable, Subject, filter, map } from 'rxjs';
import { request, type Dispatcher } from 'undici';
import { codecFor, type Codec, type MediaType } from '../mesos/codec.js';
import { CodecError, RecordIOError } from '../mesos/errors.js';
import { RecordIODecoder, DEFAULT_MAX_RECORD_BYTES } from '../mesos/recordio.js';
import type {
  AgentID,
  Call,
  CallType,
  DurationInfo,
  Event,
  ExecutorID,
  Filters,
  FrameworkID,
  FrameworkInfo,
  InverseOffer,
  MasterInfo,
  Offer,
  OfferID,
  Operation,
  TaskStatus,
} from '../mesos/types.js';
import { RealClock, type Clock, type TimerHandle } from '../util/clock.js';
import { nullLogger, type Logger } from '../util/logger.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from '../util/backoff.js';
import { calls, OFFER_SCOPED_CALLS, replaySafe, type IdLike } from '../mesos/calls.js';
import { StaticListDetector, type LeaderDetector } from './detector.js';
import { headerValue, openSubscription, readText, type StreamBody, type StreamOutcome } from './subscribe.js';
import {
  CallTimeoutError,
  ClientStoppedError,
  ConnectionError,
  FrameworkRemovedError,
  MesosErrorEvent,
  MesosHttpError,
  NotSubscribedError,
  SchedulerClientError,
  StreamError,
} from './errors.js';
import {
  SCHEDULER_PATH,
  basicAuthHeader,
  certainlyNotSent,
  createDispatcher,
  describeError,
  errorCode,
  masterCredentials,
  parseMasterUrls,
  redactLocation,
  resolveLocation,
  type BasicAuth,
  type TlsOptions,
} from './http.js';

const EVENT = 'mesos.v1.scheduler.Event';
const CALL = 'mesos.v1.scheduler.Call';
const DEFAULT_HEARTBEAT_INTERVAL_S = 15;
/** heartbeat_interval_seconds of SUBSCRIBED is clamped to [0.1 s, 5 min] (Mesos sends 15 s). */
const MIN_HEARTBEAT_INTERVAL_MS = 100;
const MAX_HEARTBEAT_INTERVAL_MS = 300_000;
/** Least healthy time that resets the backoff by default, whatever the heartbeat interval. */
const MIN_HEALTHY_STREAM_MS = 3_000;
const FRAMEWORK_REMOVED = 'Framework has been removed';
const NOT_SUBSCRIBED = 'Framework is not subscribed';

export interface SchedulerClientOptions {
  /** Master URLs, `http(s)://host:port` (bare `host:port` = http). For `zk://` masters the runtime passes a ZkMasterDetector as `detector`. */
  masters: readonly string[];
  /**
   * The FrameworkInfo sent on SUBSCRIBE. The client adds nothing: choose `capabilities` (e.g.
   * MULTI_ROLE with `roles`, PARTITION_AWARE, TASK_KILLING_STATE) and a production
   * `failover_timeout` yourself (Mesos's default 0 tears the framework down on any disconnect).
   * Set `id` to resume an existing framework (e.g. one persisted in the store).
   */
  frameworkInfo: FrameworkInfo;
  /** Roles to subscribe suppressed (Call.Subscribe.suppressed_roles). */
  suppressedRoles?: readonly string[];
  /** Encoding of the stream (Accept) and of the calls (Content-Type). Default application/json. */
  contentType?: MediaType;
  /** HTTP Basic credentials for masters with framework HTTP authentication. */
  auth?: BasicAuth;
  tls?: TlsOptions;
  clock?: Clock;
  logger?: Logger;
  /** Largest RecordIO record accepted (default 16 MiB, DEFAULT_MAX_RECORD_BYTES; see README "Record size"). */
  maxRecordBytes?: number;
  /** Watchdog: reconnect after this many heartbeat intervals without a complete event (default 5). */
  heartbeatTimeoutFactor?: number;
  /** Reconnect backoff (default: 500 ms doubling, cap 15 s, 50 % jitter). */
  backoff?: Partial<BackoffPolicy>;
  /** Random source for backoff jitter (tests). */
  random?: () => number;
  /** Deadline of every call, queueing and retries included (default 75 s). */
  callTimeoutMs?: number;
  /** Time allowed for a SUBSCRIBE to get response headers (default 75 s). */
  subscribeTimeoutMs?: number;
  /**
   * Time allowed, after the 200 headers, for the SUBSCRIBED event to arrive complete (default 30 s).
   * A master that answers 200 and then trickles bytes is abandoned after this and retried.
   */
  subscribedTimeoutMs?: number;
  /**
   * A stream resets the reconnect backoff only if it stayed healthy this long: from SUBSCRIBED to
   * the last complete event it delivered (default: 3 × heartbeat_interval_seconds of SUBSCRIBED,
   * 45 s with Mesos's 15 s). A master that subscribes and drops the stream at once is retried
   * with a growing delay instead of ~2 times a second.
   */
  healthyStreamMs?: number;
  /** Retries of a call answered 503/404 or refused (default 3). */
  maxCallRetries?: number;
  /** Redirects followed per request (default 5). */
  maxRedirects?: number;
  /** Calls that may wait for a subscription (default 1000). */
  maxQueuedCalls?: number;
  /** Events held for a paused consumer before the HTTP body is paused (default 1000). */
  maxBufferedEvents?: number;
  /** Leader detection (default: StaticListDetector over `masters`; `masters` are then not used). */
  detector?: LeaderDetector;
}

export type ConnectionState =
  | { state: 'disconnected' }
  | { state: 'connecting'; attempt: number; masterUrl?: string }
  | { state: 'subscribed'; frameworkId: string; streamId: string; masterUrl: string }
  | { state: 'backing-off'; attempt: number; delayMs: number; reason: string; error?: Error }
  | { state: 'stopped'; error?: Error };

export type SubscribedInfo = NonNullable<Event['subscribed']>;
export type MessagePayload = NonNullable<Event['message']>;
export type FailurePayload = NonNullable<Event['failure']>;
export type ErrorPayload = NonNullable<Event['error']>;
export type OperationStatusPayload = NonNullable<Event['update_operation_status']>;

interface Session {
  frameworkId: string;
  streamId: string;
  masterUrl: string;
  epoch: number;
  codec: Codec;
}

interface Waiter {
  resolve: (s: Session) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

/** Live state of the stream being read. */
interface StreamCtx {
  epoch: number;
  masterUrl: string;
  streamId: string;
  codec: Codec;
  body: StreamBody;
  abort: AbortController;
  decoder: RecordIODecoder;
  /** Stream offset of the next record (sum of framed sizes of the records seen). */
  offset: number;
  records: number;
  /** Bytes read from this stream. */
  bytes: number;
  /** Clock time of the 200 headers (start of the subscribedTimeoutMs bound). */
  openedAt: number;
  /** Clock time of the SUBSCRIBED event. */
  subscribedAt: number;
  /**
   * Clock time of the last complete record (bytes of a record still in flight do not count: a
   * master trickling a never-ending record must trip the watchdog).
   */
  lastEventAt: number;
  watchdog?: TimerHandle;
  /** heartbeat_interval_seconds of SUBSCRIBED, in ms (15 s until then). */
  heartbeatIntervalMs: number;
  /** Watchdog limit: heartbeatTimeoutFactor × heartbeatIntervalMs. */
  heartbeatMs: number;
  paused: boolean;
  finish: (o: Omit<StreamOutcome, 'subscribed' | 'masterUrl' | 'healthyMs' | 'heartbeatIntervalMs'>) => void;
  done: boolean;
  subscribed: boolean;
}

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
  private readonly maxRecordBytes: number;
  private readonly heartbeatFactor: number;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly callTimeoutMs: number;
  private readonly subscribeTimeoutMs: number;
  private readonly subscribedTimeoutMs: number;
  private readonly healthyStreamMs: number | undefined;
  private readonly maxCallRetries: number;
  private readonly maxRedirects: number;
  private readonly maxQueuedCalls: number;
  private readonly maxBufferedEvents: number;
  private readonly detector: LeaderDetector;
  private readonly ownsDetector: boolean;
  private readonly streamAgent: Dispatcher;
  private readonly callAgent: Dispatcher;

  // ---- state ----
  private started = false;
  private stopped = false;
  private frameworkId: string | undefined;
  private session: Session | undefined;
  private stream: StreamCtx | undefined;
  private epoch = 0;
  private loop: Promise<void> | undefined;
  private sleeper: Sleeper | undefined;
  private subscribeAbort: AbortController | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly inflight = new Set<AbortController>();
  private readonly callSleepers = new Set<Sleeper>();
  // delivery FIFO (array + head index, compacted when drained)
  private queue: Event[] = [];
  private queueHead = 0;
  private delivering = false;
  private consumerPaused = false;
  private readonly statsCounters = { bytes: 0, chunks: 0, records: 0, streams: 0 };
  private readonly readyWaiters = new Set<{ resolve: (s: ConnectionState) => void; reject: (e: Error) => void }>();

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
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.heartbeatFactor = opts.heartbeatTimeoutFactor ?? 5;
    this.backoff = { ...DEFAULT_BACKOFF, ...(opts.backoff ?? {}) };
    this.random = opts.random ?? Math.random;
    this.callTimeoutMs = opts.callTimeoutMs ?? 75_000;
    this.subscribeTimeoutMs = opts.subscribeTimeoutMs ?? 75_000;
    this.subscribedTimeoutMs = opts.subscribedTimeoutMs ?? 30_000;
    this.healthyStreamMs = opts.healthyStreamMs;
    this.maxCallRetries = opts.maxCallRetries ?? 3;
    this.maxRedirects = opts.maxRedirects ?? 5;
    this.maxQueuedCalls = opts.maxQueuedCalls ?? 1000;
    this.maxBufferedEvents = opts.maxBufferedEvents ?? 1000;
    this.streamAgent = createDispatcher(opts.tls, { keepAlive: false });
    this.callAgent = createDispatcher(opts.tls, { keepAlive: true });
    this.ownsDetector = !opts.detector;
    this.detector =
      opts.detector ?? new StaticListDetector(this.masters, { tls: opts.tls, clock: this.clock, logger: this.log });
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
    this.loop = this.runLoop().catch((e: unknown) => {
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
    return this.queue.length - this.queueHead;
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
    if (this.consumerPaused) return;
    this.consumerPaused = true;
    this.updateFlow();
  }

  /** Deliver held events and read the stream again. */
  resume(): void {
    if (!this.consumerPaused) return;
    this.consumerPaused = false;
    this.deliver();
  }

  get paused(): boolean {
    return this.consumerPaused;
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
    const deadline = this.clock.now() + this.callTimeoutMs;
    const offerScoped = OFFER_SCOPED_CALLS.has(type);
    let firstEpoch: number | undefined;
    let retries = 0;
    for (;;) {
      const session = await this.waitForSession(type, deadline, offerScoped);
      if (firstEpoch === undefined) firstEpoch = session.epoch;
      else if (offerScoped && session.epoch !== firstEpoch) {
        throw new NotSubscribedError(`${type}: the subscription it was made in has ended; its offers are void`, type);
      }
      const body = this.codec.encode(CALL, { ...call, framework_id: { value: session.frameworkId } as FrameworkID });
      const result = await this.sendCall(type, body, session, deadline);
      if (result.ok) return;
      const err = result.error;
      const retryable = result.retryable && retries < this.maxCallRetries;
      if (!retryable) {
        if (err instanceof MesosHttpError) {
          this.log.warn('call_failed', { event: 'call_failed', type, status: err.status, body: err.body, master: session.masterUrl });
          if (err.status === 403 && err.body.includes(NOT_SUBSCRIBED)) this.forceResubscribe(session.epoch, err);
        } else {
          this.log.warn('call_failed', { event: 'call_failed', type, error: describeError(err), master: session.masterUrl });
        }
        throw err;
      }
      const delay = Math.min(backoffDelay(retries, this.backoff, this.random), Math.max(0, deadline - this.clock.now()));
      retries++;
      this.log.info('call_retry', {
        event: 'call_retry',
        type,
        attempt: retries,
        delay_ms: delay,
        ...(err instanceof MesosHttpError ? { status: err.status, body: err.body } : { error: describeError(err) }),
      });
      if (this.clock.now() + delay >= deadline) throw new CallTimeoutError(type, this.callTimeoutMs);
      await this.callSleep(delay);
      if (this.stopped) throw new ClientStoppedError(`${type}: SchedulerClient stopped`);
    }
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
    const outcome = await this.readStream(body, ac, origin, streamId, codec);
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

  /** Reads one 200 SUBSCRIBE stream until it ends for any reason. Never throws. */
  private readStream(
    body: StreamCtx['body'],
    abort: AbortController,
    masterUrl: string,
    streamId: string,
    codec: Codec,
  ): Promise<Omit<StreamOutcome, 'masterUrl'>> {
    const epoch = ++this.epoch;
    this.statsCounters.streams++;
    return new Promise((resolveOutcome) => {
      const ctx: StreamCtx = {
        epoch,
        masterUrl,
        streamId,
        codec,
        body,
        abort,
        decoder: new RecordIODecoder({ maxRecordBytes: this.maxRecordBytes }),
        offset: 0,
        records: 0,
        bytes: 0,
        openedAt: this.clock.now(),
        subscribedAt: 0,
        lastEventAt: this.clock.now(),
        heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_S * 1000,
        heartbeatMs: this.heartbeatFactor * DEFAULT_HEARTBEAT_INTERVAL_S * 1000,
        paused: false,
        done: false,
        subscribed: false,
        finish: (o) => {
          if (ctx.done) return;
          ctx.done = true;
          this.clock.clearTimer(ctx.watchdog);
          ctx.watchdog = undefined;
          body.removeListener('data', onData);
          body.removeListener('end', onEnd);
          body.removeListener('error', onError);
          body.on('error', () => undefined); // late errors after we let go
          if (!abort.signal.aborted) abort.abort();
          body.destroy();
          if (this.stream === ctx) this.stream = undefined;
          if (this.session?.epoch === epoch) this.session = undefined;
          const level = o.reason === 'stopped' ? 'info' : 'warn';
          this.log.log(level, 'stream_closed', {
            event: 'stream_closed',
            reason: o.reason,
            master: masterUrl,
            stream_id: streamId,
            framework_id: this.frameworkId,
            records: ctx.records,
            ...(o.error ? { error: o.error.message } : {}),
          });
          resolveOutcome({
            ...o,
            subscribed: ctx.subscribed,
            healthyMs: ctx.subscribed ? Math.max(0, ctx.lastEventAt - ctx.subscribedAt) : 0,
            heartbeatIntervalMs: ctx.heartbeatIntervalMs,
          });
        },
      };
      this.stream = ctx;
      const onData = (chunk: Buffer) => this.onChunk(ctx, chunk);
      const onEnd = () => {
        let error: Error | undefined;
        try {
          ctx.decoder.end();
        } catch (e) {
          error = e as Error;
        }
        ctx.finish({
          reason: 'eof',
          error: error
            ? new StreamError(`Stream from ${masterUrl} ended mid-record: ${error.message}`, 'eof', error)
            : new StreamError(`Stream from ${masterUrl} ended (EOF)`, 'eof'),
        });
      };
      const onError = (e: Error) => {
        if (this.stopped) return ctx.finish({ reason: 'stopped' });
        ctx.finish({
          reason: 'connection_error',
          error: new ConnectionError(`Stream from ${masterUrl} broke: ${describeError(e)}`, masterUrl, errorCode(e), e),
        });
      };
      body.on('data', onData);
      body.on('end', onEnd);
      body.on('error', onError);
      this.armWatchdog(ctx);
      if (this.stopped) ctx.finish({ reason: 'stopped' });
      else this.updateFlow();
    });
  }

  private onChunk(ctx: StreamCtx, chunk: Buffer): void {
    if (ctx.done) return;
    ctx.bytes += chunk.length;
    this.statsCounters.bytes += chunk.length;
    this.statsCounters.chunks++;
    const records: Buffer[] = [];
    let framingError: RecordIOError | undefined;
    try {
      ctx.decoder.feed(chunk, (r) => records.push(r));
    } catch (e) {
      framingError = e instanceof RecordIOError ? e : new RecordIOError(describeError(e), ctx.offset);
    }
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      const recordOffset = ctx.offset;
      ctx.offset += decimalDigits(rec.length) + 1 + rec.length;
      ctx.records++;
      ctx.lastEventAt = this.clock.now();
      this.statsCounters.records++;
      let ev: Event;
      try {
        ev = ctx.codec.decode<Event>(EVENT, rec);
      } catch (e) {
        const err = e instanceof CodecError ? e : new CodecError(describeError(e));
        this.log.error('bad_record', {
          event: 'bad_record',
          kind: 'codec',
          master: ctx.masterUrl,
          stream_id: ctx.streamId,
          offset: recordOffset,
          record_index: ctx.records - 1,
          record_bytes: rec.length,
          preview: preview(rec, ctx.codec),
          error: err.message,
        });
        this.deliver();
        ctx.finish({
          reason: 'codec_error',
          error: new StreamError(`Undecodable event at stream offset ${recordOffset} from ${ctx.masterUrl}: ${err.message}`, 'codec_error', err),
        });
        return;
      }
      this.onEvent(ctx, ev);
      if (ctx.done) break;
    }
    if (framingError && !ctx.done) {
      this.log.error('bad_record', {
        event: 'bad_record',
        kind: 'recordio',
        master: ctx.masterUrl,
        stream_id: ctx.streamId,
        offset: framingError.offset,
        error: framingError.message,
      });
      this.deliver();
      ctx.finish({
        reason: 'recordio_error',
        error: new StreamError(`Bad RecordIO framing from ${ctx.masterUrl}: ${framingError.message}`, 'recordio_error', framingError),
      });
      return;
    }
    this.deliver();
  }

  /** Connection bookkeeping on receipt (before delivery), then queue for delivery. */
  private onEvent(ctx: StreamCtx, ev: Event): void {
    switch (ev.type) {
      case 'SUBSCRIBED': {
        const sub = ev.subscribed;
        const fid = sub?.framework_id?.value;
        if (!fid) {
          this.enqueue(ev);
          return;
        }
        if (this.frameworkId && this.frameworkId !== fid) {
          this.log.warn('framework_id_changed', { event: 'framework_id_changed', from: this.frameworkId, to: fid });
        }
        this.frameworkId = fid;
        const hb = sub.heartbeat_interval_seconds;
        if (typeof hb === 'number' && hb > 0) {
          // a hostile interval can neither make the watchdog fire constantly nor switch it off
          const intervalMs = Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(MIN_HEARTBEAT_INTERVAL_MS, hb * 1000));
          ctx.heartbeatIntervalMs = intervalMs;
          ctx.heartbeatMs = this.heartbeatFactor * intervalMs;
        }
        ctx.subscribed = true;
        ctx.subscribedAt = this.clock.now();
        // from now on the heartbeat limit applies (not the SUBSCRIBED deadline)
        this.clock.clearTimer(ctx.watchdog);
        this.armWatchdog(ctx);
        this.session = { frameworkId: fid, streamId: ctx.streamId, masterUrl: ctx.masterUrl, epoch: ctx.epoch, codec: ctx.codec };
        this.log.info('subscribed', {
          event: 'subscribed',
          framework_id: fid,
          stream_id: ctx.streamId,
          master: ctx.masterUrl,
          master_id: (sub.master_info as MasterInfo | undefined)?.id,
          heartbeat_interval_seconds: hb,
        });
        this.setState({ state: 'subscribed', frameworkId: fid, streamId: ctx.streamId, masterUrl: ctx.masterUrl });
        this.wakeWaiters();
        this.enqueue(ev);
        return;
      }
      case 'ERROR': {
        const message = ev.error?.message ?? '';
        this.log.warn('error_event', { event: 'error_event', error_message: message, master: ctx.masterUrl, framework_id: this.frameworkId });
        this.enqueue(ev);
        this.deliver();
        if (message.includes(FRAMEWORK_REMOVED)) {
          const fatal = new FrameworkRemovedError(this.frameworkId, message);
          this.log.error('framework_removed', { event: 'framework_removed', framework_id: this.frameworkId, error_message: message });
          ctx.finish({ reason: 'error_event', fatal, error: fatal });
        } else {
          ctx.finish({ reason: 'error_event', error: new MesosErrorEvent(message, ctx.masterUrl) });
        }
        return;
      }
      default:
        this.enqueue(ev);
    }
  }

  // ------------------------------------------------------------------------------------------
  // delivery and flow control

  private enqueue(ev: Event): void {
    this.queue.push(ev);
  }

  private deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (!this.consumerPaused && this.queueHead < this.queue.length && !this.stopped) {
        const ev = this.queue[this.queueHead]!;
        this.queue[this.queueHead++] = undefined as unknown as Event;
        this.eventsSubject.next(ev);
      }
      if (this.queueHead === this.queue.length) {
        this.queue = [];
        this.queueHead = 0;
      } else if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
    } finally {
      this.delivering = false;
    }
    this.updateFlow();
  }

  /** Pauses or resumes the HTTP body according to the backlog. */
  private updateFlow(): void {
    const ctx = this.stream;
    if (!ctx || ctx.done) return;
    const backlog = this.bufferedEvents;
    if (!ctx.paused) {
      if (this.consumerPaused && backlog >= this.maxBufferedEvents) {
        ctx.paused = true;
        ctx.body.pause();
        this.log.warn('slow_consumer', {
          event: 'slow_consumer',
          buffered_events: backlog,
          max_buffered_events: this.maxBufferedEvents,
          master: ctx.masterUrl,
        });
      }
    } else if (!this.consumerPaused || (backlog <= Math.floor(this.maxBufferedEvents / 2) && backlog < this.maxBufferedEvents)) {
      // consumer back, or (re-paused) with the backlog down to half: read again
      ctx.paused = false;
      this.restartWatchdogClock(ctx); // the watchdog was suspended while we did not read
      this.log.info('consumer_caught_up', { event: 'consumer_caught_up', buffered_events: backlog, master: ctx.masterUrl });
      ctx.body.resume();
    }
  }

  /**
   * One timer per stream, two limits: until SUBSCRIBED, the event must arrive complete within
   * subscribedTimeoutMs of the response headers; after it, a complete record must arrive at least
   * every heartbeatMs. Bytes alone never count (a master trickling one byte a second cannot hold
   * the client). Both are suspended while the client itself paused reading (backpressure).
   */
  private armWatchdog(ctx: StreamCtx): void {
    const limit = () => (ctx.subscribed ? ctx.heartbeatMs : this.subscribedTimeoutMs);
    const since = () => (ctx.subscribed ? ctx.lastEventAt : ctx.openedAt);
    const check = () => {
      ctx.watchdog = undefined;
      if (ctx.done) return;
      const now = this.clock.now();
      if (ctx.paused) {
        this.restartWatchdogClock(ctx);
        ctx.watchdog = this.clock.setTimeout(check, limit());
        return;
      }
      const silence = now - since();
      if (silence >= limit()) return this.watchdogFired(ctx, silence);
      ctx.watchdog = this.clock.setTimeout(check, limit() - silence);
    };
    ctx.watchdog = this.clock.setTimeout(check, Math.max(0, limit() - (this.clock.now() - since())));
  }

  private restartWatchdogClock(ctx: StreamCtx): void {
    const now = this.clock.now();
    ctx.lastEventAt = now;
    if (!ctx.subscribed) ctx.openedAt = now;
  }

  private watchdogFired(ctx: StreamCtx, silence: number): void {
    if (!ctx.subscribed) {
      const received = ctx.decoder.bufferedBytes;
      this.log.warn('subscribed_timeout', {
        event: 'subscribed_timeout',
        master: ctx.masterUrl,
        stream_id: ctx.streamId,
        waited_ms: silence,
        timeout_ms: this.subscribedTimeoutMs,
        partial_record_bytes: received,
      });
      ctx.finish({
        reason: 'subscribe_timeout',
        error: new StreamError(
          `No SUBSCRIBED event from ${ctx.masterUrl} within ${this.subscribedTimeoutMs} ms of the response headers ` +
            `(${ctx.bytes} bytes received, ${received} of them in an incomplete record)`,
          'subscribe_timeout',
        ),
      });
      return;
    }
    this.log.warn('heartbeat_missed', {
      event: 'heartbeat_missed',
      master: ctx.masterUrl,
      stream_id: ctx.streamId,
      silence_ms: silence,
      timeout_ms: ctx.heartbeatMs,
      partial_record_bytes: ctx.decoder.bufferedBytes,
    });
    ctx.finish({
      reason: 'heartbeat_missed',
      error: new StreamError(`No complete event from ${ctx.masterUrl} for ${silence} ms (limit ${ctx.heartbeatMs} ms)`, 'heartbeat_missed'),
    });
  }

  // ------------------------------------------------------------------------------------------
  // call plumbing

  private waitForSession(type: CallType, deadline: number, offerScoped: boolean): Promise<Session> {
    if (this.stopped) return Promise.reject(new ClientStoppedError(`${type}: SchedulerClient is stopped`));
    if (this.session) return Promise.resolve(this.session);
    if (offerScoped) {
      return Promise.reject(
        new NotSubscribedError(`${type} rejected: not subscribed (offers do not survive a lost subscription)`, type),
      );
    }
    if (this.waiters.size >= this.maxQueuedCalls) {
      return Promise.reject(new NotSubscribedError(`${type} rejected: not subscribed and ${this.maxQueuedCalls} calls already wait`, type));
    }
    const remaining = deadline - this.clock.now();
    if (remaining <= 0) return Promise.reject(new NotSubscribedError(`${type}: not subscribed within the call timeout`, type));
    return new Promise<Session>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: this.clock.setTimeout(() => {
          this.waiters.delete(w);
          reject(new NotSubscribedError(`${type}: not subscribed within ${this.callTimeoutMs} ms`, type));
        }, remaining),
      };
      this.waiters.add(w);
    });
  }

  private wakeWaiters(): void {
    const s = this.session;
    if (!s) return;
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      this.clock.clearTimer(w.timer);
      w.resolve(s);
    }
    for (const r of [...this.readyWaiters]) {
      this.readyWaiters.delete(r);
      r.resolve(this.connection$.value);
    }
  }

  private async sendCall(
    type: CallType,
    body: Buffer,
    session: Session,
    deadline: number,
  ): Promise<{ ok: true } | { ok: false; error: Error; retryable: boolean }> {
    let url = session.masterUrl + SCHEDULER_PATH;
    for (let redirects = 0; ; redirects++) {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) return { ok: false, error: new CallTimeoutError(type, this.callTimeoutMs), retryable: false };
      const ac = new AbortController();
      this.inflight.add(ac);
      let timedOut = false;
      const timer = this.clock.setTimeout(() => {
        timedOut = true;
        ac.abort();
      }, remaining);
      try {
        let res: Dispatcher.ResponseData;
        try {
          res = await request(url, {
            method: 'POST',
            headers: this.headers(session.streamId),
            body,
            dispatcher: this.callAgent,
            signal: ac.signal,
          });
        } catch (e) {
          if (this.stopped) return { ok: false, error: new ClientStoppedError(`${type}: SchedulerClient stopped`), retryable: false };
          if (timedOut) return { ok: false, error: new CallTimeoutError(type, this.callTimeoutMs), retryable: false };
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
        if (status === 307) {
          const location = headerValue(res.headers['location']);
          await res.body.dump().catch(() => undefined);
          if (!location) return { ok: false, error: new MesosHttpError(307, 'redirect without Location', type, url), retryable: false };
          let target: URL;
          try {
            target = resolveLocation(location, url);
          } catch {
            return { ok: false, error: new MesosHttpError(307, `unusable Location ${JSON.stringify(redactLocation(location))}`, type, url), retryable: false };
          }
          this.log.info('redirected', { event: 'redirected', from: new URL(url).origin, to: target.origin, location: redactLocation(location), call: type });
          this.detector.redirected(target.origin);
          if (redirects + 1 > this.maxRedirects) {
            return { ok: false, error: new MesosHttpError(307, `too many redirects (last: ${redactLocation(location)})`, type, url), retryable: false };
          }
          url = target.href;
          continue;
        }
        const text = await readText(res.body);
        return { ok: false, error: new MesosHttpError(status, text, type, url), retryable: status === 503 || status === 404 };
      } finally {
        this.clock.clearTimer(timer);
        this.inflight.delete(ac);
      }
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

  private callSleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s: Sleeper = {
        resolve: () => {
          this.clock.clearTimer(s.timer);
          this.callSleepers.delete(s);
          resolve();
        },
        timer: this.clock.setTimeout(() => s.resolve(), ms),
      };
      this.callSleepers.add(s);
    });
  }

  private shuttingDown: Promise<void> | undefined;
  private leaderChangeOff: (() => void) | undefined;

  private terminate(error: Error | undefined): Promise<void> {
    if (this.shuttingDown) return this.shuttingDown;
    this.shuttingDown = (async () => {
      this.stopped = true;
      this.leaderChangeOff?.();
      this.session = undefined;
      this.subscribeAbort?.abort();
      this.stream?.finish({ reason: 'stopped' });
      this.sleeper?.resolve();
      for (const s of [...this.callSleepers]) s.resolve();
      for (const ac of [...this.inflight]) ac.abort();
      const stopErr = error ?? new ClientStoppedError('SchedulerClient stopped');
      for (const w of [...this.waiters]) {
        this.waiters.delete(w);
        this.clock.clearTimer(w.timer);
        w.reject(error ? new ClientStoppedError(`SchedulerClient stopped: ${error.message}`) : stopErr);
      }
      for (const r of [...this.readyWaiters]) {
        this.readyWaiters.delete(r);
        r.reject(stopErr);
      }
      this.queue = [];
      this.queueHead = 0;
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

function decimalDigits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function preview(rec: Buffer, codec: Codec): string {
  const head = rec.subarray(0, 160);
  return codec.mediaType === 'application/json' ? head.toString('utf8') : head.toString('hex');
}
