import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store, StoreCorruptError, StoreLockedError, StoreClosedError, type StoreOptions } from '../src/store/index.js';
import { crc32, crc32Table, nativeCrc32Available } from '../src/store/crc32.js';
import { WAL_HEADER_BYTES, scanRecords, decodeWalHeader } from '../src/store/wal.js';
import { emptyCollections, expectEmptied } from './store-collections.js';

interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
  meta?: object;
}
function captureLogger(): StoreOptions['logger'] & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (msg: string, meta?: object) => void lines.push({ level: 'info', msg, meta }),
    warn: (msg: string, meta?: object) => void lines.push({ level: 'warn', msg, meta }),
    error: (msg: string, meta?: object) => void lines.push({ level: 'error', msg, meta }),
  };
}

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-store-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const walPath = (dir: string) => path.join(dir, 'wal.log');
const snapPath = (dir: string) => path.join(dir, 'snapshot.json');

async function open(dir: string, opts: StoreOptions = {}) {
  const logger = captureLogger();
  const store = await Store.open(dir, { logger, ...opts });
  return { store, logger };
}

async function expectReject(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** Writes `n` single-put records k0..k{n-1} into a new store; returns the wal.log end offset after
 *  each, and (with `states`) the whole file as it was on disk right after each acknowledgement. */
async function writeRecords(dir: string, n: number, states?: Buffer[]): Promise<number[]> {
  const { store } = await open(dir);
  const ends: number[] = [];
  for (let i = 0; i < n; i++) {
    await store.put('c', `k${i}`, { i, text: `value ${i}` });
    ends.push(store.stats().walBytes);
    states?.push(fs.readFileSync(walPath(dir)));
  }
  await store.close();
  return ends;
}

describe('store: crc32', () => {
  it('table implementation matches the check value and zlib', () => {
    expect(crc32Table(Buffer.from('123456789'))).to.equal(0xcbf43926);
    expect(crc32(Buffer.from('123456789'))).to.equal(0xcbf43926);
    const data = Buffer.alloc(10000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    expect(crc32Table(data)).to.equal(crc32(data));
    // chaining
    expect(crc32Table(data.subarray(5000), crc32Table(data.subarray(0, 5000)))).to.equal(crc32(data));
    expect(typeof nativeCrc32Available).to.equal('boolean');
  });
});

describe('store: round trips', () => {
  it('put/get/delete/batch survive close and reopen', async () => {
    const dir = tmpDir();
    let { store } = await open(dir);
    expect(store.get('jobs', 'a')).to.equal(undefined);
    expect(store.list('jobs')).to.deep.equal([]);
    await store.put('framework', 'id', { value: 'fw-1' });
    await store.put('jobs', 'b', { n: 2 });
    await store.put('jobs', 'a', { n: 1, nested: { list: [1, 'x', null, true] } });
    await store.put('jobs', 'c', 3);
    await store.put('jobs', 'b', { n: 22 }); // overwrite keeps position
    await store.delete('jobs', 'c');
    await store.delete('jobs', 'missing');
    await store.batch([
      { op: 'put', collection: 'tasks', key: 't1', value: 'RUNNING' },
      { op: 'put', collection: 'tasks', key: 't2', value: 'STAGING' },
      { op: 'delete', collection: 'tasks', key: 't1' },
      { op: 'put', collection: 'hosts', key: 'h1', value: { state: 'DRAINING', at: new Date(0) } },
    ]);
    await store.batch([]);
    const check = (s: Store) => {
      expect(s.get('framework', 'id')).to.deep.equal({ value: 'fw-1' });
      expect(s.list('jobs')).to.deep.equal([
        ['b', { n: 22 }],
        ['a', { n: 1, nested: { list: [1, 'x', null, true] } }],
      ]);
      expect(s.get('jobs', 'c')).to.equal(undefined);
      expect(s.list('tasks')).to.deep.equal([['t2', 'STAGING']]);
      expect(s.get('hosts', 'h1')).to.deep.equal({ state: 'DRAINING', at: '1970-01-01T00:00:00.000Z' });
      expect(s.collections().sort()).to.deep.equal(['framework', 'hosts', 'jobs', 'tasks']);
    };
    check(store);
    expect(store.stats().seq).to.equal(8);
    await store.close();
    ({ store } = await open(dir));
    check(store);
    expect(store.stats().seq).to.equal(8);
    // delete + put again moves the key to the end, also across reopen
    await store.delete('jobs', 'b');
    await store.put('jobs', 'b', 'again');
    await store.close();
    ({ store } = await open(dir));
    expect(store.list('jobs').map(([k]) => k)).to.deep.equal(['a', 'b']);
    await store.close();
  });

  it('returns frozen values and rejects values that are not JSON without writing anything', async () => {
    const dir = tmpDir();
    const { store } = await open(dir);
    await store.put('c', 'k', { a: { b: [1] } });
    const v = store.get<{ a: { b: number[] } }>('c', 'k')!;
    expect(() => {
      v.a.b.push(2);
    }).to.throw(TypeError);
    const before = store.stats();
    for (const bad of [undefined, 10n, () => 1, { x: 1n }]) {
      const err = await expectReject(store.put('c', 'bad', bad));
      expect(err).to.be.instanceOf(TypeError);
      expect(err.message).to.match(/not JSON-serialisable/);
    }
    const err = await expectReject(
      store.batch([
        { op: 'put', collection: 'c', key: 'ok', value: 1 },
        { op: 'put', collection: 'c', key: 'bad', value: 5n },
      ]),
    );
    expect(err.message).to.match(/batch op 1/);
    expect(await expectReject(store.put('', 'k', 1))).to.be.instanceOf(TypeError);
    expect(await expectReject(store.batch([{ op: 'nope' as 'put', collection: 'c', key: 'k' }]))).to.be.instanceOf(TypeError);
    expect(store.get('c', 'ok')).to.equal(undefined);
    expect(store.stats().walBytes).to.equal(before.walBytes);
    await store.close();
  });

  it('queues concurrent writers, commits in call order and groups several batches per fsync', async () => {
    const dir = tmpDir();
    const seen: Array<[number, number]> = [];
    const { store } = await open(dir, { onWrite: (s, b) => seen.push([s, b]) });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.put('n', String(i), i).then(() => order.push(i))),
    );
    expect(order).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
    const st = store.stats();
    expect(st.batches).to.equal(200);
    expect(st.commits).to.be.lessThan(200);
    expect(seen).to.have.length(200);
    for (const [s, b] of seen) {
      expect(s).to.be.a('number').and.be.at.least(0);
      expect(b).to.be.greaterThan(8);
    }
    await store.close();
    const { store: again } = await open(dir);
    expect(again.list('n').map(([, v]) => v)).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
    await again.close();
  });

  it('close waits for queued writes; afterwards operations fail with StoreClosedError', async () => {
    const dir = tmpDir();
    const { store } = await open(dir);
    const writes = Array.from({ length: 20 }, (_, i) => store.put('c', String(i), i));
    await store.close();
    await Promise.all(writes);
    await store.close(); // idempotent
    expect(await expectReject(store.put('c', 'x', 1))).to.be.instanceOf(StoreClosedError);
    expect(() => store.get('c', '1')).to.throw(StoreClosedError);
    expect(fs.existsSync(path.join(dir, 'LOCK'))).to.equal(false);
    const { store: again } = await open(dir);
    expect(again.list('c')).to.have.length(20);
    await again.close();
  });
});

