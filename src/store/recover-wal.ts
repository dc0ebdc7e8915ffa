/**
 * Replay of wal.log at open: which records to apply, and whether damage found is a torn tail (a
 * write that was never acknowledged: dropped with a warning) or damage to acknowledged data
 * (StoreCorruptError unless repairing). Pure: buffers in, a verdict out; store.ts does the I/O.
 *
 * The rules (see wal.ts for the commit block):
 *   - bytes past the block's `end` were never acknowledged: damage there is a torn tail;
 *   - anything missing or damaged before `ackedEnd` is lost acknowledged data;
 *   - [ackedEnd, end) is the latest group commit. The block is written after its records, so a
 *     process crash (the page cache survives) can never leave it claimed but incomplete: damage
 *     there is lost data, unless the machine rebooted since the block was written (a power loss
 *     during the group's fsync can persist the block without all of its records).
 *   - a version 1 log has no block: the old heuristic applies (damage followed by a valid record is
 *     corruption, damage at the end is a torn tail).
 */
import { scanRecords, RECORD_HEADER_BYTES, type WalHeader } from './wal.js';
import { deepFreeze, type MemOp } from './collections.js';

export interface WalReplay {
  /** Operations of the records to keep, one array per batch, in order. */
  batches: MemOp[][];
  /** Sequence number of the last kept record (baseSeq when none). */
  lastSeq: number;
  /** End offset of the last kept record. */
  goodEnd: number;
  /** Acknowledged data is missing or damaged. */
  corrupt?: { message: string; offset: number };
  /** An unacknowledged tail to discard (from `offset` to the end of the file). */
  torn?: { offset: number; reason: string; afterReboot: boolean };
}

export interface ReplayOptions {
  file: string;
  /** Sequence number the snapshot ends with. */
  baseSeq: number;
  /** Sequence number the first record must carry; undefined when the chain cannot be checked. */
  expectSeq?: number;
  /** Boot tag of the running machine (boot.ts). */
  bootTag: number;
}

interface Damage {
  offset: number;
  reason: string;
  /** A record with a valid CRC whose content is wrong: never the result of a torn write. */
  badPayload: boolean;
  nextValidOffset?: number;
}

export function replayWal(buf: Buffer, header: WalHeader, o: ReplayOptions): WalReplay {
  const commit = header.commit;
  const scan = scanRecords(buf, header.generation, header.recordsStart);
  const batches: MemOp[][] = [];
  let expect = o.expectSeq;
  let lastSeq = o.baseSeq;
  let goodEnd = header.recordsStart;
  let seqAtCommitEnd: number | undefined = commit && commit.end === header.recordsStart && o.expectSeq !== undefined ? o.baseSeq : undefined;
  let damage: Damage | undefined;
  for (const rec of scan.records) {
    let parsed: { seq: number; ops: MemOp[] };
    try {
      parsed = parsePayload(rec.payload);
      if (expect !== undefined && parsed.seq !== expect) throw new Error(`sequence number ${parsed.seq}, expected ${expect}`);
    } catch (err) {
      damage = { offset: rec.offset, reason: `valid CRC but not a valid batch: ${(err as Error).message}`, badPayload: true };
      break;
    }
    batches.push(parsed.ops);
    lastSeq = parsed.seq;
    expect = parsed.seq + 1;
    goodEnd = rec.offset + RECORD_HEADER_BYTES + rec.payload.length;
    if (commit && goodEnd === commit.end) seqAtCommitEnd = parsed.seq;
  }
  if (!damage && scan.bad) damage = { ...scan.bad, badPayload: false };
  const result: WalReplay = { batches, lastSeq, goodEnd };
  const f = o.file;

  if (!commit) {
    if (damage && (damage.badPayload || damage.nextValidOffset !== undefined)) {
      result.corrupt = { offset: damage.offset, message: midLogMessage(f, damage, '') };
    } else if (damage) {
      result.torn = { offset: damage.offset, reason: damage.reason, afterReboot: false };
    }
    return result;
  }

  const acked = `acknowledged writes reach byte ${commit.end}, batch seq ${commit.seq}`;
  if (goodEnd < commit.end) {
    const inLatestGroup = goodEnd >= commit.ackedEnd;
    if (inLatestGroup && commit.bootTag !== o.bootTag && !damage?.badPayload) {
      result.torn = { offset: goodEnd, reason: damage?.reason ?? `file ends at byte ${buf.length}`, afterReboot: true };
    } else if (!damage || (buf.length < commit.end && damage.reason.startsWith('truncated') && damage.nextValidOffset === undefined)) {
      result.corrupt = {
        offset: goodEnd,
        message:
          `${f} ends at byte ${buf.length} but its ${acked}: acknowledged batches after seq ${lastSeq} ` +
          `(from byte ${goodEnd}) are missing; the log was cut short, this is lost data, not a torn write at its tail`,
      };
    } else {
      result.corrupt = { offset: damage.offset, message: midLogMessage(f, damage, `, inside the acknowledged part of the log (${acked})`) };
    }
    return result;
  }
  if (seqAtCommitEnd !== undefined ? seqAtCommitEnd !== commit.seq : commit.end > header.recordsStart) {
    result.corrupt = {
      offset: commit.end,
      message:
        `${f}: its commit block says ${acked}, but ` +
        (seqAtCommitEnd === undefined ? 'no record ends at that byte' : `the record ending there is batch seq ${seqAtCommitEnd}`) +
        ': the log does not match what was acknowledged',
    };
    return result;
  }
  if (damage?.badPayload) {
    result.corrupt = { offset: damage.offset, message: midLogMessage(f, damage, '') };
  } else if (damage) {
    result.torn = { offset: damage.offset, reason: damage.reason, afterReboot: false };
  }
  return result;
}

function midLogMessage(f: string, d: Damage, where: string): string {
  if (d.badPayload) return `${f}: record at offset ${d.offset} has a ${d.reason}${where}; this is damage, not a torn write`;
  const next = d.nextValidOffset !== undefined ? `, followed by a valid record at offset ${d.nextValidOffset}` : '';
  return `${f}: corrupt record at offset ${d.offset} (${d.reason})${next}${where}: this is damage to the log, not a torn write at its tail`;
}

export function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function parsePayload(payload: Buffer): { seq: number; ops: MemOp[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new Error(`payload is not valid JSON (${(err as Error).message})`);
  }
  const d = doc as { s?: unknown; o?: unknown };
  if (d === null || typeof d !== 'object' || !isUint(d.s) || !Array.isArray(d.o)) throw new Error('payload is not {"s":seq,"o":[...]}');
  const ops: MemOp[] = d.o.map((op: unknown, i: number) => {
    if (Array.isArray(op) && typeof op[1] === 'string' && typeof op[2] === 'string') {
      if (op[0] === 'p' && op.length === 4) return ['p', op[1], op[2], deepFreeze(op[3])];
      if (op[0] === 'd' && op.length === 3) return ['d', op[1], op[2]];
    }
    throw new Error(`operation ${i} is malformed`);
  });
  return { seq: d.s, ops };
}

