/**
 * Drain benchmark: SLA-aware drain of 20% of a 5,000-host cluster, in simulated time.
 *
 * Cluster: 5,000 hosts in 50 racks (32 cpus, 128 GiB each), 50,000 tasks in jobs of 10–500
 * instances, each job spread over all racks, with mixed SLAs (the issue's examples):
 *   95% over 1800 s, 90% over 600 s, count = instances − 5% over 900 s, and no SLA;
 *   `--mix tight` adds 99% over 1200 s for a third of the large jobs.
 * A fraction `--fresh` (default 0.15) of the jobs with an SLA were deployed a < D ago (a uniform
 * in [0.1·D, 0.9·D]): every instance is younger than the SLA duration, the job is below its SLA, and
 * none of its running instances may be killed until they age (src/sla/kill.ts) — only replaced.
 * Drain: 10 whole racks = 1,000 hosts = 20%. Replacements take `--startup` (30 s) to reach
 * RUNNING, kills take `--kill` (5 s) to become terminal.
 *
 * The drain runs in the discrete-event simulator of src/maintenance/core/simulate.ts, driven by the
 * pure planner (planDrain) — no HTTP. Three runs on the same cluster:
 *   1. Sluice: every host drains at once, make-before-break where capacity allows (the default);
 *   2. Sluice, break-before-make only (make-before-break off): the SLA budgets alone pace it;
 *   3. Aurora's way (baseline): rack at a time — the next rack starts only when the previous one is
 *      empty — SLA-aware kills, break-before-make.
 * Each makespan (start → last host DRAINED) is compared with the lower bound that the SLA budgets
 * allow, computed below, and the simulator checks the SLAs at every step.
 *
 * Mode `domains` (issue 12, rack-aware budgets): one rack drained (`--group-by rack`), make-before-
 * break on, twice on the same cluster: every job with an SLA made a replicated store that requires
 * all its instances up (count = instances, same duration), first by the count rule alone, then with
 * `"max_unavailable_domains": 1, "domain": "rack"`. By the count alone nothing may go before its
 * replacement has run D (≥ S + D + K); with the domain rule a whole rack of each job goes in one
 * step (K). Jobs younger than their SLA duration are taken as aged in this comparison: neither rule
 * lets them lose a serving instance before they age, so they would bound both runs alike.
 *
 * Lower bounds, under the rule "no voluntary kill may leave fewer than required up, and a job below
 * its SLA loses no running instance". For job j: n instances, `required` up, budget
 * b = n − required once all are up, k = its instances on the drained hosts, D its SLA duration,
 * S start-up, K kill time, R = K + S + D (a killed instance is down from its KILL until its
 * replacement, launched when the kill completes, has been RUNNING for D), and A the time until its
 * instances are all up (0 for an old job; D − a for a job deployed a ago: before then it is below
 * its SLA and none of its running instances may go).
 *   - Break-before-make (any order, any parallelism): no kill before A; from A at most b
 *     instances are down at once and each kill keeps one down for ≥ R, so — like b machines serving
 *     jobs of length R — the m-th kill cannot start before A + floor((m−1)/b)·R. The last of k
 *     kills starts ≥ A + (ceil(k/b) − 1)·R and its host is empty K later:
 *     LB_bbm_j = A + (ceil(k/b) − 1)·R + K   (∞ if b ≤ 0 < k).
 *   - Any strategy (make-before-break allowed): no instance started after time 0 can be up before
 *     S + D, and no running instance may go before A, so before min(A, S + D) nothing goes and
 *     before S + D at most b of the k instances on drained hosts may be killed. If k ≤ b the job
 *     can leave at A (+K); otherwise at least k − b of them are still there at S + D and their
 *     hosts empty no earlier than S + D + K = R (A < S + D always):  LB*_j = A + K if k ≤ b, else R.
 * A host is empty when its last task is, so each bound is the maximum over jobs.
 *
 * Usage: node dist/scripts/bench/drain.js [--hosts 5000] [--racks 50] [--tasks 50000]
 *        [--drain-racks 10] [--startup 30] [--jitter 0] [--kill 5] [--seed 7] [--plan-interval 1] [--json-out file]
 *        [--mix issue|tight] [--modes mbb,bbm,rack,domains] [--skip-baseline]
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startMaintenance, type HostRecord, type InventoryHost } from '../../src/maintenance/core/host-state.js';
import { planDrain, type DrainOptions, type DrainPlan, type DrainView, type JobView } from '../../src/maintenance/core/drainer.js';
import { simulateDrain, prng, type SimHost, type SimResult } from '../../src/maintenance/core/simulate.js';
import type { SlaInstance } from '../../src/sla/index.js';
import { requiredUp } from '../../src/sla/index.js';
import { fmtDuration } from '../../src/maintenance/core/format.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
function sarg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const HOSTS = arg('hosts', 5000);
const RACKS = arg('racks', 50);
const TASKS = arg('tasks', 50_000);
const DRAIN_RACKS = arg('drain-racks', Math.round(RACKS / 5));
const STARTUP = arg('startup', 30) * 1000;
const JITTER = arg('jitter', 0) * 1000;
const KILL = arg('kill', 5) * 1000;
const SEED = arg('seed', 7);
/** Re-plan at most once per this many ms of simulated time (as the runtime coalesces re-plans). */
const PLAN_INTERVAL = arg('plan-interval', 1) * 1000;
const MIX = sarg('mix') ?? 'issue';
/** Fraction of the jobs with an SLA deployed less than their SLA duration ago. */
const FRESH = arg('fresh', 0.15);
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

