/**
 * `sluice sla probe h1,h2` and `host maintenance start --dry-run` (pure).
 *
 * Probe: which of the given hosts could be drained *right now* without breaking any SLA — i.e.
 * all our up tasks on them killed at once, the budgets of every job permitting — and why not.
 * Hosts are taken in the operator's order and share the budgets: a host is "drainable now" if it
 * fits in what the hosts before it (that were drainable) left over. `drainable_alone` says whether
 * it would fit on its own. Blocked hosts get one reason per job, and an estimate of how long a
 * full SLA-aware drain (with make-before-break where capacity allows) would take.
 */
import type { HostState, HostTable, InventoryHost, LeadOptions, StartRequest, StartResult } from './host-state.js';
import { DEFAULT_LEAD_MS, hostKey, resolveHosts, startMaintenance } from './host-state.js';
import { MaintenanceRequestError, type HostProblem } from './errors.js';
import type { DrainOptions, DrainView } from './drainer.js';
import { DEFAULT_DRAIN_OPTIONS, estimateDrain } from './drainer.js';
import type { AnySlaPolicy, BudgetExplanation, CoordinatorView, EffectiveSla, SlaGuardrails, SlaInstance, SlaOverride, SlaStatus } from '../../sla/index.js';
import { applyOverride, coordinatorOf, coordinatorWait, describeSla, durationMs, explainBudget, isLive, isRowUp, killAllowed, killCost, refillTime, rowsByJob, slaStatus } from '../../sla/index.js';
import type { JobView } from './drain-types.js';
import { fmtClock, fmtDuration } from './format.js';
import { effectiveJob } from './drain-context.js';

export interface ProbeHost {
  hostname: string;
  state: HostState;
  /** Our live tasks on the host. */
  tasks: number;
  /** Of which up (each costs SLA budget to kill). */
  tasks_up: number;
  drainable_now: boolean;
  drainable_alone: boolean;
  reasons: string[];
  /** Jobs whose SLA refuses a kill here: `blocked_jobs` after the hosts before, `_alone` on its own. */
  blocked_jobs: string[];
  blocked_jobs_alone: string[];
  /** Estimated drain time from now if started now together with the other probed hosts. */
  estimated_drain_ms: number;
}

/** A job that blocks a probed host: the policy applied (and why), its budget and what consumes it. */
export interface ProbeJob {
  job: string;
  /** The policy applied: own / cluster default, capped by the cluster bound, lowered by an override (src/sla/guardrails.ts). */
  sla: string;
  source: 'job' | 'cluster-default' | 'none';
  capped: boolean;
  /** Lowered by the `--override-sla` of the hosts' request (its text); absent: not lowered. */
  override?: string;
  /** It blocks at least one probed host (now, or on its own). */
  blocking: boolean;
  budget: BudgetExplanation;
}

/** The policy a job's rows on some hosts answer to: guardrails, then those hosts' override. */
export interface RuledJob {
  job: JobView<AnySlaPolicy>;
  effective: EffectiveSla;
  override?: SlaOverride;
}

interface Rules extends RuledJob {
  status: SlaStatus;
  /** Rows up now per instance index, under these rules' duration. */
  upRows: Map<number, number>;
}

/** `own` under the cluster guardrails and, when given, lowered by a request's override. */
export function ruledJob(own: JobView<AnySlaPolicy>, g: SlaGuardrails | undefined, ov?: SlaOverride): RuledJob {
  const e = effectiveJob(own, g);
  if (!ov) return e;
  const effective = applyOverride(e.effective, own.instances, ov);
  const job: JobView<AnySlaPolicy> = { ...e.job };
  if (effective.policy) job.sla = effective.policy;
  return { job, effective, override: ov };
}