describe('store: I/O failures', () => {
  it('a failed fsync rejects the batch, rolls the log back, and the batch never reappears', async () => {
    const dir = tmpDir();
    let { store, logger } = await open(dir);
    await store.put('c', 'a', 1);
    const wal = (store as unknown as { wal: { datasync(): Promise<void> } }).wal;
    const real = wal.datasync.bind(wal);
    wal.datasync = () => {
      wal.datasync = real;
      return Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    };
    const err = await expectReject(store.put('c', 'lost', 2));
    expect(err.message).to.match(/EIO/);
    expect(store.get('c', 'lost')).to.equal(undefined);
    expect(logger.lines.some((l) => l.level === 'error' && /write of 1 batch\(es\) failed/.test(l.msg))).to.equal(true);
    await store.put('c', 'b', 3); // the store stays usable
    await store.close();
    ({ store } = await open(dir));
    expect(store.list('c')).to.deep.equal([['a', 1], ['b', 3]]);
    await store.close();
  });

  it('when the log cannot be rolled back the store refuses further writes (reopen recovers)', async () => {
    const dir = tmpDir();
    let { store } = await open(dir);
    await store.put('c', 'a', 1);
    const wal = (store as unknown as { wal: { datasync(): Promise<void>; truncate(n: number): Promise<void> } }).wal;
    wal.datasync = () => Promise.reject(new Error('EIO'));
    wal.truncate = () => Promise.reject(new Error('EIO'));
    const first = await expectReject(store.put('c', 'x', 2));
    expect(first.message).to.match(/whether this batch is durable is unknown/);
    const err = await expectReject(store.put('c', 'y', 3));
    expect(err).to.be.instanceOf(StoreClosedError);
    expect(err.message).to.match(/no further writes are accepted, reopen the store/);
    expect(store.get('c', 'a')).to.equal(1); // reads still work
    await store.close();
    ({ store } = await open(dir));
    expect(store.get('c', 'a')).to.equal(1);
    await store.close();
  });
});

