/**
 * Reading one 200 SUBSCRIBE stream until it ends for any reason (never throws): RecordIO framing,
 * decoding, the heartbeat watchdog, and pausing the HTTP body for a slow consumer. What a decoded
 * event means for the connection (SUBSCRIBED, ERROR) is the client's business (`host.received`).
 *
 * - A malformed record (framing or codec) never throws out: records decoded before it are
 *   delivered, the error is logged with its stream offset, and the stream ends with a reason.
 * - Watchdog: one timer per stream, two limits: until SUBSCRIBED, the event must arrive complete
 *   within subscribedTimeoutMs of the response headers; after it, a complete record must arrive at
 *   least every heartbeatMs. Bytes alone never count (a master trickling one byte a second cannot
 *   hold the client). Both are suspended while the client itself paused reading (backpressure).
 */
import type { Codec } from '../mesos/codec.js';
import { CodecError, RecordIOError } from '../mesos/errors.js';
import { RecordIODecoder } from '../mesos/recordio.js';
import type { Event } from '../mesos/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { ConnectionError, StreamError } from './errors.js';
import { describeError, errorCode } from './http.js';
import type { StreamBody, StreamOutcome } from './subscribe.js';

const EVENT = 'mesos.v1.scheduler.Event';
export const DEFAULT_HEARTBEAT_INTERVAL_S = 15;
/** heartbeat_interval_seconds of SUBSCRIBED is clamped to [0.1 s, 5 min] (Mesos sends 15 s). */
const MIN_HEARTBEAT_INTERVAL_MS = 100;
const MAX_HEARTBEAT_INTERVAL_MS = 300_000;

export type StreamEnd = Omit<StreamOutcome, 'subscribed' | 'masterUrl' | 'healthyMs' | 'heartbeatIntervalMs'>;

/** What a stream reader needs from its client. */
export interface StreamHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly heartbeatFactor: number;
  readonly subscribedTimeoutMs: number;
  readonly maxRecordBytes: number;
  readonly maxBufferedEvents: number;
  /** Client totals (bytes, chunks, records), counted as the stream is read. */
  readonly stats: { bytes: number; chunks: number; records: number };
  stopped(): boolean;
  frameworkId(): string | undefined;
  /** A complete event arrived: connection bookkeeping, then queue it for delivery. */
  received(reader: StreamReader, ev: Event): void;
  /** Delivers the queued events (as far as the consumer takes them). */
  deliver(): void;
  /** Re-evaluates backpressure (calls `flow` with the current backlog). */
  updateFlow(): void;
  /** The stream ended (its outcome follows). */
  closed(reader: StreamReader): void;
}

export class StreamReader {
  private readonly decoder: RecordIODecoder;
  /** Stream offset of the next record (sum of framed sizes of the records seen). */
  private offset = 0;
  private records = 0;
  /** Bytes read from this stream. */
  private bytes = 0;
  /** Clock time of the 200 headers (start of the subscribedTimeoutMs bound). */
  private openedAt: number;
  /** Clock time of the SUBSCRIBED event. */
  private subscribedAt = 0;
  /**
   * Clock time of the last complete record (bytes of a record still in flight do not count: a
   * master trickling a never-ending record must trip the watchdog).
   */
  private lastEventAt: number;
  private watchdog: TimerHandle | undefined;
  /** heartbeat_interval_seconds of SUBSCRIBED, in ms (15 s until then). */
  private heartbeatIntervalMs = DEFAULT_HEARTBEAT_INTERVAL_S * 1000;
  /** Watchdog limit: heartbeatTimeoutFactor × heartbeatIntervalMs. */
  heartbeatMs: number;
  private paused = false;
  done = false;
  subscribed = false;
  private resolveOutcome: ((o: Omit<StreamOutcome, 'masterUrl'>) => void) | undefined;
  private readonly onData = (chunk: Buffer): void => this.onChunk(chunk);
  private readonly onEnd = (): void => this.ended();
  private readonly onError = (e: Error): void => this.broke(e);

  constructor(
    private readonly host: StreamHost,
    private readonly body: StreamBody,
    private readonly abort: AbortController,
    readonly epoch: number,
    readonly masterUrl: string,
    readonly streamId: string,
    readonly codec: Codec,
  ) {
    this.decoder = new RecordIODecoder({ maxRecordBytes: host.maxRecordBytes });
    this.openedAt = host.clock.now();
    this.lastEventAt = host.clock.now();
    this.heartbeatMs = host.heartbeatFactor * DEFAULT_HEARTBEAT_INTERVAL_S * 1000;
  }