/** One job's budget as `sla probe` and `host query` show it (the policy applied, why, and the explanation). */
export function budgetEntry(r: RuledJob, rows: readonly SlaInstance[], now: number, blocking: boolean, status?: SlaStatus): ProbeJob {
  const e: ProbeJob = { job: r.job.name, sla: r.effective.explanation, source: r.effective.source, capped: r.effective.capped, blocking, budget: explainBudget(r.job, rows, now, status) };
  if (r.override && r.effective.overridden) e.override = r.override.text;
  return e;
}

export interface ProbeResult {
  at_ms: number;
  hosts: ProbeHost[];
  /** Per job with an SLA and tasks on the probed hosts: the policy applied, the budget, what consumes it (drain, update, failure, unhealthy...), when it refills. */
  jobs: ProbeJob[];
  /** The cluster guardrails in force (absent: none). */
  guardrails?: SlaGuardrails;
  drainable: string[];
  blocked: string[];
}

/**
 * Throws MaintenanceRequestError for empty lists, malformed, duplicate or unknown host names
 * (known = in the inventory, or in maintenance, or running one of our tasks).
 */
export function slaProbe(
  hostnames: readonly string[],
  view: DrainView,
  inventory: readonly InventoryHost[],
  now: number,
  options: Partial<DrainOptions> = {},
): ProbeResult {
  const opts = { ...DEFAULT_DRAIN_OPTIONS, ...options };
  const records = new Map<string, { state: HostState; hostname: string }>();
  for (const r of view.hosts) records.set(hostKey(r.hostname), r);
  const known = new Map<string, InventoryHost>();
  for (const h of inventory) known.set(hostKey(h.hostname), h);
  for (const r of records.values()) if (!known.has(hostKey(r.hostname))) known.set(hostKey(r.hostname), { hostname: r.hostname });
  for (const r of view.instances) {
    if (r.hostname !== undefined && !known.has(hostKey(r.hostname))) known.set(hostKey(r.hostname), { hostname: r.hostname });
  }
  const problems: HostProblem[] = [];
  const hosts = resolveHosts(hostnames, [...known.values()], problems, false);
  if (problems.length) throw new MaintenanceRequestError('sla probe', problems);

  const wanted = new Set(hosts.map((h) => hostKey(h.hostname)));
  const byJob = rowsByJob(view.instances);
  const own = new Map(view.jobs.map((j) => [j.name, j]));
  const tasksOn = new Map<string, SlaInstance[]>();
  for (const r of view.instances) {
    if (r.hostname === undefined || !isLive(r)) continue;
    const k = hostKey(r.hostname);
    if (!wanted.has(k)) continue;
    let l = tasksOn.get(k);
    if (!l) tasksOn.set(k, (l = []));
    l.push(r);
  }
  // The rules a job's rows on a host answer to: its policy under the guardrails, lowered by the
  // override of the host's request (`--override-sla`, also in a dry run) — one per (job, override).
  const overrideOn = (k: string): SlaOverride | undefined => view.overrides?.get(k);
  const rules = new Map<string, Rules>();
  const rulesOf = (job: string, ov: SlaOverride | undefined): Rules => {
    const id = ov ? `${job}\u0000${ov.text}\u0000${ov.reason}` : job;
    let r = rules.get(id);
    if (r) return r;
    const ruled = ruledJob(own.get(job) ?? { name: job, instances: 0 }, view.guardrails, ov);
    const rows = byJob.get(job) ?? [];
    const D = durationMs(ruled.job);
    const upRows = new Map<number, number>();
    for (const o of rows) if (isRowUp(o, D, now)) upRows.set(o.index, (upRows.get(o.index) ?? 0) + 1);
    r = { ...ruled, status: slaStatus(ruled.job, rows, now), upRows, ...(ov ? { override: ov } : {}) };
    rules.set(id, r);
    return r;
  };
  // Per host and job: what killing our tasks there costs (src/sla/kill.ts): up tasks spend budget,
  // serving tasks younger than the SLA duration may not go while the job is below its SLA.
  const costOn = (k: string): Map<string, { up: number; young: number }> => {
    const m = new Map<string, { up: number; young: number }>();
    for (const r of tasksOn.get(k) ?? []) {
      const rl = rulesOf(r.job, overrideOn(k));
      const job = rl.job;
      if (!own.has(r.job) || r.kill_requested_ms !== undefined) continue;
      const D = durationMs(job);
      const inJob = Number.isInteger(r.index) && r.index >= 0 && r.index < job.instances;
      const others = (rl.upRows.get(r.index) ?? 0) - (isRowUp(r, D, now) ? 1 : 0);
      const cost = killCost(r, D, now, others, inJob);
      if (cost === 'free') continue;
      let c = m.get(r.job);
      if (!c) m.set(r.job, (c = { up: 0, young: 0 }));
      if (cost === 'up') c.up++;
      else c.young++;
    }
    return m;
  };
  const est = estimateDrain(view, now, opts, hosts.map((h) => h.hostname));
  /** Per job, up instances the drainable hosts before this one take down. */
  const taken = new Map<string, number>();
  /** The rules that answered for each job on the probed hosts. */
  const used = new Map<Rules, boolean>();
  const out: ProbeHost[] = [];
  for (const h of hosts) {
    const k = hostKey(h.hostname);
    const state = records.get(k)?.state ?? 'UP';
    const cost = costOn(k);
    const ov = overrideOn(k);
    const reasons: string[] = [];
    let alone = true;
    let together = true;
    const blockedJobs: string[] = [];
    const blockedAlone: string[] = [];
    for (const [job, { up: n, young }] of [...cost].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const rl = rulesOf(job, ov);
      const st = rl.status;
      const left = st.margin - (taken.get(job) ?? 0);
      const jv = rl.job;
      if (!used.has(rl)) used.set(rl, false);
      const youngOk = (margin: number): boolean => young === 0 || killAllowed('serving', st.required + margin - n, st.required);
      if (n > Math.max(0, st.margin) || !youngOk(st.margin)) {
        alone = false;
        blockedAlone.push(job);
      }
      if (n > Math.max(0, st.margin) || !youngOk(st.margin)) used.set(rl, true);
      if (n <= Math.max(0, left) && youngOk(left)) continue;
      together = false;
      used.set(rl, true);
      blockedJobs.push(job);
      if (young && !youngOk(left)) {
        const back = refillTime({ ...st, margin: left }, now, 0);
        reasons.push(
          `job ${job}: ${young} instance(s) here running < ${Math.round(st.duration_ms / 1000)}s and the job is below its SLA ` +
            `(${st.required + left} up < ${st.required} required): none may go` + (back !== undefined ? ` before ${fmtClock(back)}` : ' until replacements run') + ' (or by make-before-break)',
        );
      }
      if (n > Math.max(0, left)) {
        const refill = refillTime({ ...st, margin: left }, now, n);
        reasons.push(
          `job ${job}: ${n} instance(s) up here, ${describeSla(jv.sla)} allows ${Math.max(0, left)} more down` +
            (left < st.margin ? ` after the hosts before this one` : '') +
            (st.unattainable ? ' (SLA cannot be met: it requires more instances than the job has)' :
              refill !== undefined ? ` (enough at ${fmtClock(refill)})` :
              st.max_budget < n ? ` (never at once: at most ${Math.max(0, st.max_budget)} may ever be down)` : ' (after replacements start)'),
        );
      }
    }
    for (const w of coordinatorWaits(tasksOn.get(k) ?? [], own, view.coordinator)) {
      reasons.push(w.reason);
      if (!w.blocking) continue;
      together = alone = false;
      if (!blockedJobs.includes(w.job)) blockedJobs.push(w.job);
      if (!blockedAlone.includes(w.job)) blockedAlone.push(w.job);
    }
    if (state !== 'UP') reasons.unshift(`already in maintenance (${state})`);
    const drainable = together && state === 'UP';
    if (drainable) for (const [job, c] of cost) taken.set(job, (taken.get(job) ?? 0) + c.up);
    const e = est.get(k) ?? now;
    const tasks = tasksOn.get(k) ?? [];
    out.push({
      hostname: h.hostname,
      state,
      tasks: tasks.length,
      tasks_up: [...cost.values()].reduce((a, b) => a + b.up, 0),
      drainable_now: drainable,
      drainable_alone: alone && state === 'UP',
      reasons,
      blocked_jobs: blockedJobs,
      blocked_jobs_alone: blockedAlone,
      estimated_drain_ms: e - now,
    });
  }
  // every job with an SLA and tasks on the probed hosts, once per set of rules it answers to there
  for (const [k, rs] of tasksOn) for (const r of rs) {
    const rl = rulesOf(r.job, overrideOn(k));
    if (!used.has(rl)) used.set(rl, false);
  }
  const jobsOut: ProbeJob[] = [...used]
    .filter(([rl]) => rl.job.sla !== undefined)
    .map(([rl, blocking]) => budgetEntry(rl, byJob.get(rl.job.name) ?? [], now, blocking))
    .sort((a, b) => (a.job < b.job ? -1 : a.job > b.job ? 1 : (a.override ?? '') < (b.override ?? '') ? -1 : 1));
  const res: ProbeResult = {
    at_ms: now,
    hosts: out,
    jobs: jobsOut,
    drainable: out.filter((h) => h.drainable_now).map((h) => h.hostname),
    blocked: out.filter((h) => !h.drainable_now).map((h) => h.hostname),
  };
  if (view.guardrails) res.guardrails = view.guardrails;
  return res;
}

