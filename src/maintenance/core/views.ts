/**
 * What the operator API reads of host maintenance (pure): the hosts (`host query`), the operator
 * requests, the SLA probe and the safe list, and the host gauges for /metrics. The API calls these
 * through the runtime's `read`, on the state exactly as the last durable write left it (never on a
 * decision not yet on disk).
 */
import { hostKey, scheduledReason, type HostState } from './host-state.js';
import { hostProgress } from './drainer.js';
import type { HostProgress } from './drain-types.js';
import { cleanText, hostView, tasksPerHost } from './host-view.js';
import { listSafe, type SafeList } from './list-safe.js';
import { probeText, slaProbe } from './probe.js';
import type { Selection } from './select.js';
import { drainOptions, drainView, inventory } from './loop-drain.js';
import { busy } from './loop-step.js';
import { othersGate } from './others.js';
import type { MaintenanceState, SchedulerView } from './loop-state.js';
import type { MasterAgent } from './master.js';

/** GET /api/v1/hosts: every host record (optionally of some states) with its drain progress. */
export function hostsView(s: MaintenanceState, sched: SchedulerView, now: number, states: readonly HostState[] | undefined): { now_ms: number; hosts: Array<Record<string, unknown>> } {
  const recs = [...s.records.values()].filter((r) => !states || states.includes(r.state));
  const active = [...s.records.values()].filter((r) => r.state !== 'UP');
  const progress = new Map<string, HostProgress>();
  if (active.length) for (const p of hostProgress(drainView(s, sched, active), now, drainOptions(s))) progress.set(hostKey(p.hostname), p);
  const onHost = tasksPerHost(sched);
  const hosts = recs
    .sort((a, b) => a.hostname.localeCompare(b.hostname))
    .map((r) => {
      const k = hostKey(r.hostname);
      const waiting = r.state === 'SCHEDULED' ? scheduledReason(r, s.records.values(), now, { lead_ms: s.config.leadMs }) : undefined;
      const others = s.others.get(k);
      const othersWaiting = others && r.state === 'DRAINED' && r.origin === 'sluice' && r.down_posted_ms === undefined ? othersGate(r, others, s.config.others, now) : undefined;
      return hostView(r, { progress: progress.get(k), tasks_left: onHost.get(k) ?? 0, busy: busy(s, k), waiting, secrets: s.config.secrets, ...(others ? { others } : {}), ...(othersWaiting && othersWaiting.verdict !== 'clear' ? { othersWaiting: othersWaiting.reason } : {}) });
    });
  return { now_ms: now, hosts };
}

export interface RequestView {
  request_id: string;
  actor?: string;
  reason?: string;
  hosts: Array<{ hostname: string; state: HostState }>;
  /** Hosts per state. */
  states: Partial<Record<HostState, number>>;
  /** The request's write to the master is still pending. */
  pending: boolean;
}

/** The operator requests behind the hosts in maintenance (and those that ended), newest hosts first. */
export function requestsView(s: MaintenanceState): RequestView[] {
  const byId = new Map<string, RequestView>();
  for (const r of s.records.values()) {
    if (r.request_id === undefined) continue;
    let v = byId.get(r.request_id);
    if (!v) {
      v = { request_id: r.request_id, hosts: [], states: {}, pending: false };
      if (r.actor !== undefined) v.actor = r.actor;
      if (r.reason !== undefined) v.reason = cleanText(r.reason, s.config.secrets);
      byId.set(r.request_id, v);
    }
    v.hosts.push({ hostname: r.hostname, state: r.state });
    v.states[r.state] = (v.states[r.state] ?? 0) + 1;
  }
  for (const e of s.pending.values()) {
    const v = e.op.request_id !== undefined ? byId.get(e.op.request_id) : undefined;
    if (v) v.pending = true;
  }
  return [...byId.values()].sort((a, b) => (a.request_id < b.request_id ? -1 : 1));
}

/** POST /api/v1/sla/probe: could these hosts be drained now, and why not. */
export function probeView(s: MaintenanceState, sched: SchedulerView, now: number, hosts: readonly string[], selection: Selection | undefined): Record<string, unknown> {
  const r = slaProbe(hosts, drainView(s, sched), inventory(s, sched), now, drainOptions(s));
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
  }));
}
