/**
 * What the operator API reads of host maintenance (pure): the hosts (`host query`), the operator
 * requests, the SLA probe and the safe list, and the host gauges for /metrics. The API calls these
 * through the runtime's `read`, on the state exactly as the last durable write left it (never on a
 * decision not yet on disk).
 */
import { drainAgentView } from './drain-agent.js';
import { hostKey, scheduledReason, withClusterPause, type HostRecord, type HostState, type PauseMark } from './host-state.js';
import { hostProgress } from './drainer.js';
import type { HostProgress } from './drain-types.js';
import { cleanText, hostView, tasksPerHost } from './host-view.js';
import { listSafe, type SafeList } from './list-safe.js';
import { budgetEntry, probeText, ruledJob, slaProbe, type ProbeJob } from './probe.js';
import type { DrainView } from './drain-types.js';
import { rowsByJob, type SlaInstance } from '../../sla/index.js';
import type { Selection } from './select.js';
import { drainOptions, drainView, inventory } from './loop-drain.js';
import { busy } from './loop-step.js';
import { othersGate } from './others.js';
import type { MaintenanceState, SchedulerView } from './loop-state.js';
import type { MasterAgent } from './master.js';

/** A pause mark as the API shows it (reason cleaned of secrets). */
function pauseView(m: PauseMark | undefined, secrets: readonly string[]): PauseMark | undefined {
  if (!m) return undefined;
  return { actor: m.actor, at_ms: m.at_ms, ...(m.reason !== undefined ? { reason: cleanText(m.reason, secrets) } : {}) };
}

/** The cluster-wide controls: pause --all, the DRAINING cap and how many hosts drain now. */
export function controlView(s: MaintenanceState): { paused_all: PauseMark | null; max_draining_hosts: number | null; draining_hosts: number; paused_hosts: number } {
  let draining = 0;
  let paused = 0;
  for (const r of s.records.values()) {
    if (r.state === 'DRAINING') draining++;
    if (r.paused && r.state !== 'UP' && r.state !== 'DOWN') paused++;
  }
  return { paused_all: pauseView(s.pausedAll, s.config.secrets) ?? null, max_draining_hosts: s.config.drain?.max_draining_hosts ?? null, draining_hosts: draining, paused_hosts: paused };
}

/** GET /api/v1/hosts: every host record (optionally of some states) with its drain progress. */
export function hostsView(s: MaintenanceState, sched: SchedulerView, now: number, states: readonly HostState[] | undefined): { now_ms: number; hosts: Array<Record<string, unknown>> } & ReturnType<typeof controlView> {
  const recs = [...s.records.values()].filter((r) => !states || states.includes(r.state));
  const active: HostRecord[] = withClusterPause([...s.records.values()].filter((r) => r.state !== 'UP'), s.pausedAll);
  const progress = new Map<string, HostProgress>();
  const view = active.length ? drainView(s, sched, active, now) : undefined;
  if (view) for (const p of hostProgress(view, now, drainOptions(s))) progress.set(hostKey(p.hostname), p);
  const budgets = view ? blockingBudgets(view, progress, now, s.config.secrets) : new Map<string, ProbeJob[]>();
  const onHost = tasksPerHost(sched);
  const lead = { lead_ms: s.config.leadMs, ...(s.config.drain?.max_draining_hosts !== undefined ? { max_draining: s.config.drain.max_draining_hosts } : {}) };
  const hosts = recs
    .sort((a, b) => a.hostname.localeCompare(b.hostname))
    .map((r) => {
      const k = hostKey(r.hostname);
      const eff = s.pausedAll && !r.paused ? { ...r, paused: s.pausedAll } : r;
      const waiting = r.state === 'SCHEDULED' ? scheduledReason(eff, s.records.values(), now, lead) : undefined;
      const others = s.others.get(k);
      const othersWaiting = others && r.state === 'DRAINED' && r.origin === 'sluice' && r.down_posted_ms === undefined ? othersGate(r, others, s.config.others, now) : undefined;
      const v = hostView(r, { progress: progress.get(k), tasks_left: onHost.get(k) ?? 0, busy: busy(s, k), waiting, secrets: s.config.secrets, now, ...(others ? { others } : {}), ...(othersWaiting && othersWaiting.verdict !== 'clear' ? { othersWaiting: othersWaiting.reason } : {}) });
      const b = budgets.get(k);
      if (b) v['budgets'] = b;
      const paused = pauseView(r.paused, s.config.secrets);
      if (paused) v['paused'] = paused;
      const drain = drainAgentView(s, k, r);
      if (drain) v['drain_agent'] = drain;
      if (drain && drain['step'] !== 'done' && drain['step'] !== 'reactivate') v['waiting'] = `agent drain (others_at_deadline=drain_agent): step ${String(drain['step'])}`;
      return v;
    });
  return { now_ms: now, ...controlView(s), hosts };
}

/**
 * Per host with SLA blockers: the budget of each job blocking it (`explainBudget`: the budget, what
 * consumes it — drain, update, failure, unhealthy… — and when it refills), under the policy its
 * rows there answer to (guardrails, and the host's `--override-sla`). One explanation per job and
 * override, shared by the hosts it blocks.
 */
