/**
 * RecordIO framing (docs/recordio.md in Mesos): `<decimal byte length>\n<exactly that many bytes>`,
 * repeated, with no separator. HTTP chunk boundaries are unrelated to record boundaries.
 *
 * The decoder is a push parser: feed it chunks, get whole records back. A record inside one chunk
 * is a view of it (no copy); a record spanning chunks is copied once into a buffer of its exact
 * size. It handles a length prefix split across chunks, and fails the stream with a
 * RecordIOError (never a crash, never a silent skip) on a bad prefix or an oversized record.
 */
import { RecordIOError } from './errors.js';

/**
 * Default largest record: 16 MiB. The largest events a master sends are OFFERS (one event per
 * allocation run with every offer for the framework: ~1–2 KiB per offer, so ~8,000–16,000 agents'
 * offers fit) and SUBSCRIBED. A hostile or broken master cannot make the client buffer more than
 * this per record; clusters whose offer bursts are bigger raise it (maxRecordBytes).
 */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** A u64 has at most 20 decimal digits. */
const MAX_LENGTH_DIGITS = 20;

export interface RecordIODecoderOptions {
  /** Largest record accepted, in bytes (default 16 MiB). */
  maxRecordBytes?: number;
}

export class RecordIODecoder {
  private readonly maxRecordBytes: number;
  /** Bytes consumed so far (for error offsets). */
  private consumed = 0;
  /** Offset in the stream where the record being read starts. */
  private recordStart = 0;
  private readingLength = true;
  private lengthValue = 0;
  private lengthDigits = 0;
  private needed = 0;
  /** The record being assembled when it spans chunks (exactly its size). */
  private record: Buffer | undefined;
  private filled = 0;
  private failed: RecordIOError | undefined;

  constructor(opts: RecordIODecoderOptions = {}) {
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  /** Feeds one chunk; returns the records completed by it (possibly none). Throws RecordIOError. */
  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    this.feed(chunk, (r) => out.push(r));
    return out;
  }

  /**
   * Like push, but hands each record to `onRecord` as soon as it is complete, so records that
   * precede a framing error in the same chunk are not lost when the RecordIOError is thrown.
   * `onRecord` must not throw.
   */
  feed(chunk: Uint8Array, onRecord: (record: Buffer) => void): void {
    if (this.failed) throw this.failed;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out = { push: onRecord };
    let i = 0;
    const n = buf.length;
    while (i < n) {
      if (this.readingLength) {
        const c = buf[i]!;
        if (c === 0x0a) {
          if (this.lengthDigits === 0) return this.fail('Empty RecordIO length prefix');
          this.readingLength = false;
          this.needed = this.lengthValue;
          i++;
          if (this.needed === 0) {
            out.push(Buffer.alloc(0));
            this.startRecord(this.consumed + i);
          }
          continue;
        }
        if (c < 0x30 || c > 0x39) {
          return this.fail(`Bad RecordIO length prefix: byte 0x${c.toString(16).padStart(2, '0')} is not a decimal digit`);
        }
        this.lengthValue = this.lengthValue * 10 + (c - 0x30);
        this.lengthDigits++;
        if (this.lengthDigits > MAX_LENGTH_DIGITS || this.lengthValue > this.maxRecordBytes) {
          return this.fail(
            `RecordIO record too large: length prefix exceeds the maximum of ${this.maxRecordBytes} bytes`,
          );
        }
        i++;
        continue;
      }
      // reading payload
      const want = this.needed - this.filled;
      const avail = n - i;
      if (this.record === undefined && avail >= want) {
        // the whole record is in this chunk: hand out a view, no copy
        out.push(buf.subarray(i, i + want));
        i += want;
        this.startRecord(this.consumed + i);
        continue;
      }
      // the record spans chunks: copy into one buffer of exactly its size, allocated when its
      // first payload byte arrives (not at the prefix, so a declared size costs nothing until the
      // bytes come; allocUnsafe pages are not resident until written). Peak memory per record is
      // its size, not chunks retained plus a concatenated copy.
      this.record ??= Buffer.allocUnsafe(this.needed);
      const take = Math.min(want, avail);
      buf.copy(this.record, this.filled, i, i + take);
      this.filled += take;
      i += take;
      if (this.filled === this.needed) {
        const rec = this.record;
        this.startRecord(this.consumed + i);
        out.push(rec);
      }
    }
    this.consumed += n;
  }

  /** Call at end of stream: throws if it ended inside a record. */
  end(): void {
    if (this.failed) throw this.failed;
    if (!this.readingLength || this.lengthDigits > 0) {
      const have = this.readingLength ? 0 : this.filled;
      this.failed = new RecordIOError(
        this.readingLength
          ? 'Stream ended inside a RecordIO length prefix'
          : `Stream ended inside a RecordIO record (${have} of ${this.needed} bytes received)`,
        this.recordStart,
      );
      throw this.failed;
    }
  }

  /** True when no partial record is buffered. */
  get idle(): boolean {
    return this.readingLength && this.lengthDigits === 0;
  }

  /** Bytes buffered for the record in progress (for slow-consumer diagnostics). */
  get bufferedBytes(): number {
    return this.filled;
  }

  private startRecord(streamOffset: number): void {
    this.readingLength = true;
    this.lengthValue = 0;
    this.lengthDigits = 0;
    this.needed = 0;
    this.record = undefined;
    this.filled = 0;
    this.recordStart = streamOffset;
  }

  private fail(message: string): never {
    this.failed = new RecordIOError(message, this.recordStart);
    throw this.failed;
  }
}

/** Frames one record. */
export function encodeRecord(payload: Uint8Array): Buffer {
  const prefix = Buffer.from(String(payload.byteLength) + '\n', 'latin1');
  return Buffer.concat([prefix, payload]);
}

/** Splits a complete RecordIO byte string into records (throws RecordIOError if malformed). */
export function decodeAll(bytes: Uint8Array, opts?: RecordIODecoderOptions): Buffer[] {
  const d = new RecordIODecoder(opts);
  const records = d.push(bytes);
  d.end();
  return records;
}
