/**
 * The HTTP half of one connection attempt: ask the detector for the leader, POST SUBSCRIBE,
 * follow 307s (at most maxRedirects), and check the 200 response headers. What comes back is
 * either an open event stream (body, origin, Mesos-Stream-Id, codec) for the client to read, or
 * the outcome of a failed attempt. Never throws.
 *
 * Bounds: the response headers must arrive within subscribeTimeoutMs of each request (the timer
 * runs on the client's Clock); the SUBSCRIBED event must then arrive within subscribedTimeoutMs
 * (enforced by the stream reader, see client.ts).
 */
import { request, type Dispatcher } from 'undici';
import { codecFor, type Codec } from '../mesos/codec.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { redactText } from '../util/redact.js';
import type { LeaderDetector } from './detector.js';
import { CallTimeoutError, ConnectionError, MesosHttpError, NoLeaderError, StreamError, type StreamCloseReason } from './errors.js';
import { SCHEDULER_PATH, describeError, errorCode, redactLocation, resolveLocation } from './http.js';

export interface StreamOutcome {
  reason: StreamCloseReason | 'http_error' | 'no_leader' | 'redirect_loop';
  error?: Error;
  fatal?: Error;
  subscribed: boolean;
  /**
   * How long the stream stayed healthy: from SUBSCRIBED to the last complete event received
   * (0 when it never subscribed). The reconnect backoff starts over only after a healthy stream.
   */
  healthyMs: number;
  /** heartbeat_interval_seconds of the stream's SUBSCRIBED, in ms (if it subscribed). */
  heartbeatIntervalMs?: number;
  masterUrl?: string;
}

export type StreamBody = NodeJS.ReadableStream & { pause(): unknown; resume(): unknown; destroy(e?: Error): unknown };

export interface OpenStream {
  body: StreamBody;
  origin: string;
  streamId: string;
  codec: Codec;
}

export interface SubscribeDeps {
  detector: LeaderDetector;
  dispatcher: Dispatcher;
  clock: Clock;
  log: Logger;
  /** Codec of the SUBSCRIBE request (and of the stream when the answer names no Content-Type). */
  codec: Codec;
  subscribeTimeoutMs: number;
  maxRedirects: number;
  stopped(): boolean;
  /** Request headers (Content-Type, Accept, Authorization). */
  headers(): Record<string, string>;
  /** The encoded SUBSCRIBE call (built per request: the framework id may be known by then). */
  body(): Buffer;
  /** A SUBSCRIBE is about to go to `origin` (state + log). */
  onRequest(origin: string): void;
}

type Failed = Omit<StreamOutcome, 'subscribed' | 'healthyMs'>;
const failed = (o: Failed): { failed: StreamOutcome } => ({ failed: { subscribed: false, healthyMs: 0, ...o } });

/** Detects the leader, POSTs SUBSCRIBE (following redirects) and validates a 200's headers. */
export async function openSubscription(deps: SubscribeDeps, ac: AbortController): Promise<{ stream: OpenStream } | { failed: StreamOutcome }> {
  let masterUrl: string;
  try {
    masterUrl = await deps.detector.detect(ac.signal);
  } catch (e) {
    const error = e instanceof Error ? e : new NoLeaderError(String(e));
    deps.log.warn('no_leader', { event: 'no_leader', error: redactText(describeError(error)) });
    return failed({ reason: 'no_leader', error });
  }
  let url = masterUrl + SCHEDULER_PATH;
  for (let redirects = 0; ; redirects++) {
    if (deps.stopped()) return failed({ reason: 'stopped' });
    const origin = new URL(url).origin;
    deps.onRequest(origin);
    const sent = await post(deps, url, ac);
    if ('failed' in sent) return sent;
    const res = sent.res;
    if (res.statusCode === 307) {
      const next = await redirect(deps, res, url, redirects);
      if ('failed' in next) return next;
      url = next.url;
      continue;
    }
    if (res.statusCode !== 200) return failed(await httpError(deps, res, url));
    return acceptStream(deps, res, origin);
  }
}

/** One POST of SUBSCRIBE; the response headers must come within subscribeTimeoutMs. */
async function post(deps: SubscribeDeps, url: string, ac: AbortController): Promise<{ res: Dispatcher.ResponseData } | { failed: StreamOutcome }> {
  const origin = new URL(url).origin;
  let timedOut = false;
  const timer = deps.clock.setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, deps.subscribeTimeoutMs);
  try {
    const res = await request(url, { method: 'POST', headers: deps.headers(), body: deps.body(), dispatcher: deps.dispatcher, signal: ac.signal });
    return { res };
  } catch (e) {
    if (deps.stopped()) return failed({ reason: 'stopped' });
    deps.detector.failed(origin);
    if (timedOut) {
      deps.log.warn('subscribe_failed', { event: 'subscribe_failed', reason: 'subscribe_timeout', master: origin, timeout_ms: deps.subscribeTimeoutMs });
      return failed({ reason: 'subscribe_timeout', error: new CallTimeoutError('SUBSCRIBE', deps.subscribeTimeoutMs), masterUrl: origin });
    }
    const code = errorCode(e);
    const error = new ConnectionError(`SUBSCRIBE to ${origin} failed: ${redactText(describeError(e))}`, url, code, e);
    deps.log.warn('subscribe_failed', { event: 'subscribe_failed', reason: 'connection_error', master: origin, error: error.message, code });
    return failed({ reason: 'connection_error', error, masterUrl: origin });
  } finally {
    deps.clock.clearTimer(timer);
  }
}