describe('store: empty collections', () => {
  it('a collection exists while it holds a record: in memory, after compaction and after reopen', async () => {
    const dir = tmpDir();
    let { store } = await open(dir);
    await emptyCollections(store);
    await store.close();
    ({ store } = await open(dir)); // replayed from the log
    expectEmptied(store);
    await store.compact();
    expectEmptied(store);
    expect(Object.keys(JSON.parse(fs.readFileSync(snapPath(dir), 'utf8')).collections)).to.deep.equal(['b', 'c']);
    await store.close();
    ({ store } = await open(dir)); // from the snapshot
    expectEmptied(store);
    expect(store.stats().collections).to.deep.equal({ b: 1, c: 1 });
    await store.close();
  });

  it('an empty collection in a snapshot is not listed', async () => {
    const dir = tmpDir();
    let { store } = await open(dir);
    await store.put('b', '1', { n: 2 });
    await store.put('c', 'k', [1]);
    await store.compact();
    await store.close();
    // a snapshot written by hand (or an older version) with an empty collection: valid, CRC fixed up
    const snap = JSON.parse(fs.readFileSync(snapPath(dir), 'utf8'));
    const collections = { a: [], ...snap.collections, gone: [] };
    snap.collections = collections;
    snap.crc32 = crc32(Buffer.from(JSON.stringify(collections), 'utf8'));
    fs.writeFileSync(snapPath(dir), JSON.stringify(snap));
    ({ store } = await open(dir));
    expectEmptied(store);
    await store.close();
  });
});

