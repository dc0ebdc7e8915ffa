/**
 * Pure edits of the master's maintenance Schedule (mesos.v1.maintenance.Schedule, Mesos object
 * form: bigint nanoseconds) and reconciliation of Sluice's host records with it.
 *
 * The master holds ONE schedule and a POST replaces it entirely (§4.1), so Sluice always does
 * GET → edit → POST and the edits here never drop or alter anyone else's window or machine:
 * - addWindow appends a new window holding only Sluice's machines; a machine already present in
 *   someone else's window is a clear conflict (Mesos allows a machine in one window only);
 * - removeMachines takes out only the named machines, drops only windows that this removal empties,
 *   and refuses DOWN machines (Mesos requires them to stay; /machine/up removes them).
 * Machine matching follows Mesos (§4.2): hostname case-insensitive, ip exact, and presence of each
 * field must agree. A MachineID for an agent needs both hostname and ip.
 */
import type { ClusterStatus, MachineID, Schedule, Unavailability, Window } from '../../mesos/types.js';
import { durationToMs, msToTimeInfo, timeInfoToMs } from '../../mesos/types.js';
import type { HostRecord, HostTable, HostTransition, InventoryHost, MaintenanceWindow } from './host-state.js';
import { DEFAULT_LEAD_MS, canTransition, hostKey, transition } from './host-state.js';
import { ScheduleError, type HostProblem } from './errors.js';
import { enterFromUnavailability, windowFromUnavailability } from './inverse-offers.js';
import { fmtClock } from './format.js';

export function machineEquals(a: MachineID, b: MachineID): boolean {
  if ((a.hostname !== undefined) !== (b.hostname !== undefined)) return false;
  if ((a.ip !== undefined) !== (b.ip !== undefined)) return false;
  if (a.hostname !== undefined && a.hostname.toLowerCase() !== b.hostname!.toLowerCase()) return false;
  return a.ip === b.ip;
}

function machineKey(m: MachineID): string {
  return `${m.hostname === undefined ? '\0' : m.hostname.toLowerCase()}|${m.ip === undefined ? '\0' : m.ip}`;
}

export function machineText(m: MachineID): string {
  return JSON.stringify({ ...(m.hostname !== undefined ? { hostname: m.hostname } : {}), ...(m.ip !== undefined ? { ip: m.ip } : {}) });
}

/** The MachineID of a host (hostname + ip, as Mesos derives it for its agents). */
export function machineIdOf(h: { hostname: string; ip?: string }): MachineID {
  if (!h.ip) {
    throw new ScheduleError(`no ip known for host ${h.hostname}; Mesos needs hostname and ip to match its agent`, 'missing-ip', [
      { hostname: h.hostname, code: 'missing-ip', message: 'ip unknown' },
    ]);
  }
  return { hostname: h.hostname, ip: h.ip };
}

export function toUnavailability(w: MaintenanceWindow): Unavailability {
  const u: Unavailability = { start: msToTimeInfo(w.start_ms) };
  if (w.duration_ms !== undefined) u.duration = { nanoseconds: BigInt(Math.round(w.duration_ms)) * 1_000_000n };
  return u;
}

export function cloneSchedule(s: Schedule): Schedule {
  const windows = (s.windows ?? []).map((w) => {
    const out: Window = { unavailability: cloneUnavailability(w.unavailability) };
    if (w.machine_ids !== undefined) out.machine_ids = w.machine_ids.map((m) => ({ ...m }));
    return out;
  });
  return windows.length ? { windows } : {};
}

function cloneUnavailability(u: Unavailability): Unavailability {
  const out: Unavailability = { start: { nanoseconds: u.start.nanoseconds } };
  if (u.duration) out.duration = { nanoseconds: u.duration.nanoseconds };
  return out;
}

export interface MachineLocation {
  window: number;
  index: number;
  unavailability: Unavailability;
}

export function findMachine(s: Schedule, m: MachineID): MachineLocation | undefined {
  const ws = s.windows ?? [];
  for (let w = 0; w < ws.length; w++) {
    const ms = ws[w]!.machine_ids ?? [];
    for (let i = 0; i < ms.length; i++) if (machineEquals(ms[i]!, m)) return { window: w, index: i, unavailability: ws[w]!.unavailability };
  }
  return undefined;
}

function describeWindow(u: Unavailability): string {
  const w = windowFromUnavailability(u);
  const d = durationToMs(u.duration);
  return `window starting ${fmtClock(w.start_ms)}${d ? ` for ${Math.round(d / 1000)}s` : ''}`;
}

/**
 * Add a window for `machines`. Machines in `owned` (Sluice's own, e.g. re-posted after a restart)
 * are moved; any other machine already scheduled is a conflict (ScheduleError 'window-conflict').
 */
