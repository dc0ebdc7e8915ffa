/**
 * The drainer's per-job decisions for one plan: which of a job's tasks on DRAINING hosts to KILL
 * now, which to replace make-before-break first, and what the rest waits for. Every kill goes
 * through the SLA module's invariant (src/sla/kill.ts): no voluntary kill may leave fewer than the
 * required instances up, and a job below its SLA loses no running instance.
 *
 * Per job (kills already requested are counted as down):
 * 1. free kills — tasks not running at all (staging, failed...), tasks beyond the job size, and tasks
 *    whose instance has another up task (a make-before-break replacement that has aged);
 *    serving tasks younger than the SLA duration while the job is at or above its SLA;
 * 2. if the job's budget covers all its remaining up tasks there: kill them all now;
 * 3. otherwise order a make-before-break replacement for each such instance while spare capacity
 *    allows (no budget spent: the old task goes once the new one counts as up), spend the budget
 *    on the rest, and let what is left wait for the budget to refill (or, below the SLA, for the
 *    job to be back at its SLA).
 * 4. with --force, once a host's drain timeout has passed, everything left on it is killed.
 */
import type { SlaInstance, SlaStatus } from '../../sla/index.js';
import { coordinatorOf, coordinatorQuestion, coordinatorWait, decideKills, describeSla, isServing, JobKillLedger, killDomains, refillTime, upFrom } from '../../sla/index.js';
import { fmtClock, slaBlockerText } from './format.js';
import type { CapacityPool, JobCtx, RowCost } from './drain-context.js';
import { hostsOf, replacementOf, rowCost, takeRow, type HostKeys } from './drain-context.js';
import type { Blocker, CoordinatorAsk, CoordinatorView, DrainOptions, KillOrder, KillReason, SurgeOrder, WaitItem } from './drain-types.js';

/** What one plan decides, shared by every job (kills, replacements, waits, blockers, wake-up). */
export class PlanOutput {
  readonly kills: KillOrder[] = [];
  readonly surges: SurgeOrder[] = [];
  readonly waits: WaitItem[] = [];
  readonly questions: CoordinatorAsk[] = [];
  readonly blockersByHost = new Map<string, Blocker[]>();
  readonly replacingByHost = new Map<string, number>();
  /** Kills left out by the kill cap. */
  readonly capped: SlaInstance[] = [];
  wake = Infinity;
  private killCap: number;

  constructor(
    maxKills: number | undefined,
    private readonly keys: HostKeys,
  ) {
    this.killCap = maxKills ?? Infinity;
  }

  kill(r: SlaInstance, reason: KillReason, detail: string): void {
    if (this.killCap <= 0) {
      this.capped.push(r);
      return;
    }
    this.killCap--;
    const o: KillOrder = { task_id: r.task_id ?? '', hostname: r.hostname!, job: r.job, instance: r.index, reason, detail };
    if (r.agent_id !== undefined) o.agent_id = r.agent_id;
    this.kills.push(o);
  }

  wakeAt(t: number): void {
    this.wake = Math.min(this.wake, t);
  }

  /** A wait item, and one blocker per host it concerns. */
  addWait(w: WaitItem, keys: readonly string[]): void {
    this.waits.push(w);
    const per = new Map<string, number>();
    for (const k of keys) per.set(k, (per.get(k) ?? 0) + 1);
    for (const [k, n] of per) {
      let l = this.blockersByHost.get(k);
      if (!l) this.blockersByHost.set(k, (l = []));
      const b: Blocker = { job: w.job, tasks: n, reason: w.reason };
      if (w.until_ms !== undefined) b.until_ms = w.until_ms;
      l.push(b);
    }
  }

  /** The kill cap's wait items (after every job has been decided). */
  addCappedWaits(now: number, maxKills: number | undefined): void {
    if (!this.capped.length) return;
    const capText = `kill cap: at most ${maxKills} kills per step`;
    const byJob = new Map<string, SlaInstance[]>();
    for (const r of this.capped) {
      let l = byJob.get(r.job);
      if (!l) byJob.set(r.job, (l = []));
      l.push(r);
    }
    for (const [job, rows] of byJob) {
      const reason = `job ${job}: ${capText}`;
      this.waits.push({ job, tasks: rows.length, hosts: hostsOf(rows), reason, until_ms: now });
      const per = new Map<string, number>();
      for (const r of rows) per.set(this.keys.of(r)!, (per.get(this.keys.of(r)!) ?? 0) + 1);
      for (const [k, n] of per) {
        let l = this.blockersByHost.get(k);
        if (!l) this.blockersByHost.set(k, (l = []));
        l.push({ job, tasks: n, reason });
      }
    }
    this.wakeAt(now);
  }
}