describe('store: compaction', () => {
  it('explicit compaction then reopen keeps everything (and the order)', async () => {
    const dir = tmpDir();
    let { store } = await open(dir);
    for (let i = 0; i < 50; i++) await store.put('jobs', `j${49 - i}`, { i });
    for (let i = 0; i < 50; i += 3) await store.delete('jobs', `j${i}`);
    await store.put('framework', 'id', { value: 'fw' });
    const expected = store.list('jobs');
    await store.compact();
    expect(store.stats().generation).to.equal(1);
    expect(store.stats().walBytes).to.equal(WAL_HEADER_BYTES);
    const snap = JSON.parse(fs.readFileSync(snapPath(dir), 'utf8'));
    expect(snap).to.include({ format: 'sluice-store-snapshot', version: 1, generation: 1, seq: 68 });
    await store.put('jobs', 'after', 1);
    await store.close();
    ({ store } = await open(dir));
    expect(store.list('jobs')).to.deep.equal([...expected, ['after', 1]]);
    expect(store.get('framework', 'id')).to.deep.equal({ value: 'fw' });
    expect(store.stats()).to.include({ generation: 1, seq: 69 });
    await store.close();
  });

  it('many writes trigger compaction; reopen after each keeps everything', async () => {
    const dir = tmpDir();
    let { store, logger } = await open(dir, { compactAfterBytes: 4096 });
    for (let i = 0; i < 300; i++) await store.put('tasks', `t${i % 120}`, { i, pad: 'p'.repeat(40) });
    const st = store.stats();
    expect(st.compactions).to.be.greaterThan(3);
    expect(st.generation).to.equal(st.compactions);
    expect(st.walBytes).to.be.lessThan(4096 + 200);
    expect(logger.lines.some((l) => /compacted to generation/.test(l.msg))).to.equal(true);
    const expected = store.list('tasks');
    await store.close();
    ({ store } = await open(dir, { compactAfterBytes: 4096 }));
    expect(store.list('tasks')).to.deep.equal(expected);
    expect(store.stats().seq).to.equal(300);
    await store.close();
  });

  it('recovers from a crash between snapshot rename and log replacement (stale log is not replayed)', async () => {
    const dir = tmpDir();
    let { store } = await open(dir);
    await store.put('c', 'a', 1);
    await store.put('c', 'b', 2);
    await store.close();
    const staleWal = fs.readFileSync(walPath(dir));
    ({ store } = await open(dir));
    await store.delete('c', 'a');
    await store.compact();
    await store.close();
    // Simulate: snapshot generation 1 renamed into place, wal.log still generation 0, tmp files left.
    fs.writeFileSync(walPath(dir), staleWal);
    fs.writeFileSync(snapPath(dir) + '.tmp', '{"partial');
    fs.writeFileSync(walPath(dir) + '.tmp', 'xx');
    let logger;
    ({ store, logger } = await open(dir));
    expect(store.list('c')).to.deep.equal([['b', 2]]);
    expect(logger.lines.some((l) => /already contained in snapshot.json generation 1/.test(l.msg))).to.equal(true);
    expect(fs.existsSync(snapPath(dir) + '.tmp')).to.equal(false);
    await store.put('c', 'x', 3);
    await store.close();
    ({ store } = await open(dir));
    expect(store.list('c')).to.deep.equal([['b', 2], ['x', 3]]);
    await store.close();
    expect((decodeWalHeader(fs.readFileSync(walPath(dir))) as { generation: number }).generation).to.equal(1);
  });

  it('a log newer than the snapshot, or a missing log, is an error, not an empty store', async () => {
    const dir = tmpDir();
    let { store } = await open(dir);
    await store.put('c', 'a', 1);
    await store.compact();
    await store.put('c', 'b', 2);
    await store.close();
    const snap = fs.readFileSync(snapPath(dir));
    fs.rmSync(snapPath(dir));
    let err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.match(/wal\.log is generation 1 but .*snapshot\.json is missing/);
    fs.writeFileSync(snapPath(dir), snap);
    fs.rmSync(walPath(dir));
    err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.match(/wal\.log is missing/);
    expect(fs.existsSync(path.join(dir, 'LOCK'))).to.equal(false); // failed open releases the lock
    ({ store } = await open(dir, { repair: true }));
    expect(store.list('c')).to.deep.equal([['a', 1]]);
    await store.close();
  });
});