export function addWindow(s: Schedule, machines: readonly MachineID[], window: MaintenanceWindow, owned: readonly MachineID[] = []): Schedule {
  if (machines.length === 0) throw new ScheduleError('no machines for the maintenance window', 'empty-request');
  const ownedKeys = new Set(owned.map(machineKey));
  const problems: HostProblem[] = [];
  const seen = new Set<string>();
  for (const m of machines) {
    const k = machineKey(m);
    if (seen.has(k)) problems.push({ hostname: m.hostname ?? m.ip ?? '', code: 'duplicate-host', message: 'listed more than once' });
    seen.add(k);
    const loc = findMachine(s, m);
    if (loc && !ownedKeys.has(k)) {
      problems.push({
        hostname: m.hostname ?? m.ip ?? '',
        code: 'window-conflict',
        message: `already in a maintenance window posted by someone else (${describeWindow(loc.unavailability)}); a machine may be in one window only`,
      });
    }
  }
  if (problems.length) {
    throw new ScheduleError(`cannot schedule: ${problems.map((p) => `${p.hostname}: ${p.message}`).join('; ')}`, problems[0]!.code, problems);
  }
  const movedOut = removeMachinesUnchecked(s, machines.filter((m) => ownedKeys.has(machineKey(m)) && findMachine(s, m)));
  const windows = [...(movedOut.windows ?? [])];
  windows.push({ machine_ids: machines.map((m) => ({ ...m })), unavailability: toUnavailability(window) });
  return { windows };
}

function removeMachinesUnchecked(s: Schedule, machines: readonly MachineID[]): Schedule {
  if (machines.length === 0) return cloneSchedule(s);
  const keys = new Set(machines.map(machineKey));
  const windows: Window[] = [];
  for (const w of s.windows ?? []) {
    const before = w.machine_ids ?? [];
    const after = before.filter((m) => !keys.has(machineKey(m)));
    if (after.length === before.length) {
      windows.push(cloneSchedule({ windows: [w] }).windows![0]!);
      continue;
    }
    if (after.length === 0) continue; // emptied by this removal: the window was only these machines
    windows.push({ machine_ids: after.map((m) => ({ ...m })), unavailability: cloneUnavailability(w.unavailability) });
  }
  return windows.length ? { windows } : {};
}

/**
 * Remove `machines` from the schedule (abort / complete of non-DOWN hosts). Machines that are not
 * scheduled are ignored (idempotent). DOWN machines cannot be removed (use /machine/up).
 */
