/** Random drain scenarios for property tests (seeded, reproducible). */
import { type SimHost, type SimScenario, prng } from '../../src/maintenance/core/simulate.js';
import { startMaintenance, type GroupBy } from '../../src/maintenance/core/host-state.js';
import type { JobView } from '../../src/maintenance/core/drainer.js';
import type { SlaInstance } from '../../src/maintenance/core/sla.js';
import { HOUR, MIN, T0 } from './helpers.js';

export interface Gen {
  sc: SimScenario;
  drained: string[];
  describe: string;
}

export function generate(seed: number, opts: { ample?: boolean; force?: boolean } = {}): Gen {
  const rnd = prng(seed);
  const int = (a: number, b: number): number => a + Math.floor(rnd() * (b - a + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const nHosts = int(6, 30);
  const racks = int(1, 5);
  const hosts: SimHost[] = Array.from({ length: nHosts }, (_, i) => ({
    hostname: `h${i}`,
    rack: `r${i % racks}`,
    cpus: opts.ample ? 1000 : int(4, 16),
    mem: opts.ample ? 1e9 : int(4, 32) * 1024,
  }));
  const free = hosts.map((h) => ({ cpus: h.cpus, mem: h.mem }));
  const jobs: JobView[] = [];
  const rows: SlaInstance[] = [];
  const nJobs = int(1, 6);
  const freshJobs: string[] = [];
  for (let j = 0; j < nJobs; j++) {
    const instances = int(1, 40);
    const kind = pick(['none', 'pct', 'pct', 'count', 'count'] as const);
    const duration_seconds = pick([0, 30, 300, 600, 1800, 3600]);
    const job: JobView = { name: `j${j}`, instances, resources: { cpus: pick([0.25, 0.5, 1, 2]), mem: pick([128, 256, 1024]) } };
    if (kind === 'pct') job.sla = { kind: 'percentage', percentage: pick([50, 75, 90, 95, 99, 100]), duration_seconds };
    if (kind === 'count') job.sla = { kind: 'count', count: int(0, instances + 1), duration_seconds };
    if (rnd() < 0.2) job.host_unique = true;
    // A quarter of the jobs were deployed less than their SLA duration ago: every instance is young.
    const fresh = rnd() < 0.25 ? duration_seconds * 1000 * rnd() : undefined;
    if (fresh !== undefined) freshJobs.push(job.name);
    jobs.push(job);
    for (let i = 0; i < instances; i++) {
      const r = rnd();
      const row: SlaInstance = { job: job.name, index: i, state: 'PENDING' };
      if (r < 0.05) {
        rows.push(row);
        continue;
      }
      // place on a random host with room
      let placed = -1;
      for (let k = 0; k < nHosts; k++) {
        const h = (int(0, nHosts - 1) + k) % nHosts;
        if (free[h]!.cpus < job.resources!.cpus || free[h]!.mem < job.resources!.mem) continue;
        if (job.host_unique && rows.some((x) => x.job === job.name && x.hostname === hosts[h]!.hostname)) continue;
        placed = h;
        break;
      }
      if (placed < 0) {
        rows.push(row);
        continue;
      }
      free[placed]!.cpus -= job.resources!.cpus;
      free[placed]!.mem -= job.resources!.mem;
      row.hostname = hosts[placed]!.hostname;
      row.agent_id = row.hostname;
      row.task_id = `${job.name}.${i}.0`;
      if (r < 0.1) row.state = 'TASK_STAGING';
      else {
        row.state = 'TASK_RUNNING';
        row.running_since_ms = fresh !== undefined ? T0 - Math.floor(fresh) : r < 0.25 ? T0 - int(0, 3600) * 1000 : T0 - 10 * HOUR;
      }
      rows.push(row);
    }
  }
  // STAGING rows in the input never get a RUNNING event in the simulator: make them RUNNING-young.
  for (const r of rows) if (r.state === 'TASK_STAGING') Object.assign(r, { state: 'TASK_RUNNING', running_since_ms: T0 });
  const nDrain = int(1, Math.max(1, Math.floor(nHosts / 2)));
  const order = hosts.map((h) => h.hostname).sort(() => rnd() - 0.5);
  const drained = order.slice(0, nDrain);
  const group_by: GroupBy = pick(['host', 'rack']);
  const max_parallel = rnd() < 0.5 ? undefined : int(1, 4);
  const inventory = hosts.map((h, i) => ({ hostname: h.hostname, ip: `10.0.0.${i}`, rack: h.rack! }));
  const req: Parameters<typeof startMaintenance>[1] = { hosts: drained, group_by };
  if (max_parallel !== undefined) req.max_parallel = max_parallel;
  if (opts.force) Object.assign(req, { timeout_ms: int(1, 60) * MIN, force: true });
  else if (rnd() < 0.3) req.timeout_ms = int(1, 60) * MIN; // timeout without force never kills beyond the SLA
  const records = startMaintenance(new Map(), req, inventory, T0, `req-${seed}`).records;
  const make_before_break = rnd() < 0.6;
  const max_kills = rnd() < 0.2 ? int(1, 5) : undefined;
  const drain_options: SimScenario['drain_options'] = { make_before_break };
  if (max_kills !== undefined) drain_options.max_kills = max_kills;
  const sc: SimScenario = {
    hosts,
    jobs,
    rows,
    records,
    start_ms: T0,
    startup_ms: int(1, 120) * 1000,
    startup_jitter_ms: int(0, 60) * 1000,
    kill_ms: int(0, 30) * 1000,
    drain_options,
    check_all_jobs: true,
    check_inverse_offers: true,
    max_duration_ms: 3 * 86_400_000,
    seed,
  };
  return {
    sc,
    drained,
    describe: `seed ${seed}: ${nHosts} hosts/${racks} racks, ${nJobs} jobs (${freshJobs.length} freshly deployed), drain ${nDrain} (${group_by}, max ${max_parallel ?? '∞'}), mbb ${make_before_break}, cap ${max_kills ?? '∞'}`,
  };
}

