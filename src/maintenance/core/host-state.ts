/**
 * Host maintenance state machine (pure). One record per host that is or was in maintenance.
 *
 *   UP ──start (future window)──▶ SCHEDULED ──admitted (window near, slot free)──▶ DRAINING
 *   UP ──start (window now, slot free)──────────────────────────────────────────▶ DRAINING
 *   DRAINING ──no task of ours left──▶ DRAINED ──machine down posted──▶ DOWN ──complete──▶ UP
 *   SCHEDULED | DRAINING | DRAINED ──abort / window removed──▶ UP
 *   DRAINED ──a task of ours shows up again──▶ DRAINING (a slot free) | SCHEDULED (queued: see admit)
 *   SCHEDULED | DRAINING ──machine observed DOWN (someone else posted /machine/down)──▶ DOWN
 *
 * Everything else (UP→DOWN, UP→DRAINED, DOWN→DRAINING, X→X, ...) raises IllegalTransitionError.
 * Mesos itself refuses UP→DOWN (§4.1), so Sluice does too.
 *
 * Placement: any host not UP is blocked for new tasks (SCHEDULED exists precisely so that tasks do
 * not leapfrog onto hosts about to be drained).
 *
 * Groups and --max-parallel (documented policy):
 * - A start request's hosts are ordered by group (rack, in the order the operator's list first
 *   mentions each rack; or each host its own group) and then by the operator's order.
 * - `max_parallel` bounds the number of the request's hosts that are DRAINING at once. DRAINED and
 *   DOWN hosts hold no slot: they are empty, there is no drain work left on them.
 * - group_by 'host': hosts are admitted one by one, in order, while a slot is free.
 * - group_by 'rack': a rack is admitted as a unit — all its remaining hosts at once when they fit
 *   in the free slots; a rack larger than max_parallel goes max_parallel hosts at a time. Racks are
 *   admitted strictly in order (a big rack is never starved by smaller ones behind it), so racks go
 *   out one after another while still overlapping at the boundary as slots free up.
 * - Without max_parallel every host drains at once; the SLA budgets alone pace the drain (this is
 *   what minimises the makespan, see scripts/bench/drain.ts).
 * - A host whose window is further away than the lead time stays SCHEDULED; it is admitted once
 *   `now ≥ window.start − max(lead, estimated drain time)`.
 */
import { MaintenanceError, IllegalTransitionError, MaintenanceRequestError, type HostProblem } from './errors.js';
import { fmtClock, fmtDuration, suggest } from './format.js';
import { parseOverride, type SlaOverride } from '../../sla/validate.js';

export const HOST_STATES = ['UP', 'SCHEDULED', 'DRAINING', 'DRAINED', 'DOWN'] as const;
export type HostState = (typeof HOST_STATES)[number];
export type Origin = 'sluice' | 'external';
export type GroupBy = 'rack' | 'host';

/** A maintenance window as Sluice keeps it (ms since epoch; no duration = open-ended). */
export interface MaintenanceWindow {
  start_ms: number;
  duration_ms?: number;
}

/** What the operator asked for in `host maintenance start` (kept on every host of the request). */
export interface MaintenanceOptions {
  group_by: GroupBy;
  /** At most this many hosts of the request DRAINING at a time; absent = unlimited. */
  max_parallel?: number;
  /** Drain timeout, measured from the moment the host starts DRAINING. */
  timeout_ms?: number;
  /** After the timeout, kill whatever is left regardless of SLAs. Needs timeout_ms. */
  force: boolean;
  /** Command run (by the runtime, with a timeout) once the host is DOWN. */
  post_drain?: string;
  /**
   * `--override-sla 80%/10m --reason …`: the SLAs the drain of this request's hosts honours are
   * lowered to this (never raised; src/sla/guardrails.ts applyOverride), for these hosts only.
   */
  sla_override?: SlaOverride;
}

export interface HostTransition {
  from: HostState;
  to: HostState;
  at_ms: number;
  reason: string;
}