export interface JobDecisionEnv {
  now: number;
  opts: DrainOptions;
  draining: (key: string) => boolean;
  inMaint: (key: string) => boolean;
  /** Hosts whose drain timeout has passed with --force. */
  forced: ReadonlySet<string>;
  /** Kill priority of each host (lower first). */
  rankOf: ReadonlyMap<string, number>;
  pool: CapacityPool | undefined;
  out: PlanOutput;
  /** The coordinators' answers so far (jobs with a coordinator policy). */
  coordinator?: CoordinatorView | undefined;
}

interface JobStep {
  c: JobCtx;
  env: JobDecisionEnv;
  ledger: JobKillLedger;
  /** Per instance, up rows not being killed. */
  upLeft: Uint8Array;
  slaText: string;
}

/** Decide one job's kills, replacements and waits for this plan. */
export function decideJob(c: JobCtx, env: JobDecisionEnv): void {
  if (coordinatorOf(c.job.sla)) return decideCoordinatorJob(c, env);
  const js: JobStep = { c, env, ledger: new JobKillLedger(c.status), upLeft: c.upRows.slice(), slaText: describeSla(c.job.sla) + (c.effective?.overridden ? ' (lowered for this request by --override-sla)' : '') };
  const { costly, blocked } = killFreeRows(js);
  if (costly.length === 0 && blocked.length === 0) return;
  if (blocked.length === 0 && allAllowed(js, costly)) {
    for (const i of costly) budgetKill(js, i);
    return;
  }
  // Must wait anyway: replace where possible, spend the budget on the rest.
  const { onSurge, surgeRow, rest } = orderReplacements(js, [...killWithinDomains(js, costly), ...blocked]);
  const waiting: number[] = [];
  for (const i of rest) {
    const rc = rowCost(c, c.maint[i]!, js.upLeft, env.now);
    if (rc.cost !== 'serving' && js.ledger.allows(rc.cost, domainsOf(js, i))) budgetKill(js, i, rc);
    else waiting.push(i);
  }
  if (onSurge.length) waitForReplacements(js, onSurge, surgeRow);
  if (waiting.length) waitForSla(js, waiting);
}

/** The job's rows on DRAINING hosts, by host priority. */
function candidates(c: JobCtx, env: JobDecisionEnv): number[] {
  const cand: number[] = [];
  const rank: number[] = [];
  for (let i = 0; i < c.maint.length; i++) {
    const k = c.maintKeys[i]!;
    if (!env.draining(k)) continue;
    cand.push(i);
    rank[i] = env.rankOf.get(k) ?? 0;
  }
  cand.sort((a, b) => rank[a]! - rank[b]! || c.maint[a]!.index - c.maint[b]!.index);
  return cand;
}

/**
 * Kill what costs nothing (and what --force orders); return the up rows that cost budget
 * (`costly`) and the serving rows that may not go while the job is below its SLA (`blocked`).
 */
function killFreeRows(js: JobStep): { costly: number[]; blocked: number[] } {
  const { c, env, ledger, upLeft } = js;
  const D = c.status.duration_ms;
  const secs = Math.round(D / 1000);
  const costly: number[] = [];
  const blocked: number[] = [];
  for (const i of candidates(c, env)) {
    const r = c.maint[i]!;
    if (r.task_id === undefined) continue; // cannot kill a task we cannot name
    if (r.kill_requested_ms !== undefined) {
      if (env.now - r.kill_requested_ms >= env.opts.kill_retry_ms) env.out.kill(r, 'retry', `kill requested at ${fmtClock(r.kill_requested_ms)} still pending`);
      else env.out.wakeAt(r.kill_requested_ms + env.opts.kill_retry_ms);
      continue;
    }
    const rc = rowCost(c, r, upLeft, env.now);
    if (env.forced.has(c.maintKeys[i]!)) {
      ledger.take(rc.cost);
      takeRow(upLeft, r, rc);
      const breaks = rc.cost !== 'free' && ledger.margin < 0;
      env.out.kill(r, 'forced', `drain timeout passed with --force${breaks ? `; breaks ${js.slaText}` : ''}`);
      continue;
    }
    if (rc.cost === 'free') {
      const replacementUp = rc.inJob && isServing(r) && upLeft[r.index]! - (rc.up ? 1 : 0) > 0;
      takeRow(upLeft, r, rc);
      if (replacementUp) env.out.kill(r, 'replacement-up', 'its make-before-break replacement is up');
      else env.out.kill(r, 'not-up', !rc.inJob ? 'instance beyond the job size' : `${r.state}, not running`);
      continue;
    }
    if (rc.cost === 'serving') {
      if (ledger.allows('serving')) {
        env.out.kill(r, 'not-up', `running < ${secs}s, not counted up; the job keeps its SLA (${ledger.upNow} up ≥ ${ledger.required} required)`);
      } else blocked.push(i);
      continue;
    }
    costly.push(i);
  }
  return { costly, blocked };
}

