/**
 * Event-stream decode benchmark.
 *
 * Generates a recorded SUBSCRIBE stream of ≥100k events (mostly OFFERS with 1–4 offers shaped like
 * the real Mesos 1.12 recording, ~5 % of them from a draining agent with `unavailability` int64
 * nanoseconds above 2^53; some UPDATEs and HEARTBEATs), encodes it with both codecs, and decodes it
 *
 *  1. through the real client path: a child process serves the stream over loopback HTTP
 *     (chunked, 64 KiB writes) and a SchedulerClient in this process subscribes, reads it with
 *     undici, frames it with RecordIODecoder, decodes with the codec and delivers every event to an
 *     events$ subscriber;
 *  2. in process: RecordIODecoder + codec over the same bytes in 64 KiB chunks (no HTTP);
 *  3. baseline: bare `JSON.parse` of the same JSON records (from their bytes, utf-8 decode included),
 *     measured in the same run.
 *
 * Prints events/s and MB/s, and the ratio of each to the JSON.parse baseline.
 * Usage: node dist/scripts/bench/decode.js [--events N] [--runs R] [--json-out file]
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { performance } from 'node:perf_hooks';
import { jsonCodec, protobufCodec, type Codec } from '../../src/mesos/codec.js';
import { RecordIODecoder, encodeRecord } from '../../src/mesos/recordio.js';
import type { Event, Offer, Resource } from '../../src/mesos/types.js';
import { SchedulerClient } from '../../src/client/index.js';
import { nullLogger } from '../../src/util/logger.js';

const EVENT = 'mesos.v1.scheduler.Event';
const CHUNK = 64 * 1024;
const MASTER_ID = '40f70b3c-4931-4bd5-9732-f311965457d3';
const FRAMEWORK_ID = `${MASTER_ID}-0000`;

// ---------------------------------------------------------------------------------------------
// stream generation

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function scalar(name: string, value: number): Resource {
  return { name, type: 'SCALAR', scalar: { value }, role: '*', allocation_info: { role: '*' } };
}

function makeOffer(r: () => number, n: number): Offer {
  const agent = Math.floor(r() * 200);
  const host = `agent-${agent}`;
  const offer: Offer = {
    id: { value: `${MASTER_ID}-O${n}` },
    framework_id: { value: FRAMEWORK_ID },
    agent_id: { value: `${MASTER_ID}-S${agent}` },
    hostname: host,
    url: { scheme: 'http', address: { hostname: host, ip: `10.0.${agent >> 8}.${agent & 255}`, port: 5051 }, path: '/slave(1)' },
    resources: [
      {
        name: 'ports',
        type: 'RANGES',
        ranges: { range: [{ begin: 31000n, end: 31000n + BigInt(Math.floor(r() * 1000)) }] },
        role: '*',
        allocation_info: { role: '*' },
      },
      scalar('cpus', Math.round(r() * 320) / 10),
      scalar('mem', Math.floor(r() * 65536)),
      scalar('disk', Math.floor(r() * 100000)),
    ],
    attributes: [{ name: 'rack', type: 'TEXT', text: { value: `rack-${agent % 12}` } }],
    allocation_info: { role: '*' },
  };
  if (r() < 0.05) {
    offer.unavailability = {
      start: { nanoseconds: 1795422430565157510n + BigInt(n) * 1_000_000_007n },
      duration: { nanoseconds: 3600000000000n },
    };
  }
  return offer;
}

export function generateEvents(count: number, seed = 42): Event[] {
  const r = lcg(seed);
  const events: Event[] = [
    {
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: { value: FRAMEWORK_ID },
        heartbeat_interval_seconds: 15,
        master_info: { id: MASTER_ID, ip: 16777343, port: 5050, pid: 'master@127.0.0.1:5050', hostname: '127.0.0.1', version: '1.12.0' },
      },
    },
    { type: 'HEARTBEAT' },
  ];
  let offerN = 0;
  let taskN = 0;
  while (events.length < count) {
    const k = r();
    if (k < 0.85) {
      const n = 1 + Math.floor(r() * 4);
      const offers: Offer[] = [];
      for (let i = 0; i < n; i++) offers.push(makeOffer(r, offerN++));
      events.push({ type: 'OFFERS', offers: { offers } });
    } else if (k < 0.97) {
      const agent = Math.floor(r() * 200);
      events.push({
        type: 'UPDATE',
        update: {
          status: {
            task_id: { value: `web-${taskN++}` },
            state: r() < 0.8 ? 'TASK_RUNNING' : 'TASK_FINISHED',
            source: 'SOURCE_EXECUTOR',
            agent_id: { value: `${MASTER_ID}-S${agent}` },
            executor_id: { value: `web-${taskN}` },
            timestamp: 1763886367.123456 + taskN,
            uuid: Buffer.from(Array.from({ length: 16 }, () => Math.floor(r() * 256))),
            healthy: true,
          },
        },
      });
    } else {
      events.push({ type: 'HEARTBEAT' });
    }
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// server child: serves one file as the body of every SUBSCRIBE

function serve(file: string, contentType: string): void {
  const data = fs.readFileSync(file);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url !== '/api/v1/scheduler') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': contentType, 'Mesos-Stream-Id': 'bench-stream', 'Transfer-Encoding': 'chunked' });
      let i = 0;
      const pump = () => {
        while (i < data.length) {
          const ok = res.write(data.subarray(i, i + CHUNK));
          i += CHUNK;
          if (!ok) {
            res.once('drain', pump);
            return;
          }
        }
        // keep the stream open, like a master; the client disconnects when done
      };
      pump();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as { port: number }).port;
    process.send!({ port });
  });
  process.on('disconnect', () => process.exit(0));
}

async function startServer(file: string, contentType: string): Promise<{ url: string; stop: () => void }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', file, contentType], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('error', reject);
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

// ---------------------------------------------------------------------------------------------
// measurements

interface Result {
  name: string;
  events: number;
  bytes: number;
  ms: number;
  /** CPU time of this process during the measurement (user + system), ms. */
  cpuMs: number;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function viaClient(url: string, contentType: 'application/json' | 'application/x-protobuf', expected: number, bytes: number): Promise<Result> {
  const client = new SchedulerClient({
    masters: [url],
    frameworkInfo: { user: 'bench', name: 'bench' },
    contentType,
    logger: nullLogger(),
  });
  let n = 0;
  let t0 = 0;
  const done = new Promise<number>((resolve) => {
    client.events$.subscribe((e) => {
      if (n === 0) void e;
      n++;
      if (n === expected) resolve(performance.now());
    });
  });
  t0 = performance.now();
  const c0 = cpuNow();
  client.start();
  const t1 = await done;
  const c1 = cpuNow();
  await client.stop();
  return { name: `client ${contentType === 'application/json' ? 'JSON' : 'protobuf'} (HTTP)`, events: expected, bytes, ms: t1 - t0, cpuMs: c1 - c0 };
}

