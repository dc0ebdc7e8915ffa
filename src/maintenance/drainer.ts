/**
 * The drainer: a preemption-style rescheduler as a pure function of (view, now).
 *
 * Every call looks at the hosts in maintenance and the workload's task rows and answers:
 * which SCHEDULED hosts start DRAINING, which tasks to KILL now, which instances to replace
 * make-before-break first, which hosts are now empty (DRAINED), what each job waits for and until
 * when, and when to call again. It keeps no state: the runtime re-plans on every task update, on
 * every maintenance change and at `next_wakeup_ms`, so a restarted Sluice resumes exactly where
 * the store says it was (kills in flight are rows with `kill_requested_ms`).
 *
 * Per job, for its tasks on DRAINING hosts (kills already requested are counted as down):
 * 1. free kills — tasks that are not up (starting, or running < duration), and tasks whose
 *    instance has another up task (a make-before-break replacement that has aged): killing them
 *    does not lower up(now);
 * 2. if the job's SLA budget (up − required) covers all its remaining up tasks there: kill them
 *    all now (break-before-make, within the budget the SLA grants — the fastest way out);
 * 3. otherwise the job must wait at least startup + duration anyway, so: order a make-before-break
 *    replacement ("surge") for each such instance while spare capacity allows (it costs no budget
 *    at all: the old task is killed once the new one has run for the SLA duration), and spend the
 *    budget only on instances that got no surge; the rest waits for the budget to refill.
 * 4. with --force, once a host's drain timeout has passed, everything left on it is killed.
 * Jobs are visited longest-estimated-drain first, so capacity and a global kill cap (if any) go to
 * the critical path. Within a job, hosts earlier in their request's order (rack by rack) and hosts
 * with fewer tasks left come first, so hosts empty progressively and can go DOWN early.
 *
 * Make-before-break contract with the workload: for each SurgeOrder {job, instance, task_id},
 * launch ONE extra task for that instance on a host eligible for placement (UP), flagged
 * `surge: true`, and keep `task_id` running. The drainer kills `task_id` once the surge has been
 * RUNNING for the SLA duration (or earlier if the budget allows). When the old task is terminal
 * the surge simply is the instance's task; the workload must not start another replacement for an
 * instance that has a live or pending surge row. A failed surge is dropped; the drainer may order
 * another. Surges are ordered only when the view carries `capacity` (free resources on eligible
 * agents) and the job's resources fit there, after reserving room for pending replacements.
 */
import type { HostRecord, HostState, LeadOptions } from './host-state.js';
import { admissions, hostKey, isBlocked, scheduledReason, DEFAULT_LEAD_MS } from './host-state.js';
import type { SlaInstance, SlaJob, SlaStatus } from './sla.js';
import { describeSla, durationMs, isLive, isRowUp, refillTime, slaBlockerText, slaStatus, upFrom } from './sla.js';
import { fmtClock, fmtDuration } from './format.js';

export interface JobView extends SlaJob {
  /** Per-task resources (for make-before-break capacity checks). */
  resources?: { cpus: number; mem: number };
  /** At most one instance of this job per host. */
  host_unique?: boolean;
}

/** Free resources on an agent where new tasks may be placed (UP, not in maintenance). */
export interface AgentCapacity {
  hostname: string;
  cpus: number;
  mem: number;
}

export interface DrainView {
  hosts: Iterable<HostRecord>;
  jobs: readonly JobView[];
  instances: readonly SlaInstance[];
  /** Absent: make-before-break disabled (the planner cannot know there is room). */
  capacity?: readonly AgentCapacity[];
}

export interface DrainOptions {
  lead_ms: number;
  make_before_break: boolean;
  /** Estimated time from launch to TASK_RUNNING of a replacement (estimates only). */
  startup_estimate_ms: number;
  /** Estimated time from KILL to the terminal update (estimates only). */
  kill_estimate_ms: number;
  /** Re-send KILL for tasks whose kill has been pending this long. */
  kill_retry_ms: number;
  /** Most kills per plan (a cap on master load); absent = no cap. */
  max_kills?: number;
}

export const DEFAULT_DRAIN_OPTIONS: DrainOptions = {
  lead_ms: DEFAULT_LEAD_MS,
  make_before_break: true,
  startup_estimate_ms: 30_000,
  kill_estimate_ms: 5_000,
  kill_retry_ms: 60_000,
};

export type KillReason = 'not-up' | 'replacement-up' | 'sla-budget' | 'no-sla' | 'forced' | 'retry';