/**
 * Jobs with a coordinator among the tasks on a host: what their coordinators said (one approval
 * book, src/sla/approvals.ts). A recent no blocks the host now; a question out, or none yet, is
 * shown (each kill there waits for a yes).
 */
function coordinatorWaits(tasks: readonly SlaInstance[], jobs: ReadonlyMap<string, { sla?: AnySlaPolicy }>, cv: CoordinatorView | undefined): Array<{ job: string; reason: string; blocking: boolean }> {
  const out: Array<{ job: string; reason: string; blocking: boolean }> = [];
  const quiet = new Map<string, number>();
  for (const r of tasks) {
    if (r.task_id === undefined || r.state !== 'TASK_RUNNING' || r.kill_requested_ms !== undefined || !coordinatorOf(jobs.get(r.job)?.sla)) continue;
    if (cv && (cv.refused.has(r.task_id) || cv.asking.has(r.task_id))) out.push({ job: r.job, reason: coordinatorWait(r.job, r.index, r.task_id, cv).reason, blocking: cv.refused.has(r.task_id) });
    else quiet.set(r.job, (quiet.get(r.job) ?? 0) + 1);
  }
  for (const [job, n] of quiet) out.push({ job, reason: `job ${job}: ${n} instance(s) here; each kill needs its coordinator's yes, asked one instance at a time`, blocking: false });
  return out;
}

