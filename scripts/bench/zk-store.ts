/**
 * ZooKeeper store benchmark (a real standalone ZooKeeper on loopback, started by the test helper),
 * against the file store (fsync on) in the same run:
 *  - durable batches/s, one at a time and with `inFlight` in flight (one record per batch);
 *  - the time a new leader takes to load a 10,000-agent / 200,000-task state on takeover
 *    (ZkStore.open: epoch bump + load of every record; goal < 5 s), against the file store's open
 *    of the same state.
 *
 *   node dist/scripts/bench/zk-store.js [seconds=3] [tasks=200000] [agents=10000] [inFlight=32] [loadRuns=2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BatchOp } from '../../src/store/store.js';
import { Store } from '../../src/store/index.js';
import { ZkStore } from '../../src/ha/zk-store.js';
import { ZkSession } from '../../src/zk/session.js';
import { parseZkUrl } from '../../src/zk/url.js';
import { nullLogger } from '../../src/util/logger.js';

process.env['SLUICE_TEST_ZK_HEAP'] ??= '1536m';
const { startZooKeeper } = await import('../../test/helpers/zookeeper.js');

const seconds = Number(process.argv[2] ?? 3);
const tasks = Number(process.argv[3] ?? 200_000);
const agents = Number(process.argv[4] ?? 10_000);
const inFlight = Number(process.argv[5] ?? 32);
const loadRuns = Number(process.argv[6] ?? 2);
const quiet = nullLogger();

interface KvLike {
  put(c: string, k: string, v: unknown): Promise<void>;
  batch(ops: BatchOp[]): Promise<void>;
}

async function rate(store: KvLike, ms: number, parallel: number): Promise<{ perSec: number; p50: number; p99: number }> {
  const lat: number[] = [];
  const t0 = performance.now();
  let i = 0;
  const value = { job: 'web', index: 7, state: 'RUNNING', version: 3, failures: 0, host: 'agent-00042.rack-03', pad: 'x'.repeat(120) };
  const worker = async () => {
    while (performance.now() - t0 < ms) {
      const s = performance.now();
      await store.put('bench', `k${i++ % 1000}`, value);
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const el = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { perSec: (lat.length / el) * 1000, p50: q(0.5), p99: q(0.99) };
}

/** Records of a cluster with `agents` agents and `tasks` tasks: jobs, instances, tasks, hosts. */
function* stateOps(): Generator<BatchOp> {
  const perJob = 100;
  const jobs = Math.ceil(tasks / perJob);
  const now = Date.now();
  for (let j = 0; j < jobs; j++) {
    yield { op: 'put', collection: 'jobs', key: `job-${j}`, value: { name: `job-${j}`, instances: perJob, version: 1, task_version: 1, spec: { name: `job-${j}`, instances: perJob, resources: { cpus: 0.5, mem: 128, ports: 1 }, command: { value: 'sleep 36000', shell: true }, sla: { percentage: 90, duration_secs: 600 } } } };
  }
  for (let t = 0; t < tasks; t++) {
    const job = `job-${Math.floor(t / perJob)}`;
    const index = t % perJob;
    const a = t % agents;
    const where = { agent_id: `a1b2c3d4-e5f6-4711-8899-aabbccddeeff-S${a}`, host: `agent-${String(a).padStart(5, '0')}`, rack: `rack-${a % 50}` };
    const taskId = `${job}.${index}.${t.toString(36)}-5f3a9c`;
    yield { op: 'put', collection: 'instances', key: `${job}/${index}`, value: { job, index, state: 'RUNNING', task_id: taskId, ...where, version: 1, running_since_ms: now, failures: 0 } };
    yield { op: 'put', collection: 'tasks', key: taskId, value: { task_id: taskId, job, index, ...where, state: 'TASK_RUNNING', version: 1, launched_ms: now, updated_ms: now, running_since_ms: now } };
  }
  for (let a = 0; a < agents; a++) {
    if (a % 20 === 0) yield { op: 'put', collection: 'hosts', key: `agent-${String(a).padStart(5, '0')}`, value: { hostname: `agent-${String(a).padStart(5, '0')}`, state: 'DRAINED', since_ms: now, requested_by: 'sre', window: { start_ms: now, duration_ms: 3_600_000 } } };
  }
}