describe('store: torn tail recovery', () => {
  // A crash while appending record 5 leaves the file as it was once record 4 was acknowledged (its
  // commit block claims 4 records) plus part of record 5, which was never acknowledged.
  it('a partly written record after the last acknowledged one is dropped, whatever its length', async () => {
    const src = tmpDir();
    const states: Buffer[] = [];
    const ends = await writeRecords(src, 5, states);
    const full = fs.readFileSync(walPath(src));
    expect(full.length).to.equal(ends[4]);
    const lastStart = ends[3]!;
    const lastLen = full.length - lastStart;
    const acked4 = states[3]!;
    expect(acked4.length).to.equal(lastStart);
    const dir = tmpDir();
    for (let cut = 1; cut < lastLen; cut++) {
      fs.writeFileSync(walPath(dir), Buffer.concat([acked4, full.subarray(lastStart, full.length - cut)]));
      const { store, logger } = await open(dir, { fsync: false });
      expect(store.list('c').map(([k]) => k), `cut ${cut}`).to.deep.equal(['k0', 'k1', 'k2', 'k3']);
      const warn = logger.lines.find((l) => l.level === 'warn');
      expect(warn, `cut ${cut}`).to.not.equal(undefined);
      expect(warn!.msg).to.contain(`offset ${lastStart}`);
      expect(store.stats().walBytes).to.equal(lastStart);
      await store.close();
      expect(fs.statSync(walPath(dir)).size).to.equal(lastStart);
    }
    // Without any byte of record 5 it is a clean log.
    fs.writeFileSync(walPath(dir), acked4);
    const { store, logger } = await open(dir);
    expect(store.list('c')).to.have.length(4);
    expect(logger.lines.filter((l) => l.level !== 'info')).to.deep.equal([]);
    // and writing after a recovery appends where the good data ended
    await store.put('c', 'new', 1);
    await store.close();
    const { store: again } = await open(dir);
    expect(again.list('c').map(([k]) => k)).to.deep.equal(['k0', 'k1', 'k2', 'k3', 'new']);
    await again.close();
  });

  it('garbage after the last acknowledged record, or a damaged unacknowledged record, is a torn tail', async () => {
    const src = tmpDir();
    const states: Buffer[] = [];
    const ends = await writeRecords(src, 4, states);
    const full = fs.readFileSync(walPath(src));
    const header = Buffer.alloc(8);
    header.writeUInt32BE(100, 0); // plausible header whose payload never arrived
    // Record 4 written but not acknowledged (the commit block still claims 3 records), then damaged.
    const flipped = Buffer.concat([states[2]!, full.subarray(ends[2]!)]);
    flipped[full.length - 3] ^= 0x40; // payload byte of the last record
    const badLen = Buffer.concat([states[2]!, full.subarray(ends[2]!)]);
    badLen[ends[2]!] = 0x7f; // length field of the last record
    const cases: Array<[string, Buffer, number]> = [
      ['zeros', Buffer.concat([full, Buffer.alloc(4096)]), 4],
      ['random', Buffer.concat([full, Buffer.from(Array.from({ length: 777 }, (_, i) => (i * 131 + 17) & 0xff))]), 4],
      ['header only', Buffer.concat([full, header]), 4],
      ['header and part of a payload', Buffer.concat([full, header, Buffer.from('{"s":5,"o":[')]), 4],
      ['crc mismatch in the unacknowledged last record', flipped, 3],
      ['bad length in the unacknowledged last record', badLen, 3],
    ];
    for (const [name, bytes, keep] of cases) {
      const dir = tmpDir();
      fs.writeFileSync(walPath(dir), bytes);
      const { store, logger } = await open(dir);
      expect(store.list('c'), name).to.have.length(keep);
      const warn = logger.lines.find((l) => l.level === 'warn');
      expect(warn?.msg, name).to.contain(`torn record at offset ${ends[keep - 1]}`);
      await store.close();
      expect(fs.statSync(walPath(dir)).size, name).to.equal(ends[keep - 1]);
    }
  });
});