/** Transport floor: the same bytes read over the same loopback HTTP with undici and discarded. */
async function rawHttp(url: string, bytes: number): Promise<Result> {
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  const t0 = performance.now();
  const c0 = cpuNow();
  const res = await request(url + '/api/v1/scheduler', { method: 'POST', body: '{}', dispatcher });
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    res.body.on('data', (c: Buffer) => {
      n += c.length;
      if (n >= bytes) resolve();
    });
    res.body.on('error', reject);
  });
  const ms = performance.now() - t0;
  const cpuMs = cpuNow() - c0;
  res.body.destroy();
  await dispatcher.destroy();
  return { name: 'raw HTTP read, no decoding (transport floor)', events: 0, bytes, ms, cpuMs };
}

function inProcess(stream: Buffer, codec: Codec, expected: number): Result {
  const t0 = performance.now();
  const c0 = cpuNow();
  const d = new RecordIODecoder();
  let n = 0;
  for (let i = 0; i < stream.length; i += CHUNK) {
    d.feed(stream.subarray(i, i + CHUNK), (rec) => {
      codec.decode(EVENT, rec);
      n++;
    });
  }
  const ms = performance.now() - t0;
  if (n !== expected) throw new Error(`decoded ${n} of ${expected}`);
  return { name: `RecordIO+codec ${codec === jsonCodec ? 'JSON' : 'protobuf'} (no HTTP)`, events: n, bytes: stream.length, ms, cpuMs: cpuNow() - c0 };
}

function bareJsonParse(records: Buffer[], bytes: number): Result {
  const t0 = performance.now();
  const c0 = cpuNow();
  let sink = 0;
  for (const r of records) sink += (JSON.parse(r.toString('utf8')) as { type: string }).type.length;
  const ms = performance.now() - t0;
  if (sink === 0) throw new Error('unreachable');
  return { name: 'bare JSON.parse (baseline)', events: records.length, bytes, ms, cpuMs: cpuNow() - c0 };
}