async function seed(store: KvLike): Promise<{ records: number; bytes: number }> {
  let ops: BatchOp[] = [];
  let records = 0;
  let bytes = 0;
  for (const op of stateOps()) {
    ops.push(op);
    records++;
    bytes += JSON.stringify((op as { value: unknown }).value).length;
    if (ops.length === 2000) {
      await store.batch(ops);
      ops = [];
    }
  }
  if (ops.length) await store.batch(ops);
  return { records, bytes };
}

const zk = await startZooKeeper();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-zkstore-'));
const sessions: ZkSession[] = [];
const connect = async () => {
  const s = await ZkSession.connect(parseZkUrl(zk.url('/bench')), { sessionTimeoutMs: 10_000 });
  sessions.push(s);
  return s;
};
try {
  const ms = (seconds * 1000) / 4;
  const file = await Store.open(path.join(root, 'rate'), { logger: quiet });
  const zs = await ZkStore.open(await connect(), '/bench/rate', { owner: 'bench', logger: quiet });
  await rate(file, 200, 1);
  await rate(zs, 200, 1);
  const f1 = await rate(file, ms, 1);
  const z1 = await rate(zs, ms, 1);
  const fN = await rate(file, ms, inFlight);
  const zN = await rate(zs, ms, inFlight);
  await file.close();
  const line = (n: string, r: { perSec: number; p50: number; p99: number }) =>
    `${n.padEnd(34)} ${r.perSec.toFixed(0).padStart(7)} batches/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`;
  console.log(`zk-store bench: ZooKeeper standalone on loopback (its own fsync on), file store fsync on; ${seconds}s`);
  console.log(line('file store, 1 in flight', f1));
  console.log(line('zk store,   1 in flight', z1));
  console.log(line(`file store, ${inFlight} in flight`, fN));
  console.log(line(`zk store,   ${inFlight} in flight`, zN));
  const zst = zs.stats();
  console.log(`zk store group commit: ${zst.batches} batches in ${zst.multis} multis (${(zst.batches / zst.multis).toFixed(1)} per multi), ${zst.compactions} compactions`);
  console.log(`ratio zk/file: 1 in flight ${(z1.perSec / f1.perSec).toFixed(2)}x, ${inFlight} in flight ${(zN.perSec / fN.perSec).toFixed(2)}x`);

  // takeover load of a big state
  const big = await ZkStore.open(await connect(), '/bench/big', { owner: 'seed', logger: quiet });
  let t0 = performance.now();
  const { records, bytes } = await seed(big);
  const seedS = (performance.now() - t0) / 1000;
  const fileBig = await Store.open(path.join(root, 'big'), { logger: quiet });
  await seed(fileBig);
  await fileBig.close();
  const bst = big.stats();
  await big.close();
  console.log(`state: ${agents} agents, ${tasks} tasks → ${records} records, ${(bytes / 1e6).toFixed(1)} MB JSON (zk seed ${seedS.toFixed(1)} s; ${bst.compactions} compactions, then ${bst.logEntries} log entries / ${(bst.logBytes / 1e6).toFixed(1)} MB after the snapshot)`);
  const loads: number[] = [];
  for (let i = 0; i < loadRuns; i++) {
    const s = await connect();
    t0 = performance.now();
    const st = await ZkStore.open(s, '/bench/big', { owner: `taker-${i}`, logger: quiet });
    loads.push((performance.now() - t0) / 1000);
    if (st.list('tasks').length !== tasks) throw new Error(`loaded ${st.list('tasks').length} tasks, expected ${tasks}`);
  }
  const fileLoads: number[] = [];
  for (let i = 0; i < loadRuns; i++) {
    t0 = performance.now();
    const st = await Store.open(path.join(root, 'big'), { logger: quiet });
    fileLoads.push((performance.now() - t0) / 1000);
    await st.close();
  }
  const best = (a: number[]) => Math.min(...a);
  console.log(`takeover load (ZkStore.open) : ${loads.map((s) => s.toFixed(2)).join(' / ')} s  (goal < 5 s: ${best(loads) < 5 ? 'met' : 'MISSED'})`);
  console.log(`file store open, same state  : ${fileLoads.map((s) => s.toFixed(2)).join(' / ')} s  → zk/file ${(best(loads) / best(fileLoads)).toFixed(1)}x`);
} finally {
  for (const s of sessions) await s.close().catch(() => undefined);
  await zk.stop();
  fs.rmSync(root, { recursive: true, force: true });
}