export interface HostRecord {
  hostname: string;
  ip?: string;
  agent_id?: string;
  rack?: string;
  state: HostState;
  window?: MaintenanceWindow;
  origin: Origin;
  /** The start request that put the host in maintenance (absent for external windows). */
  request_id?: string;
  /** Group key: the rack (group_by rack) or the hostname. */
  group: string;
  /** Admission order of the group within the request, then of the host within the request. */
  group_order: number;
  order: number;
  options: MaintenanceOptions;
  /** Time of the last transition. */
  since_ms: number;
  /** When the host first entered DRAINING in this maintenance (the timeout counts from here). */
  drain_started_ms?: number;
  /** When the drain timeout passed (set once, by the runtime, from DrainPlan.timeouts). */
  timed_out_ms?: number;
  /**
   * Sluice-origin hosts: when the master accepted the schedule carrying this host's window. The
   * runtime persists the record first (write-ahead), posts, then sets this; a record without it
   * after a restart means "post again", a record with it whose machine is missing from the
   * master's schedule means "someone removed our window".
   */
  schedule_posted_ms?: number;
  /** When Sluice posted /machine/down for it (Sluice-origin hosts). */
  down_posted_ms?: number;
  /**
   * Post-drain command outcome, once run (output redacted and bounded). `interrupted`: Sluice
   * stopped while the hook ran; it is not run again automatically (src/maintenance/core/pending.ts).
   */
  post_drain_result?: { exit_code: number | null; signal?: string; timed_out: boolean; at_ms: number; output_tail?: string; interrupted?: boolean };
  /** Who put the host in maintenance (operator name, "token", "local") and why (Sluice-origin hosts). */
  actor?: string;
  reason?: string;
  /**
   * Paused by an operator (`host maintenance pause`): no new kill, surge, admission or machine down
   * for this host until `resume`; kills already requested finish, answered inverse offers stand.
   */
  paused?: PauseMark;
  /** others_at_deadline=drain_agent: the master accepted DRAIN_AGENT for the agent (REACTIVATE_AGENT once UP again; core/drain-agent.ts). */
  agent_drained?: AgentDrainedMark;
  /**
   * The drain timeout does not count while the host is paused (its own pause or `pause --all`):
   * `paused_from_ms` is the start of the pause in force now, `paused_ms` the paused time already
   * over since the drain started. Both persisted; see drainDeadline.
   */
  paused_from_ms?: number;
  paused_ms?: number;
  /**
   * Other frameworks on the host as last seen (their answers and when Sluice first held machine
   * down back for them), persisted so a restart neither audits their answers again nor loses when
   * the wait began (core/others.ts; the deadline itself is window start + others_deadline).
   */
  others_seen?: OthersSeen;
  /** The last `complete` / `abort` of this host: who, why, when. */
  ended?: { verb: 'complete' | 'abort'; actor: string; reason?: string; at_ms: number };
  /** Most recent transitions, oldest first (capped at HISTORY_LIMIT). */
  history: HostTransition[];
}

export type HostTable = ReadonlyMap<string, HostRecord>;

/** Marked on a host record once the master accepted DRAIN_AGENT (REACTIVATE_AGENT when the host is UP again). */
export interface AgentDrainedMark {
  agent_id: string;
  at_ms: number;
  /** The flow gave up (`error`): never started again for this maintenance. */
  failed?: string;
  /** The master never accepted DRAIN_AGENT (gave up before): no REACTIVATE_AGENT. */
  never?: boolean;
}


/** What Sluice keeps across restarts of the other frameworks on a host (bounded like OthersOnHost). */
export interface OthersSeen {
  /** framework id → its last inverse-offer answer recorded in the audit trail. */
  answers: Record<string, string>;
  /** When machine down was first held back for them (DRAINED, window posted). */
  waiting_since_ms?: number;
  /** When the others deadline was seen passed while waiting (warned once). */
  warned_ms?: number;
}

/** Who paused (a host, or every drain: `maintenance pause --all`), why and when. */
export interface PauseMark {
  actor: string;
  reason?: string;
  at_ms: number;
}

/** The records as the planner must see them: under a cluster-wide pause every host is paused. */
export function withClusterPause(records: HostRecord[], all: PauseMark | undefined): HostRecord[] {
  return all ? records.map((r) => (r.paused ? r : { ...r, paused: all })) : records;
}

export const HISTORY_LIMIT = 100;
export const DEFAULT_OPTIONS: MaintenanceOptions = { group_by: 'host', force: false };

/** Mesos hostnames compare case-insensitively (§4.2); tables are keyed by the lower-cased name. */
export function hostKey(hostname: string): string {
  return hostname.toLowerCase();
}

const ALLOWED: Readonly<Record<HostState, readonly HostState[]>> = {
  UP: ['SCHEDULED', 'DRAINING'],
  SCHEDULED: ['DRAINING', 'UP', 'DOWN'],
  DRAINING: ['DRAINED', 'UP', 'DOWN'],
  DRAINED: ['DRAINING', 'SCHEDULED', 'DOWN', 'UP'],
  DOWN: ['UP'],
};

export function canTransition(from: HostState, to: HostState): boolean {
  return ALLOWED[from].includes(to);
}

/** States in which no new task may be placed on the host. */
export function isBlocked(state: HostState): boolean {
  return state !== 'UP';
}

/** Hostnames (as recorded) on which the workload must not place new tasks. */
export function blockedHosts(table: Iterable<HostRecord>): Set<string> {
  const out = new Set<string>();
  for (const r of table) if (isBlocked(r.state)) out.add(r.hostname);
  return out;
}