export interface KillOrder {
  task_id: string;
  agent_id?: string;
  hostname: string;
  job: string;
  instance: number;
  reason: KillReason;
  detail: string;
}

export interface SurgeOrder {
  job: string;
  instance: number;
  /** The task being replaced (stays up until its replacement has aged). */
  task_id: string;
  hostname: string;
  reason: string;
}

export interface WaitItem {
  job: string;
  /** When re-planning can kill more of this job's tasks (absent: after replacements start). */
  until_ms?: number;
  tasks: number;
  hosts: string[];
  reason: string;
}

export interface PlannedTransition {
  hostname: string;
  from: HostState;
  to: HostState;
  reason: string;
}

export interface TimeoutNotice {
  hostname: string;
  deadline_ms: number;
  forced: boolean;
  tasks_left: number;
}

export interface Blocker {
  job?: string;
  tasks: number;
  /** A complete sentence for an operator; it starts with `job NAME: ` when `job` is set (print it as-is). */
  reason: string;
  until_ms?: number;
}

export interface HostProgress {
  hostname: string;
  state: HostState;
  origin: HostRecord['origin'];
  request_id?: string;
  group: string;
  window?: HostRecord['window'];
  since_ms: number;
  /** Our live tasks on the host (including those being killed). */
  tasks_left: number;
  killing: number;
  /** Tasks whose make-before-break replacement is on its way. */
  replacing: number;
  blockers: Blocker[];
  /** Estimated time the host is empty (Infinity: not possible under the SLAs as things stand). */
  estimated_empty_ms?: number;
  timed_out: boolean;
}

export interface DrainPlan {
  at_ms: number;
  transitions: PlannedTransition[];
  kills: KillOrder[];
  makeBeforeBreak: SurgeOrder[];
  waits: WaitItem[];
  timeouts: TimeoutNotice[];
  progress: HostProgress[];
  next_wakeup_ms?: number;
  stats: { draining_hosts: number; tasks_left: number; kills: number; surges: number; jobs_waiting: number };
}

// ---------------------------------------------------------------------------------------------

interface JobCtx {
  job: JobView;
  rows: SlaInstance[];
  /** The job's live rows on the relevant hosts (in maintenance), with their host keys. */
  maint: SlaInstance[];
  maintKeys: string[];
  status: SlaStatus;
  /** Per instance index (< instances), number of rows up now (saturating at 255). */
  upRows: Uint8Array;
  /** Per instance, its first live or pending row without a kill requested ... */
  firstRow: Array<SlaInstance | undefined>;
  /** ... and the further ones, for the few instances that have several (make-before-break). */
  moreRows: Map<number, SlaInstance[]>;
}


/**
 * The replacement under way for row `r`: another live or pending row of the same instance, with no
 * kill requested, that is not on a host in maintenance (a make-before-break surge, or any
 * duplicate the workload started). When the old row is gone, the surge is simply the instance's
 * row and is no longer anybody's replacement.
 */
function replacementOf(c: JobCtx, r: SlaInstance, inMaint: (key: string) => boolean): SlaInstance | undefined {
  const first = c.firstRow[r.index];
  if (first === undefined) return undefined;
  const ok = (s: SlaInstance): boolean => {
    if (s === r) return false;
    const k = keyOf(s);
    return k === undefined || !inMaint(k);
  };
  if (ok(first)) return first;
  for (const s of c.moreRows.get(r.index) ?? []) if (ok(s)) return s;
  return undefined;
}

/** Capacity pool for make-before-break (next-fit with a memo of shapes that no longer fit). */
class CapacityPool {
  private readonly agents: Array<{ hostname: string; key: string; cpus: number; mem: number }>;
  private cursor = 0;
  private readonly noFit: Array<{ cpus: number; mem: number }> = [];
  constructor(
    capacity: readonly AgentCapacity[],
    blocked: (key: string) => boolean,
    private readonly jobsOnHost: Map<string, Set<string>>,
  ) {
    this.agents = [];
    for (const a of capacity) {
      const key = hostKey(a.hostname);
      if (blocked(key)) continue;
      this.agents.push({ hostname: a.hostname, key, cpus: a.cpus, mem: a.mem });
    }
  }

