/**
 * End-to-end codec benchmark: the whole Sluice (startSluice: SchedulerClient, runtime loop,
 * scheduler reducer, store, operator API) against a fast in-process master on loopback that
 * streams recorded-shape events — OFFERS (10 offers each, the shape of a real 1.12 master's) and
 * TASK UPDATEs with a uuid (answered by ACKNOWLEDGE) — in the codec the client subscribed with
 * (application/json or application/x-protobuf, RecordIO framing), and answers every call 202 after
 * decoding it with the same codec. Events are encoded before timing starts, so the figures are the
 * client's side: decode, reduce, answer (DECLINE / ACKNOWLEDGE calls encoded and POSTed).
 *
 * Per codec, rounds interleaved in one run: events/s from the first event written until every
 * offer is declined and every update acknowledged, and CPU (user+system of this process, master
 * included) per event. Prints the protobuf/json ratios.
 *
 *   node dist/scripts/bench/runtime-codec.js [--events 6000] [--rounds 3]
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig, type Codec as CodecName } from '../../src/config.js';
import { jsonCodec, protobufCodec, type Codec } from '../../src/mesos/codec.js';
import { encodeRecord } from '../../src/mesos/recordio.js';
import type { Event, Offer } from '../../src/mesos/types.js';
import { startSluice } from '../../src/app/app.js';
import { createLogger, nullLogger } from '../../src/util/logger.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const EVENTS = arg('events', 6000);
const ROUNDS = arg('rounds', 3);
const PER_OFFERS = 10;
const MASTER = '5b1c7f2e-0000-4000-8000-00000000abcd';
const FW = `${MASTER}-0000`;
const EVENT = 'mesos.v1.scheduler.Event';
const CALL = 'mesos.v1.scheduler.Call';

function offer(n: number): Offer {
  const i = n % 5000;
  const alloc = { role: '*' };
  return {
    id: { value: `${MASTER}-O${n}` },
    framework_id: { value: FW },
    agent_id: { value: `${MASTER}-S${i}` },
    hostname: `node-${i}.dc1.example.com`,
    url: { scheme: 'http', address: { hostname: `node-${i}.dc1.example.com`, ip: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 5051 }, path: '/slave(1)' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 8 }, role: '*', allocation_info: alloc },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32768 }, role: '*', allocation_info: alloc },
      { name: 'disk', type: 'SCALAR', scalar: { value: 100000 }, role: '*', allocation_info: alloc },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000n, end: 32000n }] }, role: '*', allocation_info: alloc },
    ],
    attributes: [{ name: 'rack', type: 'TEXT', text: { value: `rack-${i % 20}` } }],
    allocation_info: alloc,
  };
}

interface Workload {
  frames: Buffer[];
  offers: number;
  updates: number;
}

/** Half OFFERS events, half UPDATEs (a task of an unknown job finishing, with a uuid to acknowledge). */
function workload(codec: Codec): Workload {
  const frames: Buffer[] = [];
  let offers = 0;
  let updates = 0;
  const subscribed: Event = { type: 'SUBSCRIBED', subscribed: { framework_id: { value: FW }, heartbeat_interval_seconds: 15, master_info: { id: MASTER, ip: 16777343, port: 5050, hostname: '127.0.0.1', version: '1.12.0' } } };
  frames.push(encodeRecord(codec.encode(EVENT, subscribed)));
  for (let e = 0; e < EVENTS; e++) {
    let ev: Event;
    if (e % 2 === 0) {
      const list: Offer[] = [];
      for (let j = 0; j < PER_OFFERS; j++) list.push(offer(offers++));
      ev = { type: 'OFFERS', offers: { offers: list } };
    } else {
      const uuid = Buffer.alloc(16);
      uuid.writeUInt32BE(updates, 12);
      ev = {
        type: 'UPDATE',
        update: {
          status: {
            task_id: { value: `gone.${updates}.00000000-0000-4000-8000-000000000000` },
            state: 'TASK_FINISHED',
            source: 'SOURCE_EXECUTOR',
            agent_id: { value: `${MASTER}-S${updates % 5000}` },
            timestamp: 1_760_000_000 + updates / 1000,
            uuid,
          },
        },
      } as Event;
      updates++;
    }
    frames.push(encodeRecord(codec.encode(EVENT, ev)));
  }
  return { frames, offers, updates };
}

