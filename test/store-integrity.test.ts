/**
 * Acknowledged data is never dropped silently (issue 9, items 13 and 14): a damaged or missing
 * acknowledged record refuses to open (StoreCorruptError naming the file and offset) until
 * { repair: true }; only a tail that was never acknowledged is dropped. Real files, a real child
 * process killed with SIGKILL.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store, StoreCorruptError, StoreError, type StoreOptions } from '../src/store/index.js';
import { crc32 } from '../src/store/crc32.js';
import {
  COMMIT_BLOCK_OFFSET,
  WAL_HEADER_BYTES,
  decodeWalHeader,
  encodeCommitBlock,
  scanRecords,
  type WalHeader,
} from '../src/store/wal.js';

interface Line {
  level: string;
  msg: string;
}
function capture(): NonNullable<StoreOptions['logger']> & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-store-integrity-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const walPath = (dir: string) => path.join(dir, 'wal.log');

async function openErr(dir: string): Promise<Error> {
  try {
    const s = await Store.open(dir, { logger: capture() });
    await s.close();
  } catch (err) {
    return err as Error;
  }
  throw new Error(`expected Store.open(${dir}) to fail`);
}

function header(buf: Buffer): WalHeader {
  const h = decodeWalHeader(buf);
  if ('error' in h) throw new Error(h.error);
  return h;
}

/** 12 batches like the runtime writes: jobs, tasks and host maintenance records. Closed cleanly. */
async function writeTwelve(dir: string): Promise<number[]> {
  const store = await Store.open(dir, { logger: capture() });
  const ends: number[] = [];
  for (let i = 0; i < 12; i++) {
    const host = `agent-${i}.rack-${i % 3}`;
    await store.batch([
      { op: 'put', collection: 'hosts', key: host, value: { state: i % 2 ? 'DRAINING' : 'DOWN', window: { start: 1000 + i, seconds: 3600 } } },
      { op: 'put', collection: 'tasks', key: `web.${i}`, value: { state: 'TASK_RUNNING', agent: host } },
    ]);
    ends.push(store.stats().walBytes);
  }
  await store.close();
  return ends;
}

const hostsIn = (s: Store) => s.list('hosts').map(([k]) => k);
const firstHosts = (n: number) => Array.from({ length: n }, (_, i) => `agent-${i}.rack-${i % 3}`);

describe('store integrity: acknowledged data missing or damaged refuses to open', () => {
  it('a bit flip in the last record refuses; repair keeps the good prefix and sets the file aside', async () => {
    const dir = tmpDir();
    const ends = await writeTwelve(dir);
    const bytes = fs.readFileSync(walPath(dir));
    const last = ends[10]!;
    bytes[last + 8 + 20] ^= 0x04; // one bit of the last record's payload
    fs.writeFileSync(walPath(dir), bytes);

    const err = await openErr(dir);
    expect(err).to.be.instanceOf(StoreCorruptError);
    const ce = err as StoreCorruptError;
    expect(ce.file).to.equal(walPath(dir));
    expect(ce.offset).to.equal(last);
    expect(ce.message).to.contain(`offset ${last}`).and.to.contain('wal.log').and.to.match(/not a torn write/);
    expect(fs.readFileSync(walPath(dir)).equals(bytes)).to.equal(true); // nothing changed

    const logger = capture();
    const store = await Store.open(dir, { logger, repair: true });
    expect(hostsIn(store)).to.deep.equal(firstHosts(11));
    const aside = fs.readdirSync(dir).filter((f) => f.startsWith('wal.log.corrupt-'));
    expect(aside).to.have.length(1);
    expect(fs.readFileSync(path.join(dir, aside[0]!)).equals(bytes)).to.equal(true);
    expect(logger.lines.some((l) => l.level === 'error' && l.msg.includes(`offset ${last}`))).to.equal(true);
    await store.put('hosts', 'after-repair', { state: 'UP' });
    await store.close();
    const again = await Store.open(dir, { logger: capture() });
    expect(hostsIn(again)).to.deep.equal([...firstHosts(11), 'after-repair']);
    await again.close();
  });

  it('a log truncated to half its size refuses (also when cut exactly between records); repair keeps the prefix', async () => {
    const dir = tmpDir();
    const ends = await writeTwelve(dir);
    const full = fs.readFileSync(walPath(dir));
    const half = Math.floor(full.length / 2);
    const kept = ends.filter((e) => e <= half).length;
    for (const [name, len] of [
      ['half', half],
      ['record boundary', ends[kept - 1]!],
    ] as const) {
      fs.writeFileSync(walPath(dir), full.subarray(0, len));
      const err = await openErr(dir);
      expect(err, name).to.be.instanceOf(StoreCorruptError);
      expect((err as StoreCorruptError).file, name).to.equal(walPath(dir));
      expect((err as StoreCorruptError).offset, name).to.equal(ends[kept - 1]);
      expect(err.message, name).to.contain(`ends at byte ${len}`).and.to.contain(`reach byte ${full.length}`).and.to.contain('batch seq 12');
    }
    const store = await Store.open(dir, { logger: capture(), repair: true });
    expect(hostsIn(store)).to.deep.equal(firstHosts(kept));
    expect(store.list('tasks')).to.have.length(kept);
    await store.close();
  });

  it('damage to the latest group commit refuses in the same boot, and is a torn tail after a reboot', async () => {
    const dir = tmpDir();
    // Leave the latest group unsealed, as a crash right after its acknowledgement would.
    const store = await Store.open(dir, { logger: capture() });
    for (let i = 0; i < 5; i++) await store.put('c', `k${i}`, i);
    const acked = fs.readFileSync(walPath(dir));
    await store.close();
    const h = header(acked);
    expect(h.commit!.end).to.equal(acked.length);
    expect(h.commit!.ackedEnd).to.be.lessThan(h.commit!.end);
    const cut = acked.subarray(0, acked.length - 3); // the latest group lost its last bytes

    fs.writeFileSync(walPath(dir), cut);
    const err = await openErr(dir);
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect((err as StoreCorruptError).offset).to.equal(h.commit!.ackedEnd);

    // The same bytes with a commit block written in an earlier boot: the machine went down during
    // that group's fsync, so the group was never acknowledged.
    const otherBoot = Buffer.from(cut);
    encodeCommitBlock(h.generation, { ...h.commit!, bootTag: (h.commit!.bootTag + 1) >>> 0 }).copy(otherBoot, COMMIT_BLOCK_OFFSET);
    fs.writeFileSync(walPath(dir), otherBoot);
    const logger = capture();
    const reopened = await Store.open(dir, { logger });
    expect(reopened.list('c').map(([k]) => k)).to.deep.equal(['k0', 'k1', 'k2', 'k3']);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg).join()).to.match(/machine went down/);
    await reopened.close();
    // A reboot never excuses damage before the latest group.
    const early = Buffer.from(otherBoot);
    early[WAL_HEADER_BYTES + 8 + 3] ^= 1;
    fs.writeFileSync(walPath(dir), early);
    expect(await openErr(dir)).to.be.instanceOf(StoreCorruptError);
  });

  it('a version 1 log (no commit block) is read and rewritten as version 2', async () => {
    const dir = tmpDir();
    const ends = await writeTwelve(dir);
    const v2 = fs.readFileSync(walPath(dir));
    const v1Header = Buffer.from(v2.subarray(0, 16));
    v1Header.writeUInt16BE(1, 6);
    v1Header.writeUInt32BE(crc32(v1Header.subarray(0, 12)), 12);
    fs.writeFileSync(walPath(dir), Buffer.concat([v1Header, v2.subarray(WAL_HEADER_BYTES, ends[11])]));
    const store = await Store.open(dir, { logger: capture() });
    expect(hostsIn(store)).to.deep.equal(firstHosts(12));
    await store.close();
    expect(header(fs.readFileSync(walPath(dir))).version).to.equal(2);
  });
});