  /** Reads the stream until it ends for any reason. Never throws. */
  read(): Promise<Omit<StreamOutcome, 'masterUrl'>> {
    return new Promise((resolve) => {
      this.resolveOutcome = resolve;
      this.body.on('data', this.onData);
      this.body.on('end', this.onEnd);
      this.body.on('error', this.onError);
      this.armWatchdog();
      if (this.host.stopped()) this.finish({ reason: 'stopped' });
      else this.host.updateFlow();
    });
  }

  /** Ends the stream (idempotent): timers, listeners, socket, log line, outcome. */
  finish(o: StreamEnd): void {
    if (this.done) return;
    this.done = true;
    const { clock, log } = this.host;
    clock.clearTimer(this.watchdog);
    this.watchdog = undefined;
    const body = this.body;
    body.removeListener('data', this.onData);
    body.removeListener('end', this.onEnd);
    body.removeListener('error', this.onError);
    body.on('error', () => undefined); // late errors after we let go
    if (!this.abort.signal.aborted) this.abort.abort();
    body.destroy();
    this.host.closed(this);
    log.log(o.reason === 'stopped' ? 'info' : 'warn', 'stream_closed', {
      event: 'stream_closed',
      reason: o.reason,
      master: this.masterUrl,
      stream_id: this.streamId,
      framework_id: this.host.frameworkId(),
      records: this.records,
      ...(o.error ? { error: o.error.message } : {}),
    });
    this.resolveOutcome?.({
      ...o,
      subscribed: this.subscribed,
      healthyMs: this.subscribed ? Math.max(0, this.lastEventAt - this.subscribedAt) : 0,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
    });
  }

