/**
 * One host as GET /api/v1/hosts (and `sluice host query`) shows it. Whatever came from an operator's
 * hook (its command and its output) leaves Sluice masked: configured secret values and
 * credential-looking text (src/util/redact.ts).
 */
import { maskSecrets, redactText } from '../../util/redact.js';
import type { HostProgress } from './drainer.js';
import type { SchedulerState } from '../../scheduler/state.js';
import type { HostRecord, MaintenanceOptions } from './host-state.js';
import { drainDeadline, hostKey, pausedTime } from './host-state.js';
import type { OthersOnHost } from './others.js';

export interface HostViewContext {
  progress: HostProgress | undefined;
  tasks_left: number;
  /** An operation of Sluice on the host is pending with the master. */
  busy: boolean;
  /** Why a SCHEDULED host waits. */
  waiting: string | undefined;
  secrets: readonly string[];
  /** Other frameworks on the host as last read from the master (DRAINING / DRAINED hosts). */
  others?: OthersOnHost;
  /** Why a machine down waits for them (DRAINED hosts of Sluice's). */
  othersWaiting?: string;
  /** The time of the read (drain deadline and remaining timeout); without it they are left out. */
  now?: number;
}

export function cleanText(text: string, secrets: readonly string[]): string {
  return redactText(maskSecrets(text, secrets));
}

/** One word for the operator: where the host's post_drain hook stands. */
/** The request's options as shown: the hook command and the override's reason with secrets masked. */
function viewOptions(o: MaintenanceOptions, secrets: readonly string[]): MaintenanceOptions {
  const out: MaintenanceOptions = o.post_drain ? { ...o, post_drain: cleanText(o.post_drain, secrets) } : { ...o };
  if (o.sla_override) out.sla_override = { ...o.sla_override, reason: cleanText(o.sla_override.reason, secrets) };
  return out;
}

export function postDrainStatus(r: HostRecord): string | undefined {
  if (!r.options.post_drain) return undefined;
  const res = r.post_drain_result;
  if (!res) return r.state === 'DOWN' && r.down_posted_ms !== undefined ? 'running' : 'pending';
  if (res.interrupted) return 'interrupted';
  if (res.timed_out) return 'timed out';
  return res.exit_code === 0 ? 'succeeded' : `failed (exit ${res.exit_code ?? res.signal ?? '?'})`;
}

export function hostView(r: HostRecord, c: HostViewContext): Record<string, unknown> {
  const p = c.progress;
  const shown = viewOptions(r.options, c.secrets);
  const out: Record<string, unknown> = {
    hostname: r.hostname,
    state: r.state,
    origin: r.origin,
    request_id: r.request_id,
    agent_id: r.agent_id,
    ip: r.ip,
    rack: r.rack,
    group: r.group,
    since_ms: r.since_ms,
    window: r.window ? { start_ms: r.window.start_ms, start: new Date(r.window.start_ms).toISOString(), duration_ms: r.window.duration_ms } : undefined,
    tasks_left: c.tasks_left,
    killing: p?.killing ?? 0,
    replacing: p?.replacing ?? 0,
    blockers: p?.blockers ?? [],
    estimated_empty_ms: p?.estimated_empty_ms !== undefined && Number.isFinite(p.estimated_empty_ms) ? p.estimated_empty_ms : undefined,
    drain_started_ms: r.drain_started_ms,
    timed_out: r.timed_out_ms !== undefined,
    options: shown,
    sla_override: shown.sla_override,
    down_posted_ms: r.down_posted_ms,
    post_drain: postDrainStatus(r),
    post_drain_result: r.post_drain_result && { ...r.post_drain_result, output_tail: r.post_drain_result.output_tail && cleanText(r.post_drain_result.output_tail, c.secrets) },
    actor: r.actor,
    reason: r.reason !== undefined ? cleanText(r.reason, c.secrets) : undefined,
    ended: r.ended && { ...r.ended, ...(r.ended.reason !== undefined ? { reason: cleanText(r.ended.reason, c.secrets) } : {}) },
  };
  if (c.now !== undefined && r.state !== 'UP' && r.state !== 'DOWN') Object.assign(out, timeoutView(r, c.now));
  if (c.others) out['other_frameworks'] = { read_ms: c.others.read_ms, truncated: c.others.truncated, frameworks: c.others.frameworks };
  if (r.others_seen?.waiting_since_ms !== undefined) out['others_waiting_since_ms'] = r.others_seen.waiting_since_ms;
  if (c.waiting !== undefined) out['waiting'] = c.waiting;
  else if (c.othersWaiting !== undefined) out['waiting'] = c.othersWaiting;
  if (r.origin === 'sluice' && r.schedule_posted_ms === undefined && r.state !== 'UP') {
    out['waiting'] = c.busy ? 'window being posted to the master (or confirmed with it after a restart)' : 'window not posted to the master yet';
  }
  return out;
}

/**
 * The drain timeout as of `now`: its deadline and what is left of it (paused time does not count:
 * while paused the remainder stands still), and since when the host is paused (its own pause or pause --all).
 */
export function timeoutView(r: HostRecord, now: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const deadline = drainDeadline(r, now);
  if (deadline !== undefined) {
    out['drain_deadline_ms'] = deadline;
    out['timeout_remaining_ms'] = Math.max(0, deadline - now);
  }
  if (r.paused_from_ms !== undefined) out['paused_since_ms'] = r.paused_from_ms;
  const t = pausedTime(r, now);
  if (t > 0) out['paused_ms'] = t;
  return out;
}

export function countBy(xs: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** Our non-terminal tasks per host key (instances, surges, orphans being killed). */
export function tasksPerHost(s: SchedulerState): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of s.tasks.values()) {
    if (!t.host) continue;
    const k = hostKey(t.host);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Our non-terminal tasks on an agent (by agent id or host name): what must be 0 to ACCEPT. */
export function tasksOnAgent(s: SchedulerState, agentId: string, key: string): number {
  let n = 0;
  for (const t of s.tasks.values()) if (t.agent_id === agentId || (t.host !== undefined && hostKey(t.host) === key)) n++;
  return n;
}