describe('store integrity: a real kill -9', function () {
  this.timeout(30000);
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'store-crash-child.js');

  /** Runs the crash child until it has acknowledged `minAcked` batches, then SIGKILLs it mid-write. */
  function killAfterAcks(dir: string, minAcked: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let acked = 0;
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop()!;
        for (const l of lines) if (!l.startsWith('ready') && ++acked === minAcked) p.kill('SIGKILL');
      });
      p.on('error', reject);
      p.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`child exited ${code}: ${err}`))));
    });
  }

  it('after a crash, the tail being written opens silently, but a bit flip in the last acknowledged record refuses', async () => {
    const dir = tmpDir();
    await killAfterAcks(dir, 40);
    const crashed = fs.readFileSync(walPath(dir));
    const h = header(crashed);
    const scan = scanRecords(crashed, h.generation, h.recordsStart);
    const lastAcked = scan.records.find((r) => r.offset + 8 + r.payload.length === h.commit!.end);
    expect(lastAcked, 'a record ends where the commit block says').to.not.equal(undefined);

    // Flip a bit in the last acknowledged record of the crashed log: refused, even though the
    // process (not the machine) crashed in the middle of a write.
    const flipped = Buffer.from(crashed);
    flipped[lastAcked!.offset + 8 + 10] ^= 0x10;
    fs.writeFileSync(walPath(dir), flipped);
    const err = await openErr(dir);
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect((err as StoreCorruptError).offset).to.equal(lastAcked!.offset);

    // The crashed log itself opens without an error, with a gapless prefix.
    fs.writeFileSync(walPath(dir), crashed);
    const logger = capture();
    const store = await Store.open(dir, { logger });
    const n = store.list<{ i: number }>('n');
    n.forEach(([, v], i) => expect(v.i).to.equal(i));
    expect(logger.lines.filter((l) => l.level === 'error')).to.deep.equal([]);
    await store.close();
  });
});

describe('store integrity: an unusable store path says what is wrong', () => {
  it('a path that is an existing file', async () => {
    const file = path.join(tmpDir(), 'store');
    fs.writeFileSync(file, 'not a directory');
    const err = await openErr(file);
    expect(err).to.be.instanceOf(StoreError);
    expect(err.message).to.equal(
      `store path ${file} is an existing file, not a directory; the store path must name a directory (created if missing) that this process can write`,
    );
    expect(fs.readFileSync(file, 'utf8')).to.equal('not a directory');
  });

  it('a path that goes through a file', async () => {
    const file = path.join(tmpDir(), 'plain');
    fs.writeFileSync(file, '');
    const err = await openErr(path.join(file, 'sub', 'store'));
    expect(err).to.be.instanceOf(StoreError);
    expect(err.message).to.contain(`goes through ${file}, which is a file, not a directory`);
  });

  it('a directory this user cannot write', async function () {
    if (process.getuid?.() === 0) this.skip(); // root writes anywhere
    const dir = tmpDir();
    fs.chmodSync(dir, 0o500);
    try {
      const err = await openErr(path.join(dir, 'store'));
      expect(err).to.be.instanceOf(StoreError);
      expect(err.message).to.match(/cannot create the store directory .*: permission denied/);
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  });

  it('a file where the log should be is a StoreError naming the store', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'wal.log'));
    const err = await openErr(dir);
    expect(err).to.be.instanceOf(StoreError);
    expect(err.message).to.contain(dir);
  });
});
