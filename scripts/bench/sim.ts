/**
 * Simulator scale benchmark: a 10,000-agent cluster with 200,000 running tasks in one process.
 *
 * Populates the cluster through the in-process API (no HTTP), then measures
 *   memory:      heapUsed / rss growth for the big cluster, per agent and per task, as a ratio
 *                to a 1,000-agent / 20,000-task cluster measured in the same run (10x = linear);
 *   allocation:  p50 / p99 time of one allocation run
 *                  churn: 1% of the agents got an offer back (declined) and 0.1% of the tasks
 *                         ended since the last run (the common case: incremental work)
 *                  full:  every offer came back at once (worst case: every agent re-offered)
 *                as ratios to (a) the same runs on the 1,000-agent cluster and (b) iterating a
 *                plain array of the 10,000 agents' resource records once (the floor of any
 *                non-incremental allocator pass).
 *
 *   node --expose-gc dist/scripts/bench/sim.js [--agents 10000] [--tasks 200000] [--frameworks 5] [--cycles 200]
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Event, Offer } from '../../src/mesos/types.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const AGENTS = arg('agents', 10_000);
const TASKS = arg('tasks', 200_000);
const FRAMEWORKS = arg('frameworks', 5);
const CYCLES = arg('cycles', 200);
const SMALL = Math.max(1, Math.round(AGENTS / 10));

let gcFn: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;
if (!gcFn) {
  v8.setFlagsFromString('--expose-gc');
  gcFn = vm.runInNewContext('gc') as () => void;
}
function gc(): void {
  for (let i = 0; i < 3; i++) gcFn!();
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface Built {
  sim: Sim;
  fids: string[];
  outstanding: Map<string, Offer[]>;
  buildMs: number;
}

async function build(agents: number, tasks: number): Promise<Built> {
  const t0 = performance.now();
  const perAgent = Math.ceil(tasks / agents);
  const sim = await startSim({
    agents,
    racks: 20,
    clock: new VirtualClock(),
    seed: 1,
    // Room for the tasks plus free capacity to offer.
    agentDefaults: { cpus: perAgent * 0.5 + 8, mem: perAgent * 256 + 16384, disk: 100_000 },
  });
  const outstanding = new Map<string, Offer[]>();
  const fids: string[] = [];
  for (let f = 0; f < FRAMEWORKS; f++) {
    const info = { user: 'bench', name: `bench-${f}`, roles: ['*'], capabilities: [{ type: 'MULTI_ROLE' as const }] };
    let fid = '';
    const onEvent = (ev: Event): void => {
      if (ev.type === 'OFFERS') {
        const list = outstanding.get(fid) ?? [];
        for (const o of ev.offers!.offers!) list.push(o);
        outstanding.set(fid, list);
      }
    };
    fid = sim.attachFramework(info, onEvent, { suppressedRoles: ['*'] });
    fids.push(fid);
  }
  let n = 0;
  for (let a = 0; a < agents && n < tasks; a++) {
    for (let k = 0; k < perAgent && n < tasks; k++, n++) {
      sim.placeTask(fids[n % FRAMEWORKS]!, a, { id: `task-${n}`, cpus: 0.5, mem: 256 });
    }
  }
  // Everyone revives: the first (full) allocation offers every agent's free resources.
  for (const fid of fids) sim.master!.revive(sim.master!.frameworks.get(fid)!, {});
  sim.master!.allocate();
  return { sim, fids, outstanding, buildMs: performance.now() - t0 };
}

function declineSome(b: Built, fraction: number): void {
  const m = b.sim.master!;
  for (const fid of b.fids) {
    const list = b.outstanding.get(fid) ?? [];
    const k = Math.ceil(list.length * fraction);
    const back = list.splice(0, k);
    m.decline(m.frameworks.get(fid)!, { offer_ids: back.map((o) => o.id), filters: { refuse_seconds: 0 } });
  }
}

function endSomeTasks(b: Built, count: number, seq: { n: number }): void {
  for (let i = 0; i < count; i++) {
    const id = seq.n++;
    b.sim.faults.killTask(b.fids[id % FRAMEWORKS]!, `task-${id}`, { state: 'TASK_FINISHED', message: 'Command exited with status 0' });
  }
}

interface CycleStats {
  churnP50: number;
  churnP99: number;
  fullP50: number;
  fullP99: number;
  churnAgents: number;
}

function measureCycles(b: Built, tasks: number): CycleStats {
  const m = b.sim.master!;
  const churn: number[] = [];
  const seq = { n: 0 };
  let visited = 0;
  for (let c = 0; c < CYCLES; c++) {
    declineSome(b, 0.01);
    endSomeTasks(b, Math.ceil(tasks * 0.001), seq);
    const t = performance.now();
    m.allocate();
    churn.push(performance.now() - t);
    visited += m.allocStats.lastAgents;
  }
  const full: number[] = [];
  for (let c = 0; c < Math.max(5, Math.floor(CYCLES / 20)); c++) {
    declineSome(b, 1);
    const t = performance.now();
    m.allocate();
    full.push(performance.now() - t);
  }
  return {
    churnP50: pct(churn, 50),
    churnP99: pct(churn, 99),
    fullP50: pct(full, 50),
    fullP99: pct(full, 99),
    churnAgents: Math.round(visited / CYCLES),
  };
}

function plainArrayPass(n: number): { p50: number; p99: number } {
  const arr = Array.from({ length: n }, (_, i) => ({ cpus: 8000 + (i % 7), mem: 16_384_000, disk: 100_000_000, used: i % 3 }));
  const times: number[] = [];
  let sink = 0;
  for (let c = 0; c < CYCLES; c++) {
    const t = performance.now();
    for (const a of arr) sink += a.cpus - a.used + (a.mem > 32000 ? 1 : 0);
    times.push(performance.now() - t);
  }
  if (sink === -1) console.log(sink);
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

async function measure(agents: number, tasks: number): Promise<{ heap: number; rss: number; build: number; cycles: CycleStats }> {
  gc();
  const before = process.memoryUsage();
  const b = await build(agents, tasks);
  gc();
  const after = process.memoryUsage();
  const cycles = measureCycles(b, tasks);
  await b.sim.close();
  return { heap: after.heapUsed - before.heapUsed, rss: after.rss - before.rss, build: b.buildMs, cycles };
}

const mb = (b: number): string => (b / 1048576).toFixed(1) + ' MB';
const ms = (x: number): string => (x < 1 ? x.toFixed(3) : x.toFixed(2)) + ' ms';
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(1) + 'x' : 'n/a');

async function main(): Promise<void> {
  console.log(`sim bench: ${AGENTS} agents, ${TASKS} tasks, ${FRAMEWORKS} frameworks, ${CYCLES} allocation runs per scenario`);
  const small = await measure(SMALL, Math.round(TASKS / 10));
  const big = await measure(AGENTS, TASKS);
  const plain = plainArrayPass(AGENTS);

  console.log('');
  console.log(`build (populate through the in-process API):  ${AGENTS} agents: ${(big.build / 1000).toFixed(1)} s   ${SMALL} agents: ${(small.build / 1000).toFixed(1)} s`);
  console.log('');
  console.log('memory after populating (heapUsed / rss growth)');
  console.log(`  ${AGENTS} agents, ${TASKS} tasks:  heap ${mb(big.heap)}  rss ${mb(big.rss)}  (${Math.round(big.heap / TASKS)} B of heap per task incl. its agent share)`);
  console.log(`  ${SMALL} agents, ${Math.round(TASKS / 10)} tasks:    heap ${mb(small.heap)}  rss ${mb(small.rss)}`);
  console.log(`  ratio big/small: heap ${ratio(big.heap, small.heap)}  rss ${ratio(big.rss, small.rss)}  (10x = linear in cluster size)`);
  console.log('');
  console.log('allocation run time');
  console.log(
    `  churn (1% offers back, 0.1% tasks ended; ~${big.cycles.churnAgents} agents to look at):  p50 ${ms(big.cycles.churnP50)}  p99 ${ms(big.cycles.churnP99)}`,
  );
  console.log(`     vs ${SMALL}-agent cluster (~${small.cycles.churnAgents} agents):  p50 ${ratio(big.cycles.churnP50, small.cycles.churnP50)}  p99 ${ratio(big.cycles.churnP99, small.cycles.churnP99)}`);
  console.log(`     vs one plain-array pass over ${AGENTS} agents (p50 ${ms(plain.p50)}):  p50 ${ratio(big.cycles.churnP50, plain.p50)}`);
  console.log(`  full (every agent re-offered, ${AGENTS} offers built):  p50 ${ms(big.cycles.fullP50)}  p99 ${ms(big.cycles.fullP99)}`);
  console.log(`     vs ${SMALL}-agent cluster:  p50 ${ratio(big.cycles.fullP50, small.cycles.fullP50)}  p99 ${ratio(big.cycles.fullP99, small.cycles.fullP99)}`);
  console.log(`     vs one plain-array pass over ${AGENTS} agents:  p50 ${ratio(big.cycles.fullP50, plain.p50)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