/** The guardrails in one line (for `sla probe`). */
export function guardrailsText(g: SlaGuardrails | undefined): string {
  if (!g || (!g.default_sla && g.max_percentage === undefined && g.max_duration_seconds === undefined)) return 'cluster SLA guardrails: none';
  const parts: string[] = [];
  parts.push(g.default_sla ? `default for jobs without one: ${describeSla(g.default_sla)}` : 'no default SLA');
  if (g.max_percentage !== undefined) parts.push(`a job may require at most ${g.max_percentage}% of its instances up`);
  if (g.max_duration_seconds !== undefined) parts.push(`durations capped at ${g.max_duration_seconds}s`);
  return `cluster SLA guardrails: ${parts.join('; ')}`;
}

export function probeText(p: ProbeResult): string {
  const lines: string[] = [];
  for (const h of p.hosts) {
    const head = `${h.hostname}: ${h.drainable_now ? 'drainable now' : 'NOT drainable now'} (${h.tasks} task(s), ${h.tasks_up} up; full drain ≈ ${fmtDuration(h.estimated_drain_ms)})`;
    lines.push(head);
    for (const r of h.reasons) lines.push(`  - ${r}`);
  }
  for (const j of p.jobs ?? []) {
    if (!j.blocking && j.source === 'job' && !j.capped && j.override === undefined) continue;
    lines.push(`job ${j.job}${j.override !== undefined ? ` (--override-sla ${j.override})` : ''}: ${j.sla}`);
    if (j.blocking) lines.push(`  ${j.budget.text}`);
  }
  lines.push(guardrailsText(p.guardrails));
  return lines.join('\n');
}

