/**
 * RecordIO framing (docs/recordio.md in Mesos): `<decimal byte length>\n<exactly that many bytes>`,
 * repeated, with no separator. HTTP chunk boundaries are unrelated to record boundaries.
 *
 * The decoder is a push parser: feed it chunks, get whole records back. It never copies a chunk
 * more than once, handles a length prefix split across chunks, and fails the stream with a
 * RecordIOError (never a crash, never a silent skip) on a bad prefix or an oversized record.
 */
import { RecordIOError } from './errors.js';

export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** A u64 has at most 20 decimal digits. */
const MAX_LENGTH_DIGITS = 20;

export interface RecordIODecoderOptions {
  /** Largest record accepted, in bytes (default 64 MiB). */
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
  private parts: Buffer[] = [];
  private partsBytes = 0;
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
      const want = this.needed - this.partsBytes;
      const avail = n - i;
      if (this.partsBytes === 0 && avail >= want) {
        out.push(buf.subarray(i, i + want));
        i += want;
        this.startRecord(this.consumed + i);
        continue;
      }
      const take = Math.min(want, avail);
      this.parts.push(buf.subarray(i, i + take));
      this.partsBytes += take;
      i += take;
      if (this.partsBytes === this.needed) {
        out.push(Buffer.concat(this.parts, this.partsBytes));
        this.startRecord(this.consumed + i);
      }
    }
    this.consumed += n;
  }

  /** Call at end of stream: throws if it ended inside a record. */
  end(): void {
    if (this.failed) throw this.failed;
    if (!this.readingLength || this.lengthDigits > 0) {
      const have = this.readingLength ? 0 : this.partsBytes;
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
    return this.partsBytes;
  }

  private startRecord(streamOffset: number): void {
    this.readingLength = true;
    this.lengthValue = 0;
    this.lengthDigits = 0;
    this.needed = 0;
    this.parts = [];
    this.partsBytes = 0;
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