/** Apply one transition; returns a new record (records are treated as immutable values). */
export function transition(rec: HostRecord, to: HostState, at_ms: number, reason: string): HostRecord {
  if (!canTransition(rec.state, to)) throw new IllegalTransitionError(rec.hostname, rec.state, to, reason);
  const history = [...rec.history, { from: rec.state, to, at_ms, reason }];
  if (history.length > HISTORY_LIMIT) history.splice(0, history.length - HISTORY_LIMIT);
  const next: HostRecord = { ...rec, state: to, since_ms: at_ms, history };
  if (to === 'DRAINING' && rec.drain_started_ms === undefined) next.drain_started_ms = at_ms;
  if (to === 'UP') {
    delete next.paused_ms;
    delete next.paused_from_ms;
    delete next.others_seen;
    delete next.drain_started_ms;
    delete next.timed_out_ms;
    delete next.schedule_posted_ms;
    delete next.down_posted_ms;
  }
  return next;
}

/** Paused time counted against the drain timeout up to `now` (only time since the drain started counts). */
export function pausedTime(rec: HostRecord, now: number): number {
  // a damaged store entry (not a finite number) counts as no pause
  const fin = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  let t = fin(rec.paused_ms) && rec.paused_ms > 0 ? rec.paused_ms : 0;
  if (fin(rec.paused_from_ms) && fin(rec.drain_started_ms)) t += Math.max(0, now - Math.max(rec.paused_from_ms, rec.drain_started_ms));
  return t;
}

/**
 * When the drain timeout of the host passes: drain start + timeout + time paused since (a paused
 * host's deadline moves on with the clock). undefined: no timeout, or not draining yet.
 */
export function drainDeadline(rec: HostRecord, now: number): number | undefined {
  if (rec.options.timeout_ms === undefined || rec.drain_started_ms === undefined) return undefined;
  return rec.drain_started_ms + rec.options.timeout_ms + pausedTime(rec, now);
}

/**
 * The record with its pause clock started (`paused` true) or stopped at `now`; paused means its own
 * pause mark or `pause --all`. The same record when nothing changes.
 */
export function withPauseClock(rec: HostRecord, paused: boolean, now: number): HostRecord {
  if (paused === (rec.paused_from_ms !== undefined)) return rec;
  const next: HostRecord = { ...rec };
  if (paused) next.paused_from_ms = now;
  else {
    const t = pausedTime(rec, now);
    if (t > 0) next.paused_ms = t;
    delete next.paused_from_ms;
  }
  return next;
}

/** Structured log event for a transition (field names per the logger conventions). */
export function transitionLogFields(rec: HostRecord, t: HostTransition): Record<string, unknown> {
  return {
    event: 'host_state',
    host: rec.hostname,
    agent_id: rec.agent_id,
    rack: rec.rack,
    state_from: t.from,
    state_to: t.to,
    reason: t.reason,
    origin: rec.origin,
    request_id: rec.request_id,
    window_start_ms: rec.window?.start_ms,
    window_duration_ms: rec.window?.duration_ms,
    at_ms: t.at_ms,
  };
}

// ---------------------------------------------------------------------------------------------
// Operator requests (pure reducers: they validate and return the records to write; the runtime
// talks to the master first and commits the records only once the master accepted the change).
// ---------------------------------------------------------------------------------------------

/** An agent Sluice knows about (from offers / master state). */
export interface InventoryHost {
  hostname: string;
  ip?: string;
  agent_id?: string;
  rack?: string;
}

export interface StartRequest {
  hosts: readonly string[];
  /** Window start (default: now) and duration (default: open-ended). */
  window?: { start_ms?: number; duration_ms?: number };
  group_by?: GroupBy;
  max_parallel?: number;
  timeout_ms?: number;
  force?: boolean;
  post_drain?: string;
  dry_run?: boolean;
  /** Lowered SLAs for this request's hosts (parsed by src/sla/validate.ts parseOverride; has its reason). */
  override_sla?: SlaOverride;
}

export interface StartResult {
  request_id: string;
  window: MaintenanceWindow;
  options: MaintenanceOptions;
  /** New records, after initial admission (the runtime persists them and posts the window). */
  records: HostRecord[];
  /** Transitions made, in order, for logging. */
  transitions: Array<{ hostname: string } & HostTransition>;
}

export interface LeadOptions {
  /** Hosts whose window starts within this time are drained; further ones stay SCHEDULED. */
  lead_ms: number;
  /** Per host (hostKey) estimated drain time; admission starts early enough for it. */
  estimates_ms?: ReadonlyMap<string, number>;
  /**
   * Cluster-wide cap on hosts DRAINING at once, across all requests (setting max_draining_hosts):
   * Sluice-origin hosts beyond it stay SCHEDULED (queued, oldest request first). External hosts are
   * counted but never held back (their owner scheduled them).
   */
  max_draining?: number;
  /** `maintenance pause --all` in force: no host of Sluice's is admitted. */
  paused_all?: boolean;
}

export const DEFAULT_LEAD_MS = 3_600_000;

