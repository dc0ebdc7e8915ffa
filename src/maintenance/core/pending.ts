/**
 * Pending two-phase operations (pure): Sluice's writes to the master whose outcome must survive a
 * crash. Each one is an intent record, written durably (store collection `maintenance_pending`, in
 * the same atomic batch as the host records it concerns) BEFORE the request leaves, and deleted in
 * the batch that records its outcome. The master's API has no request ids and no compare-and-swap,
 * so an intent left behind by a process that died is resolved by looking at the master:
 *
 * | intent          | crash point                        | on restart (first reconciliation)                        |
 * |-----------------|------------------------------------|----------------------------------------------------------|
 * | schedule-add    | before / during / after the POST   | machine in the schedule with exactly the intended window |
 * |                 |                                    | → Sluice's own: adopted, the drain resumes; absent →     |
 * |                 |                                    | posted again; in another window → not ours, host UP      |
 * | schedule-remove | before / after the POST or the up  | window gone (machine up) → host UP as asked; still there |
 * |                 |                                    | → host stays in maintenance, logged (re-issue the verb)  |
 * | machine-down    | before / after POST /machine/down  | machine DOWN → host DOWN "posted by Sluice" and its      |
 * |                 |                                    | post_drain runs once; not down → the down check retries  |
 * | post-drain      | while the hook runs                | NOT run again: `post_drain_result.interrupted` (at start)|
 * | drain-agent     | between any two of its steps       | resumed at start (core/drain-agent.ts): its current step |
 * |                 |                                    | is run again (every step is idempotent with the master)  |
 *
 * A running process keeps the ids of the intents it owns (they are "live"); only the others are
 * orphans of a previous process. Nothing here does I/O.
 */
import type { ClusterStatus, MachineID, Schedule } from '../../mesos/types.js';
import type { HostRecord, HostTable, HostTransition, MaintenanceWindow } from './host-state.js';
import { canTransition, transition } from './host-state.js';
import { findMachine, machineEquals, windowOf } from './schedule.js';
import type { DrainAgentIntent } from './drain-agent-types.js';

export const PENDING_COLLECTION = 'maintenance_pending';

interface PendingBase {
  /** Unique id (also the store key). */
  id: string;
  /** Host keys (lower-cased host names) the operation concerns. */
  hosts: string[];
  created_ms: number;
  /** The operator request it belongs to, when there is one. */
  request_id?: string;
}

export type PendingOp =
  | (PendingBase & { kind: 'schedule-add'; window: MaintenanceWindow })
  | (PendingBase & { kind: 'schedule-remove'; verb: 'complete' | 'abort' })
  | (PendingBase & { kind: 'machine-down' })
  | (PendingBase & { kind: 'post-drain'; command: string })
  | (PendingBase & DrainAgentIntent);

/** What the master holds, as read by one reconciliation. */
export interface MasterView {
  schedule: Schedule;
  status: ClusterStatus;
}

export interface PendingResolution {
  /** Records to write (with the transitions to log). */
  records: Array<{ record: HostRecord; transitions: HostTransition[] }>;
  /** Host keys whose window must be posted again (the master never took it). */
  repost: string[];
  logs: Array<{ level: 'info' | 'warn'; event: string; fields: Record<string, unknown> }>;
}

function machineOf(rec: HostRecord): MachineID | undefined {
  return rec.ip ? { hostname: rec.hostname, ip: rec.ip } : undefined;
}

function sameWindow(a: MaintenanceWindow | undefined, b: MaintenanceWindow): boolean {
  return !!a && a.start_ms === b.start_ms && a.duration_ms === b.duration_ms;
}

function move(rec: HostRecord, to: HostRecord['state'], now: number, reason: string, patch: Partial<HostRecord> = {}): { record: HostRecord; transitions: HostTransition[] } {
  const next = { ...transition(rec, to, now, reason), ...patch };
  return { record: next, transitions: [next.history[next.history.length - 1]!] };
}

/**
 * Resolves one orphaned intent against the master's schedule and status. The intent itself is
 * always deleted by the caller afterwards (in the same batch as the records returned).
 */
