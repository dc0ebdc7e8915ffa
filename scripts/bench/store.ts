/**
 * Store write benchmark (fsync on): batches/s and latency percentiles of Store.put, sequential
 * (one batch in flight) and concurrent (group commit), against a baseline measured in the same run
 * on the same disk: fs.appendFileSync + fs.fsyncSync of buffers the size of one store record.
 * The cost of the WAL commit block (each group commit also rewrites 32 bytes at offset 16 of the
 * log, inside the same fdatasync) is measured directly: the raw pattern of a commit before it
 * (pwrite record + fdatasync) against the pattern with it (pwrite record + pwrite block + fdatasync).
 * The phases run interleaved in short slices so disk-speed drift hits them alike.
 *
 *   node dist/scripts/bench/store.js [totalSeconds=3] [valueBytes=200] [inFlight=32]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Store } from '../../src/store/index.js';

const totalSeconds = Number(process.argv[2] ?? 3);
const valueBytes = Number(process.argv[3] ?? 200);
const inFlight = Number(process.argv[4] ?? 32);
const ROUNDS = 6;
const sliceMs = (totalSeconds * 1000) / ROUNDS / 5;
const quiet = { info() {}, warn() {}, error(m: string) { console.error(m); } };

class Phase {
  readonly lat: number[] = [];
  elapsedMs = 0;
  line(): string {
    const lat = [...this.lat].sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
    return `${this.perSec().toFixed(0).padStart(7)} batches/s  p50 ${q(0.5).toFixed(3)} ms  p99 ${this.p99().toFixed(3)} ms  (${lat.length} ops)`;
  }
  perSec(): number {
    return (this.lat.length / this.elapsedMs) * 1000;
  }
  p99(): number {
    const lat = [...this.lat].sort((a, b) => a - b);
    return lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))] ?? NaN;
  }
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-store-'));
try {
  const value = { job: 'web', instance: 7, state: 'RUNNING', pad: 'x'.repeat(Math.max(0, valueBytes - 50)) };
  let recordBytes = 0;
  const seqStore = await Store.open(path.join(root, 'seq'), { logger: quiet, onWrite: (_s, b) => (recordBytes = b) });
  const concStore = await Store.open(path.join(root, 'conc'), { logger: quiet });
  await seqStore.put('bench', 'warmup', value); // sets recordBytes
  const fd = fs.openSync(path.join(root, 'baseline.log'), 'a');
  const buf = Buffer.alloc(recordBytes, 0x61);
  const rawFd = fs.openSync(path.join(root, 'raw.log'), 'w+');
  const blockFd = fs.openSync(path.join(root, 'block.log'), 'w+');
  const block = Buffer.alloc(32, 0x62);
  let rawPos = 48;
  let blockPos = 48;
  const raw = new Phase();
  const withBlock = new Phase();
  const base = new Phase();
  const seq = new Phase();
  const conc = new Phase();
  let i = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = performance.now();
    while (performance.now() - t0 < sliceMs) {
      const s = performance.now();
      fs.appendFileSync(fd, buf);
      fs.fsyncSync(fd);
      base.lat.push(performance.now() - s);
    }
    base.elapsedMs += performance.now() - t0;

    t0 = performance.now();
    while (performance.now() - t0 < sliceMs) {
      const s = performance.now();
      fs.writeSync(rawFd, buf, 0, buf.length, rawPos);
      rawPos += buf.length;
      fs.fdatasyncSync(rawFd);
      raw.lat.push(performance.now() - s);
    }
    raw.elapsedMs += performance.now() - t0;

    t0 = performance.now();
    while (performance.now() - t0 < sliceMs) {
      const s = performance.now();
      fs.writeSync(blockFd, buf, 0, buf.length, blockPos);
      blockPos += buf.length;
      fs.writeSync(blockFd, block, 0, block.length, 16);
      fs.fdatasyncSync(blockFd);
      withBlock.lat.push(performance.now() - s);
    }
    withBlock.elapsedMs += performance.now() - t0;

    t0 = performance.now();
    while (performance.now() - t0 < sliceMs) {
      const s = performance.now();
      await seqStore.put('bench', `k${i++ % 1000}`, value);
      seq.lat.push(performance.now() - s);
    }
    seq.elapsedMs += performance.now() - t0;

    t0 = performance.now();
    const worker = async () => {
      while (performance.now() - t0 < sliceMs) {
        const s = performance.now();
        await concStore.put('bench', `c${i++ % 1000}`, value);
        conc.lat.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    conc.elapsedMs += performance.now() - t0;
  }
  fs.closeSync(fd);
  fs.closeSync(rawFd);
  fs.closeSync(blockFd);
  const cs = concStore.stats();
  await seqStore.close();
  await concStore.close();

  console.log(`store bench: fsync on, ${recordBytes}-byte records, ${totalSeconds}s interleaved, ${os.platform()} ${os.tmpdir()}`);
  console.log(`baseline appendFileSync+fsyncSync : ${base.line()}`);
  console.log(`raw pwrite+fdatasync (old commit) : ${raw.line()}`);
  console.log(`raw + 32-byte block (new commit)  : ${withBlock.line()}`);
  console.log(`store put, 1 in flight            : ${seq.line()}`);
  console.log(`store put, ${String(inFlight).padEnd(2)} in flight           : ${conc.line()}  ${(cs.batches / cs.commits).toFixed(1)} batches/fsync`);
  console.log(`ratio commit block/without batches/s ${(withBlock.perSec() / raw.perSec()).toFixed(2)}x  p99 ${(withBlock.p99() / raw.p99()).toFixed(2)}x`);
  console.log(`ratio store(1)/baseline  batches/s ${(seq.perSec() / base.perSec()).toFixed(2)}x  p99 ${(seq.p99() / base.p99()).toFixed(2)}x`);
  console.log(`ratio store(${inFlight})/baseline batches/s ${(conc.perSec() / base.perSec()).toFixed(2)}x  p99 ${(conc.p99() / base.p99()).toFixed(2)}x`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