describe('store: corruption is never silent', () => {
  for (const [which, index] of [
    ['first', 0],
    ['third', 2],
  ] as const) {
    it(`a flipped byte in the ${which} of several records throws StoreCorruptError naming the offset; repair keeps the prefix`, async () => {
      const dir = tmpDir();
      const ends = await writeRecords(dir, 6);
      const offset = index === 0 ? WAL_HEADER_BYTES : ends[index - 1]!;
      const original = fs.readFileSync(walPath(dir));
      const bytes = Buffer.from(original);
      bytes[offset + 8 + 5] ^= 0x01;
      fs.writeFileSync(walPath(dir), bytes);

      const err = await expectReject(Store.open(dir, { logger: captureLogger() }));
      expect(err).to.be.instanceOf(StoreCorruptError);
      expect(err.message).to.contain(`offset ${offset}`);
      expect(err.message).to.contain('wal.log');
      expect(err.message).to.match(/CRC mismatch/);
      expect(err.message).to.match(/not a torn write/);
      expect((err as StoreCorruptError).offset).to.equal(offset);
      expect(fs.readFileSync(walPath(dir)).equals(bytes)).to.equal(true); // untouched
      expect(fs.existsSync(path.join(dir, 'LOCK'))).to.equal(false);

      const { store, logger } = await open(dir, { repair: true });
      expect(store.list('c').map(([k]) => k)).to.deep.equal(Array.from({ length: index }, (_, i) => `k${i}`));
      expect(logger.lines.filter((l) => l.level === 'error').length).to.be.greaterThan(0);
      const aside = fs.readdirSync(dir).filter((f) => f.startsWith('wal.log.corrupt-'));
      expect(aside).to.have.length(1);
      expect(fs.readFileSync(path.join(dir, aside[0]!)).equals(bytes)).to.equal(true);
      await store.put('c', 'after', 1);
      await store.close();
      const { store: again, logger: l2 } = await open(dir);
      expect(again.list('c').map(([k]) => k)).to.deep.equal([...Array.from({ length: index }, (_, i) => `k${i}`), 'after']);
      expect(l2.lines.filter((l) => l.level !== 'info')).to.deep.equal([]);
      await again.close();
    });
  }

  it('a damaged length field in the middle of the log is corruption too', async () => {
    const dir = tmpDir();
    const ends = await writeRecords(dir, 4);
    const bytes = fs.readFileSync(walPath(dir));
    bytes[ends[0]! + 1] = 0x05; // second record's length now points past the end of the file
    fs.writeFileSync(walPath(dir), bytes);
    const err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.contain(`offset ${ends[0]}`);
  });

  it('a damaged log header is corruption', async () => {
    const dir = tmpDir();
    await writeRecords(dir, 2);
    const bytes = fs.readFileSync(walPath(dir));
    bytes[9] ^= 0xff;
    fs.writeFileSync(walPath(dir), bytes);
    const err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.match(/wal\.log: header CRC mismatch/);
  });

  it('scanRecords distinguishes a torn tail from damage followed by valid records', () => {
    const dir = tmpDir();
    return writeRecords(dir, 3).then((ends) => {
      const bytes = fs.readFileSync(walPath(dir));
      const clean = scanRecords(bytes, 0);
      expect(clean.goodEnd).to.equal(ends[2]);
      expect(clean.bad).to.equal(undefined);
      bytes[ends[0]! + 10] ^= 1;
      const r = scanRecords(bytes, 0);
      expect(r.records).to.have.length(1);
      expect(r.bad).to.include({ offset: ends[0], nextValidOffset: ends[1] });
      // a different generation never validates
      expect(scanRecords(fs.readFileSync(walPath(dir)), 1).records).to.have.length(0);
    });
  });

  it('an unparseable or altered snapshot is a clear error; repair moves it aside', async () => {
    const dir = tmpDir();
    let { store } = await open(dir);
    await store.put('c', 'a', { v: 1 });
    await store.put('c', 'b', { v: 2 });
    await store.compact();
    await store.put('c', 'later', { v: 3 });
    await store.close();
    const good = fs.readFileSync(snapPath(dir), 'utf8');

    fs.writeFileSync(snapPath(dir), good.slice(0, good.length - 20));
    let err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.contain('snapshot.json');
    expect(err.message).to.match(/not valid JSON/);

    fs.writeFileSync(snapPath(dir), good.replace('{"v":2}', '{"v":7}'));
    err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect(err.message).to.match(/snapshot\.json: CRC mismatch/);

    fs.writeFileSync(snapPath(dir), '');
    err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreCorruptError);
    expect((err as StoreCorruptError).file).to.equal(snapPath(dir));

    let logger;
    ({ store, logger } = await open(dir, { repair: true }));
    // the base state is lost; the log records after it are kept
    expect(store.list('c')).to.deep.equal([['later', { v: 3 }]]);
    expect(logger.lines.some((l) => l.level === 'error' && /snapshot\.json\.corrupt-/.test(l.msg))).to.equal(true);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('snapshot.json.corrupt-'))).to.have.length(1);
    await store.close();
    ({ store } = await open(dir));
    expect(store.list('c')).to.deep.equal([['later', { v: 3 }]]);
    await store.close();
  });
});