export function resolvePending(op: PendingOp, table: HostTable, master: MasterView, now: number): PendingResolution {
  const out: PendingResolution = { records: [], repost: [], logs: [] };
  const down = master.status.down_machines ?? [];
  for (const key of op.hosts) {
    const rec = table.get(key);
    const m = rec ? machineOf(rec) : undefined;
    if (!rec || !m) continue;
    const base = { host: rec.hostname, agent_id: rec.agent_id, request_id: op.request_id ?? rec.request_id, pending_op: op.id };
    const isDown = down.some((d) => machineEquals(d, m));
    switch (op.kind) {
      case 'schedule-add': {
        if (rec.state === 'UP' || rec.origin !== 'sluice' || rec.request_id !== op.request_id || rec.schedule_posted_ms !== undefined) break;
        const onMaster = windowOf(master.schedule, m);
        if (sameWindow(onMaster, op.window)) {
          out.records.push({ record: { ...rec, schedule_posted_ms: now }, transitions: [] });
          out.logs.push({ level: 'info', event: 'maintenance_window_adopted', fields: { ...base, reason: 'the master took this window before Sluice stopped; recognised as Sluice\'s own, the drain resumes' } });
        } else if (onMaster || isDown) {
          out.records.push(move(rec, 'UP', now, 'the master holds another window for this machine (not Sluice\'s); Sluice\'s request was never confirmed'));
        } else {
          out.repost.push(key);
          out.logs.push({ level: 'info', event: 'maintenance_window_not_taken', fields: { ...base, reason: 'Sluice stopped before the master took the window; posting it again' } });
        }
        break;
      }
      case 'schedule-remove': {
        if (rec.state === 'UP' || rec.origin !== 'sluice') break;
        const gone = !findMachine(master.schedule, m) && !isDown;
        if (gone && canTransition(rec.state, 'UP')) {
          out.records.push(move(rec, 'UP', now, op.verb === 'complete' ? 'maintenance complete (confirmed by the master after a restart)' : 'maintenance aborted (confirmed by the master after a restart)'));
        } else {
          out.logs.push({ level: 'warn', event: 'maintenance_end_interrupted', fields: { ...base, reason: `Sluice stopped before the master took the ${op.verb}; the host stays ${rec.state} — issue 'host maintenance ${op.verb}' again` } });
        }
        break;
      }
      case 'machine-down': {
        if (!isDown) {
          out.logs.push({ level: 'info', event: 'machine_down_not_taken', fields: { ...base, reason: 'Sluice stopped before the master took machine down; the down check runs again' } });
          break;
        }
        if (rec.state === 'DOWN') {
          if (rec.down_posted_ms === undefined) out.records.push({ record: { ...rec, down_posted_ms: now }, transitions: [] });
        } else if (canTransition(rec.state, 'DOWN')) {
          out.records.push(move(rec, 'DOWN', now, 'machine down posted by Sluice before a restart (confirmed by the master)', { down_posted_ms: now }));
        }
        break;
      }
      case 'post-drain':
        // handled at start-up (interruptedPostDrain): it needs no answer from the master
        break;
      case 'drain-agent':
        // never an orphan: resumed at start-up (core/drain-agent.ts resumeDrainAgents)
        break;
    }
  }
  return out;
}

/**
 * A post_drain hook that was running when the process died: it is NOT run again (a shell command
 * with side effects may not be idempotent). The host shows `post_drain_result.interrupted`.
 */
export function interruptedPostDrain(op: PendingOp, table: HostTable, now: number): HostRecord[] {
  if (op.kind !== 'post-drain') return [];
  const out: HostRecord[] = [];
  for (const key of op.hosts) {
    const rec = table.get(key);
    if (!rec || rec.post_drain_result) continue;
    out.push({
      ...rec,
      post_drain_result: {
        exit_code: null,
        timed_out: false,
        interrupted: true,
        at_ms: now,
        output_tail: 'interrupted: Sluice stopped while the hook ran; it is not run again automatically (run it by hand if needed)',
      },
    });
  }
  return out;
}