export function removeMachines(s: Schedule, machines: readonly MachineID[], down: readonly MachineID[] = []): Schedule {
  const downKeys = new Set(down.map(machineKey));
  const problems: HostProblem[] = [];
  for (const m of machines) {
    if (downKeys.has(machineKey(m)) && findMachine(s, m)) {
      problems.push({ hostname: m.hostname ?? '', code: 'machine-down', message: 'the machine is DOWN; it leaves the schedule through /machine/up' });
    }
  }
  if (problems.length) throw new ScheduleError(`cannot unschedule DOWN machines: ${problems.map((p) => p.hostname).join(', ')}`, 'machine-down', problems);
  return removeMachinesUnchecked(s, machines);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Mesos's validation of a posted schedule (§4.4), in the same order, with the same messages. */
export function validateSchedule(s: Schedule, down: readonly MachineID[] = []): void {
  const fail = (message: string): never => {
    throw new ScheduleError(message, 'invalid-schedule', [{ hostname: '', code: 'invalid-schedule', message }]);
  };
  const seen = new Set<string>();
  for (const w of s.windows ?? []) {
    const ms = w.machine_ids ?? [];
    if (ms.length === 0) fail('List of machines in the maintenance window is empty');
    if (w.unavailability.duration && w.unavailability.duration.nanoseconds < 0n) fail("Unavailability 'duration' is negative");
    for (const m of ms) {
      if (!m.hostname && !m.ip) fail("Both 'hostname' and 'ip' for a machine are empty");
      if (m.ip && !IPV4.test(m.ip)) fail(`Failed to parse IP '${m.ip}'`);
      const k = machineKey(m);
      if (seen.has(k)) fail(`Machine '${machineText(m)}' appears more than once in the schedule`);
      seen.add(k);
    }
  }
  for (const d of down) {
    if (!seen.has(machineKey(d))) fail(`Machine '${machineText(d)}' is deactivated and cannot be removed from the schedule`);
  }
}

/** Every scheduled machine with its window in ms. */
export function scheduledMachines(s: Schedule): Array<{ machine: MachineID; window: MaintenanceWindow }> {
  const out: Array<{ machine: MachineID; window: MaintenanceWindow }> = [];
  for (const w of s.windows ?? []) {
    const win = windowFromUnavailability(w.unavailability);
    for (const m of w.machine_ids ?? []) out.push({ machine: m, window: win });
  }
  return out;
}

export type ReconcileKind =
  | 'entered-external'
  | 'window-updated'
  | 'window-removed'
  | 'observed-down'
  | 'observed-up'
  | 'adopted'
  | 'repost';

export interface ReconcileAction {
  kind: ReconcileKind;
  hostname: string;
  /** The record to write (absent for 'repost': the runtime posts the window again). */
  record?: HostRecord;
  transitions: Array<{ hostname: string } & HostTransition>;
  reason: string;
}

/**
 * Compare Sluice's records with the master's schedule and status and say what changed outside
 * Sluice: windows posted by someone else on agents we know (→ external drain), external windows
 * changed or removed, machines brought DOWN or UP by someone else, our own windows removed by
 * someone else (→ UP), our records whose window was never posted (→ repost, after a crash), and
 * our records whose window the master took just before a crash (same machine, same window →
 * adopted: the drain resumes). The caller passes only hosts with no write of its own queued, in
 * flight or completed after the schedule was read (src/maintenance/io/schedule-writer.ts).
 */
export function reconcileSchedule(
  table: HostTable,
  schedule: Schedule,
  status: ClusterStatus | undefined,
  inventory: readonly InventoryHost[],
  now: number,
  lead_ms: number = DEFAULT_LEAD_MS,
): ReconcileAction[] {
  const out: ReconcileAction[] = [];
  const sched = new Map<string, { machine: MachineID; window: MaintenanceWindow }>();
  for (const e of scheduledMachines(schedule)) sched.set(machineKey(e.machine), e);
  const downKeys = new Set((status?.down_machines ?? []).map(machineKey));
  const recordMachine = (r: { hostname: string; ip?: string }): string | undefined =>
    r.ip ? machineKey({ hostname: r.hostname, ip: r.ip }) : undefined;
  const one = (rec: HostRecord, to: HostRecord['state'], kind: ReconcileKind, reason: string): void => {
    if (!canTransition(rec.state, to)) return;
    const next = transition(rec, to, now, reason);
    out.push({ kind, hostname: rec.hostname, record: next, transitions: [{ hostname: rec.hostname, ...next.history[next.history.length - 1]! }], reason });
  };

  for (const rec of table.values()) {
    if (rec.state === 'UP') continue;
    const mk = recordMachine(rec);
    const entry = mk ? sched.get(mk) : undefined;
    const isDown = mk ? downKeys.has(mk) : false;
    if (isDown && rec.state !== 'DOWN') {
      one(rec, 'DOWN', 'observed-down', rec.down_posted_ms !== undefined ? 'machine down posted by Sluice (confirmed by the master)' : 'machine brought DOWN on the master outside Sluice');
      continue;
    }
    if (!entry && !isDown) {
      if (rec.origin === 'sluice' && rec.schedule_posted_ms === undefined) {
        out.push({ kind: 'repost', hostname: rec.hostname, transitions: [], reason: 'window not on the master yet (posting again)' });
        continue;
      }
      if (rec.state === 'DOWN') one(rec, 'UP', 'observed-up', 'machine brought up on the master outside Sluice');
      else {
        one(rec, 'UP', 'window-removed', rec.origin === 'external'
          ? 'external maintenance window removed from the master\'s schedule'
          : 'Sluice\'s maintenance window was removed from the master\'s schedule by someone else');
      }
      continue;
    }
    if (entry && rec.origin === 'sluice' && rec.schedule_posted_ms === undefined) {
      const w = rec.window;
      if (w && w.start_ms === entry.window.start_ms && w.duration_ms === entry.window.duration_ms) {
        out.push({ kind: 'adopted', hostname: rec.hostname, record: { ...rec, schedule_posted_ms: now }, transitions: [], reason: 'Sluice\'s window found on the master (taken just before a restart): the drain resumes' });
      }
      continue;
    }
    if (entry && rec.origin === 'external') {
      const w = rec.window;
      if (!w || w.start_ms !== entry.window.start_ms || w.duration_ms !== entry.window.duration_ms) {
        const record: HostRecord = { ...rec, window: { ...entry.window } };
        out.push({ kind: 'window-updated', hostname: rec.hostname, record, transitions: [], reason: `external window changed to ${fmtClock(entry.window.start_ms)}` });
      }
    }
  }
  // Windows on agents we know but hold no record for (or hold UP).
  for (const agent of inventory) {
    const key = hostKey(agent.hostname);
    const rec = table.get(key);
    if (rec && rec.state !== 'UP') continue;
    if (!agent.ip) continue;
    const entry = sched.get(machineKey({ hostname: agent.hostname, ip: agent.ip }));
    if (!entry) continue;
    const r = enterFromUnavailability(rec, agent, entry.window, now, lead_ms);
    if (r.changed === 'entered') {
      out.push({ kind: 'entered-external', hostname: r.record.hostname, record: r.record, transitions: r.transitions, reason: r.transitions[0]?.reason ?? '' });
    }
  }
  return out;
}

/** For tests and the API: the window of a machine in a schedule, in ms. */
export function windowOf(s: Schedule, m: MachineID): MaintenanceWindow | undefined {
  const loc = findMachine(s, m);
  return loc ? windowFromUnavailability(loc.unavailability) : undefined;
}

/** The unavailability start in ms (helper for callers holding Mesos objects). */
export function unavailabilityStartMs(u: Unavailability): number {
  return timeInfoToMs(u.start);
}
