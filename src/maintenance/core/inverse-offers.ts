/**
 * Inverse offers and announced unavailability (pure decisions).
 *
 * Policy for answering an inverse offer (contract §2.3, §2.7, §5.12–13):
 * - ACCEPT as soon as none of our tasks remains on the agent (host DRAINED or DOWN, or simply
 *   empty). Never while a task of ours is there — not even one being killed.
 * - DECLINE, logging the reason, when emptying the agent before the window's start is impossible:
 *   the start is still ahead and the drain estimate ends after it, or can never end (e.g. a 100%
 *   SLA and no room for make-before-break). The estimate (core/drain-estimate.ts) follows the same
 *   voluntary-kill invariant as the kills themselves (src/sla/kill.ts): a young instance of a job
 *   below its SLA leaves only once the job is back at its SLA or its replacement counts as up, so an
 *   agent whose instances age, or whose replacements would count as up, only after the window
 *   start is declined.
 *   Declines use a short filter (decline_refuse_seconds, default 60 s) so that a fresh inverse offer
 *   comes back soon and we can ACCEPT once the agent is empty.
 * - Otherwise HOLD: leave the inverse offer unanswered. Reasoning: Mesos keeps one outstanding
 *   inverse offer per (agent, framework) and holding it blocks nothing (responses are only hints;
 *   nothing in Mesos acts on them). Answering DECLINE "not yet" would tell the operator, through
 *   /maintenance/status, that we cannot meet the window, which is false. Worse, inverse offers go
 *   only to frameworks with resources on the agent: once our last task is gone we would receive no
 *   fresh inverse offer to ACCEPT. Holding the outstanding one lets us ACCEPT the moment the agent
 *   empties. If the master rescinds it (any schedule POST does), a new one arrives promptly.
 * - Once the window has started, declining says nothing useful (the question was "can you vacate
 *   before the start?"), so we HOLD and keep draining as fast as the SLAs allow, then ACCEPT.
 *
 * Announced unavailability (offers carrying `unavailability`, or an INVERSE_OFFER) for a host that
 * Sluice does not hold in maintenance puts it into Sluice's drain flow with origin 'external':
 * SCHEDULED when the window starts beyond the lead time (no new placement there, tasks stay),
 * DRAINING otherwise — the same rule as for windows Sluice posts itself. A changed window on an
 * external host is followed; a window on a host Sluice holds is left to Sluice's own record.
 */
import type { HostRecord, HostTransition, InventoryHost, MaintenanceWindow } from './host-state.js';
import { DEFAULT_LEAD_MS, DEFAULT_OPTIONS, hostKey, transition } from './host-state.js';
import { fmtClock, fmtDuration } from './format.js';
import type { Unavailability } from '../../mesos/types.js';
import { durationToMs, timeInfoToMs } from '../../mesos/types.js';

export type InverseOfferDecision =
  | { action: 'accept'; refuse_seconds: number; reason: string }
  | { action: 'decline'; refuse_seconds: number; reason: string }
  | { action: 'hold'; reason: string };

export interface InverseOfferOptions {
  accept_refuse_seconds: number;
  decline_refuse_seconds: number;
}

export const DEFAULT_INVERSE_OFFER_OPTIONS: InverseOfferOptions = {
  accept_refuse_seconds: 60,
  decline_refuse_seconds: 60,
};

export interface InverseOfferContext {
  /** Our live tasks on the agent (including tasks being killed). */
  tasks_on_agent: number;
  /** Sluice's record for the host, if any. */
  host?: HostRecord;
  /** Estimated time the agent can be empty (absolute ms; Infinity = not under the SLAs). */
  estimated_empty_ms?: number;
}

export function windowFromUnavailability(u: Unavailability): MaintenanceWindow {
  const w: MaintenanceWindow = { start_ms: timeInfoToMs(u.start) };
  const d = durationToMs(u.duration);
  if (d !== undefined && d > 0) w.duration_ms = d;
  return w;
}

/** Decide how to answer one inverse offer for an agent. */
export function decideInverseOffer(
  window: MaintenanceWindow,
  ctx: InverseOfferContext,
  now: number,
  options: Partial<InverseOfferOptions> = {},
): InverseOfferDecision {
  const o = { ...DEFAULT_INVERSE_OFFER_OPTIONS, ...options };
  const n = ctx.tasks_on_agent;
  if (n === 0) {
    return { action: 'accept', refuse_seconds: o.accept_refuse_seconds, reason: 'no task of ours left on the agent' };
  }
  const est = ctx.estimated_empty_ms;
  if (window.start_ms > now && est !== undefined && est > window.start_ms) {
    const why = Number.isFinite(est)
      ? `the SLAs let us empty it by ${fmtClock(est)} at the earliest (+${fmtDuration(est - now)})`
      : 'the SLAs do not allow emptying it at all without spare capacity for replacements';
    return {
      action: 'decline',
      refuse_seconds: o.decline_refuse_seconds,
      reason: `${n} task(s) of ours remain and the window starts ${fmtClock(window.start_ms)}; ${why}`,
    };
  }
  const state = ctx.host?.state ?? 'UP';
  return {
    action: 'hold',
    reason:
      `${n} task(s) of ours remain (host ${state}); holding the inverse offer until the agent is empty` +
      (window.start_ms <= now ? ' (window already started)' : est !== undefined ? `, expected by ${fmtClock(est)}` : ''),
  };
}