interface Counts {
  declinedOffers: number;
  acks: number;
  calls: number;
  firstEventAt: number;
  cpuAtFirstEvent: NodeJS.CpuUsage;
}

/** The fast master: one subscription, every frame written as fast as the socket takes it. */
async function fakeMaster(codec: Codec, w: Workload, counts: Counts): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/master/maintenance/schedule') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'); // no windows (as a real master)
        return;
      }
      if (req.url !== '/api/v1/scheduler' || req.headers['content-type'] !== codec.mediaType) {
        res.writeHead(415).end();
        return;
      }
      const call = codec.decode<{ type: string; decline?: { offer_ids: unknown[] }; acknowledge?: unknown }>(CALL, Buffer.concat(chunks));
      counts.calls++;
      if (call.type !== 'SUBSCRIBE') {
        if (call.type === 'DECLINE') counts.declinedOffers += call.decline?.offer_ids.length ?? 0;
        if (call.type === 'ACKNOWLEDGE') counts.acks++;
        res.writeHead(202).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': codec.mediaType, 'Mesos-Stream-Id': '0a1b2c3d-0000-4000-8000-000000000001' });
      counts.firstEventAt = performance.now();
      counts.cpuAtFirstEvent = process.cpuUsage();
      let i = 0;
      const pump = () => {
        while (i < w.frames.length) {
          if (!res.write(w.frames[i++]!)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
      req.socket.on('close', () => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Sample {
  seconds: number;
  cpuUs: number;
}

async function runOnce(name: CodecName, w: Workload): Promise<Sample> {
  const codec = name === 'protobuf' ? protobufCodec : jsonCodec;
  const counts: Counts = { declinedOffers: 0, acks: 0, calls: 0, firstEventAt: 0, cpuAtFirstEvent: process.cpuUsage() };
  const master = await fakeMaster(codec, w, counts);
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-codec-'));
  const cfg = loadConfig({ master: [master.url], store, 'api-listen': '127.0.0.1:0', 'no-demo': true, codec: name }, {});
  const app = await startSluice(cfg, { logger: process.env['BENCH_LOG'] ? createLogger({ level: 'warn', format: 'json' }) : nullLogger() });
  try {
    const deadline = Date.now() + 120_000;
    while (counts.declinedOffers < w.offers || counts.acks < w.updates) {
      if (Date.now() > deadline) throw new Error(`${name}: only ${counts.declinedOffers}/${w.offers} offers declined, ${counts.acks}/${w.updates} acks`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (performance.now() - counts.firstEventAt) / 1000;
    const c = process.cpuUsage(counts.cpuAtFirstEvent);
    return { seconds, cpuUs: c.user + c.system };
  } finally {
    await app.stop();
    await master.close();
    fs.rmSync(store, { recursive: true, force: true });
  }
}

const loads = { json: workload(jsonCodec), protobuf: workload(protobufCodec) };
const bytes = (w: Workload) => w.frames.reduce((n, f) => n + f.length, 0);
const samples: Record<CodecName, Sample[]> = { json: [], protobuf: [] };
await runOnce('json', loads.json); // warm-up (JIT), not counted
await runOnce('protobuf', loads.protobuf);
for (let r = 0; r < ROUNDS; r++) {
  for (const name of (r % 2 ? ['protobuf', 'json'] : ['json', 'protobuf']) as CodecName[]) samples[name].push(await runOnce(name, loads[name]));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const line = (name: CodecName) => {
  const s = samples[name];
  const evs = EVENTS / median(s.map((x) => x.seconds));
  const cpu = median(s.map((x) => x.cpuUs)) / EVENTS;
  console.log(
    `${name.padEnd(8)}: ${evs.toFixed(0).padStart(6)} events/s  ${cpu.toFixed(1).padStart(6)} µs CPU/event  ` +
      `(${(bytes(loads[name]) / EVENTS).toFixed(0)} bytes/event on the wire, median of ${s.length})`,
  );
  return { evs, cpu };
};
console.log(`runtime codec bench: ${EVENTS} events (${PER_OFFERS}-offer OFFERS and acknowledged UPDATEs, alternating), ${ROUNDS} interleaved rounds`);
const j = line('json');
const p = line('protobuf');
console.log(`ratio protobuf/json  events/s ${(p.evs / j.evs).toFixed(2)}x  CPU per event ${(p.cpu / j.cpu).toFixed(2)}x`);