// ---------------------------------------------------------------------------------------------
// cluster

interface Cluster {
  hosts: SimHost[];
  inventory: InventoryHost[];
  jobs: JobView[];
  rows: SlaInstance[];
  /** Per freshly deployed job: the time until its instances are all up (D − a). */
  agingMs: Map<string, number>;
  drained: string[];
  racksOrder: string[][];
}

function buildCluster(): Cluster {
  const rnd = prng(SEED);
  const perRack = Math.ceil(HOSTS / RACKS);
  const hosts: SimHost[] = [];
  const inventory: InventoryHost[] = [];
  const byRack: number[][] = Array.from({ length: RACKS }, () => []);
  for (let i = 0; i < HOSTS; i++) {
    const r = Math.floor(i / perRack);
    const hostname = `r${String(r).padStart(2, '0')}-h${String(i % perRack).padStart(3, '0')}`;
    const rack = `r${String(r).padStart(2, '0')}`;
    hosts.push({ hostname, rack, cpus: 32, mem: 128 * 1024 });
    inventory.push({ hostname, ip: `10.${r}.${(i % perRack) >> 8}.${i % 256}`, agent_id: `S${i}`, rack });
    byRack[r]!.push(i);
  }
  const freeCpu = hosts.map((h) => h.cpus);
  const freeMem = hosts.map((h) => h.mem);
  const rackCursor = new Array<number>(RACKS).fill(0);
  const jobs: JobView[] = [];
  const rows: SlaInstance[] = [];
  const agingMs = new Map<string, number>();
  let total = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  for (let j = 0; total < TASKS; j++) {
    const big = rnd() < 0.15;
    let n = big ? 200 + Math.floor(rnd() * 301) : 10 + Math.floor(rnd() * 91);
    n = Math.min(n, TASKS - total);
    if (n < 1) break;
    const u = rnd();
    const job: JobView = { name: `job${String(j).padStart(4, '0')}`, instances: n, resources: { cpus: pick([0.5, 1, 1, 2]), mem: pick([512, 1024, 2048]) } };
    if (MIX === 'tight' && big && u < 0.3) job.sla = { kind: 'percentage', percentage: 99, duration_seconds: 1200 };
    else if (u < 0.35) job.sla = { kind: 'percentage', percentage: 95, duration_seconds: 1800 };
    else if (u < 0.65) job.sla = { kind: 'percentage', percentage: 90, duration_seconds: 600 };
    else if (u < 0.9) job.sla = { kind: 'count', count: n - Math.max(1, Math.floor(n * 0.05)), duration_seconds: 900 };
    if (job.sla && requiredUp(job) >= n) job.sla = { kind: 'percentage', percentage: 90, duration_seconds: 600 };
    jobs.push(job);
    // freshly deployed: a ∈ [0.1·D, 0.9·D] ago, every instance younger than D
    const D = (job.sla?.duration_seconds ?? 0) * 1000;
    const age = FRESH > 0 && job.sla && D > 0 && rnd() < FRESH ? Math.round(D * (0.1 + 0.8 * rnd()) / 1000) * 1000 : undefined;
    if (age !== undefined) agingMs.set(job.name, D - age);
    const since = age !== undefined ? T0 - age : T0 - 86_400_000;
    const offset = Math.floor(rnd() * RACKS);
    for (let i = 0; i < n; i++) {
      // spread over racks; next host with room within the rack
      const r = (offset + i) % RACKS;
      const list = byRack[r]!;
      let placed = -1;
      for (let a = 0; a < list.length; a++) {
        const h = list[(rackCursor[r]! + a) % list.length]!;
        if (freeCpu[h]! >= job.resources!.cpus && freeMem[h]! >= job.resources!.mem) {
          placed = h;
          rackCursor[r] = (rackCursor[r]! + a + 1) % list.length;
          break;
        }
      }
      if (placed < 0) throw new Error('cluster too small for the tasks');
      freeCpu[placed]! -= job.resources!.cpus;
      freeMem[placed]! -= job.resources!.mem;
      const h = hosts[placed]!;
      rows.push({ job: job.name, index: i, task_id: `${job.name}.${i}.0`, agent_id: inventory[placed]!.agent_id!, hostname: h.hostname, domain: h.rack!, state: 'TASK_RUNNING', running_since_ms: since });
    }
    total += n;
  }
  // drain DRAIN_RACKS racks spread over the cluster
  const step = RACKS / DRAIN_RACKS;
  const racksOrder: string[][] = [];
  for (let d = 0; d < DRAIN_RACKS; d++) racksOrder.push(byRack[Math.floor(d * step)]!.map((i) => hosts[i]!.hostname));
  return { hosts, inventory, jobs, rows, agingMs, drained: racksOrder.flat(), racksOrder };
}