  /** SUBSCRIBED arrived: from now on the heartbeat limit applies (not the SUBSCRIBED deadline). */
  markSubscribed(heartbeatIntervalSeconds: unknown): void {
    const hb = heartbeatIntervalSeconds;
    if (typeof hb === 'number' && hb > 0) {
      // a hostile interval can neither make the watchdog fire constantly nor switch it off
      const intervalMs = Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(MIN_HEARTBEAT_INTERVAL_MS, hb * 1000));
      this.heartbeatIntervalMs = intervalMs;
      this.heartbeatMs = this.host.heartbeatFactor * intervalMs;
    }
    this.subscribed = true;
    this.subscribedAt = this.host.clock.now();
    this.host.clock.clearTimer(this.watchdog);
    this.armWatchdog();
  }

  /**
   * Backpressure: pauses the HTTP body when a paused consumer holds `maxBufferedEvents` events;
   * reads again when the consumer is back or (still paused) the backlog is down to half.
   */
  flow(consumerPaused: boolean, backlog: number): void {
    if (this.done) return;
    const max = this.host.maxBufferedEvents;
    if (!this.paused) {
      if (consumerPaused && backlog >= max) {
        this.paused = true;
        this.body.pause();
        this.host.log.warn('slow_consumer', { event: 'slow_consumer', buffered_events: backlog, max_buffered_events: max, master: this.masterUrl });
      }
    } else if (!consumerPaused || (backlog <= Math.floor(max / 2) && backlog < max)) {
      this.paused = false;
      this.restartWatchdogClock(); // the watchdog was suspended while we did not read
      this.host.log.info('consumer_caught_up', { event: 'consumer_caught_up', buffered_events: backlog, master: this.masterUrl });
      this.body.resume();
    }
  }

  // ------------------------------------------------------------------------------------------
  // reading

  private ended(): void {
    let error: Error | undefined;
    try {
      this.decoder.end();
    } catch (e) {
      error = e as Error;
    }
    this.finish({
      reason: 'eof',
      error: error
        ? new StreamError(`Stream from ${this.masterUrl} ended mid-record: ${error.message}`, 'eof', error)
        : new StreamError(`Stream from ${this.masterUrl} ended (EOF)`, 'eof'),
    });
  }

  private broke(e: Error): void {
    if (this.host.stopped()) return this.finish({ reason: 'stopped' });
    this.finish({
      reason: 'connection_error',
      error: new ConnectionError(`Stream from ${this.masterUrl} broke: ${describeError(e)}`, this.masterUrl, errorCode(e), e),
    });
  }

  private onChunk(chunk: Buffer): void {
    if (this.done) return;
    const stats = this.host.stats;
    this.bytes += chunk.length;
    stats.bytes += chunk.length;
    stats.chunks++;
    const records: Buffer[] = [];
    let framingError: RecordIOError | undefined;
    try {
      this.decoder.feed(chunk, (r) => records.push(r));
    } catch (e) {
      framingError = e instanceof RecordIOError ? e : new RecordIOError(describeError(e), this.offset);
    }
    // every record of the chunk completed now
    const now = records.length ? this.host.clock.now() : 0;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      const recordOffset = this.offset;
      this.offset += decimalDigits(rec.length) + 1 + rec.length;
      this.records++;
      this.lastEventAt = now;
      stats.records++;
      let ev: Event;
      try {
        ev = this.codec.decode<Event>(EVENT, rec);
      } catch (e) {
        return this.badRecord(rec, recordOffset, e);
      }
      this.host.received(this, ev);
      if (this.done) break;
    }
    if (framingError && !this.done) return this.badFraming(framingError);
    this.host.deliver();
  }

  private badRecord(rec: Buffer, recordOffset: number, e: unknown): void {
    const err = e instanceof CodecError ? e : new CodecError(describeError(e));
    this.host.log.error('bad_record', {
      event: 'bad_record',
      kind: 'codec',
      master: this.masterUrl,
      stream_id: this.streamId,
      offset: recordOffset,
      record_index: this.records - 1,
      record_bytes: rec.length,
      preview: preview(rec, this.codec),
      error: err.message,
    });
    this.host.deliver();
    this.finish({
      reason: 'codec_error',
      error: new StreamError(`Undecodable event at stream offset ${recordOffset} from ${this.masterUrl}: ${err.message}`, 'codec_error', err),
    });
  }

  private badFraming(framingError: RecordIOError): void {
    this.host.log.error('bad_record', {
      event: 'bad_record',
      kind: 'recordio',
      master: this.masterUrl,
      stream_id: this.streamId,
      offset: framingError.offset,
      error: framingError.message,
    });
    this.host.deliver();
    this.finish({
      reason: 'recordio_error',
      error: new StreamError(`Bad RecordIO framing from ${this.masterUrl}: ${framingError.message}`, 'recordio_error', framingError),
    });
  }

  // ------------------------------------------------------------------------------------------
  // watchdog

  private armWatchdog(): void {
    const clock = this.host.clock;
    const limit = () => (this.subscribed ? this.heartbeatMs : this.host.subscribedTimeoutMs);
    const since = () => (this.subscribed ? this.lastEventAt : this.openedAt);
    const check = () => {
      this.watchdog = undefined;
      if (this.done) return;
      const now = clock.now();
      if (this.paused) {
        this.restartWatchdogClock();
        this.watchdog = clock.setTimeout(check, limit());
        return;
      }
      const silence = now - since();
      if (silence >= limit()) return this.watchdogFired(silence);
      this.watchdog = clock.setTimeout(check, limit() - silence);
    };
    this.watchdog = clock.setTimeout(check, Math.max(0, limit() - (clock.now() - since())));
  }

  private restartWatchdogClock(): void {
    const now = this.host.clock.now();
    this.lastEventAt = now;
    if (!this.subscribed) this.openedAt = now;
  }

  private watchdogFired(silence: number): void {
    const received = this.decoder.bufferedBytes;
    if (!this.subscribed) {
      const timeoutMs = this.host.subscribedTimeoutMs;
      this.host.log.warn('subscribed_timeout', {
        event: 'subscribed_timeout',
        master: this.masterUrl,
        stream_id: this.streamId,
        waited_ms: silence,
        timeout_ms: timeoutMs,
        partial_record_bytes: received,
      });
      this.finish({
        reason: 'subscribe_timeout',
        error: new StreamError(
          `No SUBSCRIBED event from ${this.masterUrl} within ${timeoutMs} ms of the response headers ` +
            `(${this.bytes} bytes received, ${received} of them in an incomplete record)`,
          'subscribe_timeout',
        ),
      });
      return;
    }
    this.host.log.warn('heartbeat_missed', {
      event: 'heartbeat_missed',
      master: this.masterUrl,
      stream_id: this.streamId,
      silence_ms: silence,
      timeout_ms: this.heartbeatMs,
      partial_record_bytes: received,
    });
    this.finish({
      reason: 'heartbeat_missed',
      error: new StreamError(`No complete event from ${this.masterUrl} for ${silence} ms (limit ${this.heartbeatMs} ms)`, 'heartbeat_missed'),
    });
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
