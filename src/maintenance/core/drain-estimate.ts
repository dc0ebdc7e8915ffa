/**
 * Drain-time estimates (for admission lead times, job order, host progress and inverse-offer
 * answers). Pure.
 */
import type { AnySlaPolicy, SlaOverride, SlaStatus } from '../../sla/index.js';
import { isLive, refillTime, upFrom } from '../../sla/index.js';
import { hostKey } from './host-state.js';
import type { DrainOptions, DrainView, JobView } from './drain-types.js';
import { overriddenCtx, overrideGroups, replacementOf, rowCost, takeRow, type JobCtx } from './drain-context.js';

/** A job's finish estimates on the hosts it has rows on: `at(key)` for one host, `max` over all. */
export interface JobFinish {
  at(key: string): number;
  max: number;
}

/**
 * `jobFinishEstimate` with `--override-sla` applied as the planner applies it (drainer.ts
 * decideWithOverrides): the job's own policy for its rows on hosts without an override, and per
 * override, the lowered policy for the rows on that override's hosts.
 */
export function jobFinishWithOverrides(
  ctx: JobCtx,
  onHosts: (key: string) => boolean,
  now: number,
  opts: DrainOptions,
  mbbPossible: (job: JobView<AnySlaPolicy>) => boolean,
  overrides: ReadonlyMap<string, SlaOverride> | undefined,
): JobFinish {
  const groups = overrideGroups(ctx, overrides, onHosts);
  if (!groups.size) {
    const f = jobFinishEstimate(ctx, onHosts, now, opts, mbbPossible).finish;
    return { at: () => f, max: f };
  }
  const byKey = new Map<string, number>();
  let max = now;
  for (const g of groups.values()) {
    const f = jobFinishEstimate(overriddenCtx(ctx, g.ov, new Set(), now), (k) => g.keys.has(k), now, opts, mbbPossible).finish;
    for (const k of g.keys) byKey.set(k, f);
    max = Math.max(max, f);
  }
  const own = ctx.maintKeys.some((k) => onHosts(k) && !byKey.has(k)) ? jobFinishEstimate(ctx, (k) => onHosts(k) && !byKey.has(k), now, opts, mbbPossible).finish : now;
  return { at: (k) => byKey.get(k) ?? own, max: Math.max(max, own) };
}

/**
 * Per-job estimate of when its tasks on the given hosts can all be gone (absolute ms), under the
 * voluntary-kill invariant of src/sla/kill.ts:
 * - free rows (not running, or their instance is up elsewhere) go at once;
 * - rows with a replacement under way go once it is up;
 * - serving rows younger than the SLA duration go at once while the job is at its SLA; below it,
 *   they may go once the job is back at its SLA (margin 0) — unless they have aged by then, when
 *   they are up instances like the others;
 * - up rows go within the budget, by make-before-break, or in budget waves (bbmFinish).
 */
export function jobFinishEstimate(
  ctx: JobCtx,
  onHosts: (key: string) => boolean,
  now: number,
  opts: DrainOptions,
  mbbPossible: (job: JobView<AnySlaPolicy>) => boolean,
): { finish: number; costly: number } {
  const st = ctx.status;
  const D = st.duration_ms;
  const R = opts.kill_estimate_ms + opts.startup_estimate_ms + D;
  const atSla = refillTime(st, now, 0); // when the job is back at its SLA (now if it is)
  let costly = 0;
  let start = now; // the latest time a row may be killed, rows of kinds other than `costly`
  let any = false;
  const upLeft = ctx.upRows.slice();
  for (let i = 0; i < ctx.maint.length; i++) {
    const r = ctx.maint[i]!;
    if (!onHosts(ctx.maintKeys[i]!) || r.kill_requested_ms !== undefined) continue;
    const rc = rowCost(ctx, r, upLeft, now);
    if (rc.cost === 'free') {
      takeRow(upLeft, r, rc);
      any = true;
      continue;
    }
    const s = replacementOf(ctx, r, onHosts);
    const surgeUp = s ? (upFrom(s, D) ?? now + opts.startup_estimate_ms + D) : Infinity;
    let at = surgeUp;
    if (rc.cost === 'serving' && atSla !== undefined && atSla < (upFrom(r, D) ?? Infinity)) at = Math.min(at, atSla);
    if (at < Infinity) {
      start = Math.max(start, at);
      any = true;
      continue;
    }
    costly++;
  }
  let finish = any ? start + opts.kill_estimate_ms : now;
  if (costly === 0) return { finish, costly };
  if (costly <= st.budget) return { finish: Math.max(finish, now + opts.kill_estimate_ms), costly };
  if (mbbPossible(ctx.job)) return { finish: Math.max(finish, now + R), costly };
  if (st.max_budget <= 0 || st.unattainable) return { finish: Infinity, costly };
  return { finish: Math.max(finish, bbmFinish(st, costly, now, R) + opts.kill_estimate_ms), costly };
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
  let budget = st.margin;
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

/**
 * Whether make-before-break is plausible for a job, for estimates: on, capacity known, and some
 * eligible agent has room for one of its tasks right now — not one of the hosts being drained
 * (`blocked`), and for a `host_unique` job not one that already runs one of its tasks.
 */
export function mbbPlausible(view: DrainView, opts: DrainOptions, blocked: (key: string) => boolean = () => false): (job: JobView<AnySlaPolicy>) => boolean {
  const cap = view.capacity;
  if (!opts.make_before_break || !cap || cap.length === 0) return () => false;
  const memo = new Map<string, boolean>();
  let onHosts: Map<string, Set<string>> | undefined; // host_unique job → host keys with a live row
  const hostsOf = (job: string): Set<string> | undefined => {
    if (!onHosts) {
      onHosts = new Map();
      const unique = new Set(view.jobs.filter((j) => j.host_unique).map((j) => j.name));
      for (const r of view.instances) {
        if (!unique.has(r.job) || r.hostname === undefined || !isLive(r)) continue;
        let set = onHosts.get(r.job);
        if (!set) onHosts.set(r.job, (set = new Set()));
        set.add(hostKey(r.hostname));
      }
    }
    return onHosts.get(job);
  };
  return (job) => {
    let ok = memo.get(job.name);
    if (ok === undefined) {
      const cpus = job.resources?.cpus ?? 0;
      const mem = job.resources?.mem ?? 0;
      const taken = job.host_unique ? hostsOf(job.name) : undefined;
      ok = cap.some((a) => {
        if (a.cpus + 1e-9 < cpus || a.mem + 1e-9 < mem) return false;
        const k = hostKey(a.hostname);
        return !blocked(k) && !taken?.has(k);
      });
      memo.set(job.name, ok);
    }
    return ok;
  };
}
