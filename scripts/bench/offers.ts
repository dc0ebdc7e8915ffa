/**
 * Offer decision benchmark: 10,000 simulated agents offering to Sluice.
 *
 * The same OFFERS events (Mesos JSON, as a master sends them, 100 offers per event by default) go
 * through
 *   baseline:  decode only (jsonCodec.decode of the scheduler Event)
 *   sluice:    decode + decide (the pure reducer: placement, task records, ACCEPT/DECLINE calls)
 *              + answer (encoding every resulting Call to JSON bytes, ready to POST)
 * Scenarios:
 *   placing  5 jobs with 5,000 pending instances (host_unique, rack_spread, ports, an unavailability
 *            horizon), 1,000 agents carrying an unavailability: ~half the offers are accepted
 *   steady   nothing pending: every offer is declined (the common case of a settled cluster)
 * Printed per scenario: offers decided and answered per second, p50/p99 latency of one event
 * (decide + answer), and the ratio of the total cost to decoding alone — in wall time and in CPU
 * time of this process (user + system, per phase; the figure to trust on a shared, loaded machine,
 * where wall time also counts the time other processes held the cores).
 * Goal: >= 20,000 offers/s, placing <= 1.5x the decode cost.
 *
 *   node --expose-gc dist/scripts/bench/offers.js [--agents 10000] [--batch 100] [--rounds 5] [--protobuf]
 *        [--scenario placing|steady]
 */
import { performance } from 'node:perf_hooks';
import { jsonCodec, protobufCodec, type Codec } from '../../src/mesos/codec.js';
import type { Event, Offer } from '../../src/mesos/types.js';
import { onEvent } from '../../src/scheduler/reducer.js';
import { applyCommand } from '../../src/scheduler/reducer.js';
import { createState, type SchedulerState } from '../../src/scheduler/state.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';

const EVENT = 'mesos.v1.scheduler.Event';
const CALL = 'mesos.v1.scheduler.Call';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const AGENTS = arg('agents', 10_000);
const BATCH = arg('batch', 100);
const ROUNDS = arg('rounds', 5);
const SCENARIOS = (['steady', 'placing'] as const).filter((x) => {
  const i = process.argv.indexOf('--scenario');
  return i < 0 || process.argv[i + 1] === x;
});
const CODEC_NAME = process.argv.includes('--protobuf') ? 'protobuf' : 'json';
/** The encoding of the stream and the calls (the client's contentType): JSON by default. */
const codec: Codec = CODEC_NAME === 'protobuf' ? protobufCodec : jsonCodec;
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const MASTER = '5b1c7f2e-0000-4000-8000-00000000abcd';

function makeOffer(i: number, round: number): Offer {
  const alloc = { role: '*' };
  const o: Offer = {
    id: { value: `${MASTER}-O${round * AGENTS + i}` },
    framework_id: { value: `${MASTER}-0000` },
    agent_id: { value: `${MASTER}-S${i}` },
    hostname: `node-${i}.dc1.example.com`,
    url: { scheme: 'http', address: { hostname: `node-${i}.dc1.example.com`, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 5051 }, path: '/slave(1)' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 8 }, role: '*', allocation_info: alloc },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32768 }, role: '*', allocation_info: alloc },
      { name: 'disk', type: 'SCALAR', scalar: { value: 100000 }, role: '*', allocation_info: alloc },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000n, end: 32000n }] }, role: '*', allocation_info: alloc },
    ],
    attributes: [
      { name: 'rack', type: 'TEXT', text: { value: `rack-${i % 20}` } },
      { name: 'zone', type: 'TEXT', text: { value: `zone-${i % 3}` } },
    ],
    allocation_info: alloc,
  };
  if (i % 10 === 0) {
    o.unavailability = { start: { nanoseconds: BigInt(NOW + 1800_000) * 1_000_000n }, duration: { nanoseconds: 3_600_000_000_000n } };
  }
  return o;
}

/** Wire bytes of the OFFERS events of one round (what the client would receive). */
function encodeRound(round: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < AGENTS; i += BATCH) {
    const offers: Offer[] = [];
    for (let j = i; j < Math.min(AGENTS, i + BATCH); j++) offers.push(makeOffer(j, round));
    out.push(codec.encode(EVENT, { type: 'OFFERS', offers: { offers } } satisfies Event));
  }
  return out;
}

const JOBS: JobSpec[] = [
  { name: 'web', instances: 2000, resources: { cpus: 1, mem: 2048, ports: 2 }, command: { value: 'web', shell: true }, constraints: { host_unique: true, rack_spread: true } },
  { name: 'api', instances: 1500, resources: { cpus: 2, mem: 4096, ports: 1 }, command: { value: 'api', shell: true }, constraints: { host_unique: true } },
  { name: 'cache', instances: 800, resources: { cpus: 0.5, mem: 8192 }, command: { value: 'cache', shell: true }, constraints: { rack_spread: true } },
  { name: 'batch', instances: 500, resources: { cpus: 4, mem: 1024, disk: 5000 }, command: { value: 'batch', shell: true }, unavailability_horizon_seconds: 600 },
  { name: 'edge', instances: 200, resources: { cpus: 0.25, mem: 256, ports: 4 }, command: { value: 'edge', shell: true }, environment: { A: '1', B: '2' } },
];