/** Host names as Mesos agents report them: letters, digits, '.', '_', '-'; at most 253 characters. */
export const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$/;

const DAY_MS = 86_400_000;

/**
 * Bounds of operator maintenance requests (documented in the README's maintenance section). Every
 * time Sluice posts must fit Mesos's int64 nanoseconds (until year 2262) with a wide margin.
 */
export const MAINTENANCE_LIMITS = {
  /** Hosts in one request (start, complete, abort, probe). */
  maxHosts: 10_000,
  maxHostnameLength: 253,
  /** A window may start at most this far in the future. */
  maxStartAheadMs: 365 * DAY_MS,
  /** A window start this far in the past is still taken as "now" (clock skew between machines). */
  pastToleranceMs: 5 * 60_000,
  /** Window durations: more than 0, at most a year. */
  maxWindowDurationMs: 365 * DAY_MS,
  /** Drain timeout: more than 0, at most 30 days. */
  maxTimeoutMs: 30 * DAY_MS,
  maxPostDrainBytes: 4096,
  /** The operator's `reason` of a start / complete / abort (recorded on the hosts and in the audit trail). */
  maxReasonBytes: 1024,
} as const;

/** A problem of one field of a request (`path` like `window.start`, `hosts[2]`). */
export interface FieldMessage {
  path: string;
  message: string;
}

/**
 * Checks a window against the bounds above: start a finite time, not before now minus the tolerance
 * and at most maxStartAheadMs ahead; duration more than 0 and at most maxWindowDurationMs; the
 * window must not have ended already. Pure; `now` is the scheduler's clock.
 */
export function windowProblems(w: { start_ms?: number; duration_ms?: number }, now: number): FieldMessage[] {
  const out: FieldMessage[] = [];
  const L = MAINTENANCE_LIMITS;
  const start = w.start_ms ?? now;
  let startOk = false;
  if (typeof start !== 'number' || !Number.isFinite(start)) out.push({ path: 'window.start', message: 'must be a valid time' });
  else if (start < now - L.pastToleranceMs) {
    out.push({ path: 'window.start', message: `${describeTime(start)} is in the past (now is ${describeTime(now)}); a window may start at the earliest now` });
  } else if (start > now + L.maxStartAheadMs) {
    out.push({ path: 'window.start', message: `${describeTime(start)} is more than ${L.maxStartAheadMs / DAY_MS} days ahead (now is ${describeTime(now)})` });
  } else startOk = true;
  const d = w.duration_ms;
  if (d !== undefined) {
    if (typeof d !== 'number' || !Number.isFinite(d) || !(d > 0)) out.push({ path: 'window.duration', message: 'must be a positive duration' });
    else if (d > L.maxWindowDurationMs) out.push({ path: 'window.duration', message: `${fmtDuration(d)} is longer than the maximum of ${L.maxWindowDurationMs / DAY_MS} days` });
    else if (startOk && start + d <= now) {
      out.push({ path: 'window.duration', message: `the window ${describeTime(start)} for ${fmtDuration(d)} has already ended (now is ${describeTime(now)})` });
    }
  }
  return out;
}

function describeTime(ms: number): string {
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : `${ms} ms since the epoch`;
}