/** A 307: the next URL, or the failure (no Location, too many redirects). The detector is told. */
async function redirect(deps: SubscribeDeps, res: Dispatcher.ResponseData, url: string, redirects: number): Promise<{ url: string } | { failed: StreamOutcome }> {
  const origin = new URL(url).origin;
  const location = headerValue(res.headers['location']);
  await res.body.dump().catch(() => undefined);
  if (!location) {
    deps.detector.failed(origin);
    return failed({ reason: 'http_error', error: new MesosHttpError(307, 'redirect without Location', 'SUBSCRIBE', url), masterUrl: origin });
  }
  let target: URL;
  try {
    target = resolveLocation(location, url);
  } catch {
    deps.detector.failed(origin);
    return failed({ reason: 'http_error', error: new MesosHttpError(307, `unusable Location ${JSON.stringify(redactLocation(location))}`, 'SUBSCRIBE', url), masterUrl: origin });
  }
  deps.log.info('redirected', { event: 'redirected', from: origin, to: target.origin, location: redactLocation(location), call: 'SUBSCRIBE' });
  deps.detector.redirected(target.origin);
  if (redirects + 1 > deps.maxRedirects) {
    deps.detector.failed(target.origin);
    const error = new MesosHttpError(307, `too many redirects (${deps.maxRedirects} followed, last: ${redactLocation(location)})`, 'SUBSCRIBE', url);
    deps.log.warn('subscribe_failed', { event: 'subscribe_failed', reason: 'redirect_loop', master: origin, error: error.message });
    return failed({ reason: 'redirect_loop', error, masterUrl: origin });
  }
  return { url: target.href };
}

async function httpError(deps: SubscribeDeps, res: Dispatcher.ResponseData, url: string): Promise<Failed> {
  const origin = new URL(url).origin;
  const status = res.statusCode;
  const text = await readText(res.body);
  const error = new MesosHttpError(status, text, 'SUBSCRIBE', url);
  deps.log.warn('subscribe_failed', { event: 'subscribe_failed', status, body: redactText(text), master: origin });
  // 503 (no leader / recovering) and 404 (starting) are transient; try another master next
  if (status === 503 || status === 404) deps.detector.failed(origin);
  return { reason: 'http_error', error, masterUrl: origin };
}

/** A 200: the stream, if its Content-Type is a Mesos media type and it names a Mesos-Stream-Id. */
function acceptStream(deps: SubscribeDeps, res: Dispatcher.ResponseData, origin: string): { stream: OpenStream } | { failed: StreamOutcome } {
  const streamId = headerValue(res.headers['mesos-stream-id']);
  const mediaType = (headerValue(res.headers['content-type']) ?? '').split(';')[0]!.trim();
  let codec: Codec;
  try {
    codec = mediaType ? codecFor(mediaType) : deps.codec;
  } catch {
    discard(res.body);
    deps.detector.failed(origin);
    const error = new StreamError(`SUBSCRIBE to ${origin} answered 200 with unsupported Content-Type ${JSON.stringify(mediaType)} (not a Mesos master?)`, 'bad_response');
    deps.log.warn('subscribe_failed', { event: 'subscribe_failed', reason: 'bad_response', master: origin, error: error.message });
    return failed({ reason: 'bad_response', error, masterUrl: origin });
  }
  if (!streamId) {
    discard(res.body);
    deps.detector.failed(origin);
    const error = new StreamError(`SUBSCRIBE to ${origin} answered 200 without a Mesos-Stream-Id header`, 'bad_response');
    deps.log.warn('subscribe_failed', { event: 'subscribe_failed', reason: 'bad_response', master: origin, error: error.message });
    return failed({ reason: 'bad_response', error, masterUrl: origin });
  }
  return { stream: { body: res.body as unknown as StreamBody, origin, streamId, codec } };
}

/** Drops a response body we will not read (destroying it emits an error: keep it from being uncaught). */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) return v[0];
  return v;
}

/**
 * A master's plain-text error body: the first 4 KiB, then the body is dropped (a hostile master
 * cannot make the client read an endless error body).
 */
export async function readText(body: Dispatcher.ResponseData['body'], limit = 4096): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  let cut = false;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      parts.push(b.subarray(0, limit - size));
      size += Math.min(b.length, limit - size);
      if (size >= limit) {
        cut = true;
        break;
      }
    }
  } catch (e) {
    return `(body unreadable: ${describeError(e)})`;
  } finally {
    if (cut) discard(body);
  }
  const text = Buffer.concat(parts).toString('utf8');
  return cut ? text + '…' : text;
}
