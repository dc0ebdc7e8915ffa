/**
 * Binary framing of the write-ahead log (wal.log). Pure functions over buffers; no I/O.
 *
 * File header, 16 bytes:
 *   0..5   magic "SLUWAL"
 *   6..7   format version, uint16 big-endian (2; version 1 files are still read, see below)
 *   8..11  generation, uint32 BE (equals the generation of the snapshot the log continues)
 *   12..15 CRC-32 of bytes 0..11, uint32 BE
 * Commit block, 32 bytes (version 2 only), rewritten in place by every group commit:
 *   16..23 end       uint64 BE: file length once the latest group commit is complete
 *   24..31 ackedEnd  uint64 BE: file length already durable and acknowledged before that group began
 *   32..39 seq       uint64 BE: sequence number of the record that ends at `end`
 *   40..43 boot tag  uint32 BE: which boot of the machine wrote the block (see boot.ts)
 *   44..47 CRC-32 of (generation uint32 BE ‖ bytes 16..43), uint32 BE
 * Then records, back to back from byte 48 (16 in version 1), one per committed batch:
 *   0..3   payload length L, uint32 BE (1 ≤ L ≤ MAX_RECORD_BYTES)
 *   4..7   CRC-32 of (generation uint32 BE ‖ L uint32 BE ‖ payload), uint32 BE
 *   8..    payload: L bytes of UTF-8 JSON (see store.ts)
 * Seeding the record CRC with the generation means a record left over from an older log can never
 * validate in a newer one; covering L means a damaged length is caught like a damaged payload.
 *
 * The commit block is what tells a torn tail from lost data: a group commit writes its records,
 * then the block (in that order, into the page cache), then one fdatasync makes both durable before
 * any batch of the group is acknowledged. Bytes past `end` were never acknowledged; bytes before
 * `ackedEnd` were acknowledged by an earlier fsync that had completed; [ackedEnd, end) is the latest
 * group, acknowledged unless the machine itself went down during its fsync (see store.ts).
 */
import { crc32 } from './crc32.js';

export const WAL_MAGIC = Buffer.from('SLUWAL', 'latin1');
export const WAL_VERSION = 2;
/** Size of the fixed part of the header (magic, version, generation, CRC). */
export const WAL_FILE_HEADER_BYTES = 16;
export const COMMIT_BLOCK_OFFSET = 16;
export const COMMIT_BLOCK_BYTES = 32;
/** Offset of the first record in a current (version 2) log. */
export const WAL_HEADER_BYTES = COMMIT_BLOCK_OFFSET + COMMIT_BLOCK_BYTES;
/** Offset of the first record in a version 1 log (no commit block). */
export const WAL_V1_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
/** Upper bound on one record's payload (a single batch). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** What the commit block of a version 2 log says. */
export interface CommitInfo {
  /** File length once the latest group commit is complete. */
  end: number;
  /** File length that was durable and acknowledged before the latest group commit began. */
  ackedEnd: number;
  /** Sequence number of the record ending at `end` (the snapshot's seq when no record does). */
  seq: number;
  /** Boot of the machine that wrote the block. */
  bootTag: number;
}

export interface WalHeader {
  generation: number;
  version: number;
  /** Offset of the first record. */
  recordsStart: number;
  /** Absent in version 1 logs. */
  commit?: CommitInfo;
}

export function encodeWalHeader(generation: number, commit: CommitInfo): Buffer {
  const b = Buffer.alloc(WAL_HEADER_BYTES);
  WAL_MAGIC.copy(b, 0);
  b.writeUInt16BE(WAL_VERSION, 6);
  b.writeUInt32BE(generation >>> 0, 8);
  b.writeUInt32BE(crc32(b.subarray(0, 12)), 12);
  encodeCommitBlock(generation, commit).copy(b, COMMIT_BLOCK_OFFSET);
  return b;
}

/** The 32-byte commit block, written at COMMIT_BLOCK_OFFSET. */
export function encodeCommitBlock(generation: number, c: CommitInfo): Buffer {
  const b = Buffer.alloc(COMMIT_BLOCK_BYTES);
  b.writeBigUInt64BE(BigInt(c.end), 0);
  b.writeBigUInt64BE(BigInt(c.ackedEnd), 8);
  b.writeBigUInt64BE(BigInt(c.seq), 16);
  b.writeUInt32BE(c.bootTag >>> 0, 24);
  b.writeUInt32BE(commitCrc(generation, b.subarray(0, 28)), 28);
  return b;
}

function commitCrc(generation: number, body: Uint8Array): number {
  const pre = Buffer.alloc(4);
  pre.writeUInt32BE(generation >>> 0, 0);
  return crc32(body, crc32(pre));
}