  /** Reserve room for one task of `job`; false if it fits nowhere. */
  take(job: JobView): boolean {
    const cpus = job.resources?.cpus ?? 0;
    const mem = job.resources?.mem ?? 0;
    if (!job.host_unique && this.noFit.some((s) => cpus >= s.cpus && mem >= s.mem)) return false;
    const n = this.agents.length;
    for (let i = 0; i < n; i++) {
      const a = this.agents[(this.cursor + i) % n]!;
      if (a.cpus + 1e-9 < cpus || a.mem + 1e-9 < mem) continue;
      if (job.host_unique) {
        const js = this.jobsOnHost.get(a.key);
        if (js?.has(job.name)) continue;
      }
      a.cpus -= cpus;
      a.mem -= mem;
      if (job.host_unique) {
        let js = this.jobsOnHost.get(a.key);
        if (!js) this.jobsOnHost.set(a.key, (js = new Set()));
        js.add(job.name);
      }
      this.cursor = (this.cursor + i) % n;
      return true;
    }
    if (!job.host_unique) this.noFit.push({ cpus, mem });
    return false;
  }
}

const keyMemo = new Map<string, string>();
/** hostKey of the row's host, memoised (hostnames repeat across tens of thousands of rows). */
function keyOf(row: SlaInstance): string | undefined {
  const h = row.hostname;
  if (h === undefined) return undefined;
  let k = keyMemo.get(h);
  if (k === undefined) {
    if (keyMemo.size > 200_000) keyMemo.clear();
    k = hostKey(h);
    keyMemo.set(h, k);
  }
  return k;
}

/** Per-job estimate of when its tasks on the given hosts can all be gone (absolute ms). */
function jobFinishEstimate(
  ctx: JobCtx,
  onHosts: (key: string) => boolean,
  now: number,
  opts: DrainOptions,
  mbbPossible: boolean,
): { finish: number; costly: number } {
  const D = ctx.status.duration_ms;
  const R = opts.kill_estimate_ms + opts.startup_estimate_ms + D;
  let costly = 0;
  let free = 0;
  let surgeUp = -Infinity;
  const upLeft = ctx.upRows.slice();
  for (let i = 0; i < ctx.maint.length; i++) {
    const r = ctx.maint[i]!;
    if (!onHosts(ctx.maintKeys[i]!) || r.kill_requested_ms !== undefined) continue;
    if (!isRowUp(r, D, now)) {
      free++;
      continue;
    }
    const u = r.index < upLeft.length ? upLeft[r.index]! : 0;
    if (u >= 2) {
      upLeft[r.index] = u - 1;
      free++;
      continue;
    }
    const s = replacementOf(ctx, r, onHosts);
    if (s) {
      const f = upFrom(s, D);
      surgeUp = Math.max(surgeUp, f ?? now + opts.startup_estimate_ms + D);
      continue;
    }
    costly++;
  }
  let finish = free > 0 || surgeUp > -Infinity ? now + opts.kill_estimate_ms : now;
  if (surgeUp > -Infinity) finish = Math.max(finish, surgeUp + opts.kill_estimate_ms);
  if (costly === 0) return { finish, costly };
  const b = Math.max(0, ctx.status.budget);
  if (costly <= b) return { finish: Math.max(finish, now + opts.kill_estimate_ms), costly };
  if (mbbPossible) return { finish: Math.max(finish, now + R), costly };
  if (ctx.status.max_budget <= 0 || ctx.status.unattainable) return { finish: Infinity, costly };
  return { finish: Math.max(finish, bbmFinish(ctx.status, costly, now, R) + opts.kill_estimate_ms), costly };
}

/**
 * Break-before-make drain of `k` up instances: kill whenever the budget allows; every kill comes
 * back up R later; instances already on their way up refill the budget at their own times.
 * Returns the time of the last kill (Infinity if the budget never allows it).
 */
function bbmFinish(st: SlaStatus, k: number, now: number, R: number): number {
  const aging = st.aging_up_at_ms; // ascending
  const back: number[] = []; // ascending by construction
  let ai = 0;
  let bi = 0;
  let t = now;
  let budget = st.budget;
  let killed = 0;
  let last = now;
  while (killed < k) {
    if (budget >= 1) {
      const n = Math.min(budget, k - killed);
      killed += n;
      budget -= n;
      last = t;
      for (let i = 0; i < n; i++) back.push(t + R);
      continue;
    }
    const a = ai < aging.length ? aging[ai]! : Infinity;
    const b = bi < back.length ? back[bi]! : Infinity;
    if (a === Infinity && b === Infinity) return Infinity;
    if (a <= b) {
      ai++;
      t = Math.max(t, a);
    } else {
      bi++;
      t = Math.max(t, b);
    }
    budget++;
  }
  return last;
}