function blockingBudgets(view: DrainView, progress: ReadonlyMap<string, HostProgress>, now: number, secrets: readonly string[]): Map<string, ProbeJob[]> {
  const out = new Map<string, ProbeJob[]>();
  let byJob: Map<string, SlaInstance[]> | undefined;
  let own: Map<string, DrainView['jobs'][number]> | undefined;
  const memo = new Map<string, ProbeJob>();
  for (const [k, p] of progress) {
    const names = [...new Set(p.blockers.map((b) => b.job).filter((j): j is string => j !== undefined))].sort();
    if (!names.length) continue;
    byJob ??= rowsByJob(view.instances);
    own ??= new Map(view.jobs.map((j) => [j.name, j]));
    const ov = view.overrides?.get(k);
    const list: ProbeJob[] = [];
    for (const name of names) {
      const j = own.get(name);
      if (!j) continue;
      const id = ov ? `${name}\u0000${ov.text}\u0000${ov.reason}` : name;
      let e = memo.get(id);
      if (!e) {
        e = budgetEntry(ruledJob(j, view.guardrails, ov), byJob.get(name) ?? [], now, true);
        e.sla = cleanText(e.sla, secrets); // an override's reason is operator text
        memo.set(id, e);
      }
      list.push(e);
    }
    if (list.length) out.set(k, list);
  }
  return out;
}

export interface RequestView {
  request_id: string;
  actor?: string;
  reason?: string;
  hosts: Array<{ hostname: string; state: HostState; paused?: boolean }>;
  /** Hosts per state. */
  states: Partial<Record<HostState, number>>;
  /** The request's write to the master is still pending. */
  pending: boolean;
  /** Hosts of the request paused (host maintenance pause), and whether all its hosts in maintenance are. */
  paused_hosts: number;
  paused: boolean;
  /** The options in force (max_parallel, timeout: editable in flight). */
  max_parallel: number | null;
  timeout_ms: number | null;
}

/** The operator requests behind the hosts in maintenance (and those that ended), newest hosts first. */
export function requestsView(s: MaintenanceState): RequestView[] {
  const byId = new Map<string, RequestView>();
  for (const r of s.records.values()) {
    if (r.request_id === undefined) continue;
    let v = byId.get(r.request_id);
    if (!v) {
      v = { request_id: r.request_id, hosts: [], states: {}, pending: false, paused_hosts: 0, paused: false, max_parallel: r.options.max_parallel ?? null, timeout_ms: r.options.timeout_ms ?? null };
      if (r.actor !== undefined) v.actor = r.actor;
      if (r.reason !== undefined) v.reason = cleanText(r.reason, s.config.secrets);
      byId.set(r.request_id, v);
    }
    v.hosts.push({ hostname: r.hostname, state: r.state, ...(r.paused ? { paused: true } : {}) });
    v.states[r.state] = (v.states[r.state] ?? 0) + 1;
    if (r.paused && r.state !== 'UP' && r.state !== 'DOWN') v.paused_hosts++;
  }
  for (const v of byId.values()) {
    const inMaint = v.hosts.filter((h) => h.state !== 'UP' && h.state !== 'DOWN').length;
    v.paused = s.pausedAll !== undefined ? inMaint > 0 : inMaint > 0 && v.paused_hosts === inMaint;
  }
  for (const e of s.pending.values()) {
    const v = e.op.request_id !== undefined ? byId.get(e.op.request_id) : undefined;
    if (v) v.pending = true;
  }
  return [...byId.values()].sort((a, b) => (a.request_id < b.request_id ? -1 : 1));
}

/** POST /api/v1/sla/probe: could these hosts be drained now, and why not. */
export function probeView(s: MaintenanceState, sched: SchedulerView, now: number, hosts: readonly string[], selection: Selection | undefined): Record<string, unknown> {
  const r = slaProbe(hosts, drainView(s, sched, undefined, now), inventory(s, sched), now, drainOptions(s));
  for (const j of r.jobs) j.sla = cleanText(j.sla, s.config.secrets); // an override's reason is operator text
  return { ...r, text: probeText(r), ...(selection ? { selection } : {}) };
}

/** GET /api/v1/sla/safe: hosts (racks) safe to drain alone now, among the agents the master reports. */
export function safeView(s: MaintenanceState, sched: SchedulerView, now: number, agents: readonly MasterAgent[], q: { racks?: string[]; group_by: 'host' | 'rack' }): SafeList {
  const known = new Set(agents.map((a) => hostKey(a.hostname)));
  const inv = inventory(s, sched).filter((h) => known.has(hostKey(h.hostname)));
  return listSafe(drainView(s, sched), inv, now, q, drainOptions(s));
}

export interface HostGauge {
  hostname: string;
  state: HostState;
  tasks_left: number;
  draining_seconds: number;
  drain_timeout_seconds: number;
  paused: boolean;
}

/** Host gauges for /metrics (sluice_hosts, sluice_drain_*). */
export function hostGauges(s: MaintenanceState, sched: SchedulerView, now: number): HostGauge[] {
  const onHost = tasksPerHost(sched);
  return [...s.records.values()].map((r) => ({
    hostname: r.hostname,
    state: r.state,
    tasks_left: onHost.get(hostKey(r.hostname)) ?? 0,
    draining_seconds: r.state === 'DRAINING' && r.drain_started_ms !== undefined ? Math.max(0, (now - r.drain_started_ms) / 1000) : 0,
    drain_timeout_seconds: r.options.timeout_ms !== undefined ? r.options.timeout_ms / 1000 : 0,
    paused: r.state !== 'UP' && r.state !== 'DOWN' && (r.paused !== undefined || s.pausedAll !== undefined),
  }));
}