// ---------------------------------------------------------------------------------------------
// bounds

function bounds(c: Cluster): { star: number; bbm: number; critical: string } {
  const drained = new Set(c.drained);
  const k = new Map<string, number>();
  for (const r of c.rows) if (drained.has(r.hostname!)) k.set(r.job, (k.get(r.job) ?? 0) + 1);
  let star = 0;
  let bbm = 0;
  let critical = '';
  for (const j of c.jobs) {
    const kj = k.get(j.name) ?? 0;
    if (kj === 0) continue;
    const b = j.instances - requiredUp(j);
    const R = KILL + STARTUP + (j.sla?.duration_seconds ?? 0) * 1000;
    const A = c.agingMs.get(j.name) ?? 0;
    const s = kj <= b ? A + KILL : R;
    const w = b <= 0 ? Infinity : A + (Math.ceil(kj / b) - 1) * R + KILL;
    star = Math.max(star, s);
    if (w > bbm) {
      bbm = w;
      critical = `${j.name} (${j.instances} instances${A ? `, deployed ${(j.sla!.duration_seconds * 1000 - A) / 1000}s ago` : ''}, ${kj} on drained hosts, budget ${b}, ${j.sla ? `${j.sla.kind === 'percentage' ? j.sla.percentage + '%' : 'count ' + j.sla.count} over ${j.sla.duration_seconds}s` : 'no SLA'})`;
    }
  }
  return { star, bbm, critical };
}

// ---------------------------------------------------------------------------------------------
// runs

interface Timing {
  calls: number;
  total_ms: number;
  max_ms: number;
  first_ms: number;
  peak_heap_delta_mb: number;
}