/** Total free resources, to decide whether make-before-break is plausible for estimates. */
function mbbPlausible(view: DrainView, opts: DrainOptions): boolean {
  return opts.make_before_break && view.capacity !== undefined && view.capacity.length > 0;
}

/**
 * Estimated time (absolute ms) at which each given host could be empty if it were draining now,
 * together with all hosts already in maintenance. Infinity: impossible under the SLAs without
 * spare capacity (e.g. a 100% SLA and no room for a make-before-break replacement).
 */
export function estimateDrain(
  view: DrainView,
  now: number,
  options: Partial<DrainOptions> = {},
  extraHosts: Iterable<string> = [],
): Map<string, number> {
  const opts = { ...DEFAULT_DRAIN_OPTIONS, ...options };
  const considered = new Set<string>();
  for (const h of view.hosts) if (h.state !== 'UP' && h.state !== 'DOWN') considered.add(hostKey(h.hostname));
  for (const h of extraHosts) considered.add(hostKey(h));
  const idx = indexRows(view, (k) => considered.has(k));
  const ctxs = buildJobContexts(view, idx, now, (k) => considered.has(k));
  const mbb = mbbPlausible(view, opts);
  const jobFinish = new Map<string, number>();
  for (const c of ctxs.values()) jobFinish.set(c.job.name, jobFinishEstimate(c, (k) => considered.has(k), now, opts, mbb).finish);
  const out = new Map<string, number>();
  for (const k of considered) out.set(k, now);
  for (let i = 0; i < idx.onHosts.length; i++) {
    const r = idx.onHosts[i]!;
    if (!isLive(r)) continue;
    const k = idx.onHostKeys[i]!;
    const f = jobFinish.get(r.job) ?? now + opts.kill_estimate_ms;
    if (f > out.get(k)!) out.set(k, f);
  }
  return out;
}

interface RowIndex {
  /** Every row, grouped by job (one pass over the view). */
  byJob: Map<string, SlaInstance[]>;
  /** Rows on hosts for which `onHost` was true, with their host keys. */
  onHosts: SlaInstance[];
  onHostKeys: string[];
}

/** The only pass over every row: group by job, and pick out the rows on the given hosts. */
function indexRows(view: DrainView, onHost: (key: string) => boolean): RowIndex {
  const byJob = new Map<string, SlaInstance[]>();
  const onHosts: SlaInstance[] = [];
  const onHostKeys: string[] = [];
  let lastJob: string | undefined;
  let lastList: SlaInstance[] | undefined;
  for (const r of view.instances) {
    if (r.job !== lastJob) {
      lastJob = r.job;
      lastList = byJob.get(r.job);
      if (!lastList) byJob.set(r.job, (lastList = []));
    }
    lastList!.push(r);
    const k = keyOf(r);
    if (k !== undefined && onHost(k)) {
      onHosts.push(r);
      onHostKeys.push(k);
    }
  }
  return { byJob, onHosts, onHostKeys };
}

/** Contexts of jobs that have live rows on hosts for which `relevant` is true. */
function buildJobContexts(view: DrainView, idx: RowIndex, now: number, relevant: (key: string) => boolean): Map<string, JobCtx> {
  const jobs = new Map<string, JobView>();
  for (const j of view.jobs) jobs.set(j.name, j);
  const ctxs = new Map<string, JobCtx>();
  for (let i = 0; i < idx.onHosts.length; i++) {
    const r = idx.onHosts[i]!;
    const k = idx.onHostKeys[i]!;
    if (!isLive(r) || !relevant(k)) continue;
    let c = ctxs.get(r.job);
    if (!c) {
      const job = jobs.get(r.job) ?? { name: r.job, instances: 0 };
      const n = Math.max(0, job.instances);
      c = {
        job,
        rows: idx.byJob.get(r.job) ?? [],
        maint: [],
        maintKeys: [],
        status: undefined as unknown as SlaStatus,
        upRows: new Uint8Array(n),
        firstRow: new Array(n),
        moreRows: new Map(),
      };
      ctxs.set(r.job, c);
    }
    c.maint.push(r);
    c.maintKeys.push(k);
  }
  for (const c of ctxs.values()) {
    c.status = slaStatus(c.job, c.rows, now);
    const D = durationMs(c.job);
    for (const r of c.rows) {
      if (r.index < 0 || r.index >= c.upRows.length || !Number.isInteger(r.index)) continue;
      if (isRowUp(r, D, now) && c.upRows[r.index]! < 255) c.upRows[r.index]!++;
      if ((isLive(r) || r.state === 'PENDING') && r.kill_requested_ms === undefined) {
        if (c.firstRow[r.index] === undefined) c.firstRow[r.index] = r;
        else {
          let l = c.moreRows.get(r.index);
          if (!l) c.moreRows.set(r.index, (l = []));
          l.push(r);
        }
      }
    }
  }
  return ctxs;
}