/** Parses the file header (and commit block); returns it or a description of what is wrong. */
export function decodeWalHeader(buf: Buffer): WalHeader | { error: string } {
  if (buf.length < WAL_FILE_HEADER_BYTES) {
    return { error: `file is ${buf.length} bytes, shorter than the ${WAL_FILE_HEADER_BYTES}-byte header` };
  }
  if (!buf.subarray(0, 6).equals(WAL_MAGIC)) return { error: `bad magic ${JSON.stringify(buf.subarray(0, 6).toString('latin1'))} (expected "SLUWAL")` };
  const stored = buf.readUInt32BE(12);
  const computed = crc32(buf.subarray(0, 12));
  if (stored !== computed) return { error: `header CRC mismatch (stored 0x${hex(stored)}, computed 0x${hex(computed)})` };
  const version = buf.readUInt16BE(6);
  const generation = buf.readUInt32BE(8);
  if (version === 1) return { generation, version, recordsStart: WAL_V1_HEADER_BYTES };
  if (version !== WAL_VERSION) return { error: `unsupported format version ${version} (this build reads 1 and ${WAL_VERSION})` };
  if (buf.length < WAL_HEADER_BYTES) {
    return { error: `file is ${buf.length} bytes, shorter than the ${WAL_HEADER_BYTES}-byte header with its commit block` };
  }
  const block = buf.subarray(COMMIT_BLOCK_OFFSET, WAL_HEADER_BYTES);
  const blockStored = block.readUInt32BE(28);
  const blockComputed = commitCrc(generation, block.subarray(0, 28));
  if (blockStored !== blockComputed) {
    return { error: `commit block CRC mismatch at offset ${COMMIT_BLOCK_OFFSET} (stored 0x${hex(blockStored)}, computed 0x${hex(blockComputed)})` };
  }
  const end = Number(block.readBigUInt64BE(0));
  const ackedEnd = Number(block.readBigUInt64BE(8));
  const seq = Number(block.readBigUInt64BE(16));
  if (!Number.isSafeInteger(end) || !Number.isSafeInteger(seq) || ackedEnd < WAL_HEADER_BYTES || ackedEnd > end) {
    return { error: `commit block is inconsistent (end ${end}, acknowledged end ${ackedEnd}, seq ${seq})` };
  }
  return { generation, version, recordsStart: WAL_HEADER_BYTES, commit: { end, ackedEnd, seq, bootTag: block.readUInt32BE(24) } };
}

function recordCrc(generation: number, len: number, payload: Uint8Array): number {
  const pre = Buffer.alloc(8);
  pre.writeUInt32BE(generation >>> 0, 0);
  pre.writeUInt32BE(len, 4);
  return crc32(payload, crc32(pre));
}

export function encodeRecord(generation: number, payload: Buffer): Buffer {
  if (payload.length < 1 || payload.length > MAX_RECORD_BYTES) {
    throw new RangeError(`record payload of ${payload.length} bytes is outside 1..${MAX_RECORD_BYTES}`);
  }
  const b = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  b.writeUInt32BE(payload.length, 0);
  b.writeUInt32BE(recordCrc(generation, payload.length, payload), 4);
  payload.copy(b, RECORD_HEADER_BYTES);
  return b;
}

type RecordCheck = { ok: true; len: number } | { ok: false; reason: string };

/** Checks whether a complete, valid record starts at `offset`. */
export function checkRecordAt(buf: Buffer, generation: number, offset: number): RecordCheck {
  const remaining = buf.length - offset;
  if (remaining < RECORD_HEADER_BYTES) {
    return { ok: false, reason: `truncated record header (${remaining} of ${RECORD_HEADER_BYTES} bytes present)` };
  }
  const len = buf.readUInt32BE(offset);
  if (len < 1 || len > MAX_RECORD_BYTES) return { ok: false, reason: `invalid payload length ${len}` };
  if (remaining - RECORD_HEADER_BYTES < len) {
    return { ok: false, reason: `truncated payload (${len} bytes declared, ${remaining - RECORD_HEADER_BYTES} present)` };
  }
  const stored = buf.readUInt32BE(offset + 4);
  const payload = buf.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + len);
  const computed = recordCrc(generation, len, payload);
  if (stored !== computed) return { ok: false, reason: `CRC mismatch (stored 0x${hex(stored)}, computed 0x${hex(computed)})` };
  return { ok: true, len };
}

export interface WalRecord {
  /** Byte offset of the record header in the file. */
  offset: number;
  payload: Buffer;
}

export interface ScanResult {
  records: WalRecord[];
  /** End offset of the last valid record (the length the file should have). */
  goodEnd: number;
  /** The first invalid record, if any. */
  bad?: {
    offset: number;
    reason: string;
    /** Offset of a valid record found after the bad one. Present ⇒ the damage is NOT a torn tail. */
    nextValidOffset?: number;
  };
}

/**
 * Reads records from `start` to the end of `buf`. Stops at the first invalid record and then looks
 * for any valid record beyond it (at every byte offset): if one exists the log is corrupt in the
 * middle; if none does, the bad bytes are a torn tail left by a crash during an append.
 */
export function scanRecords(buf: Buffer, generation: number, start = WAL_HEADER_BYTES): ScanResult {
  const records: WalRecord[] = [];
  let off = start;
  while (off < buf.length) {
    const c = checkRecordAt(buf, generation, off);
    if (!c.ok) {
      let nextValidOffset: number | undefined;
      for (let p = off + 1; p + RECORD_HEADER_BYTES < buf.length; p++) {
        if (checkRecordAt(buf, generation, p).ok) {
          nextValidOffset = p;
          break;
        }
      }
      return { records, goodEnd: off, bad: { offset: off, reason: c.reason, nextValidOffset } };
    }
    records.push({ offset: off, payload: buf.subarray(off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + c.len) });
    off += RECORD_HEADER_BYTES + c.len;
  }
  return { records, goodEnd: off };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