export interface EnterResult {
  record: HostRecord;
  transitions: Array<{ hostname: string } & HostTransition>;
  changed: 'entered' | 'window-updated' | 'none';
}

/**
 * A host shows announced unavailability (offer.unavailability or an inverse offer). Returns the
 * record to write: a new external record (SCHEDULED or DRAINING), an updated window for an
 * external record, or `changed: 'none'` when Sluice already holds the host with this window.
 */
export function enterFromUnavailability(
  existing: HostRecord | undefined,
  agent: InventoryHost,
  window: MaintenanceWindow,
  now: number,
  lead_ms: number = DEFAULT_LEAD_MS,
): EnterResult {
  const same = (w?: MaintenanceWindow): boolean => !!w && w.start_ms === window.start_ms && w.duration_ms === window.duration_ms;
  if (existing && existing.state !== 'UP') {
    if (existing.origin === 'external' && !same(existing.window)) {
      const record: HostRecord = { ...existing, window: { ...window } };
      return { record, transitions: [], changed: 'window-updated' };
    }
    return { record: existing, transitions: [], changed: 'none' };
  }
  const base: HostRecord = {
    hostname: existing?.hostname ?? agent.hostname,
    state: 'UP',
    window: { ...window },
    origin: 'external',
    group: agent.hostname,
    group_order: 0,
    order: 0,
    options: { ...DEFAULT_OPTIONS },
    since_ms: now,
    history: existing ? [...existing.history] : [],
  };
  const ip = agent.ip ?? existing?.ip;
  const agentId = agent.agent_id ?? existing?.agent_id;
  const rack = agent.rack ?? existing?.rack;
  if (ip !== undefined) base.ip = ip;
  if (agentId !== undefined) base.agent_id = agentId;
  if (rack !== undefined) base.rack = rack;
  const far = window.start_ms - now > lead_ms;
  const what = `maintenance window posted to the master outside Sluice: ${fmtClock(window.start_ms)}${window.duration_ms !== undefined ? ` for ${fmtDuration(window.duration_ms)}` : ''}`;
  const record = transition(base, far ? 'SCHEDULED' : 'DRAINING', now, far ? `${what}; drain begins ${fmtClock(window.start_ms - lead_ms)}` : what);
  return {
    record,
    transitions: [{ hostname: record.hostname, ...record.history[record.history.length - 1]! }],
    changed: 'entered',
  };
}

/** Does this record belong to the agent/hostname (case-insensitive hostname match)? */
export function sameHost(rec: HostRecord, hostname: string): boolean {
  return hostKey(rec.hostname) === hostKey(hostname);
}

export interface DownContext {
  /** The master's recorded inverse-offer answers for the host's agent(s) (/maintenance/status). */
  statuses?: ReadonlyArray<{ status: 'UNKNOWN' | 'ACCEPT' | 'DECLINE'; framework_id: { value: string } }>;
  /**
   * Frameworks holding resources (tasks or offers) on the agent, from the master's state.
   * Unknown (undefined): only the window start can trigger the machine down.
   */
  frameworks_on_agent?: readonly string[];
}

export interface DownDecision {
  down: boolean;
  reason: string;
}

/**
 * Should Sluice post /machine/down for this host now? Only for maintenance Sluice started
 * (origin 'sluice'), once our tasks are gone (DRAINED), and only once every framework with
 * resources on the agent has ACCEPTed the inverse offer, or the window has started.
 * A DECLINE before the start means "cannot vacate before the start", so Sluice does not take the
 * machine down early over it; at the window start the machine goes down regardless (this is what
 * the operator scheduled). Mesos itself never downs a machine (§5.13), so this is the only trigger.
 */
export function downDecision(rec: HostRecord, ctx: DownContext, now: number): DownDecision {
  if (rec.origin !== 'sluice') return { down: false, reason: 'window posted outside Sluice: its owner brings the machine down' };
  if (rec.state !== 'DRAINED') return { down: false, reason: `host is ${rec.state}` };
  if (rec.down_posted_ms !== undefined) return { down: false, reason: `machine down already posted at ${fmtClock(rec.down_posted_ms)}` };
  const start = rec.window?.start_ms ?? rec.since_ms;
  if (now >= start) return { down: true, reason: `drained and the window started at ${fmtClock(start)}` };
  if (ctx.frameworks_on_agent === undefined) {
    return { down: false, reason: `drained; waiting for the window start ${fmtClock(start)} (framework answers unknown)` };
  }
  const answers = new Map<string, string>();
  for (const s of ctx.statuses ?? []) answers.set(s.framework_id.value, s.status);
  const missing = ctx.frameworks_on_agent.filter((f) => answers.get(f) !== 'ACCEPT');
  if (missing.length === 0) return { down: true, reason: 'drained and every framework on the agent accepted the inverse offer' };
  const declined = missing.filter((f) => answers.get(f) === 'DECLINE');
  return {
    down: false,
    reason:
      `drained; waiting for the window start ${fmtClock(start)}: ` +
      (declined.length ? `${declined.length} framework(s) declined (${declined.join(', ')})` : '') +
      (declined.length && missing.length > declined.length ? ', ' : '') +
      (missing.length > declined.length ? `${missing.length - declined.length} framework(s) have not answered` : ''),
  };
}