function budgetKill(js: JobStep, i: number, rc?: RowCost): void {
  const { c, env, ledger, upLeft } = js;
  const r = c.maint[i]!;
  const cost = rc ?? rowCost(c, r, upLeft, env.now);
  const before = ledger.budget;
  ledger.take(cost.cost, domainsOf(js, i));
  takeRow(upLeft, r, cost);
  const job = c.job;
  env.out.kill(r, job.sla ? 'sla-budget' : 'no-sla', job.sla ? `${js.slaText}: ${before} more may go down` : 'job has no SLA');
}

/** The failure domains a kill of maintenance row `i` touches (jobs with a domain rule only). */
function domainsOf(js: JobStep, i: number): string[] | undefined {
  if (!js.c.status.domains) return undefined;
  const r = js.c.maint[i]!;
  return killDomains(r, js.c.rows.filter((o) => o.index === r.index));
}

/** May every one of the `costly` (up) rows go now, together? (Count budget, or the domain rule.) */
function allAllowed(js: JobStep, costly: number[]): boolean {
  if (!js.c.status.domains) return costly.length <= js.ledger.budget;
  const l = js.ledger.clone();
  for (const i of costly) {
    const d = domainsOf(js, i);
    if (!l.allows('up', d)) return false;
    l.take('up', d);
  }
  return true;
}

/**
 * A job with a domain rule: kill, in host priority order, the up rows the rule allows (a whole rack
 * at a time); return the rest (to replace, or to wait). Other jobs: all of them, unchanged.
 */
function killWithinDomains(js: JobStep, costly: number[]): number[] {
  if (!js.c.status.domains) return costly;
  const rest: number[] = [];
  for (const i of costly) {
    if (js.ledger.allows('up', domainsOf(js, i))) budgetKill(js, i);
    else rest.push(i);
  }
  return rest;
}

/** Rows whose replacement is on its way or can be ordered now, and the rest. */
function orderReplacements(js: JobStep, rows: number[]): { onSurge: number[]; surgeRow: Array<SlaInstance | undefined>; rest: number[] } {
  const { c, env, ledger } = js;
  const onSurge: number[] = [];
  const surgeRow: Array<SlaInstance | undefined> = [];
  const rest: number[] = [];
  const below = ledger.margin < 0 ? ` (below its SLA: ${ledger.upNow} up < ${ledger.required} required)` : '';
  const reason = `${js.slaText} allows ${ledger.budget} more down${below}; replace before killing`;
  for (const i of rows) {
    const r = c.maint[i]!;
    const existing = replacementOf(c, r, env.inMaint);
    if (existing) {
      onSurge.push(i);
      surgeRow.push(existing);
    } else if (env.pool && env.pool.take(c.job)) {
      env.out.surges.push({ job: c.job.name, instance: r.index, task_id: r.task_id!, hostname: r.hostname!, reason });
      onSurge.push(i);
      surgeRow.push(undefined);
    } else rest.push(i);
  }
  return { onSurge, surgeRow, rest };
}

/** Rows waiting for their make-before-break replacement to count as up. */
function waitForReplacements(js: JobStep, onSurge: number[], surgeRow: Array<SlaInstance | undefined>): void {
  const { c, env } = js;
  const D = c.status.duration_ms;
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
    env.out.replacingByHost.set(k, (env.out.replacingByHost.get(k) ?? 0) + 1);
  });
  const reason =
    `job ${c.job.name}: make-before-break: ${onSurge.length} replacement(s) ` +
    (starting ? `${starting} starting` : `up by ${fmtClock(until)}`) +
    ` (${js.slaText})` +
    (c.status.unhealthy ? `; ${c.status.unhealthy} unhealthy (not counted up)` : '');
  const w: WaitItem = { job: c.job.name, tasks: onSurge.length, hosts: hostsOf(onSurge.map((i) => c.maint[i]!)), reason };
  if (!starting && Number.isFinite(until)) {
    w.until_ms = until;
    env.out.wakeAt(until);
  }
  env.out.addWait(w, keys);
}