/** Validate and build the records of `host maintenance start`. Throws MaintenanceRequestError. */
export function startMaintenance(
  table: HostTable,
  req: StartRequest,
  inventory: readonly InventoryHost[],
  now: number,
  request_id: string,
  lead: LeadOptions = { lead_ms: DEFAULT_LEAD_MS },
): StartResult {
  const problems: HostProblem[] = [];
  const options = validateOptions(req, problems);
  const window: MaintenanceWindow = { start_ms: req.window?.start_ms ?? now };
  if (req.window?.duration_ms !== undefined) window.duration_ms = req.window.duration_ms;
  for (const p of windowProblems(window, now)) problems.push({ ...opt(`${p.path}: ${p.message}`), path: p.path });
  const hosts = resolveHosts(req.hosts, inventory, problems, true);
  for (const h of hosts) {
    const existing = table.get(hostKey(h.hostname));
    if (existing && existing.state !== 'UP') {
      problems.push({
        hostname: h.hostname,
        code: 'already-in-maintenance',
        message:
          `already in maintenance: ${existing.state} since ${fmtClock(existing.since_ms)}` +
          (existing.origin === 'external'
            ? ' (window posted to the master outside Sluice)'
            : ` (request ${existing.request_id ?? '?'})`),
      });
    }
  }
  if (problems.length) throw new MaintenanceRequestError('host maintenance start', problems);

  // Groups in the order the operator's list first mentions them.
  const groupOrder = new Map<string, number>();
  const records: HostRecord[] = [];
  const transitions: StartResult['transitions'] = [];
  hosts.forEach((h, i) => {
    const group = options.group_by === 'rack' ? (h.rack ?? 'no-rack') : h.hostname;
    if (!groupOrder.has(group)) groupOrder.set(group, groupOrder.size);
    const prev = table.get(hostKey(h.hostname));
    const rec: HostRecord = {
      hostname: h.hostname,
      state: 'UP',
      window: { ...window },
      origin: 'sluice',
      request_id,
      group,
      group_order: groupOrder.get(group)!,
      order: i,
      options: { ...options },
      since_ms: now,
      history: prev ? [...prev.history] : [],
    };
    if (h.ip !== undefined) rec.ip = h.ip;
    if (h.agent_id !== undefined) rec.agent_id = h.agent_id;
    if (h.rack !== undefined) rec.rack = h.rack;
    const reason =
      window.start_ms > now
        ? `maintenance requested (${request_id}), window starts ${fmtClock(window.start_ms)}`
        : `maintenance requested (${request_id})`;
    const scheduled = transition(rec, 'SCHEDULED', now, reason);
    transitions.push({ hostname: h.hostname, ...scheduled.history[scheduled.history.length - 1]! });
    records.push(scheduled);
  });

  // Initial admission, with the existing records of other requests irrelevant (slots are per request).
  const byKey = new Map(records.map((r) => [hostKey(r.hostname), r]));
  // other requests' DRAINING hosts count against the cluster cap (max_draining)
  const others = lead.max_draining === undefined ? [] : [...table.values()].filter((r) => r.state === 'DRAINING' && !byKey.has(hostKey(r.hostname)));
  for (const a of admit([...records, ...others], now, lead).admit) {
    const key = hostKey(a.hostname);
    if (!byKey.has(key)) continue;
    const next = transition(byKey.get(key)!, 'DRAINING', now, a.reason);
    byKey.set(key, next);
    transitions.push({ hostname: a.hostname, ...next.history[next.history.length - 1]! });
  }
  return { request_id, window, options, records: records.map((r) => byKey.get(hostKey(r.hostname))!), transitions };
}

function opt(message: string): HostProblem {
  return { hostname: '', code: 'invalid-option', message };
}

/**
 * Options of a start request. The API checks the same fields with paths first
 * (request-validate.ts); this is the core's own guard for every other caller.
 */
function validateOptions(req: StartRequest, problems: HostProblem[]): MaintenanceOptions {
  const L = MAINTENANCE_LIMITS;
  const o: MaintenanceOptions = { group_by: req.group_by ?? 'host', force: req.force === true };
  const bad = (path: string, message: string) => problems.push({ ...opt(message), path });
  if (o.group_by !== 'rack' && o.group_by !== 'host') bad('group_by', `--group-by must be rack or host, not '${String(o.group_by).slice(0, 40)}'`);
  if (req.max_parallel !== undefined) {
    if (!Number.isInteger(req.max_parallel) || req.max_parallel < 1 || req.max_parallel > L.maxHosts) {
      bad('max_parallel', `--max-parallel must be a whole number from 1 to ${L.maxHosts}, not ${String(req.max_parallel).slice(0, 40)}`);
    } else o.max_parallel = req.max_parallel;
  }
  if (req.timeout_ms !== undefined) {
    if (typeof req.timeout_ms !== 'number' || !(req.timeout_ms > 0) || req.timeout_ms > L.maxTimeoutMs) {
      bad('timeout', `--timeout must be a positive duration of at most ${L.maxTimeoutMs / DAY_MS} days`);
    } else o.timeout_ms = req.timeout_ms;
  }
  if (req.force !== undefined && typeof req.force !== 'boolean') bad('force', '--force must be true or false');
  if (req.dry_run !== undefined && typeof req.dry_run !== 'boolean') bad('dry_run', '--dry-run must be true or false');
  if (o.force && req.timeout_ms === undefined) {
    bad('force', '--force needs --timeout (force kills what is left once the drain timeout has passed)');
  }
  if (req.post_drain !== undefined) {
    const cmd = req.post_drain;
    if (typeof cmd !== 'string' || cmd.trim() === '') bad('post_drain', '--post-drain needs a command');
    else if (cmd.includes('\0')) bad('post_drain', '--post-drain must not contain NUL characters');
    else if (utf8Length(cmd) > L.maxPostDrainBytes) bad('post_drain', `--post-drain must be at most ${L.maxPostDrainBytes} bytes`);
    else o.post_drain = cmd;
  }
  if (req.override_sla !== undefined) {
    const ov = parseOverride(req.override_sla?.text, req.override_sla?.reason);
    if (!ov.ok) for (const e of ov.errors) bad(e.path, `--override-sla: ${e.message}`);
    else o.sla_override = ov.value;
  }
  return o;
}

/** UTF-8 byte length (pure: no Buffer). */
export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/**
 * Map operator host names onto the inventory (case-insensitive). Reports empty lists, malformed
 * names, duplicates, unknown hosts (with suggestions) and, when `needIp`, hosts whose ip is unknown
 * (a Mesos MachineID needs hostname AND ip to match an agent, §4.2).
 */
