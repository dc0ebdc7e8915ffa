/**
 * Failure domains (policy option `max_unavailable_domains`, `domain`): which domains the instances
 * that are not up touch.
 *
 * A row's domain is the value of the job's domain attribute (e.g. the rack) on its agent, filled in
 * by whoever builds the rows (`SlaInstance.domain`). An instance that is not up is **charged** to:
 * - the domain where it was lost, when it was up and went (a kill, a failure): `lost_domain` on its
 *   replacement row(s) — a rack drained for maintenance stays the one rack charged while its
 *   instances are rebuilt elsewhere;
 * - otherwise every domain where it has a live row (staging, young, unhealthy, being killed — its
 *   capacity is missing there);
 * - otherwise a domain of its own, `?<index>` (unknown placement counts as one more domain: '?' is
 *   not a character of a Mesos attribute text value, so it never collides with a real domain).
 * Charging an instance to several domains, or to one of its own, can only make the rule stricter.
 * Rows built without `lost_domain` are charged where the instance's tasks run now. A voluntary kill
 * of an up row is charged exactly as the rows will be once the kill is requested (`killDomains`),
 * so the ledger and a fresh status always agree.
 */
import type { SlaInstance } from './rows.js';
import { isLive } from './rows.js';

/** The domain a row is in, or the instance's own pseudo-domain when unknown. */
export function domainKey(row: SlaInstance): string {
  return row.domain !== undefined ? row.domain : `?${row.index}`;
}

/**
 * The domains one instance that is not up is charged to, from its rows (any order; rows of other
 * instances must not be passed): `lost_domain` of its live or pending rows, else the domains of
 * its live rows, else `?<index>`.
 */
export function chargedDomains(instanceRows: readonly SlaInstance[], index: number): string[] {
  const lost = new Set<string>();
  const live = new Set<string>();
  for (const r of instanceRows) {
    const isL = isLive(r);
    if (r.lost_domain !== undefined && (isL || r.state === 'PENDING')) lost.add(r.lost_domain);
    if (isL) live.add(domainKey(r));
  }
  if (lost.size) return [...lost];
  if (live.size) return [...live];
  return [`?${index}`];
}

/**
 * The domains touched by the instances (0..n−1) that are not up; `upNow[i]` is non-zero for
 * instances up now.
 */
export function downDomains(rows: readonly SlaInstance[], n: number, upNow: ArrayLike<number>): Set<string> {
  const byIndex = new Map<number, SlaInstance[]>();
  for (const r of rows) {
    const i = r.index;
    if (!Number.isInteger(i) || i < 0 || i >= n || upNow[i]) continue;
    let l = byIndex.get(i);
    if (!l) byIndex.set(i, (l = []));
    l.push(r);
  }
  const out = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (upNow[i]) continue;
    for (const d of chargedDomains(byIndex.get(i) ?? [], i)) out.add(d);
  }
  return out;
}

/**
 * The domains an up instance is charged to once `row` (its only up row) is killed: what
 * `chargedDomains` gives for its rows with the kill requested — the row's domain, where it is lost,
 * and those of a replacement already running elsewhere — unless a row carries `lost_domain`.
 */
export function killDomains(row: SlaInstance, instanceRows: readonly SlaInstance[]): string[] {
  const rs = instanceRows.filter((r) => r !== row && r.index === row.index);
  rs.push({ ...row, kill_requested_ms: row.kill_requested_ms ?? 0 });
  return chargedDomains(rs, row.index);
}