describe('store: lock', () => {
  it('a second open of the same directory fails while the first is open', async () => {
    const dir = tmpDir();
    const { store } = await open(dir);
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').split('\n')[0]).to.equal(String(process.pid));
    const err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreLockedError);
    expect(err.message).to.match(/already open/);
    await store.close();
    const { store: again } = await open(dir);
    await again.close();
  });

  it('a lock held by another live process is refused; a stale lock is taken over with a warning', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'LOCK'), `${process.ppid}\n${os.hostname()}\n`);
    const err = await expectReject(Store.open(dir, { logger: captureLogger() }));
    expect(err).to.be.instanceOf(StoreLockedError);
    expect(err.message).to.contain(`locked by running process ${process.ppid}`);

    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(path.join(dir, 'LOCK'), `${dead}\n${os.hostname()}\n`);
    const { store, logger } = await open(dir);
    expect(logger.lines.some((l) => l.level === 'warn' && l.msg.includes(`pid ${dead}, which is not running`))).to.equal(true);
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').split('\n')[0]).to.equal(String(process.pid));
    await store.close();
  });
});

describe('store: crash safety with a real SIGKILL', function () {
  this.timeout(20000);
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'store-crash-child.js');

  function runAndKill(dir: string, killAfterMs: number): Promise<{ acked: number[]; start: number; stderr: string }> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let stderr = '';
      let start = -1;
      const acked: number[] = [];
      p.stdout.setEncoding('utf8');
      p.stderr.setEncoding('utf8');
      p.stderr.on('data', (d: string) => (stderr += d));
      p.stdout.on('data', (d: string) => {
        out += d;
        let nl: number;
        while ((nl = out.indexOf('\n')) >= 0) {
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          if (line.startsWith('ready ')) {
            start = Number(line.slice(6));
            setTimeout(() => p.kill('SIGKILL'), killAfterMs);
          } else acked.push(Number(line));
        }
      });
      p.on('error', reject);
      // 'close': exited (and reaped) and stdio drained
      p.on('close', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}/${signal}: ${stderr}`));
        else resolve({ acked, start, stderr });
      });
    });
  }

  it('every acknowledged number survives and the numbers form a gapless prefix', async () => {
    const dir = tmpDir();
    let maxAcked = -1;
    let totalAcked = 0;
    for (let round = 0; round < 5; round++) {
      const { acked, start } = await runAndKill(dir, 100 + Math.floor(Math.random() * 400));
      totalAcked += acked.length;
      for (const a of acked) maxAcked = Math.max(maxAcked, a);
      const { store, logger } = await open(dir);
      const n = store.list<{ i: number }>('n');
      const m = store.list<number>('m');
      const count = n.length;
      expect(start, `round ${round}`).to.be.at.most(count);
      // gapless prefix 0..count-1, in order
      n.forEach(([k, v], i) => {
        expect(v.i, `round ${round}`).to.equal(i);
        expect(k).to.equal(String(i).padStart(8, '0'));
      });
      // batches are atomic: both collections hold the same numbers
      expect(m.map(([, v]) => v)).to.deep.equal(n.map(([, v]) => v.i));
      // every acknowledged number is present
      expect(maxAcked, `round ${round}: acked ${maxAcked}, store has ${count}`).to.be.lessThan(count);
      expect(logger.lines.filter((l) => l.level === 'error')).to.deep.equal([]);
      await store.close();
    }
    expect(totalAcked).to.be.greaterThan(50);
  });
});