export function resolveHosts(
  names: readonly string[],
  inventory: readonly InventoryHost[],
  problems: HostProblem[],
  needIp: boolean,
): InventoryHost[] {
  if (!Array.isArray(names) || names.length === 0) {
    problems.push({ hostname: '', code: 'empty-request', message: 'no hosts given' });
    return [];
  }
  const inv = new Map<string, InventoryHost>();
  for (const h of inventory) inv.set(hostKey(h.hostname), h);
  if (names.length > MAINTENANCE_LIMITS.maxHosts) {
    problems.push({ hostname: '', code: 'invalid-option', path: 'hosts', message: `at most ${MAINTENANCE_LIMITS.maxHosts} hosts per request, got ${names.length}` });
    return [];
  }
  const seen = new Map<string, number>();
  const out: InventoryHost[] = [];
  names.forEach((raw, i) => {
    const path = `hosts[${i}]`;
    const name = typeof raw === 'string' ? raw.trim() : '';
    if (!HOSTNAME_RE.test(name)) {
      const shown = shortText(String(raw));
      problems.push({ hostname: shown, code: 'invalid-host-name', path, message: `'${shown}' is not a valid host name (letters, digits, '.', '_', '-'; at most 253)` });
      return;
    }
    const key = hostKey(name);
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ hostname: name, code: 'duplicate-host', path, message: `listed more than once (also hosts[${first}])` });
      return;
    }
    seen.set(key, i);
    const h = inv.get(key);
    if (!h) {
      const near = suggest(name, inv.size <= 100_000 ? [...inv.values()].map((x) => x.hostname) : []);
      problems.push({
        hostname: name,
        code: 'unknown-host',
        path,
        message: `unknown host (no agent with this hostname)${near.length ? `; did you mean ${near.join(', ')}?` : ''}`,
      });
      return;
    }
    if (needIp && !h.ip) {
      problems.push({
        hostname: h.hostname,
        code: 'missing-ip',
        path,
        message: 'the ip of its agent is not known yet (learned from offers); Mesos needs hostname and ip to match the machine',
      });
      return;
    }
    out.push(h);
  });
  return out;
}

