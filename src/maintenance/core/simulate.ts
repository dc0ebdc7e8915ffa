/**
 * Discrete-event simulation of a drain in simulated time, driven by the pure planner.
 * Deterministic (no clock, no randomness other than a seeded PRNG passed in); used by the
 * benchmark (scripts/bench/drain.ts), by property tests, and by `--dry-run` estimates.
 *
 * Cluster model: agents with cpus/mem; tasks take their job's resources. A kill becomes terminal
 * `kill_ms` after it is requested; a task launched becomes RUNNING `startup_ms` (+ jitter) later.
 * The simulated workload replaces an instance as soon as it has no live or pending row (break
 * before make), launches surge rows for make-before-break orders, and places pending rows
 * next-fit on UP agents (never on hosts in maintenance), honouring host_unique.
 *
 * Ground truth checks after every step, from the rows themselves (only `required` and the duration
 * come from src/sla): every job that met its SLA at the start still has ≥ required instances up
 * (RUNNING for the whole duration, no kill requested); no voluntary kill of a RUNNING task leaves
 * its job with fewer than required up — young tasks included — unless its instance stays up
 * through its replacement; kills only target hosts that are DRAINING (or forced); inverse offers
 * are never accepted while a task remains.
 */
import type { HostRecord } from './host-state.js';
import { hostKey, transition } from './host-state.js';
import type { SlaInstance } from '../../sla/index.js';
import { domainRule, requiredUp, slaStatus } from '../../sla/index.js';
import type { AgentCapacity, DrainOptions, DrainPlan, DrainView, JobView } from './drainer.js';
import { planDrain } from './drainer.js';
import { decideInverseOffer } from './inverse-offers.js';

export interface SimHost {
  hostname: string;
  rack?: string;
  cpus: number;
  mem: number;
}

export interface SimScenario {
  hosts: readonly SimHost[];
  jobs: readonly JobView[];
  /** Initial rows (cloned; not mutated). Tasks must have hostname and RUNNING state to be on hosts. */
  rows: readonly SlaInstance[];
  /** Maintenance records at the start (e.g. from startMaintenance). */
  records: readonly HostRecord[];
  /** Hosts whose drain is measured (default: every record). */
  drain?: readonly string[];
  start_ms: number;
  startup_ms: number;
  /** Uniform extra start-up delay in [0, jitter] per task (seeded). */
  startup_jitter_ms?: number;
  kill_ms: number;
  drain_options?: Partial<DrainOptions>;
  /** Baseline mode: these batches of hosts are drained one after the other (the planner only sees
   * the current batch DRAINING; the rest are held SCHEDULED). */
  batches?: ReadonlyArray<readonly string[]>;
  /**
   * Plan at most once per this many ms of simulated time (task events in between are applied and
   * planned for at the next multiple), as a runtime coalescing re-plans would. 0 (default): plan at
   * every event time.
   */
  plan_interval_ms?: number;
  /** Stop after this much simulated time (default 30 days). */
  max_duration_ms?: number;
  /** Check the SLA of every job at every step (default: only jobs with kills in the step). */
  check_all_jobs?: boolean;
  /** Ask decideInverseOffer for every host in maintenance at every step and check it. */
  check_inverse_offers?: boolean;
  seed?: number;
  /** The planner (default planDrain); the benchmark wraps it to time it. */
  planner?: (view: DrainView, now: number, opts: Partial<DrainOptions>) => DrainPlan;
}

export interface SimResult {
  /** Time from start until the last measured host became DRAINED (Infinity if it never did). */
  makespan_ms: number;
  /** Time until, in addition, every instance was RUNNING again. */
  settled_ms: number;
  drained_at: Map<string, number>;
  unfinished: string[];
  violations: string[];
  kills: number;
  forced_kills: number;
  surges: number;
  steps: number;
  min_budget_seen: Map<string, number>;
  records: Map<string, HostRecord>;
  rows: SlaInstance[];
}

export { prng } from '../../util/prng.js';

interface Ev {
  t: number;
  seq: number;
  kind: 0 | 1 | 2; // 0 kill done, 1 running, 2 wake
  row?: SlaInstance;
}

class Heap {
  private a: Ev[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Ev | undefined {
    return this.a[0];
  }
  push(e: Ev): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p]!, a[i]!)) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): Ev | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
