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
 * Every kill it plans obeys the SLA module's invariant (src/sla/kill.ts): no voluntary kill may
 * leave fewer than the required number of instances up, and a job below its SLA (just deployed,
 * recovering) loses no running instance — it moves only by make-before-break. The per-job rules
 * are in core/drain-jobs.ts. Jobs are visited longest-estimated-drain first, so capacity and a
 * global kill cap (if any) go to the critical path. Within a job, hosts earlier in their request's
 * order (rack by rack) and hosts with fewer tasks left come first, so hosts empty progressively
 * and can go DOWN early.
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
import { admit, drainDeadline, hostKey, isBlocked, scheduledReason } from './host-state.js';
import type { SlaInstance } from '../../sla/index.js';
import { isLive } from '../../sla/index.js';
import { fmtClock, fmtDuration } from './format.js';
import type { DrainOptions, DrainPlan, DrainView, HostProgress, PlannedTransition, TimeoutNotice } from './drain-types.js';
import { DEFAULT_DRAIN_OPTIONS } from './drain-types.js';
import { buildJobContexts, CapacityPool, indexRows, overriddenCtx, overrideGroups, type JobCtx, type RowIndex } from './drain-context.js';
import type { SlaOverride } from '../../sla/index.js';
import { jobFinishWithOverrides, mbbPlausible, type JobFinish } from './drain-estimate.js';
import { decideJob, PlanOutput } from './drain-jobs.js';

export * from './drain-types.js';

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
  const mbb = mbbPlausible(view, opts, (k) => considered.has(k));
  const jobFinish = new Map<string, JobFinish>();
  for (const c of ctxs.values()) jobFinish.set(c.job.name, jobFinishWithOverrides(c, (k) => considered.has(k), now, opts, mbb, view.overrides));
  const out = new Map<string, number>();
  for (const k of considered) out.set(k, now);
  for (let i = 0; i < idx.onHosts.length; i++) {
    const r = idx.onHosts[i]!;
    if (!isLive(r)) continue;
    const k = idx.onHostKeys[i]!;
    const f = jobFinish.get(r.job)?.at(k) ?? now + opts.kill_estimate_ms;
    if (f > out.get(k)!) out.set(k, f);
  }
  return out;
}

/** The hosts of one plan: records, their (planned) states, and our live rows on them. */
class HostBook {
  readonly records = new Map<string, HostRecord>();
  readonly state = new Map<string, HostState>();
  readonly transitions: PlannedTransition[] = [];
  readonly liveByHost = new Map<string, SlaInstance[]>();
  readonly idx: RowIndex;

  constructor(view: DrainView) {
    for (const h of view.hosts) this.records.set(hostKey(h.hostname), h);
    for (const [k, r] of this.records) this.state.set(k, r.state);
    // Live rows per host in maintenance (the one pass over every row is in indexRows).
    this.idx = indexRows(view, (k) => this.records.has(k));
    for (let i = 0; i < this.idx.onHosts.length; i++) {
      const r = this.idx.onHosts[i]!;
      if (!isLive(r)) continue;
      const k = this.idx.onHostKeys[i]!;
      let l = this.liveByHost.get(k);
      if (!l) this.liveByHost.set(k, (l = []));
      l.push(r);
    }
  }

  move(k: string, to: HostState, reason: string): void {
    const from = this.state.get(k)!;
    this.transitions.push({ hostname: this.records.get(k)!.hostname, from, to, reason });
    this.state.set(k, to);
  }

  readonly inMaint = (k: string): boolean => {
    const s = this.state.get(k);
    return s !== undefined && s !== 'UP' && s !== 'DOWN';
  };

  readonly draining = (k: string): boolean => this.state.get(k) === 'DRAINING';

  empty(k: string): boolean {
    return (this.liveByHost.get(k)?.length ?? 0) === 0;
  }

  /** The records with their planned states. */
  effective(): HostRecord[] {
    return [...this.records].map(([k, r]) => (this.state.get(k) === r.state ? r : { ...r, state: this.state.get(k)! }));
  }
}

/** Estimated time each host in maintenance is empty (from the per-job estimates), and lead options. */
function hostEstimates(
  book: HostBook,
  ctxs: Map<string, JobCtx>,
  view: DrainView,
  now: number,
  opts: DrainOptions,
): { jobFinish: Map<string, number>; hostEstimate: Map<string, number>; lead: LeadOptions } {
  const mbb = mbbPlausible(view, opts, book.inMaint);
  const jobFinish = new Map<string, number>();
  const perHost = new Map<string, JobFinish>();
  for (const c of ctxs.values()) {
    const f = jobFinishWithOverrides(c, book.inMaint, now, opts, mbb, view.overrides);
    perHost.set(c.job.name, f);
    jobFinish.set(c.job.name, f.max);
  }
  const hostEstimate = new Map<string, number>();
  for (const [k] of book.records) if (book.inMaint(k)) hostEstimate.set(k, now);
  for (const [k, rows] of book.liveByHost) {
    if (!book.inMaint(k)) continue;
    let e = now;
    for (const r of rows) e = Math.max(e, perHost.get(r.job)?.at(k) ?? now);
    hostEstimate.set(k, e);
  }
  const lead: LeadOptions = {
    lead_ms: opts.lead_ms,
    estimates_ms: new Map([...hostEstimate].map(([k, e]) => [k, e - now])),
    ...(opts.max_draining_hosts !== undefined ? { max_draining: opts.max_draining_hosts } : {}),
  };
  return { jobFinish, hostEstimate, lead };
}