/** An operator's text shortened for echoing in an error (at most 80 characters). */
export function shortText(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export interface EndResult {
  records: HostRecord[];
  transitions: Array<{ hostname: string } & HostTransition>;
  /** Hosts to bring up on the master (POST /master/machine/up): they are DOWN. */
  machines_up: HostRecord[];
  /** Hosts to take out of the master's schedule (they are not DOWN). */
  machines_unscheduled: HostRecord[];
}

/** `host maintenance complete`: DRAINED or DOWN hosts go back UP. */
export function completeMaintenance(table: HostTable, hosts: readonly string[], now: number): EndResult {
  return endMaintenance('host maintenance complete', table, hosts, now, (rec) => {
    if (rec.state === 'SCHEDULED' || rec.state === 'DRAINING') {
      return `drain still in progress (${rec.state}); use 'host maintenance abort' to stop it`;
    }
    return undefined;
  }, 'maintenance complete');
}

/** `host maintenance abort`: SCHEDULED, DRAINING or DRAINED hosts go back UP. */
export function abortMaintenance(table: HostTable, hosts: readonly string[], now: number): EndResult {
  return endMaintenance('host maintenance abort', table, hosts, now, (rec) => {
    if (rec.state === 'DOWN') return "the machine is DOWN; use 'host maintenance complete' to bring it up";
    return undefined;
  }, 'maintenance aborted');
}

function endMaintenance(
  verb: string,
  table: HostTable,
  hosts: readonly string[],
  now: number,
  refuse: (rec: HostRecord) => string | undefined,
  reason: string,
): EndResult {
  const problems: HostProblem[] = [];
  const inventory = [...table.values()].map((r) => ({ hostname: r.hostname, ip: r.ip }));
  const resolved = resolveHosts(hosts, inventory, problems, false);
  // resolveHosts reports names absent from the table as unknown; restate that for this verb.
  for (const p of problems) {
    if (p.code === 'unknown-host') {
      p.code = 'not-in-maintenance';
      p.message = `not in maintenance${p.message.includes('did you mean') ? p.message.slice(p.message.indexOf(';')) : ''}`;
    }
  }
  const targets: HostRecord[] = [];
  for (const h of resolved) {
    const rec = table.get(hostKey(h.hostname))!;
    if (rec.state === 'UP') {
      problems.push({ hostname: rec.hostname, code: 'not-in-maintenance', message: 'not in maintenance (UP)' });
      continue;
    }
    if (rec.origin === 'external') {
      problems.push({
        hostname: rec.hostname,
        code: 'external-window',
        message:
          'its window was posted to the master outside Sluice; Sluice never alters others\' windows — ' +
          'the host returns to UP when its owner removes the window or brings the machine up',
      });
      continue;
    }
    const why = refuse(rec);
    if (why) {
      problems.push({ hostname: rec.hostname, code: 'wrong-state', message: why });
      continue;
    }
    targets.push(rec);
  }
  if (problems.length) throw new MaintenanceRequestError(verb, problems);
  const out: EndResult = { records: [], transitions: [], machines_up: [], machines_unscheduled: [] };
  for (const rec of targets) {
    if (rec.state === 'DOWN') out.machines_up.push(rec);
    else out.machines_unscheduled.push(rec);
    const next = transition(rec, 'UP', now, reason);
    out.records.push(next);
    out.transitions.push({ hostname: rec.hostname, ...next.history[next.history.length - 1]! });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Admission: SCHEDULED → DRAINING
// ---------------------------------------------------------------------------------------------

export interface Admission {
  hostname: string;
  reason: string;
  /** DRAINED: a drained host going back to draining (tasks of ours showed up again); else SCHEDULED. */
  from?: HostState;
}

/** Time from which the host may be admitted (window start minus the lead / drain estimate). */
export function admissionTime(rec: HostRecord, lead: LeadOptions): number {
  const start = rec.window?.start_ms ?? rec.since_ms;
  const est = lead.estimates_ms?.get(hostKey(rec.hostname)) ?? 0;
  return start - Math.max(lead.lead_ms, Number.isFinite(est) ? est : lead.lead_ms);
}

/**
 * Which SCHEDULED hosts start DRAINING now (see the module comment for the group and
 * max_parallel policy). External hosts are not rate-limited: their owner scheduled them.
 */
export function admissions(records: Iterable<HostRecord>, now: number, lead: LeadOptions): Admission[] {
  return admit(records, now, lead).admit;
}

export interface AdmissionDecision {
  /** Hosts that go DRAINING now (from SCHEDULED, or from DRAINED when re-entering). */
  admit: Admission[];
  /** Re-entering DRAINED hosts with no slot free (or paused): they go SCHEDULED, queued. */
  queue: Admission[];
}

/**
 * THE admission decision: every way a host of Sluice's goes DRAINING passes here, so the request's
 * `max_parallel`, the cluster cap `max_draining_hosts` and pauses (a host's own, `pause --all`)
 * hold on all of them — the first admission of a start request (startMaintenance), the planner's
 * admissions on every plan (so after a resume, an edit raising max_parallel, a restart), and a
 * DRAINED host on which tasks of ours show up again (`reentry`: hostKey → why). A re-entering host
 * goes first within its request (it was admitted before); with no slot free it is queued SCHEDULED
 * (blocked for placement, nothing killed, no machine down) until one is. External hosts are counted
 * but never held back (their owner scheduled them; Mesos takes them down at their window).
 */
export function admit(records: Iterable<HostRecord>, now: number, lead: LeadOptions, reentry: ReadonlyMap<string, string> = new Map()): AdmissionDecision {
  const byRequest = new Map<string, HostRecord[]>();
  const out: Admission[] = [];
  const queue: Admission[] = [];
  const cap = lead.max_draining ?? Infinity;
  const paused = (r: HostRecord): boolean => r.paused !== undefined || lead.paused_all === true;
  const back = (r: HostRecord): string | undefined => (r.state === 'DRAINED' ? reentry.get(hostKey(r.hostname)) : undefined);
  let draining = 0;
  for (const r of records) {
    if (r.state === 'DRAINING') draining++;
    const again = back(r);
    if (r.state !== 'SCHEDULED' && r.state !== 'DRAINING' && again === undefined) continue;
    if (r.request_id === undefined || r.origin === 'external') {
      if (again !== undefined) out.push({ hostname: r.hostname, reason: again, from: 'DRAINED' });
      else if (r.state === 'SCHEDULED' && r.paused === undefined && admissionTime(r, lead) <= now) {
        out.push({ hostname: r.hostname, reason: windowReason(r) });
      }
      continue;
    }
    let list = byRequest.get(r.request_id);
    if (!list) byRequest.set(r.request_id, (list = []));
    list.push(r);
  }
  draining += out.length;
  // oldest request first: the cluster cap serves requests in the order they were made
  const requests = [...byRequest.entries()].sort(([a, la], [b, lb]) => requestStart(la) - requestStart(lb) || (a < b ? -1 : a > b ? 1 : 0));
  for (const [, list] of requests) {
    const options = list[0]!.options;
    const limit = options.max_parallel ?? Infinity;
    let active = list.filter((r) => r.state === 'DRAINING').length;
    const order = (a: HostRecord, b: HostRecord) => a.group_order - b.group_order || a.order - b.order;
    const take = (r: HostRecord, why: string, from?: HostState): void => {
      active++;
      draining++;
      out.push({ hostname: r.hostname, reason: `${why}${slotText(active, limit)}${capText(draining, cap)}`, ...(from ? { from } : {}) });
    };
    for (const r of list.filter((x) => back(x) !== undefined).sort(order)) {
      const why = back(r)!;
      if (paused(r)) queue.push({ hostname: r.hostname, reason: `${why}; queued: paused` });
      else if (active >= limit) queue.push({ hostname: r.hostname, reason: `${why}; queued: ${active} of max ${limit} hosts of the request draining` });
      else if (draining >= cap) queue.push({ hostname: r.hostname, reason: `${why}; queued: ${draining} of max ${cap} hosts draining cluster-wide (max_draining_hosts)` });
      else take(r, why, 'DRAINED');
    }
    const waiting = list.filter((r) => r.state === 'SCHEDULED' && !paused(r) && admissionTime(r, lead) <= now).sort(order);
    if (options.group_by === 'rack') {
      const groups: HostRecord[][] = [];
      for (const r of waiting) {
        const last = groups[groups.length - 1];
        if (last && last[0]!.group_order === r.group_order) last.push(r);
        else groups.push([r]);
      }
      for (const g of groups) {
        const need = Math.min(g.length, limit);
        if (limit - active < need) break;
        // the cluster cap may split a rack (it never lets the cluster exceed it)
        const fit = Math.min(need, Math.max(0, cap - draining));
        for (const r of g.slice(0, fit)) take(r, `${windowReason(r)}; group ${r.group}`);
        if (fit < need) break;
      }
    } else {
      for (const r of waiting) {
        if (active >= limit || draining >= cap) break;
        take(r, windowReason(r));
      }
    }
  }
  return { admit: out, queue };
}

/** When a request was made (its hosts' first transition). */
function requestStart(list: readonly HostRecord[]): number {
  let t = Infinity;
  for (const r of list) {
    let at = r.since_ms;
    for (let i = r.history.length - 1; i >= 0; i--) {
      if (r.history[i]!.from === 'UP') {
        at = r.history[i]!.at_ms;
        break;
      }
    }
    t = Math.min(t, at);
  }
  return t;
}

function capText(draining: number, cap: number): string {
  return Number.isFinite(cap) ? `; cluster ${draining} of max ${cap} draining` : '';
}

function slotText(active: number, limit: number): string {
  return Number.isFinite(limit) ? `; slot ${active} of ${limit}` : '';
}

function windowReason(r: HostRecord): string {
  const w = r.window;
  if (!w) return 'drain started';
  return `window ${fmtClock(w.start_ms)}${w.duration_ms !== undefined ? ` for ${fmtDuration(w.duration_ms)}` : ''}`;
}

/** Why a SCHEDULED host is not draining yet (for `host query`). */
export function scheduledReason(rec: HostRecord, all: Iterable<HostRecord>, now: number, lead: LeadOptions): string {
  if (rec.paused) return `paused by ${rec.paused.actor}${rec.paused.reason !== undefined ? ` (${rec.paused.reason})` : ''}`;
  const at = admissionTime(rec, lead);
  if (at > now) return `window starts ${fmtClock(rec.window?.start_ms ?? at)}; drain begins at ${fmtClock(at)}`;
  const limit = rec.options.max_parallel;
  let active = 0;
  let cluster = 0;
  for (const r of all) {
    if (r.state !== 'DRAINING') continue;
    cluster++;
    if (r.request_id === rec.request_id) active++;
  }
  if (limit !== undefined && active >= limit) {
    return `queued: ${active} of max ${limit} hosts of request ${rec.request_id ?? '?'} draining` +
      (rec.options.group_by === 'rack' ? ` (rack ${rec.group} waits its turn)` : '');
  }
  if (lead.max_draining !== undefined && cluster >= lead.max_draining) {
    return `queued: ${cluster} of max ${lead.max_draining} hosts draining cluster-wide (max_draining_hosts)`;
  }
  if (limit !== undefined) {
    return `queued: ${active} of max ${limit} hosts of request ${rec.request_id ?? '?'} draining` +
      (rec.options.group_by === 'rack' ? ` (rack ${rec.group} waits its turn)` : '');
  }
  return 'waiting for admission';
}

/** Assert a record is self-consistent (used by tests and the store loader). */
export function checkRecord(rec: HostRecord): void {
  if (!HOST_STATES.includes(rec.state)) throw new MaintenanceError(`host ${rec.hostname}: unknown state ${String(rec.state)}`, 'invalid-option');
  if (rec.options.force && rec.options.timeout_ms === undefined) {
    throw new MaintenanceError(`host ${rec.hostname}: force without timeout`, 'invalid-option');
  }
  const ov = rec.options.sla_override;
  if (ov !== undefined && !parseOverride((ov as Partial<SlaOverride> | null)?.text, (ov as Partial<SlaOverride> | null)?.reason).ok) {
    throw new MaintenanceError(`host ${rec.hostname}: invalid sla_override`, 'invalid-option');
  }
}
