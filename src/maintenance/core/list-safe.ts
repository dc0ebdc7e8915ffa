/**
 * `sluice sla list-safe` (pure): every UP host — or, grouped by rack, every rack — that could be
 * drained right now, on its own, without a kill any job's SLA refuses. What Aurora's
 * `sla_list_safe_domain` answers, but from each job's own SLA (src/sla via slaProbe).
 *
 * The claim, exactly: each host (rack) listed is safe to drain ALONE, starting now — one at a time,
 * not all of them at once (their budgets are shared; probe the set with `sla probe` for that).
 * A host is safe when every job's SLA lets all our tasks there go now, or, for each job whose SLA
 * refuses, make-before-break has room: free capacity (agentCapacity) on other agents, not in
 * maintenance, for one replacement per task of that job on the host (host_unique jobs: at most one
 * per agent, and not where the job already runs).
 */
import type { InventoryHost } from './host-state.js';
import { HOSTNAME_RE, hostKey } from './host-state.js';
import type { DrainOptions, DrainView } from './drainer.js';
import { DEFAULT_DRAIN_OPTIONS } from './drainer.js';
import { slaProbe, type ProbeHost } from './probe.js';
import { isLive } from '../../sla/index.js';

export interface SafeEntry {
  /** Host name, or rack name when grouped by rack. */
  name: string;
  hosts: string[];
  safe: boolean;
  /** Our live tasks on the host(s). */
  tasks: number;
  /** Jobs drained by make-before-break (their SLA refuses a kill, capacity exists elsewhere). */
  make_before_break: string[];
  reasons: string[];
}

export interface SafeList {
  at_ms: number;
  group_by: 'host' | 'rack';
  claim: string;
  safe: string[];
  entries: SafeEntry[];
}

/** Room for `need` replacements of `job` outside `exclude` (hostname keys). */
function mbbRoom(view: DrainView, job: string, need: number, exclude: ReadonlySet<string>): boolean {
  const spec = view.jobs.find((j) => j.name === job);
  if (!spec?.resources || !view.capacity?.length) return false;
  const inMaint = new Set<string>();
  for (const h of view.hosts) if (h.state !== 'UP') inMaint.add(hostKey(h.hostname));
  const runsOn = new Set<string>();
  for (const r of view.instances) if (r.job === job && r.hostname !== undefined && isLive(r)) runsOn.add(hostKey(r.hostname));
  const { cpus, mem } = spec.resources;
  let slots = 0;
  for (const a of view.capacity) {
    const k = hostKey(a.hostname);
    if (exclude.has(k) || inMaint.has(k)) continue;
    const fit = Math.floor(Math.min(cpus > 0 ? (a.cpus + 1e-9) / cpus : Infinity, mem > 0 ? (a.mem + 1e-9) / mem : Infinity));
    slots += spec.host_unique ? (runsOn.has(k) ? 0 : Math.min(1, fit)) : Math.min(fit, need);
    if (slots >= need) return true;
  }
  return false;
}

function tasksOf(view: DrainView, job: string, keys: ReadonlySet<string>): number {
  let n = 0;
  for (const r of view.instances) if (r.job === job && r.hostname !== undefined && isLive(r) && keys.has(hostKey(r.hostname))) n++;
  return n;
}

/** Judges one domain (a host, or a rack's hosts probed together). */
function judge(name: string, probed: ProbeHost[], view: DrainView, alone: boolean): SafeEntry {
  const keys = new Set(probed.map((h) => hostKey(h.hostname)));
  const reasons: string[] = [];
  const mbb = new Set<string>();
  let safe = probed.length > 0;
  for (const h of probed) {
    if (h.state !== 'UP') {
      safe = false;
      reasons.push(`${h.hostname}: already in maintenance (${h.state})`);
      continue;
    }
    for (const job of alone ? h.blocked_jobs_alone : h.blocked_jobs) {
      if (mbb.has(job)) continue;
      if (mbbRoom(view, job, tasksOf(view, job, keys), keys)) mbb.add(job);
      else {
        safe = false;
        const why = h.reasons.find((r) => r.startsWith(`job ${job}:`)) ?? `job ${job}: its SLA refuses the kill`;
        reasons.push(`${h.hostname}: ${why}; no room elsewhere for a make-before-break replacement`);
      }
    }
  }
  return { name, hosts: probed.map((h) => h.hostname), safe, tasks: probed.reduce((a, h) => a + h.tasks, 0), make_before_break: [...mbb].sort(), reasons };
}

export function listSafe(
  view: DrainView,
  inventory: readonly InventoryHost[],
  now: number,
  sel: { racks?: readonly string[]; group_by?: 'host' | 'rack' } = {},
  options: Partial<DrainOptions> = {},
): SafeList {
  const opts = { ...DEFAULT_DRAIN_OPTIONS, ...options };
  const group_by = sel.group_by ?? 'host';
  const racks = sel.racks?.length ? new Set(sel.racks) : undefined;
  const hosts = [...inventory].filter((h) => !racks || (h.rack !== undefined && racks.has(h.rack))).sort((a, b) => (hostKey(a.hostname) < hostKey(b.hostname) ? -1 : 1));
  const entries: SafeEntry[] = [];
  // A name the master reports that is no valid host name (a hostile or broken agent) cannot be
  // drained through Sluice: it is listed as not safe instead of failing the whole list.
  const invalid = new Set(hosts.filter((h) => !HOSTNAME_RE.test(h.hostname)).map((h) => h.hostname));
  const unusable = (name: string): string => `${JSON.stringify(name.slice(0, 100))} is not a valid host name: Sluice cannot drain it`;
  if (group_by === 'host') {
    for (const name of invalid) entries.push({ name, hosts: [name], safe: false, tasks: 0, make_before_break: [], reasons: [unusable(name)] });
    const valid = hosts.filter((h) => !invalid.has(h.hostname));
    for (let i = 0; i < valid.length; i += 5000) {
      const chunk = valid.slice(i, i + 5000);
      const p = slaProbe(chunk.map((h) => h.hostname), view, inventory, now, opts);
      for (const h of p.hosts) entries.push(judge(h.hostname, [h], view, true));
    }
  } else {
    const byRack = new Map<string, InventoryHost[]>();
    for (const h of hosts) {
      const r = h.rack ?? '(no rack)';
      const l = byRack.get(r) ?? [];
      l.push(h);
      byRack.set(r, l);
    }
    for (const [rack, list] of [...byRack].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const bad = list.filter((h) => invalid.has(h.hostname));
      const good = list.filter((h) => !invalid.has(h.hostname)).map((h) => h.hostname);
      const e = judge(rack, good.length ? slaProbe(good, view, inventory, now, opts).hosts : [], view, false);
      entries.push(bad.length ? { ...e, hosts: [...e.hosts, ...bad.map((h) => h.hostname)], safe: false, reasons: [...e.reasons, ...bad.map((h) => unusable(h.hostname))] } : e);
    }
  }
  const claim = group_by === 'host'
    ? 'each host listed is safe to drain alone, now (one at a time: not all of them at once)'
    : 'each rack listed is safe to drain whole (all its hosts together), alone, now (one rack at a time)';
  return { at_ms: now, group_by, claim, safe: entries.filter((e) => e.safe).map((e) => e.name), entries };
}