/**
 * Empty DRAINING hosts → DRAINED (their slots free up); DRAINED hosts with tasks again go back to
 * DRAINING or are queued SCHEDULED; then admit SCHEDULED hosts, repeatedly, as admitted hosts that
 * are already empty free their slot. Every way into DRAINING is decided by admit() (host-state.ts).
 */
function advanceHosts(book: HostBook, now: number, lead: LeadOptions): void {
  const reentry = new Map<string, string>();
  for (const [k, s] of [...book.state]) {
    if (s === 'DRAINING' && book.empty(k)) book.move(k, 'DRAINED', 'no task of ours left on the host');
    else if (s === 'DRAINED' && !book.empty(k)) reentry.set(k, `${book.liveByHost.get(k)!.length} task(s) of ours found on the drained host`);
  }
  for (let first = true; ; first = false) {
    const d = admit(book.effective(), now, lead, first ? reentry : undefined);
    for (const q of d.queue) book.move(hostKey(q.hostname), 'SCHEDULED', q.reason);
    if (d.admit.length === 0) break;
    let freed = false;
    for (const a of d.admit) {
      const k = hostKey(a.hostname);
      book.move(k, 'DRAINING', a.reason);
      if (book.empty(k)) {
        book.move(k, 'DRAINED', 'no task of ours left on the host');
        freed = true;
      }
    }
    if (!freed) break;
  }
}

/** Drain timeouts: notices, hosts to force, and the next deadline to wake up for. */
function checkTimeouts(book: HostBook, now: number, out: PlanOutput): { timeouts: TimeoutNotice[]; forced: Set<string> } {
  const timeouts: TimeoutNotice[] = [];
  const forced = new Set<string>();
  for (const [k, rec] of book.records) {
    if (!book.draining(k) || rec.options.timeout_ms === undefined) continue;
    // paused time does not count: a paused host's deadline moves on with the clock (no wake-up for it)
    const deadline = drainDeadline(rec, now) ?? now + rec.options.timeout_ms;
    const left = book.liveByHost.get(k)?.length ?? 0;
    if (rec.paused !== undefined || rec.paused_from_ms !== undefined) continue;
    if (now >= deadline) {
      if (left > 0) {
        timeouts.push({ hostname: rec.hostname, deadline_ms: deadline, forced: rec.options.force, tasks_left: left });
        if (rec.options.force) forced.add(k);
      }
    } else if (left > 0) out.wakeAt(deadline);
  }
  return { timeouts, forced };
}

/** Host priority for kills: request order (rack by rack), then fewest tasks left. */
function hostRanks(book: HostBook): Map<string, number> {
  const rankOf = new Map<string, number>();
  for (const [k, rec] of book.records) {
    const live = Math.min(book.liveByHost.get(k)?.length ?? 0, 999_999);
    rankOf.set(k, (Math.min(rec.group_order, 8_000) * 1_000_000 + live) * 100_000 + Math.min(rec.order, 99_999));
  }
  return rankOf;
}

/** Spare capacity for make-before-break (after room for pending replacements), if known. */
function capacityPool(view: DrainView, book: HostBook, opts: DrainOptions): CapacityPool | undefined {
  if (!opts.make_before_break || !view.capacity) return undefined;
  const jobsOnHost = new Map<string, Set<string>>();
  const uniqueJobs = new Set(view.jobs.filter((j) => j.host_unique).map((j) => j.name));
  if (uniqueJobs.size) {
    for (const r of view.instances) {
      if (!uniqueJobs.has(r.job) || !isLive(r)) continue;
      const k = book.idx.keys.of(r);
      if (k === undefined) continue;
      let s = jobsOnHost.get(k);
      if (!s) jobsOnHost.set(k, (s = new Set()));
      s.add(r.job);
    }
  }
  const pool = new CapacityPool(view.capacity, (k) => isBlocked(book.state.get(k) ?? 'UP'), jobsOnHost);
  const jobByName = new Map(view.jobs.map((j) => [j.name, j]));
  for (const r of view.instances) {
    if (r.state !== 'PENDING') continue;
    const j = jobByName.get(r.job);
    if (j) pool.take(j);
  }
  return pool;
}