function less(x: Ev, y: Ev): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq);
}

function requiredOf(job: JobView): number {
  return requiredUp(job);
}

function hashStr(s: string, seed: number): number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return ((h >>> 0) % 1_000_003) / 1_000_003;
}

export function simulateDrain(sc: SimScenario): SimResult {
  const planner = sc.planner ?? planDrain;
  const opts: Partial<DrainOptions> = sc.drain_options ?? {};
  const seed = sc.seed ?? 1;
  const jobs = new Map(sc.jobs.map((j) => [j.name, j]));
  const hostIdx = new Map<string, number>();
  sc.hosts.forEach((h, i) => hostIdx.set(hostKey(h.hostname), i));
  const freeCpu = new Float64Array(sc.hosts.length);
  const freeMem = new Float64Array(sc.hosts.length);
  sc.hosts.forEach((h, i) => {
    freeCpu[i] = h.cpus;
    freeMem[i] = h.mem;
  });
  const records = new Map<string, HostRecord>();
  for (const r of sc.records) records.set(hostKey(r.hostname), r);
  const measured = new Set((sc.drain ?? sc.records.map((r) => r.hostname)).map(hostKey));
  const rows: SlaInstance[] = sc.rows.map((r) => ({ ...r }));
  const jobHosts = new Map<string, Map<number, number>>(); // host_unique jobs: host index -> live count
  const use = (r: SlaInstance, sign: 1 | -1): void => {
    const i = r.hostname === undefined ? undefined : hostIdx.get(hostKey(r.hostname));
    if (i === undefined) return;
    const j = jobs.get(r.job);
    freeCpu[i]! += -sign * (j?.resources?.cpus ?? 0);
    freeMem[i]! += -sign * (j?.resources?.mem ?? 0);
    if (j?.host_unique) {
      let m = jobHosts.get(j.name);
      if (!m) jobHosts.set(j.name, (m = new Map()));
      m.set(i, (m.get(i) ?? 0) + sign);
    }
  };
  // Live count per instance (for the replace-when-nothing-left rule).
  const instKey = (r: SlaInstance): string => `${r.job}\u0000${r.index}`;
  const liveOrPending = new Map<string, number>();
  const isLiveRow = (r: SlaInstance): boolean =>
    r.state === 'PENDING' || r.state === 'TASK_STAGING' || r.state === 'TASK_STARTING' || r.state === 'TASK_RUNNING' || r.state === 'TASK_KILLING';
  for (const r of rows) {
    if (isLiveRow(r)) liveOrPending.set(instKey(r), (liveOrPending.get(instKey(r)) ?? 0) + 1);
    if (r.state !== 'PENDING' && isLiveRow(r)) use(r, 1);
  }
  const byTask = new Map<string, SlaInstance>();
  for (const r of rows) if (r.task_id !== undefined && isLiveRow(r)) byTask.set(r.task_id, r);
  let taskSeq = 0;
  const pending: SlaInstance[] = rows.filter((r) => r.state === 'PENDING');
  const heap = new Heap();
  let seq = 0;
  const wakes = new Set<number>();
  const wake = (t: number): void => {
    if (wakes.has(t)) return;
    wakes.add(t);
    heap.push({ t, seq: seq++, kind: 2 });
  };
  const violations: string[] = [];
  const violate = (msg: string): void => {
    if (violations.length < 50) violations.push(msg);
  };
  const drainedAt = new Map<string, number>();
  const minBudget = new Map<string, number>();
  // Jobs that meet their SLA at the start are held to it.
  const initialOk = new Set<string>();
  const slaUp = (job: JobView, t: number): number => {
    const D = (job.sla?.duration_seconds ?? 0) * 1000;
    const up = new Uint8Array(job.instances);
    for (const r of rowsOfJob.get(job.name) ?? []) {
      if (r.state === 'TASK_RUNNING' && r.kill_requested_ms === undefined && r.running_since_ms !== undefined && r.running_since_ms <= t - D && r.index < job.instances) up[r.index] = 1;
    }
    let n = 0;
    for (let i = 0; i < up.length; i++) n += up[i]!;
    return n;
  };
  const rowsOfJob = new Map<string, SlaInstance[]>();
  const addRow = (r: SlaInstance): void => {
    let l = rowsOfJob.get(r.job);
    if (!l) rowsOfJob.set(r.job, (l = []));
    l.push(r);
  };
  for (const r of rows) addRow(r);
  // With a failure-domain rule (src/sla/kill.ts), a job also meets its SLA when its instances not up
  // are confined to max_unavailable_domains racks.
  const meets = (j: JobView, t: number, up: number): boolean =>
    up >= requiredOf(j) || (domainRule(j.sla) !== undefined && slaStatus(j, rowsOfJob.get(j.name) ?? [], t).meets_sla);
  for (const j of sc.jobs) if (slaUp(j, sc.start_ms) >= requiredOf(j)) initialOk.add(j.name);

  // Racks interleaved, so next-fit spreads replacements over racks.
  const placeOrder: number[] = [];
  {
    const byRack = new Map<string, number[]>();
    sc.hosts.forEach((h, i) => {
      const k = h.rack ?? '';
      let l = byRack.get(k);
      if (!l) byRack.set(k, (l = []));
      l.push(i);
    });
    const lists = [...byRack.values()];
    for (let i = 0; placeOrder.length < sc.hosts.length; i++) for (const l of lists) if (i < l.length) placeOrder.push(l[i]!);
  }
  let cursor = 0;
  const eligible = (i: number): boolean => {
    const rec = records.get(hostKey(sc.hosts[i]!.hostname));
    return !rec || rec.state === 'UP';
  };
  const place = (t: number): void => {
    if (pending.length === 0) return;
    const noFit: Array<[number, number]> = [];
    const still: SlaInstance[] = [];
    const n = placeOrder.length;
    for (const r of pending) {
      if (r.state !== 'PENDING') continue;
      const j = jobs.get(r.job);
      const c = j?.resources?.cpus ?? 0;
      const m = j?.resources?.mem ?? 0;
      if (!j?.host_unique && noFit.some(([a, b]) => c >= a && m >= b)) {
        still.push(r);
        continue;
      }
      let placed = -1;
      for (let k = 0; k < n; k++) {
        const i = placeOrder[(cursor + k) % n]!;
        if (freeCpu[i]! + 1e-9 < c || freeMem[i]! + 1e-9 < m || !eligible(i)) continue;
        if (j?.host_unique && (jobHosts.get(j.name)?.get(i) ?? 0) > 0) continue;
        placed = i;
        cursor = (cursor + k + 1) % n;
        break;
      }
      if (placed < 0) {
        if (!j?.host_unique) noFit.push([c, m]);
        still.push(r);
        continue;
      }
      const h = sc.hosts[placed]!;
      r.state = 'TASK_STAGING';
      r.hostname = h.hostname;
      r.agent_id = h.hostname;
      if (h.rack !== undefined) r.domain = h.rack;
      r.task_id = `${r.job}.${r.index}.s${taskSeq++}`;
      byTask.set(r.task_id, r);
      use(r, 1);
      const jitter = sc.startup_jitter_ms ? Math.floor(hashStr(r.task_id, seed) * sc.startup_jitter_ms) : 0;
      heap.push({ t: t + sc.startup_ms + jitter, seq: seq++, kind: 1, row: r });
    }
    pending.length = 0;
    pending.push(...still);
  };
  const newPending = (job: string, index: number, surge: boolean, lostDomain?: string): void => {
    const r: SlaInstance = { job, index, state: 'PENDING' };
    if (surge) r.surge = true;
    if (lostDomain !== undefined) r.lost_domain = lostDomain;
    rows.push(r);
    addRow(r);
    pending.push(r);
    liveOrPending.set(instKey(r), (liveOrPending.get(instKey(r)) ?? 0) + 1);
  };

  let kills = 0;
  let forcedKills = 0;
  let surges = 0;
  let steps = 0;
  const maxT = sc.start_ms + (sc.max_duration_ms ?? 30 * 86_400_000);
  let batch = 0;
  const batchKeys = (sc.batches ?? []).map((b) => b.map(hostKey));
  const startBatch = (t: number): void => {
    while (batch < batchKeys.length) {
      for (const k of batchKeys[batch]!) {
        const rec = records.get(k);
        if (rec && rec.state === 'SCHEDULED') records.set(k, transition(rec, 'DRAINING', t, `batch ${batch + 1}`));
      }
      const done = batchKeys[batch]!.every((k) => {
        const s = records.get(k)?.state;
        return s === 'DRAINED' || s === 'DOWN';
      });
      if (!done) return;
      batch++;
    }
  };
  const doneDraining = (): boolean => [...measured].every((k) => drainedAt.has(k));
  let settledAt = Infinity;
  let t = sc.start_ms;
  wake(t);
  while (heap.size && t <= maxT) {
    t = heap.peek()!.t;
    if (t > maxT) break;
    steps++;
    const killedJobs = new Set<string>();
    let woken = false;
    while (heap.size && heap.peek()!.t === t) {
      const e = heap.pop()!;
      if (e.kind === 2) {
        wakes.delete(e.t);
        woken = true;
        continue;
      }
      const r = e.row!;
      if (e.kind === 0) {
        if (r.state === 'TASK_KILLED') continue;
        use(r, -1);
        r.state = 'TASK_KILLED';
        byTask.delete(r.task_id!);
        const k = instKey(r);
        const left = (liveOrPending.get(k) ?? 1) - 1;
        liveOrPending.set(k, left);
        const j = jobs.get(r.job);
        if (left === 0 && j && r.index < j.instances) newPending(r.job, r.index, false, r.domain);
      } else if (r.state === 'TASK_STAGING') {
        r.state = 'TASK_RUNNING';
        r.running_since_ms = t;
      }
    }
    place(t);
    const Q = sc.plan_interval_ms ?? 0;
    if (Q > 0 && !woken && (t - sc.start_ms) % Q !== 0) {
      wake(sc.start_ms + Math.ceil((t - sc.start_ms) / Q) * Q);
      continue;
    }
    if (batchKeys.length) startBatch(t);
    const capacity: AgentCapacity[] | undefined =
      opts.make_before_break === false
        ? undefined
        : sc.hosts.flatMap((h, i) => (eligible(i) ? [{ hostname: h.hostname, cpus: freeCpu[i]!, mem: freeMem[i]! }] : []));
    const view: DrainView = { hosts: records.values(), jobs: sc.jobs, instances: rows };
    if (capacity) view.capacity = capacity;
    const plan = planner(view, t, opts);
    for (const tr of plan.transitions) {
      const k = hostKey(tr.hostname);
      const rec = records.get(k)!;
      records.set(k, transition(rec, tr.to, t, tr.reason));
      if ((tr.to === 'DRAINED' || tr.to === 'DOWN') && measured.has(k) && !drainedAt.has(k)) drainedAt.set(k, t);
    }
    for (const to of plan.timeouts) {
      const k = hostKey(to.hostname);
      const rec = records.get(k)!;
      if (rec.timed_out_ms === undefined) records.set(k, { ...rec, timed_out_ms: t });
    }
    const upBefore = new Map<string, number>();
    const runningKilled: SlaInstance[] = [];
    for (const ko of plan.kills) {
      const j = jobs.get(ko.job);
      if (j && !upBefore.has(ko.job)) upBefore.set(ko.job, slaUp(j, t));
    }
    if (plan.kills.length) {
      for (const ko of plan.kills) {
        const r = byTask.get(ko.task_id);
        if (!r) {
          violate(`kill of unknown task ${ko.task_id}`);
          continue;
        }
        const st = records.get(hostKey(r.hostname ?? ''))?.state;
        if (st !== 'DRAINING') violate(`t+${t - sc.start_ms}ms kill of ${ko.task_id} on ${r.hostname} in state ${st ?? 'UP'}`);
        if (ko.reason === 'retry') continue;
        if (r.kill_requested_ms !== undefined) {
          violate(`double kill of ${ko.task_id}`);
          continue;
        }
        if (ko.reason !== 'forced' && r.state === 'TASK_RUNNING') runningKilled.push(r);
        r.kill_requested_ms = t;
        kills++;
        if (ko.reason === 'forced') forcedKills++;
        killedJobs.add(r.job);
        heap.push({ t: t + sc.kill_ms, seq: seq++, kind: 0, row: r });
      }
    }
    for (const so of plan.makeBeforeBreak) {
      surges++;
      newPending(so.job, so.instance, true);
    }
    place(t);
    // Ground truth: SLA.
    const check = sc.check_all_jobs ? sc.jobs.map((j) => j.name) : [...killedJobs];
    for (const name of check) {
      const j = jobs.get(name);
      if (!j) continue;
      const up = slaUp(j, t);
      const req = requiredOf(j);
      const b = up - req;
      if (b < (minBudget.get(name) ?? Infinity)) minBudget.set(name, b);
      if (forcedKills > 0) continue;
      if (initialOk.has(name) && !meets(j, t, up)) violate(`t+${t - sc.start_ms}ms job ${name}: ${up} up < ${req} required`);
      // A job below its SLA (e.g. from the start) may never be made worse by Sluice's kills.
      const before = upBefore.get(name);
      if (before !== undefined && up < Math.min(before, req) && !meets(j, t, up)) violate(`t+${t - sc.start_ms}ms job ${name}: kills took it from ${before} to ${up} up (required ${req})`);
    }
    // Ground truth: a voluntary kill of a RUNNING task (young or not) leaves ≥ required up, unless
    // its instance stays up through another task (make-before-break).
    if (forcedKills === 0) {
      for (const r of runningKilled) {
        const j = jobs.get(r.job);
        if (!j || r.index >= j.instances) continue;
        const D = (j.sla?.duration_seconds ?? 0) * 1000;
        const stillUp = (rowsOfJob.get(r.job) ?? []).some(
          (o) => o !== r && o.index === r.index && o.state === 'TASK_RUNNING' && o.kill_requested_ms === undefined && o.running_since_ms !== undefined && o.running_since_ms <= t - D,
        );
        const up = slaUp(j, t);
        const req = requiredOf(j);
        if (!stillUp && !meets(j, t, up)) violate(`t+${t - sc.start_ms}ms job ${r.job}: kill of running ${r.task_id} (running ${Math.round((t - (r.running_since_ms ?? t)) / 1000)}s) left ${up} up < ${req} required`);
      }
    }
    if (sc.check_inverse_offers) {
      const liveOn = new Map<string, number>();
      for (const r of rows) {
        if (r.hostname === undefined || !isLiveRow(r) || r.state === 'PENDING') continue;
        const k = hostKey(r.hostname);
        if (records.has(k)) liveOn.set(k, (liveOn.get(k) ?? 0) + 1);
      }
      const est = new Map(plan.progress.map((p) => [hostKey(p.hostname), p.estimated_empty_ms]));
      for (const [k, rec] of records) {
        if (rec.state === 'UP' || !rec.window) continue;
        const n = liveOn.get(k) ?? 0;
        const ctx: { tasks_on_agent: number; host: HostRecord; estimated_empty_ms?: number } = { tasks_on_agent: n, host: rec };
        const e = est.get(k);
        if (e !== undefined) ctx.estimated_empty_ms = e;
        const d = decideInverseOffer(rec.window, ctx, t);
        if (d.action === 'accept' && n > 0) violate(`inverse offer for ${rec.hostname} accepted with ${n} task(s) left`);
      }
    }
    if (doneDraining()) {
      let settled = pending.length === 0;
      if (settled) for (const r of rows) if (r.state === 'TASK_STAGING') { settled = false; break; }
      if (settled) {
        settledAt = t;
        break;
      }
    }
    if (plan.next_wakeup_ms !== undefined) wake(plan.next_wakeup_ms > t ? plan.next_wakeup_ms : t + 1);
  }
  let makespan = 0;
  const unfinished: string[] = [];
  for (const k of measured) {
    const d = drainedAt.get(k);
    if (d === undefined) unfinished.push(records.get(k)?.hostname ?? k);
    else makespan = Math.max(makespan, d - sc.start_ms);
  }
  return {
    makespan_ms: unfinished.length ? Infinity : makespan,
    settled_ms: settledAt === Infinity ? Infinity : settledAt - sc.start_ms,
    drained_at: drainedAt,
    unfinished,
    violations,
    kills,
    forced_kills: forcedKills,
    surges,
    steps,
    min_budget_seen: minBudget,
    records,
    rows,
  };
}