export interface DryRunResult {
  dry_run: true;
  request_id: string;
  window: StartResult['window'];
  options: StartResult['options'];
  /** Per host: the state it would enter, its group and admission order. */
  hosts: Array<{ hostname: string; state: HostState; group: string; order: number; tasks: number; estimated_drain_ms: number }>;
  probe: ProbeResult;
  /** Estimated time until every host is drained (ms from now; Infinity if impossible). */
  estimated_makespan_ms: number;
  notes: string[];
}

/**
 * `host maintenance start --dry-run`: validate exactly like the real request (same errors), then
 * report what would happen, without changing anything.
 */
export function dryRunStart(
  table: HostTable,
  req: StartRequest,
  inventory: readonly InventoryHost[],
  view: DrainView,
  now: number,
  request_id: string,
  options: Partial<DrainOptions> = {},
): DryRunResult {
  const opts = { ...DEFAULT_DRAIN_OPTIONS, ...options };
  const lead: LeadOptions = { lead_ms: opts.lead_ms ?? DEFAULT_LEAD_MS };
  const res = startMaintenance(table, req, inventory, now, request_id, lead);
  // `--override-sla` lowers the SLAs for the request's hosts: the probe and the estimates use it
  const ov = req.override_sla;
  const overrides = ov ? new Map([...(view.overrides ?? []), ...res.records.map((r) => [hostKey(r.hostname), ov] as const)]) : view.overrides;
  const probeView = { ...view, hosts: [...view.hosts].filter((h) => h.state !== 'UP'), ...(overrides ? { overrides } : {}) };
  const probe = slaProbe(res.records.map((r) => r.hostname), probeView, inventory, now, opts);
  const est = new Map(probe.hosts.map((h) => [hostKey(h.hostname), h]));
  let makespan = 0;
  const notes: string[] = [];
  const limit = res.options.max_parallel;
  const hosts = res.records.map((r) => {
    const p = est.get(hostKey(r.hostname));
    const d = p?.estimated_drain_ms ?? 0;
    makespan = Math.max(makespan, d);
    return { hostname: r.hostname, state: r.state, group: r.group, order: r.order, tasks: p?.tasks ?? 0, estimated_drain_ms: d };
  });
  if (limit !== undefined && limit < res.records.length) {
    // Hosts drain in ceil(n / limit) rounds at most; each round takes at most the longest host drain.
    const rounds = Math.ceil(res.records.length / limit);
    makespan *= rounds;
    notes.push(`--max-parallel ${limit}: up to ${rounds} rounds of hosts; the estimate is an upper bound`);
  }
  const start = res.window.start_ms;
  if (start > now) makespan = Math.max(makespan, 0);
  if (!Number.isFinite(makespan)) notes.push('some hosts cannot be emptied under the SLAs without spare capacity for make-before-break');
  return {
    dry_run: true,
    request_id,
    window: res.window,
    options: res.options,
    hosts,
    probe,
    estimated_makespan_ms: makespan,
    notes,
  };
}

/** Small helper for tests and the API: live rows per host. */
export function tasksPerHost(instances: readonly SlaInstance[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of instances) if (r.hostname !== undefined && isLive(r)) m.set(hostKey(r.hostname), (m.get(hostKey(r.hostname)) ?? 0) + 1);
  return m;
}