/**
 * Plan one step of the drain. Pure: same view and time, same plan.
 */
export function planDrain(view: DrainView, now: number, options: Partial<DrainOptions> = {}): DrainPlan {
  const opts: DrainOptions = { ...DEFAULT_DRAIN_OPTIONS, ...options };
  const records = new Map<string, HostRecord>();
  for (const h of view.hosts) records.set(hostKey(h.hostname), h);
  const state = new Map<string, HostState>();
  for (const [k, r] of records) state.set(k, r.state);
  const transitions: PlannedTransition[] = [];
  const move = (k: string, to: HostState, reason: string): void => {
    const from = state.get(k)!;
    transitions.push({ hostname: records.get(k)!.hostname, from, to, reason });
    state.set(k, to);
  };

  // Live rows per host in maintenance (the one pass over every row is in indexRows).
  const idx = indexRows(view, (k) => records.has(k));
  const liveByHost = new Map<string, SlaInstance[]>();
  for (let i = 0; i < idx.onHosts.length; i++) {
    const r = idx.onHosts[i]!;
    if (!isLive(r)) continue;
    const k = idx.onHostKeys[i]!;
    let l = liveByHost.get(k);
    if (!l) liveByHost.set(k, (l = []));
    l.push(r);
  }

  const inMaint = (k: string): boolean => {
    const s = state.get(k);
    return s !== undefined && s !== 'UP' && s !== 'DOWN';
  };
  const ctxs = buildJobContexts(view, idx, now, inMaint);
  const mbb = mbbPlausible(view, opts);

  // Estimates (for admission lead times, job order and progress).
  const jobFinish = new Map<string, number>();
  for (const c of ctxs.values()) jobFinish.set(c.job.name, jobFinishEstimate(c, inMaint, now, opts, mbb).finish);
  const hostEstimate = new Map<string, number>();
  for (const [k] of records) if (inMaint(k)) hostEstimate.set(k, now);
  for (const [k, rows] of liveByHost) {
    if (!inMaint(k)) continue;
    let e = now;
    for (const r of rows) e = Math.max(e, jobFinish.get(r.job) ?? now);
    hostEstimate.set(k, e);
  }
  const lead: LeadOptions = {
    lead_ms: opts.lead_ms,
    estimates_ms: new Map([...hostEstimate].map(([k, e]) => [k, e - now])),
  };

  // 1. Empty DRAINING hosts → DRAINED (their slots free up); DRAINED hosts with tasks again →
  //    DRAINING; then admit SCHEDULED hosts, repeatedly, as admitted hosts that are already empty
  //    free their slot at once.
  const empty = (k: string): boolean => (liveByHost.get(k)?.length ?? 0) === 0;
  for (const [k, s] of [...state]) {
    if (s === 'DRAINING' && empty(k)) move(k, 'DRAINED', 'no task of ours left on the host');
    else if (s === 'DRAINED' && !empty(k)) move(k, 'DRAINING', `${liveByHost.get(k)!.length} task(s) of ours found on the drained host`);
  }
  const effective = (): HostRecord[] => [...records].map(([k, r]) => (state.get(k) === r.state ? r : { ...r, state: state.get(k)! }));
  for (;;) {
    const adm = admissions(effective(), now, lead);
    if (adm.length === 0) break;
    let freed = false;
    for (const a of adm) {
      const k = hostKey(a.hostname);
      move(k, 'DRAINING', a.reason);
      if (empty(k)) {
        move(k, 'DRAINED', 'no task of ours left on the host');
        freed = true;
      }
    }
    if (!freed) break;
  }
  const draining = (k: string): boolean => state.get(k) === 'DRAINING';

  // 2. Timeouts and --force.
  const timeouts: TimeoutNotice[] = [];
  const forced = new Set<string>();
  let wake = Infinity;
  for (const [k, rec] of records) {
    if (!draining(k) || rec.options.timeout_ms === undefined) continue;
    const deadline = (rec.drain_started_ms ?? now) + rec.options.timeout_ms;
    const left = liveByHost.get(k)?.length ?? 0;
    if (now >= deadline) {
      if (left > 0) {
        timeouts.push({ hostname: rec.hostname, deadline_ms: deadline, forced: rec.options.force, tasks_left: left });
        if (rec.options.force) forced.add(k);
      }
    } else if (left > 0) wake = Math.min(wake, deadline);
  }

  // Host priority for kills: request order (rack by rack), then fewest tasks left.
  const rankOf = new Map<string, number>();
  for (const [k, rec] of records) {
    const live = Math.min(liveByHost.get(k)?.length ?? 0, 999_999);
    rankOf.set(k, (Math.min(rec.group_order, 8_000) * 1_000_000 + live) * 100_000 + Math.min(rec.order, 99_999));
  }

  // Capacity for make-before-break.
  let pool: CapacityPool | undefined;
  if (opts.make_before_break && view.capacity) {
    const jobsOnHost = new Map<string, Set<string>>();
    const uniqueJobs = new Set(view.jobs.filter((j) => j.host_unique).map((j) => j.name));
    if (uniqueJobs.size) {
      for (const r of view.instances) {
        if (!uniqueJobs.has(r.job) || !isLive(r)) continue;
        const k = keyOf(r);
        if (k === undefined) continue;
        let s = jobsOnHost.get(k);
        if (!s) jobsOnHost.set(k, (s = new Set()));
        s.add(r.job);
      }
    }
    pool = new CapacityPool(view.capacity, (k) => isBlocked(state.get(k) ?? 'UP'), jobsOnHost);
    // Pending replacements come first: reserve their room.
    const jobByName = new Map(view.jobs.map((j) => [j.name, j]));
    for (const r of view.instances) {
      if (r.state !== 'PENDING') continue;
      const j = jobByName.get(r.job);
      if (j) pool.take(j);
    }
  }

  // 3. Per job decisions, longest estimated drain first.
  const kills: KillOrder[] = [];
  const surges: SurgeOrder[] = [];
  const waits: WaitItem[] = [];
  const blockersByHost = new Map<string, Blocker[]>();
  const replacingByHost = new Map<string, number>();
  const addBlocker = (keys: readonly string[], make: (n: number) => Blocker): void => {
    const per = new Map<string, number>();
    for (const k of keys) per.set(k, (per.get(k) ?? 0) + 1);
    for (const [k, n] of per) {
      let l = blockersByHost.get(k);
      if (!l) blockersByHost.set(k, (l = []));
      l.push(make(n));
    }
  };
  let killCap = opts.max_kills ?? Infinity;
  const capped: SlaInstance[] = [];
  const kill = (r: SlaInstance, _k: string, reason: KillReason, detail: string): void => {
    if (killCap <= 0) {
      capped.push(r);
      return;
    }
    killCap--;
    const o: KillOrder = { task_id: r.task_id ?? '', hostname: r.hostname!, job: r.job, instance: r.index, reason, detail };
    if (r.agent_id !== undefined) o.agent_id = r.agent_id;
    kills.push(o);
  };

  const order = [...ctxs.values()].sort(
    (a, b) => (jobFinish.get(b.job.name) ?? 0) - (jobFinish.get(a.job.name) ?? 0) || (a.job.name < b.job.name ? -1 : 1),
  );
  for (const c of order) {
    const job = c.job;
    const D = c.status.duration_ms;
    let budget = c.status.budget;
    const upLeft = c.upRows.slice();
    // Candidates as indices into c.maint (their host keys are in c.maintKeys), by host priority.
    const cand: number[] = [];
    const rank: number[] = [];
    for (let i = 0; i < c.maint.length; i++) {
      const k = c.maintKeys[i]!;
      if (!draining(k)) continue;
      cand.push(i);
      rank[i] = rankOf.get(k) ?? 0;
    }
    cand.sort((a, b) => rank[a]! - rank[b]! || c.maint[a]!.index - c.maint[b]!.index);
    const costly: number[] = [];
    for (const i of cand) {
      const r = c.maint[i]!;
      const k = c.maintKeys[i]!;
      if (r.task_id === undefined) continue; // cannot kill a task we cannot name
      if (r.kill_requested_ms !== undefined) {
        if (now - r.kill_requested_ms >= opts.kill_retry_ms) kill(r, k, 'retry', `kill requested at ${fmtClock(r.kill_requested_ms)} still pending`);
        else wake = Math.min(wake, r.kill_requested_ms + opts.kill_retry_ms);
        continue;
      }
      const inJob = r.index >= 0 && r.index < upLeft.length;
      const up = inJob && isRowUp(r, D, now);
      if (forced.has(k)) {
        if (up) {
          if (upLeft[r.index]! >= 2) upLeft[r.index]!--;
          else {
            upLeft[r.index] = 0;
            budget--;
          }
        }
        kill(r, k, 'forced', `drain timeout passed with --force${up && budget < 0 ? `; breaks ${describeSla(job.sla)}` : ''}`);
        continue;
      }
      if (!up) {
        kill(r, k, 'not-up', !inJob ? 'instance beyond the job size' : r.state === 'TASK_RUNNING' ? `running < ${Math.round(D / 1000)}s, not counted up` : `${r.state}, not counted up`);
        continue;
      }
      if (upLeft[r.index]! >= 2) {
        upLeft[r.index]!--;
        kill(r, k, 'replacement-up', 'its make-before-break replacement is up');
        continue;
      }
      costly.push(i);
    }
    if (costly.length === 0) continue;

    const slaText = describeSla(job.sla);
    const budgetKill = (i: number): void => {
      budget--;
      kill(c.maint[i]!, c.maintKeys[i]!, job.sla ? 'sla-budget' : 'no-sla', job.sla ? `${slaText}: ${budget + 1} more may go down` : 'job has no SLA');
    };
    if (costly.length <= budget) {
      for (const i of costly) budgetKill(i);
      continue;
    }
    // Must wait ≥ startup + duration anyway: surge where possible, spend budget on the rest.
    const onSurge: number[] = [];
    const surgeRow: Array<SlaInstance | undefined> = [];
    const rest: number[] = [];
    const surgeReason = `${slaText} allows ${Math.max(0, budget)} more down; replace before killing`;
    for (const i of costly) {
      const r = c.maint[i]!;
      const existing = replacementOf(c, r, inMaint);
      if (existing) {
        onSurge.push(i);
        surgeRow.push(existing);
      } else if (pool && pool.take(job)) {
        surges.push({ job: job.name, instance: r.index, task_id: r.task_id!, hostname: r.hostname!, reason: surgeReason });
        onSurge.push(i);
        surgeRow.push(undefined);
      } else rest.push(i);
    }
    const waiting: number[] = [];
    for (const i of rest) {
      if (budget >= 1) budgetKill(i);
      else waiting.push(i);
    }
    if (onSurge.length) {
      let until = -Infinity;
      let starting = 0;
      const keys: string[] = [];
      onSurge.forEach((i, n) => {
        const sr = surgeRow[n];
        const f = sr ? upFrom(sr, D) : undefined;
        if (f === undefined) starting++;
        else until = Math.max(until, f);
        const k = c.maintKeys[i]!;
        keys.push(k);
        replacingByHost.set(k, (replacingByHost.get(k) ?? 0) + 1);
      });
      const reason =
        `job ${job.name}: make-before-break: ${onSurge.length} replacement(s) ` +
        (starting ? `${starting} starting` : `up by ${fmtClock(until)}`) +
        ` (${slaText})`;
      const w: WaitItem = { job: job.name, tasks: onSurge.length, hosts: hostsOf(onSurge.map((i) => c.maint[i]!)), reason };
      if (!starting && Number.isFinite(until)) {
        w.until_ms = until;
        wake = Math.min(wake, until);
      }
      waits.push(w);
      addBlocker(keys, (n) => ({ job: job.name, tasks: n, reason, ...(w.until_ms !== undefined ? { until_ms: w.until_ms } : {}) }));
    }
    if (waiting.length) {
      const spent = c.status.budget - budget; // up instances killed by this plan
      const st: SlaStatus = { ...c.status, budget, up: c.status.up - spent, killing: c.status.killing + spent };
      const until = refillTime(st, now, 1);
      st.refill_needs_starts = until === undefined ? Math.max(0, 1 - budget - st.aging_up_at_ms.length) : 0;
      if (until !== undefined) st.refill_at_ms = until;
      else delete st.refill_at_ms;
      let reason = slaBlockerText(st, now);
      if (opts.make_before_break && !pool) reason += '; make-before-break off: no capacity information';
      else if (opts.make_before_break && pool) reason += '; no spare capacity for make-before-break';
      const w: WaitItem = { job: job.name, tasks: waiting.length, hosts: hostsOf(waiting.map((i) => c.maint[i]!)), reason };
      if (until !== undefined && until > now) {
        w.until_ms = until;
        wake = Math.min(wake, until);
      }
      waits.push(w);
      addBlocker(waiting.map((i) => c.maintKeys[i]!), (n) => ({ job: job.name, tasks: n, reason, ...(w.until_ms !== undefined ? { until_ms: w.until_ms } : {}) }));
    }
  }
  if (capped.length) {
    const capText = `kill cap: at most ${opts.max_kills} kills per step`;
    const jobsCapped = new Map<string, SlaInstance[]>();
    for (const r of capped) {
      let l = jobsCapped.get(r.job);
      if (!l) jobsCapped.set(r.job, (l = []));
      l.push(r);
    }
    for (const [job, rows] of jobsCapped) {
      const reason = `job ${job}: ${capText}`;
      waits.push({ job, tasks: rows.length, hosts: hostsOf(rows), reason, until_ms: now });
      addBlocker(rows.map((r) => keyOf(r)!), (n) => ({ job, tasks: n, reason }));
    }
    wake = Math.min(wake, now);
  }

  // 5. Admission wake-ups for SCHEDULED hosts.
  for (const [k, rec] of records) {
    if (state.get(k) !== 'SCHEDULED') continue;
    const w = rec.window ? rec.window.start_ms - Math.max(opts.lead_ms, lead.estimates_ms?.get(k) ?? 0) : now;
    if (w > now) wake = Math.min(wake, w);
  }

  // 6. Progress per host.
  const progress: HostProgress[] = [];
  const killedTasks = new Set(kills.map((k) => k.task_id));
  let tasksLeft = 0;
  let drainingHosts = 0;
  const recList = effective();
  for (const [k, rec] of records) {
    const s = state.get(k)!;
    if (s === 'UP') continue;
    const rows = liveByHost.get(k) ?? [];
    if (s === 'DRAINING') drainingHosts++;
    tasksLeft += rows.length;
    const blockers = [...(blockersByHost.get(k) ?? [])];
    if (s === 'SCHEDULED') {
      blockers.push({ tasks: rows.length, reason: scheduledReason({ ...rec, state: s }, recList, now, lead) });
    }
    const p: HostProgress = {
      hostname: rec.hostname,
      state: s,
      origin: rec.origin,
      group: rec.group,
      since_ms: rec.since_ms,
      tasks_left: rows.length,
      killing: rows.filter((r) => r.kill_requested_ms !== undefined || killedTasks.has(r.task_id ?? '\0')).length,
      replacing: replacingByHost.get(k) ?? 0,
      blockers,
      timed_out: rec.timed_out_ms !== undefined || timeouts.some((t) => hostKey(t.hostname) === k),
    };
    if (rec.request_id !== undefined) p.request_id = rec.request_id;
    if (rec.window) p.window = rec.window;
    if (rows.length && (s === 'DRAINING' || s === 'SCHEDULED' || s === 'DRAINED')) p.estimated_empty_ms = hostEstimate.get(k) ?? now;
    progress.push(p);
  }
  progress.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));

  const plan: DrainPlan = {
    at_ms: now,
    transitions,
    kills,
    makeBeforeBreak: surges,
    waits,
    timeouts,
    progress,
    stats: {
      draining_hosts: drainingHosts,
      tasks_left: tasksLeft,
      kills: kills.length,
      surges: surges.length,
      jobs_waiting: new Set(waits.map((w) => w.job)).size,
    },
  };
  if (Number.isFinite(wake)) plan.next_wakeup_ms = Math.max(now, wake);
  return plan;
}

function hostsOf(rows: SlaInstance[]): string[] {
  return [...new Set(rows.map((r) => r.hostname!))].sort();
}

/** Per-host progress (tasks left, blockers with reasons, estimates) for `host query`. */
export function hostProgress(view: DrainView, now: number, options: Partial<DrainOptions> = {}): HostProgress[] {
  return planDrain(view, now, options).progress;
}

/** A one-line summary of a plan for logs. */
export function planSummary(plan: DrainPlan): string {
  const s = plan.stats;
  const next = plan.next_wakeup_ms !== undefined ? `; next step ${fmtClock(plan.next_wakeup_ms)} (+${fmtDuration(plan.next_wakeup_ms - plan.at_ms)})` : '';
  return `${s.draining_hosts} host(s) draining, ${s.tasks_left} task(s) left: ${s.kills} kill(s), ${s.surges} make-before-break, ${s.jobs_waiting} job(s) waiting${next}`;
}
