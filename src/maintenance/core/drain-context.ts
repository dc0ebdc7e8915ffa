/**
 * The drainer's indexes over the workload rows: rows by job and by host in maintenance, per-job
 * contexts (SLA status, up rows per instance, replacements), and the capacity pool for
 * make-before-break. Pure.
 */
import type { SlaInstance, SlaStatus } from '../../sla/index.js';
import type { KillCost } from '../../sla/index.js';
import type { AnySlaPolicy, EffectiveSla, SlaGuardrails, SlaOverride } from '../../sla/index.js';
import { applyOverride, durationMs, effectiveSla, isLive, isRowUp, killCost, slaStatus } from '../../sla/index.js';
import { hostKey } from './host-state.js';
import type { AgentCapacity, DrainView, JobView } from './drain-types.js';

export interface JobCtx {
  /** The job with the policy the rules apply (its own, or the cluster default, capped: guardrails). */
  job: JobView<AnySlaPolicy>;
  /** How that policy was arrived at (source, capped, explanation). */
  effective: EffectiveSla;
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
  /** The plan's host key memo. */
  keys: HostKeys;
}


/**
 * The replacement under way for row `r`: another live or pending row of the same instance, with no
 * kill requested, that is not on a host in maintenance (a make-before-break surge, or any
 * duplicate the workload started). When the old row is gone, the surge is simply the instance's
 * row and is no longer anybody's replacement.
 */
export function replacementOf(c: JobCtx, r: SlaInstance, inMaint: (key: string) => boolean): SlaInstance | undefined {
  const first = c.firstRow[r.index];
  if (first === undefined) return undefined;
  const ok = (s: SlaInstance): boolean => {
    if (s === r) return false;
    const k = c.keys.of(s);
    return k === undefined || !inMaint(k);
  };
  if (ok(first)) return first;
  for (const s of c.moreRows.get(r.index) ?? []) if (ok(s)) return s;
  return undefined;
}