function timedPlanner(t: Timing, baseHeap: number): (v: DrainView, now: number, o: Partial<DrainOptions>) => DrainPlan {
  return (v, now, o) => {
    const a = performance.now();
    const p = planDrain(v, now, o);
    const d = performance.now() - a;
    if (t.calls === 0) t.first_ms = d;
    t.calls++;
    t.total_ms += d;
    t.max_ms = Math.max(t.max_ms, d);
    if (t.calls % 8 === 1) t.peak_heap_delta_mb = Math.max(t.peak_heap_delta_mb, (process.memoryUsage().heapUsed - baseHeap) / 1048576);
    return p;
  };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function run(c: Cluster, mode: 'mbb' | 'bbm' | 'rack'): { res: SimResult; timing: Timing; wall_ms: number } {
  let records: HostRecord[];
  if (mode === 'rack') {
    // Every drained host is announced (SCHEDULED: no placement there; the window far enough ahead
    // never to start the drain itself, within the 365-day limit), racks are drained one by one.
    records = startMaintenance(new Map(), { hosts: c.drained, window: { start_ms: T0 + 300 * 86_400_000 } }, c.inventory, T0, 'aurora').records;
  } else {
    records = startMaintenance(new Map(), { hosts: c.drained, group_by: 'rack' }, c.inventory, T0, 'sluice').records;
  }
  gc();
  const base = process.memoryUsage().heapUsed;
  const timing: Timing = { calls: 0, total_ms: 0, max_ms: 0, first_ms: 0, peak_heap_delta_mb: 0 };
  const a = performance.now();
  const res = simulateDrain({
    hosts: c.hosts,
    jobs: c.jobs,
    rows: c.rows,
    records,
    drain: c.drained,
    start_ms: T0,
    startup_ms: STARTUP,
    startup_jitter_ms: JITTER,
    kill_ms: KILL,
    drain_options: { make_before_break: mode === 'mbb' },
    ...(mode === 'rack' ? { batches: c.racksOrder } : {}),
    seed: SEED,
    plan_interval_ms: PLAN_INTERVAL,
    planner: timedPlanner(timing, base),
  });
  return { res, timing, wall_ms: performance.now() - a };
}

/** Mode `domains`: one rack, every SLA job requiring all its instances, without and with the domain rule. */
function runDomains(c: Cluster): { without: SimResult; with: SimResult; rack: string[] } {
  const rack = c.racksOrder[0]!;
  const stores = c.jobs.map((j): JobView => (j.sla ? { ...j, sla: { kind: 'count', count: j.instances, duration_seconds: j.sla.duration_seconds } } : j));
  const rackAware = stores.map((j): JobView => (j.sla ? { ...j, sla: { ...j.sla, max_unavailable_domains: 1, domain: 'rack' } } : j));
  const rows = c.rows.map((r) => (c.agingMs.has(r.job) ? { ...r, running_since_ms: T0 - 86_400_000 } : r));
  const sim = (jobs: JobView[]): SimResult =>
    simulateDrain({
      hosts: c.hosts,
      jobs,
      rows,
      records: startMaintenance(new Map(), { hosts: rack, group_by: 'rack' }, c.inventory, T0, 'sluice').records,
      drain: rack,
      start_ms: T0,
      startup_ms: STARTUP,
      startup_jitter_ms: JITTER,
      kill_ms: KILL,
      drain_options: { make_before_break: true },
      seed: SEED,
      plan_interval_ms: PLAN_INTERVAL,
    });
  return { without: sim(stores), with: sim(rackAware), rack };
}

function ratio(x: number, b: number): string {
  if (!Number.isFinite(x)) return '∞';
  if (!Number.isFinite(b) || b === 0) return 'n/a';
  return (x / b).toFixed(3);
}

// ---------------------------------------------------------------------------------------------

const t0 = performance.now();
const cluster = buildCluster();
const build_ms = performance.now() - t0;
const lb = bounds(cluster);
const mix = new Map<string, number>();
for (const j of cluster.jobs) {
  const key = !j.sla ? 'none' : j.sla.kind === 'percentage' ? `${j.sla.percentage}%/${j.sla.duration_seconds}s` : `count/${j.sla.duration_seconds}s`;
  mix.set(key, (mix.get(key) ?? 0) + 1);
}
console.log(
  `drain bench: ${HOSTS} hosts in ${RACKS} racks, ${cluster.rows.length} tasks in ${cluster.jobs.length} jobs ` +
    `(SLAs: ${[...mix].map(([k, v]) => `${k} ×${v}`).join(', ')}; ${cluster.agingMs.size} freshly deployed, younger than their SLA duration); draining ${cluster.drained.length} hosts ` +
    `(${DRAIN_RACKS} racks, ${((100 * cluster.drained.length) / HOSTS).toFixed(0)}%); start-up ${STARTUP / 1000}s` +
    `${JITTER ? ` + ≤${JITTER / 1000}s jitter` : ''}, kill ${KILL / 1000}s; re-plan ≤ every ${PLAN_INTERVAL / 1000}s; cluster built in ${build_ms.toFixed(0)} ms`,
);
console.log(`lower bound, any strategy (SLA budgets, make-before-break allowed): ${fmtDuration(lb.star)} (${lb.star / 1000}s)`);
console.log(`lower bound, break-before-make (SLA budget waves):                ${fmtDuration(lb.bbm)} (${lb.bbm / 1000}s); critical job ${lb.critical}`);

const out: Record<string, unknown> = { hosts: HOSTS, racks: RACKS, tasks: cluster.rows.length, jobs: cluster.jobs.length, drained: cluster.drained.length, startup_s: STARTUP / 1000, kill_s: KILL / 1000, jitter_s: JITTER / 1000, fresh_jobs: cluster.agingMs.size, lb_star_s: lb.star / 1000, lb_bbm_s: lb.bbm / 1000 };
const modes = (sarg('modes') ?? (process.argv.includes('--skip-baseline') ? 'mbb,bbm,domains' : 'mbb,bbm,rack,domains')).split(',');
const runs = (
  [
    ['sluice (make-before-break)', 'mbb', lb.star],
    ['sluice (break-before-make)', 'bbm', lb.bbm],
    ['aurora rack-at-a-time', 'rack', lb.bbm],
  ] as Array<[string, 'mbb' | 'bbm' | 'rack', number]>
).filter((r) => modes.includes(r[1]));
let goalOk = true;
const makespans: Record<string, number> = {};
for (const [label, mode, bound] of runs) {
  const { res, timing, wall_ms } = run(cluster, mode);
  makespans[mode] = res.makespan_ms;
  const vs = mode === 'rack' ? `; ×${ratio(res.makespan_ms, lb.star)} the any-strategy bound` : '';
  console.log(
    `${label.padEnd(28)} makespan ${fmtDuration(res.makespan_ms).padEnd(9)} = ${ratio(res.makespan_ms, bound)} × its bound${vs}; ` +
      `all instances running again after ${fmtDuration(res.settled_ms)}; ${res.kills} kills, ${res.surges} make-before-break; ` +
      `SLA violations: ${res.violations.length}${res.unfinished.length ? `; UNFINISHED hosts: ${res.unfinished.length}` : ''}`,
  );
  console.log(
    `${''.padEnd(28)} planning: ${timing.calls} plans, ${timing.total_ms.toFixed(0)} ms total, first ${timing.first_ms.toFixed(1)} ms, ` +
      `mean ${(timing.total_ms / Math.max(1, timing.calls)).toFixed(1)} ms, max ${timing.max_ms.toFixed(1)} ms; ` +
      `heap +${timing.peak_heap_delta_mb.toFixed(0)} MB peak; simulation wall ${(wall_ms / 1000).toFixed(1)} s`,
  );
  if (res.violations.length) console.log(`  violations: ${res.violations.slice(0, 3).join(' | ')}`);
  if (mode !== 'rack' && !(res.makespan_ms <= 1.1 * bound) && res.violations.length === 0) goalOk = false;
  if (res.violations.length) goalOk = false;
  out[mode] = { makespan_s: res.makespan_ms / 1000, ratio: res.makespan_ms / bound, settled_s: res.settled_ms / 1000, kills: res.kills, surges: res.surges, violations: res.violations.length, plans: timing.calls, plan_total_ms: timing.total_ms, plan_first_ms: timing.first_ms, plan_max_ms: timing.max_ms, heap_peak_delta_mb: timing.peak_heap_delta_mb, sim_wall_ms: wall_ms };
}
if (makespans.rack !== undefined) {
  console.log(
    `aurora rack-at-a-time / sluice: ${ratio(makespans.rack, makespans.mbb!)}× slower than sluice (make-before-break), ` +
      `${ratio(makespans.rack, makespans.bbm!)}× slower than sluice (break-before-make)`,
  );
}
if (modes.includes('domains')) {
  const d = runDomains(cluster);
  const maxD = Math.max(0, ...cluster.jobs.map((j) => (j.sla ? j.sla.duration_seconds : 0)));
  console.log(
    `rack drain (${d.rack.length} hosts of one rack; every SLA job requires all its instances): ` +
      `count rule only ${fmtDuration(d.without.makespan_ms)} (${d.without.kills} kills, ${d.without.surges} make-before-break, SLA violations: ${d.without.violations.length}); ` +
      `with max_unavailable_domains 1: ${fmtDuration(d.with.makespan_ms)} (${d.with.kills} kills, ${d.with.surges} make-before-break, SLA violations: ${d.with.violations.length}); ` +
      `${ratio(d.without.makespan_ms, d.with.makespan_ms)}× faster; bounds: S + D + K = ${fmtDuration(STARTUP + maxD * 1000 + KILL)} vs K = ${fmtDuration(KILL)}`,
  );
  if (d.with.violations.length) console.log(`  violations: ${d.with.violations.slice(0, 3).join(' | ')}`);
  if (d.without.violations.length || d.with.violations.length || d.with.unfinished.length || d.without.unfinished.length) goalOk = false;
  out['domains'] = {
    rack_hosts: d.rack.length,
    without_makespan_s: d.without.makespan_ms / 1000,
    with_makespan_s: d.with.makespan_ms / 1000,
    without_surges: d.without.surges,
    with_kills: d.with.kills,
    violations: d.without.violations.length + d.with.violations.length,
  };
}
console.log(`goal (makespan ≤ 1.1 × bound, no SLA broken): ${goalOk ? 'PASS' : 'FAIL'}`);
const jsonOut = sarg('json-out');
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(out, null, 2));