/** Rows waiting for the budget to refill (up rows) or the job to be back at its SLA (young rows). */
function waitForSla(js: JobStep, waiting: number[]): void {
  const { c, env, ledger } = js;
  const now = env.now;
  const spent = c.status.up - ledger.upNow; // up instances killed by this plan
  const st: SlaStatus = { ...c.status, up: ledger.upNow, margin: ledger.margin, budget: ledger.budget, killing: c.status.killing + spent };
  const refill = refillTime(st, now, 1);
  st.refill_needs_starts = refill === undefined ? Math.max(0, 1 - st.margin - st.aging_up_at_ms.length) : 0;
  if (refill !== undefined) st.refill_at_ms = refill;
  else delete st.refill_at_ms;
  const young = waiting.filter((i) => rowCost(c, c.maint[i]!, js.upLeft, now).cost === 'serving').length;
  const atSla = young ? refillTime(st, now, 0) : undefined;
  let until = young ? atSla : refill;
  if (young && refill !== undefined && (until === undefined || refill < until)) until = refill;
  let reason = slaBlockerText(st, now);
  if (young) {
    const secs = Math.round(st.duration_ms / 1000);
    reason += `; ${young} task(s) here running < ${secs}s may go once the job is back at its SLA${atSla !== undefined ? ` (${fmtClock(atSla)})` : ''}`;
  }
  if (env.opts.make_before_break && !env.pool) reason += '; make-before-break off: no capacity information';
  else if (env.opts.make_before_break && env.pool) reason += '; no spare capacity for make-before-break';
  const w: WaitItem = { job: c.job.name, tasks: waiting.length, hosts: hostsOf(waiting.map((i) => c.maint[i]!)), reason };
  if (until !== undefined && until > now) {
    w.until_ms = until;
    env.out.wakeAt(until);
  }
  env.out.addWait(w, waiting.map((i) => c.maintKeys[i]!));
}

// ------------------------------------------------------------------------------------------------
// jobs with a coordinator

/**
 * A job whose policy has a coordinator: every kill that costs anything (an up or serving row) needs
 * the counting rule (if any) AND a standing yes from the service's coordinator — the one decision
 * of src/sla/kill.ts (`decideKills`), asked about one instance at a time and never while a kill of
 * the job is in flight. Rows not running at all go freely; --force after the drain timeout kills
 * regardless (the coordinator is not asked). No make-before-break for such jobs: the coordinator
 * decides when its service can lose an instance.
 */
const NO_ANSWERS: CoordinatorView = { approved: new Set(), refused: new Map(), asking: new Set(), asked_ms: new Map() };

function decideCoordinatorJob(c: JobCtx, env: JobDecisionEnv): void {
  const coord = coordinatorOf(c.job.sla)!;
  const cv = env.coordinator;
  const approved = cv?.approved ?? new Set<string>();
  const text = describeSla(c.job.sla);
  const open: number[] = [];
  for (const i of candidates(c, env)) {
    const r = c.maint[i]!;
    if (r.task_id === undefined) continue;
    if (r.kill_requested_ms !== undefined) {
      if (env.now - r.kill_requested_ms >= env.opts.kill_retry_ms) env.out.kill(r, 'retry', `kill requested at ${fmtClock(r.kill_requested_ms)} still pending`);
      else env.out.wakeAt(r.kill_requested_ms + env.opts.kill_retry_ms);
      continue;
    }
    if (env.forced.has(c.maintKeys[i]!)) {
      env.out.kill(r, 'forced', `drain timeout passed with --force; the coordinator of ${c.job.name} is not asked`);
      continue;
    }
    open.push(i);
  }
  if (!open.length) return;
  const rows = open.map((i) => c.maint[i]!);
  const d = decideKills(c.job, c.rows, rows, env.now, { approved, asking: cv?.asking ?? new Set<string>() });
  const keyOf = new Map(open.map((i) => [c.maint[i]!, c.maintKeys[i]!]));
  for (const r of d.kill) {
    if (r.task_id !== undefined && approved.has(r.task_id)) env.out.kill(r, 'sla-budget', `its coordinator said yes (${text})`);
    else env.out.kill(r, 'not-up', `${r.state}, not serving: no coordinator question needed`);
  }
  for (const r of d.ask) {
    const tid = r.task_id!;
    const no = cv?.refused.get(tid);
    if (no && no.retry_ms > env.now) env.out.wakeAt(no.retry_ms);
    else {
      const q = coordinatorQuestion(r, 'drain');
      if (q) env.out.questions.push({ ref: coord, question: q });
    }
    const { reason, until_ms: until } = coordinatorWait(c.job.name, r.index, tid, cv ?? NO_ANSWERS);
    const w: WaitItem = { job: c.job.name, tasks: 1, hosts: hostsOf([r]), reason };
    if (until !== undefined) w.until_ms = until;
    env.out.addWait(w, [keyOf.get(r)!]);
  }
  if (d.refused.length) {
    const byReason = new Map<string, SlaInstance[]>();
    for (const f of d.refused) {
      let l = byReason.get(f.reason);
      if (!l) byReason.set(f.reason, (l = []));
      l.push(f.row);
    }
    for (const [reason, rs] of byReason) env.out.addWait({ job: c.job.name, tasks: rs.length, hosts: hostsOf(rs), reason }, rs.map((r) => keyOf.get(r)!));
  }
}