function bareJsonParseStrings(strings: string[], bytes: number): Result {
  const t0 = performance.now();
  const c0 = cpuNow();
  let sink = 0;
  for (const s of strings) sink += (JSON.parse(s) as { type: string }).type.length;
  const ms = performance.now() - t0;
  if (sink === 0) throw new Error('unreachable');
  return { name: 'bare JSON.parse of pre-decoded strings', events: strings.length, bytes, ms, cpuMs: cpuNow() - c0 };
}

function best(results: Result[]): Result {
  return results.reduce((a, b) => (b.ms < a.ms ? b : a));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, def: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const count = arg('--events', 100_000);
  const runs = arg('--runs', 3);
  const jsonOutIdx = args.indexOf('--json-out');

  const tg = performance.now();
  const events = generateEvents(count);
  const jsonRecords = events.map((e) => jsonCodec.encode(EVENT, e));
  const pbRecords = events.map((e) => protobufCodec.encode(EVENT, e));
  const jsonStream = Buffer.concat(jsonRecords.map(encodeRecord));
  const pbStream = Buffer.concat(pbRecords.map(encodeRecord));
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.type] = (counts[e.type] ?? 0) + 1;
  const offers = events.reduce((s, e) => s + (e.offers?.offers?.length ?? 0), 0);
  console.log(
    `generated ${events.length} events (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}; ${offers} offers) in ${(performance.now() - tg).toFixed(0)} ms`,
  );
  console.log(`JSON stream ${(jsonStream.length / 1e6).toFixed(1)} MB, protobuf stream ${(pbStream.length / 1e6).toFixed(1)} MB`);

  // sanity: lossless both ways
  const sample = events[events.findIndex((e) => e.offers?.offers?.some((o) => o.unavailability))]!;
  const idx = events.indexOf(sample);
  const fromJson = jsonCodec.decode<Event>(EVENT, jsonRecords[idx]!);
  const fromPb = protobufCodec.decode<Event>(EVENT, pbRecords[idx]!);
  const ns = (e: Event) => e.offers!.offers!.find((o) => o.unavailability)!.unavailability!.start.nanoseconds;
  if (ns(fromJson) !== ns(sample) || ns(fromPb) !== ns(sample) || typeof ns(fromJson) !== 'bigint') {
    throw new Error('int64 nanoseconds not decoded losslessly');
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
  const jsonFile = path.join(tmp, 'stream.json.recordio');
  const pbFile = path.join(tmp, 'stream.pb.recordio');
  fs.writeFileSync(jsonFile, jsonStream);
  fs.writeFileSync(pbFile, pbStream);
  const jsonServer = await startServer(jsonFile, 'application/json');
  const pbServer = await startServer(pbFile, 'application/x-protobuf');
  const strings = jsonRecords.map((r) => r.toString('utf8'));

  const all: Record<string, Result[]> = {};
  const add = (r: Result) => (all[r.name] ??= []).push(r);
  try {
    // warm-up (JIT) on a slice, then interleaved runs so drift hits all equally
    const warm = Math.min(20_000, events.length);
    bareJsonParse(jsonRecords.slice(0, warm), 0);
    inProcess(Buffer.concat(jsonRecords.slice(0, warm).map(encodeRecord)), jsonCodec, warm);
    inProcess(Buffer.concat(pbRecords.slice(0, warm).map(encodeRecord)), protobufCodec, warm);
    await viaClient(jsonServer.url, 'application/json', events.length, jsonStream.length);
    await viaClient(pbServer.url, 'application/x-protobuf', events.length, pbStream.length);
    for (let i = 0; i < runs; i++) {
      add(bareJsonParse(jsonRecords, jsonStream.length));
      add(bareJsonParseStrings(strings, jsonStream.length));
      add(inProcess(jsonStream, jsonCodec, events.length));
      add(inProcess(pbStream, protobufCodec, events.length));
      add(await rawHttp(jsonServer.url, jsonStream.length));
      add(await viaClient(jsonServer.url, 'application/json', events.length, jsonStream.length));
      add(await viaClient(pbServer.url, 'application/x-protobuf', events.length, pbStream.length));
    }
  } finally {
    jsonServer.stop();
    pbServer.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const bestCpu = (rs: Result[]) => rs.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a));
  const baseline = best(all['bare JSON.parse (baseline)']!);
  const baselineCpu = bestCpu(all['bare JSON.parse (baseline)']!);
  const [load1] = os.loadavg();
  console.log(`\nbest of ${runs} runs, node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? ''}, load average ${load1!.toFixed(1)}`);
  console.log('wall: fastest run; cpu: CPU time of this process in its cheapest run (robust on a busy machine)');
  console.log(
    'path'.padEnd(44) + 'events/s'.padStart(11) + 'MB/s'.padStart(7) + 'ratio'.padStart(7) + '   ' + 'ev/cpu-s'.padStart(10) + 'MB/cpu-s'.padStart(10) + 'ratio'.padStart(7),
  );
  const rows: Array<Record<string, unknown>> = [];
  for (const [name, rs] of Object.entries(all)) {
    if (rs[0]!.events === 0) continue; // the transport floor is reported below
    const r = best(rs);
    const rc = bestCpu(rs);
    const evs = r.events / (r.ms / 1000);
    const mbs = r.bytes / 1e6 / (r.ms / 1000);
    const ratio = baseline.ms / r.ms;
    const evc = rc.events / (rc.cpuMs / 1000);
    const mbc = rc.bytes / 1e6 / (rc.cpuMs / 1000);
    const ratioCpu = baselineCpu.cpuMs / rc.cpuMs;
    rows.push({
      name,
      events_per_s: Math.round(evs),
      mb_per_s: +mbs.toFixed(1),
      ratio_wall: +ratio.toFixed(3),
      events_per_cpu_s: Math.round(evc),
      mb_per_cpu_s: +mbc.toFixed(1),
      ratio_cpu: +ratioCpu.toFixed(3),
    });
    console.log(
      name.padEnd(44) +
        Math.round(evs).toLocaleString('en-US').padStart(11) +
        mbs.toFixed(1).padStart(7) +
        ratio.toFixed(2).padStart(7) +
        '   ' +
        Math.round(evc).toLocaleString('en-US').padStart(10) +
        mbc.toFixed(1).padStart(10) +
        ratioCpu.toFixed(2).padStart(7),
    );
  }
  const clientJson = best(all['client JSON (HTTP)']!);
  const clientPb = best(all['client protobuf (HTTP)']!);
  const jsonRatio = baseline.ms / clientJson.ms;
  const cpuRatio = baselineCpu.cpuMs / bestCpu(all['client JSON (HTTP)']!).cpuMs;
  const pbVsJson = clientJson.ms / clientPb.ms;
  const pbVsJsonCpu = bestCpu(all['client JSON (HTTP)']!).cpuMs / bestCpu(all['client protobuf (HTTP)']!).cpuMs;
  const floor = all['raw HTTP read, no decoding (transport floor)']!;
  const floorWall = best(floor);
  const floorCpu = bestCpu(floor);
  console.log(
    `${'raw HTTP read of the JSON stream, discarded'.padEnd(44)}${(floorWall.bytes / 1e6 / (floorWall.ms / 1000)).toFixed(0).padStart(11)} MB/s; costs ${((floorWall.ms / baseline.ms) * 100).toFixed(0)} % (wall) / ${((floorCpu.cpuMs / baselineCpu.cpuMs) * 100).toFixed(0)} % (cpu) of the JSON.parse baseline`,
  );
  console.log(
    `  → ceiling for any HTTP client that must also JSON.parse: wall ${(1 / (1 + floorWall.ms / baseline.ms)).toFixed(2)}, cpu ${(1 / (1 + floorCpu.cpuMs / baselineCpu.cpuMs)).toFixed(2)}`,
  );
  const verdict = (x: number, goal: number) => (x >= goal ? 'OK' : 'BELOW GOAL');
  console.log(`\nclient JSON / bare JSON.parse: wall ${jsonRatio.toFixed(2)} (${verdict(jsonRatio, 0.8)}), cpu ${cpuRatio.toFixed(2)} (${verdict(cpuRatio, 0.8)}); goal ≥ 0.80`);
  console.log(`client protobuf / client JSON: wall ${pbVsJson.toFixed(2)} (${verdict(pbVsJson, 1)}), cpu ${pbVsJsonCpu.toFixed(2)} (${verdict(pbVsJsonCpu, 1)}); goal ≥ 1.00`);
  if (jsonOutIdx >= 0) fs.writeFileSync(args[jsonOutIdx + 1]!, JSON.stringify({ rows, jsonRatio, cpuRatio, pbVsJson, pbVsJsonCpu, loadavg: os.loadavg() }, null, 2));
}

const isEntry = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntry && process.argv[2] === '--serve') {
  serve(process.argv[3]!, process.argv[4]!);
} else if (isEntry) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
