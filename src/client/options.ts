/** Options and public types of the scheduler client (client.ts). */
import type { MediaType } from '../mesos/codec.js';
import type { Event, FrameworkInfo } from '../mesos/types.js';
import type { BackoffPolicy } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { LeaderDetector } from './detector.js';
import type { BasicAuth, TlsOptions } from './http.js';

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