/** Per-host progress (tasks left, killing, replacing, blockers, estimate). */
function progressOf(book: HostBook, out: PlanOutput, timeouts: TimeoutNotice[], hostEstimate: Map<string, number>, now: number, lead: LeadOptions): HostProgress[] {
  const progress: HostProgress[] = [];
  const killedTasks = new Set(out.kills.map((k) => k.task_id));
  const recList = book.effective();
  for (const [k, rec] of book.records) {
    const s = book.state.get(k)!;
    if (s === 'UP') continue;
    const rows = book.liveByHost.get(k) ?? [];
    const blockers = [...(out.blockersByHost.get(k) ?? [])];
    if (s === 'SCHEDULED') blockers.push({ tasks: rows.length, reason: scheduledReason({ ...rec, state: s }, recList, now, lead) });
    const p: HostProgress = {
      hostname: rec.hostname,
      state: s,
      origin: rec.origin,
      group: rec.group,
      since_ms: rec.since_ms,
      tasks_left: rows.length,
      killing: rows.filter((r) => r.kill_requested_ms !== undefined || killedTasks.has(r.task_id ?? '\0')).length,
      replacing: out.replacingByHost.get(k) ?? 0,
      blockers,
      timed_out: rec.timed_out_ms !== undefined || timeouts.some((t) => hostKey(t.hostname) === k),
    };
    if (rec.request_id !== undefined) p.request_id = rec.request_id;
    if (rec.window) p.window = rec.window;
    if (rows.length && (s === 'DRAINING' || s === 'SCHEDULED' || s === 'DRAINED')) p.estimated_empty_ms = hostEstimate.get(k) ?? now;
    progress.push(p);
  }
  progress.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  return progress;
}

/**
 * A job's decisions, with `--override-sla` applied to the hosts of the requests that carry one: the
 * job's own policy decides its rows on the other hosts first; then, per override, the lowered
 * policy decides the rows on that override's hosts, with every kill taken so far counted against it
 * too (the next plan counts them against the job's own policy as kills in flight).
 */
function decideWithOverrides(c: JobCtx, env: Parameters<typeof decideJob>[1], overrides: ReadonlyMap<string, SlaOverride> | undefined): void {
  const ovs = overrideGroups(c, overrides, env.draining);
  if (!ovs.size) return decideJob(c, env);
  const lowered = new Set([...ovs.values()].flatMap((g) => [...g.keys]));
  decideJob(c, { ...env, draining: (k) => env.draining(k) && !lowered.has(k) });
  for (const g of ovs.values()) {
    const killed = new Set(env.out.kills.filter((k) => k.job === c.job.name).map((k) => k.task_id));
    decideJob(overriddenCtx(c, g.ov, killed, env.now), { ...env, draining: (k) => g.keys.has(k) && env.draining(k) });
  }
}

/**
 * Plan one step of the drain. Pure: same view and time, same plan.
 */
export function planDrain(view: DrainView, now: number, options: Partial<DrainOptions> = {}): DrainPlan {
  const opts: DrainOptions = { ...DEFAULT_DRAIN_OPTIONS, ...options };
  const book = new HostBook(view);
  const ctxs = buildJobContexts(view, book.idx, now, book.inMaint);
  // Estimates (for admission lead times, job order and progress).
  const { jobFinish, hostEstimate, lead } = hostEstimates(book, ctxs, view, now, opts);
  advanceHosts(book, now, lead);
  const out = new PlanOutput(opts.max_kills, book.idx.keys);
  const { timeouts, forced } = checkTimeouts(book, now, out);
  // paused hosts (host maintenance pause) get no new kill or surge: only kills already requested finish
  const draining = (k: string): boolean => book.draining(k) && book.records.get(k)!.paused === undefined;
  const env = { now, opts, draining, inMaint: book.inMaint, forced, rankOf: hostRanks(book), pool: capacityPool(view, book, opts), out, coordinator: view.coordinator };
  // Per job decisions, longest estimated drain first.
  const order = [...ctxs.values()].sort(
    (a, b) => (jobFinish.get(b.job.name) ?? 0) - (jobFinish.get(a.job.name) ?? 0) || (a.job.name < b.job.name ? -1 : 1),
  );
  for (const c of order) decideWithOverrides(c, env, view.overrides);
  out.addCappedWaits(now, opts.max_kills);
  // Admission wake-ups for SCHEDULED hosts.
  for (const [k, rec] of book.records) {
    if (book.state.get(k) !== 'SCHEDULED') continue;
    const w = rec.window ? rec.window.start_ms - Math.max(opts.lead_ms, lead.estimates_ms?.get(k) ?? 0) : now;
    if (w > now) out.wakeAt(w);
  }
  const progress = progressOf(book, out, timeouts, hostEstimate, now, lead);
  let tasksLeft = 0;
  for (const p of progress) tasksLeft += p.tasks_left;
  const plan: DrainPlan = {
    at_ms: now,
    transitions: book.transitions,
    kills: out.kills,
    makeBeforeBreak: out.surges,
    waits: out.waits,
    questions: out.questions,
    timeouts,
    progress,
    stats: {
      draining_hosts: progress.filter((p) => p.state === 'DRAINING').length,
      tasks_left: tasksLeft,
      kills: out.kills.length,
      surges: out.surges.length,
      jobs_waiting: new Set(out.waits.map((w) => w.job)).size,
    },
  };
  if (Number.isFinite(out.wake)) plan.next_wakeup_ms = Math.max(now, out.wake);
  return plan;
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
