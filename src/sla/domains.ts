/**
 * Failure domains (policy option `max_unavailable_domains`, `domain`): which domains the instances
 * that are not up touch.
 *
 * A row's domain is the value of the job's domain attribute (e.g. the rack) on its agent, filled in
 * by whoever builds the rows (`SlaInstance.domain`). An instance that is not up touches:
 * - every domain where it has a live row (staging, young, unhealthy, being killed — its capacity is
 *   missing there);
 * - otherwise (pending, nothing live) the domain recorded on any of its rows (a PENDING row may carry
 *   the domain where the instance was lost);
 * - otherwise a domain of its own, `?<index>` (unknown placement counts as one more domain: '?' is
 *   not a character of a Mesos attribute text value, so it never collides with a real domain).
 * Counting an instance in several domains, or in one of its own, can only make the rule stricter.
 */
import type { SlaInstance } from './rows.js';
import { isLive } from './rows.js';

/** The domain a row is in, or the instance's own pseudo-domain when unknown. */
export function domainKey(row: SlaInstance): string {
  return row.domain !== undefined ? row.domain : `?${row.index}`;
}

/**
 * The domains touched by the instances (0..n−1) that are not up; `upNow[i]` is non-zero for
 * instances up now.
 */
export function downDomains(rows: readonly SlaInstance[], n: number, upNow: ArrayLike<number>): Set<string> {
  const live = new Map<number, Set<string>>();
  const recorded = new Map<number, string>();
  for (const r of rows) {
    const i = r.index;
    if (!Number.isInteger(i) || i < 0 || i >= n || upNow[i]) continue;
    if (isLive(r)) {
      let s = live.get(i);
      if (!s) live.set(i, (s = new Set()));
      s.add(domainKey(r));
    } else if (r.domain !== undefined && !recorded.has(i)) recorded.set(i, r.domain);
  }
  const out = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (upNow[i]) continue;
    const l = live.get(i);
    if (l) for (const d of l) out.add(d);
    else out.add(recorded.get(i) ?? `?${i}`);
  }
  return out;
}

/**
 * The domains an up instance touches once `row` (its only up row) is killed: the row's domain
 * (where it is lost) and those of the instance's other live rows (a replacement still starting).
 */
export function killDomains(row: SlaInstance, instanceRows: readonly SlaInstance[]): string[] {
  const out = new Set<string>([domainKey(row)]);
  for (const r of instanceRows) if (r !== row && r.index === row.index && isLive(r)) out.add(domainKey(r));
  return [...out];
}