/** Capacity pool for make-before-break (next-fit with a memo of shapes that no longer fit). */
export class CapacityPool {
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
  take(job: JobView<AnySlaPolicy>): boolean {
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

/**
 * hostKey of a row's host, memoised for one plan (hostnames repeat across tens of thousands of
 * rows). Each plan makes its own: the drainer keeps no state between calls.
 */
export class HostKeys {
  private readonly memo = new Map<string, string>();

  of(row: SlaInstance): string | undefined {
    const h = row.hostname;
    if (h === undefined) return undefined;
    let k = this.memo.get(h);
    if (k === undefined) {
      k = hostKey(h);
      this.memo.set(h, k);
    }
    return k;
  }
}

export interface RowIndex {
  /** Every row, grouped by job (one pass over the view). */
  byJob: Map<string, SlaInstance[]>;
  /** Rows on hosts for which `onHost` was true, with their host keys. */
  onHosts: SlaInstance[];
  onHostKeys: string[];
  /** The plan's host key memo. */
  keys: HostKeys;
}

/** The only pass over every row: group by job, and pick out the rows on the given hosts. */
export function indexRows(view: DrainView, onHost: (key: string) => boolean): RowIndex {
  const keys = new HostKeys();
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
    const k = keys.of(r);
    if (k !== undefined && onHost(k)) {
      onHosts.push(r);
      onHostKeys.push(k);
    }
  }
  return { byJob, onHosts, onHostKeys, keys };
}

/** The job with the policy the rules apply under the cluster guardrails (src/sla/guardrails.ts), and why. */
export function effectiveJob(own: JobView<AnySlaPolicy>, g: SlaGuardrails | undefined): { job: JobView<AnySlaPolicy>; effective: EffectiveSla } {
  const effective = effectiveSla(own, g);
  const job: JobView<AnySlaPolicy> = { ...own };
  if (effective.policy) job.sla = effective.policy;
  else delete job.sla;
  return { job, effective };
}

/** Contexts of jobs that have live rows on hosts for which `relevant` is true. */
export function buildJobContexts(view: DrainView, idx: RowIndex, now: number, relevant: (key: string) => boolean): Map<string, JobCtx> {
  const jobs = new Map<string, JobView<AnySlaPolicy>>();
  for (const j of view.jobs) jobs.set(j.name, j);
  const ctxs = new Map<string, JobCtx>();
  for (let i = 0; i < idx.onHosts.length; i++) {
    const r = idx.onHosts[i]!;
    const k = idx.onHostKeys[i]!;
    if (!isLive(r) || !relevant(k)) continue;
    let c = ctxs.get(r.job);
    if (!c) {
      const { job, effective } = effectiveJob(jobs.get(r.job) ?? { name: r.job, instances: 0 }, view.guardrails);
      const n = Math.max(0, job.instances);
      c = {
        job,
        effective,
        rows: idx.byJob.get(r.job) ?? [],
        maint: [],
        maintKeys: [],
        status: undefined as unknown as SlaStatus,
        upRows: new Uint8Array(n),
        firstRow: new Array(n),
        moreRows: new Map(),
        keys: idx.keys,
      };
      ctxs.set(r.job, c);
    }
    c.maint.push(r);
    c.maintKeys.push(k);
  }
  for (const c of ctxs.values()) fillJobCtx(c, now);
  return ctxs;
}


/** A context's status, up rows per instance and replacements, from its job and rows. */
export function fillJobCtx(c: JobCtx, now: number): void {
  c.status = slaStatus(c.job, c.rows, now);
  const D = durationMs(c.job);
  c.upRows = new Uint8Array(Math.max(0, c.job.instances));
  c.firstRow = new Array(c.upRows.length);
  c.moreRows = new Map();
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

/**
 * The context of `c`'s job for hosts under an override (`--override-sla`, src/sla/guardrails.ts):
 * the lowered policy, and the rows with `killed` (this plan's kills so far) marked as being killed,
 * so the kills already taken count against the lowered policy too.
 */
export function overriddenCtx(c: JobCtx, ov: SlaOverride, killed: ReadonlySet<string>, now: number): JobCtx {
  const effective = applyOverride(c.effective, c.job.instances, ov);
  const job: JobView<AnySlaPolicy> = { ...c.job };
  if (effective.policy) job.sla = effective.policy;
  const mark = (r: SlaInstance): SlaInstance => (r.task_id !== undefined && killed.has(r.task_id) && r.kill_requested_ms === undefined ? { ...r, kill_requested_ms: now } : r);
  const c2: JobCtx = { ...c, job, effective, rows: c.rows.map(mark), maint: c.maint.map(mark) };
  fillJobCtx(c2, now);
  return c2;
}

/**
 * The hosts of `c`'s job under an `--override-sla`, grouped by override (text and reason), among
 * the keys for which `include` is true. A coordinator-only policy or no policy: nothing to lower.
 */
export function overrideGroups(c: JobCtx, overrides: ReadonlyMap<string, SlaOverride> | undefined, include: (key: string) => boolean): Map<string, { ov: SlaOverride; keys: Set<string> }> {
  const groups = new Map<string, { ov: SlaOverride; keys: Set<string> }>();
  if (!overrides?.size || !c.job.sla || c.job.sla.kind === 'coordinator') return groups;
  for (const k of c.maintKeys) {
    const ov = overrides.get(k);
    if (!ov || !include(k)) continue;
    const id = `${ov.text}\u0000${ov.reason}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { ov, keys: new Set() }));
    g.keys.add(k);
  }
  return groups;
}

export function hostsOf(rows: SlaInstance[]): string[] {
  return [...new Set(rows.map((r) => r.hostname!))].sort();
}

/** What a kill of maintenance row `r` would cost now, given its instance's remaining up rows. */
export interface RowCost {
  cost: KillCost;
  /** The row itself counts as up now. */
  up: boolean;
  /** The row is one of the job's instances (index within the job size). */
  inJob: boolean;
}

export function rowCost(c: JobCtx, r: SlaInstance, upLeft: Uint8Array, now: number): RowCost {
  const D = c.status.duration_ms;
  const inJob = Number.isInteger(r.index) && r.index >= 0 && r.index < upLeft.length;
  const up = inJob && isRowUp(r, D, now);
  const others = inJob ? upLeft[r.index]! - (up ? 1 : 0) : 0;
  return { cost: killCost(r, D, now, others, inJob), up, inJob };
}

/** Record in `upLeft` that row `r` (costed as `rc`) is being killed. */
export function takeRow(upLeft: Uint8Array, r: SlaInstance, rc: RowCost): void {
  if (rc.up && upLeft[r.index]! > 0) upLeft[r.index]!--;
}
