/**
 * One step of the maintenance loop under construction: the state it changes and everything it asks
 * for. Every record change goes through `put` (store op + `host_transition` log and audit entry per
 * transition), every intent through `addOp` / `dropOp`, so nothing changes without being written.
 */
import type { Call } from '../../mesos/types.js';
import type { Effect, SchedulerCommand } from '../../scheduler/index.js';
import type { BatchOp } from '../../store/index.js';
import type { AuditInput } from '../../audit/types.js';
import { blockedHosts, hostKey, transition, type HostRecord, type HostState, type HostTransition, type InventoryHost } from './host-state.js';
import { PENDING_COLLECTION, type PendingOp } from './pending.js';
import { HOSTS_COLLECTION, type IoRequest, type MaintenanceState, type MaintenanceStep, type PendingEntry } from './loop-state.js';
import type { Reply } from './outcome.js';

type NewOp<K extends PendingOp['kind']> = Omit<Extract<PendingOp, { kind: K }>, 'id' | 'kind' | 'hosts' | 'created_ms'>;

export class StepBuilder {
  readonly calls: Call[] = [];
  readonly commands: SchedulerCommand[] = [];
  readonly storeOps: BatchOp[] = [];
  readonly io: IoRequest[] = [];
  readonly audit: AuditInput[] = [];
  readonly logs: Effect[] = [];
  readonly replies: Array<{ to: string; reply: Reply }> = [];

  constructor(
    readonly s: MaintenanceState,
    readonly now: number,
  ) {}

  log(level: Effect['level'], event: string, fields: Record<string, unknown>): void {
    this.logs.push({ kind: 'log', level, event, fields });
  }

  reply(to: string | undefined, reply: Reply): void {
    if (to !== undefined) this.replies.push({ to, reply });
  }

  /** Write a record (store op in this step), logging and auditing its transitions. */
  put(rec: HostRecord, transitions: ReadonlyArray<HostTransition>, extra: Record<string, unknown> = {}): void {
    const key = hostKey(rec.hostname);
    this.s.records.set(key, rec);
    this.storeOps.push({ op: 'put', collection: HOSTS_COLLECTION, key, value: rec });
    for (const t of transitions) {
      this.log('info', 'host_transition', {
        host: rec.hostname,
        agent_id: rec.agent_id,
        state_from: t.from,
        state_to: t.to,
        reason: t.reason,
        origin: rec.origin,
        request_id: rec.request_id,
        rack: rec.rack,
        ...extra,
      });
      this.audit.push({
        kind: 'host_transition',
        ts_ms: t.at_ms,
        actor: 'sluice',
        host: rec.hostname,
        agent_id: rec.agent_id,
        request_id: rec.request_id,
        from: t.from,
        to: t.to,
        reason: t.reason,
        detail: { origin: rec.origin, ...(rec.rack ? { rack: rec.rack } : {}) },
      });
    }
  }

  /** Restore a record as it was (or delete it): a rolled-back request, no transition. */
  restore(key: string, prev: HostRecord | undefined): void {
    if (prev) {
      this.s.records.set(key, prev);
      this.storeOps.push({ op: 'put', collection: HOSTS_COLLECTION, key, value: prev });
    } else {
      this.s.records.delete(key);
      this.storeOps.push({ op: 'delete', collection: HOSTS_COLLECTION, key });
    }
  }

  move(rec: HostRecord, to: HostState, reason: string, patch: Partial<HostRecord> = {}): HostRecord {
    const next = { ...transition(rec, to, this.now, reason), ...patch };
    this.put(next, [next.history[next.history.length - 1]!]);
    return next;
  }

  /** The blocked host set to the scheduler, when it changed (or always with `force`). */
  syncBlocked(force = false): void {
    const hosts = [...blockedHosts(this.s.records.values())].map((h) => h.toLowerCase()).sort();
    const key = hosts.join(',');
    if (!force && key === this.s.blockedKey) return;
    this.s.blockedKey = key;
    this.commands.push({ type: 'set_blocked_hosts', hosts });
  }

  /** A new intent of this process, written in this step (durable before the request it announces). */
  addOp<K extends PendingOp['kind']>(kind: K, hosts: string[], extra: NewOp<K>, beside: Omit<PendingEntry, 'op' | 'live'> = {}): PendingOp {
    const op = { id: `${this.s.idPrefix}-${this.s.nextId++}`, kind, hosts, created_ms: this.now, ...extra } as PendingOp;
    this.s.pending.set(op.id, { op, live: true, ...beside });
    this.storeOps.push({ op: 'put', collection: PENDING_COLLECTION, key: op.id, value: op });
    return op;
  }

  /** An intent resolved (or abandoned): deleted in this step. */
  dropOp(id: string): PendingEntry | undefined {
    const e = this.s.pending.get(id);
    this.s.pending.delete(id);
    this.storeOps.push({ op: 'delete', collection: PENDING_COLLECTION, key: id });
    return e;
  }

  /** An agent learned from an offer, an inverse offer or the master's state (ip and rack kept when absent). */
  learnAgent(a: InventoryHost & { agent_id: string }): InventoryHost {
    const prev = this.s.agents.get(a.agent_id);
    const next: InventoryHost = { ...prev, ...a };
    if (!a.ip && prev?.ip) next.ip = prev.ip;
    if (!a.rack && prev?.rack) next.rack = prev.rack;
    this.s.agents.set(a.agent_id, next);
    return next;
  }

  /** A write to the master finished (either way): reconciliation skips these hosts until its next read. */
  wrote(hosts: readonly string[]): void {
    this.s.writes++;
    for (const h of hosts) this.s.touched.set(h, this.s.writes);
  }

  out(): MaintenanceStep {
    return {
      state: this.s,
      calls: this.calls,
      commands: this.commands,
      storeOps: this.storeOps,
      io: this.io,
      audit: this.audit,
      logs: this.logs,
      replies: this.replies,
    };
  }
}

/** An operation of ours is pending on the host (this process's, or left by a previous one). */
export function busy(s: MaintenanceState, key: string): boolean {
  for (const e of s.pending.values()) if (e.op.hosts.includes(key)) return true;
  return false;
}
