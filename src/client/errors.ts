/**
 * Typed errors of the scheduler client. Every error a caller can see is one of these (or a wire
 * error from src/mesos: CodecError, RecordIOError), so callers can branch on `instanceof` and
 * operators get a message they can act on.
 */

import { redactText, redactUrl } from '../util/redact.js';

/**
 * Base class: everything the client rejects with or reports on `clientErrors$`. Messages and URL
 * fields never carry credentials (URL user info, Authorization values): they are redacted here.
 */
export class SchedulerClientError extends Error {
  override readonly name: string = 'SchedulerClientError';
  constructor(message: string) {
    super(redactText(message));
  }
}

/**
 * A master answered a call (or SUBSCRIBE) with an unexpected HTTP status.
 * `body` is the master's plain-text reason, e.g. "Framework is not subscribed".
 */
export class MesosHttpError extends SchedulerClientError {
  override readonly name = 'MesosHttpError';
  constructor(
    readonly status: number,
    readonly body: string,
    /** Call type, e.g. "ACCEPT" or "SUBSCRIBE". */
    readonly callType: string,
    url: string = '',
  ) {
    super(`${callType} got HTTP ${status}${body ? `: ${body.trim().slice(0, 500)}` : ''}${url ? ` (${url})` : ''}`);
    this.url = redactUrl(url);
  }
  /** URL the request went to (user info redacted). */
  readonly url: string;
}

/**
 * A call was made while the client had no SUBSCRIBE stream, and either could not wait
 * (offer-scoped calls, a full wait queue) or no subscription came within the call timeout.
 */
export class NotSubscribedError extends SchedulerClientError {
  override readonly name = 'NotSubscribedError';
  constructor(
    message: string,
    readonly callType: string,
  ) {
    super(message);
  }
}

/** The client was stopped (by `stop()`, `teardown()`, or a fatal error) before the call finished. */
export class ClientStoppedError extends SchedulerClientError {
  override readonly name = 'ClientStoppedError';
}

/** A call got no answer within the call timeout (default 75 s). */
export class CallTimeoutError extends SchedulerClientError {
  override readonly name = 'CallTimeoutError';
  constructor(
    readonly callType: string,
    readonly timeoutMs: number,
  ) {
    super(`${callType} got no response within ${timeoutMs} ms`);
  }
}

/** The HTTP request failed below HTTP (connection refused/reset, DNS, TLS). */
export class ConnectionError extends SchedulerClientError {
  override readonly name = 'ConnectionError';
  /** URL of the failed request (user info redacted). */
  readonly url: string;
  constructor(
    message: string,
    url: string,
    readonly code: string | undefined,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.url = redactUrl(url);
  }
}

/**
 * The master says this framework id is dead (ERROR "Framework has been removed": torn down, or its
 * failover timeout expired). Fatal: the client stops; re-subscribing with that id can never work.
 */
export class FrameworkRemovedError extends SchedulerClientError {
  override readonly name = 'FrameworkRemovedError';
  constructor(
    readonly frameworkId: string | undefined,
    readonly masterMessage: string,
  ) {
    super(`Framework ${frameworkId ?? '(unknown id)'} has been removed by the master: ${masterMessage}`);
  }
}

/** The master sent an ERROR event on the SUBSCRIBE stream (e.g. "Framework failed over"). */
export class MesosErrorEvent extends SchedulerClientError {
  override readonly name = 'MesosErrorEvent';
  constructor(
    readonly masterMessage: string,
    readonly masterUrl: string,
  ) {
    super(`Master ${masterUrl} sent ERROR: ${masterMessage}`);
  }
}

/** The SUBSCRIBE stream broke in a way that is not an HTTP status (EOF, cut, bad record, watchdog). */
export class StreamError extends SchedulerClientError {
  override readonly name = 'StreamError';
  constructor(
    message: string,
    readonly reason: StreamCloseReason,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

export type StreamCloseReason =
  | 'eof'
  | 'connection_error'
  | 'recordio_error'
  | 'codec_error'
  | 'heartbeat_missed'
  | 'subscribe_timeout'
  | 'error_event'
  | 'not_subscribed'
  | 'bad_response'
  | 'leader_changed'
  | 'stopped';

/** No master in the list could be reached or named a leader. */
export class NoLeaderError extends SchedulerClientError {
  override readonly name = 'NoLeaderError';
}

/** A master URL the client cannot use (zk:// for now, or malformed). */
export class UnsupportedMasterUrlError extends SchedulerClientError {
  override readonly name = 'UnsupportedMasterUrlError';
}