function freshState(withJobs: boolean): SchedulerState {
  const s = createState();
  onEvent(s, { type: 'SUBSCRIBED', subscribed: { framework_id: { value: `${MASTER}-0000` }, heartbeat_interval_seconds: 15 } }, NOW);
  if (withJobs) for (const spec of JOBS) applyCommand(s, { type: 'create_job', spec }, NOW);
  return s;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** CPU time of this process so far, ms (user + system). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Result {
  offersPerSec: number;
  cpuOffersPerSec: number;
  cpu: { decodeMs: number; decideMs: number; encodeMs: number; ratio: number };
  decodePerSec: number;
  decidePerSec: number;
  encodeMs: number;
  decodeMs: number;
  decideMs: number;
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  decideP99Ms: number;
  accepted: number;
  declined: number;
  launched: number;
  answerMB: number;
}

/**
 * Every event goes decode -> decide -> encode answers, timed phase by phase. The decode phase alone
 * is the baseline (the same work a client does before any decision); ratio = all phases / decode.
 */
function run(scenario: 'placing' | 'steady', rounds: Buffer[][]): Result {
  let decodeMs = 0;
  let decideMs = 0;
  let encodeMs = 0;
  let cDecode = 0;
  let cDecide = 0;
  let cEncode = 0;
  const lat: number[] = [];
  const decideLat: number[] = [];
  let accepted = 0;
  let declined = 0;
  let launched = 0;
  let answerBytes = 0;
  for (const events of rounds) {
    const s = freshState(scenario === 'placing');
    gc();
    for (const b of events) {
      const c0 = cpuMs();
      const t0 = performance.now();
      const ev = codec.decode<Event>(EVENT, b);
      const t1 = performance.now();
      const c1 = cpuMs();
      const r = onEvent(s, ev, NOW);
      const t2 = performance.now();
      const c2 = cpuMs();
      for (const c of r.calls) answerBytes += codec.encode(CALL, { ...c, framework_id: { value: `${MASTER}-0000` } }).length;
      const t3 = performance.now();
      const c3 = cpuMs();
      cDecode += c1 - c0;
      cDecide += c2 - c1;
      cEncode += c3 - c2;
      decodeMs += t1 - t0;
      decideMs += t2 - t1;
      encodeMs += t3 - t2;
      lat.push(t3 - t0);
      decideLat.push(t2 - t1);
      for (const c of r.calls) {
        if (c.type === 'ACCEPT') {
          accepted++;
          launched += c.accept!.operations![0]!.launch!.task_infos!.length;
        } else if (c.type === 'DECLINE') declined += c.decline!.offer_ids!.length;
      }
    }
  }
  const offers = AGENTS * rounds.length;
  const total = decodeMs + decideMs + encodeMs;
  const n = rounds.length;
  return {
    offersPerSec: offers / (total / 1000),
    cpuOffersPerSec: offers / ((cDecode + cDecide + cEncode) / 1000),
    cpu: { decodeMs: cDecode / n, decideMs: cDecide / n, encodeMs: cEncode / n, ratio: (cDecode + cDecide + cEncode) / cDecode },
    decodePerSec: offers / (decodeMs / 1000),
    decidePerSec: offers / (decideMs / 1000),
    decodeMs: decodeMs / rounds.length,
    decideMs: decideMs / rounds.length,
    encodeMs: encodeMs / rounds.length,
    ratio: total / decodeMs,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    decideP99Ms: percentile(decideLat, 99),
    accepted: accepted / rounds.length,
    declined: declined / rounds.length,
    launched: launched / rounds.length,
    answerMB: answerBytes / rounds.length / 1e6,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function main(): void {
  console.log(`offers: ${AGENTS} agents, ${BATCH} offers per OFFERS event, ${ROUNDS} rounds (+1 warm-up), ${codec.mediaType}`);
  const rounds: Buffer[][] = [];
  for (let r = 0; r <= ROUNDS; r++) rounds.push(encodeRound(r));
  const bytes = rounds[0]!.reduce((n, b) => n + b.length, 0);
  console.log(`  one round: ${rounds[0]!.length} events, ${(bytes / 1e6).toFixed(1)} MB`);
  const warm = rounds.slice(0, 1);
  for (const scenario of SCENARIOS) run(scenario, warm);
  const measured = rounds.slice(1);
  let ok = true;
  for (const scenario of SCENARIOS) {
    const r = run(scenario, measured);
    ok &&= r.offersPerSec >= 20_000;
    console.log(
      `  ${scenario}: ${fmt(r.offersPerSec)} offers/s decided and answered; ` +
        `${(r.ratio).toFixed(2)}x the cost of decoding them alone (${fmt(r.decodePerSec)} offers/s)`,
    );
    console.log(
      `    CPU time: ${fmt(r.cpuOffersPerSec)} offers per CPU-second; ${r.cpu.ratio.toFixed(2)}x the CPU of decoding alone; ` +
        `per round decode ${r.cpu.decodeMs.toFixed(0)} ms, decide ${r.cpu.decideMs.toFixed(0)} ms, encode ${r.cpu.encodeMs.toFixed(0)} ms`,
    );
    console.log(
      `    per round of ${fmt(AGENTS)} offers: decode ${r.decodeMs.toFixed(0)} ms, decide ${r.decideMs.toFixed(0)} ms ` +
        `(${fmt(r.decidePerSec)} offers/s), encode answers ${r.encodeMs.toFixed(0)} ms; ` +
        `${fmt(r.launched)} tasks in ${fmt(r.accepted)} ACCEPTs (${r.answerMB.toFixed(2)} MB of calls), ${fmt(r.declined)} offers declined`,
    );
    console.log(
      `    latency per OFFERS event of ${BATCH}: decide p99 ${r.decideP99Ms.toFixed(2)} ms; decode+decide+answer p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`,
    );
  }
  console.log(`  goal >= 20,000 offers/s decided and answered: ${ok ? 'met in both scenarios' : 'NOT met in every scenario (see the breakdown)'}`);
}

main();
