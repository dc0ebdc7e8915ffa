/**
 * Frameworks in the master (Master::subscribe / _subscribe, failoverFramework, exited, deactivate,
 * removeFramework, updateFramework; contract §1, §2.1): SUBSCRIBE on an HTTP stream, heartbeats,
 * disconnection and the failover timeout, TEARDOWN and UPDATE_FRAMEWORK.
 */
import type { FrameworkInfo } from '../../mesos/types.js';
import { type Conn, Framework } from '../model.js';
import type { Allocator } from './allocator.js';
import type { InverseOffers } from './inverse-offers.js';
import { type CallResult, type MasterState, HEARTBEAT_INTERVAL_SECONDS, MAX_COMPLETED_FRAMEWORKS, id } from './state.js';
import type { Tasks } from './tasks.js';
import { allocatorOptionsError, frameworkUpdateError, validateFrameworkInfo } from './validation.js';

type Subscribe = { framework_info: FrameworkInfo; suppressed_roles?: string[]; offer_constraints?: unknown };

export class Frameworks {
  constructor(
    private readonly s: MasterState,
    private readonly alloc: Allocator,
    private readonly inverse: InverseOffers,
    private readonly tasks: Tasks,
  ) {}

  /** Master::validateFramework */
  validate(info: FrameworkInfo): string | undefined {
    return validateFrameworkInfo(info, this.s.completedIds);
  }

  /** SUBSCRIBE on an HTTP stream (Master::subscribe / _subscribe). The 200 headers are already out. */
  subscribe(conn: Conn, sub: Subscribe): void {
    const s = this.s;
    const info = sub.framework_info;
    const err = validateFrameworkInfo(info, s.completedIds) ?? allocatorOptionsError(info, sub.suppressed_roles, sub.offer_constraints);
    if (err) {
      s.emit({ kind: 'framework', at: s.now, frameworkId: info.id?.value ?? '', what: 'refused', message: err });
      conn.write({ type: 'ERROR', error: { message: err } });
      conn.close();
      return;
    }
    const ok = !info.id || info.id.value === '' ? this.subscribeNew(conn, sub) : this.resubscribe(conn, sub, info.id.value);
    if (!ok) return;
    this.alloc.markAllFreeDirty();
    this.alloc.allocateSoon();
  }

  private subscribeNew(conn: Conn, sub: Subscribe): boolean {
    const s = this.s;
    const fid = `${s.masterId}-${String(s.nextFramework++).padStart(4, '0')}`;
    const fw = new Framework(fid, { ...sub.framework_info, id: id(fid) }, s.now);
    fw.offerConstraints = sub.offer_constraints;
    s.frameworks.set(fid, fw);
    fw.suppressed = new Set(sub.suppressed_roles ?? []);
    this.connect(fw, conn);
    fw.active = true;
    s.emit({ kind: 'framework', at: s.now, frameworkId: fid, what: 'subscribed' });
    this.sendSubscribed(fw);
    return true;
  }

  /** A framework id that is known, recovered, or not yet re-registered after a master failover. */
  private resubscribe(conn: Conn, sub: Subscribe, fid: string): boolean {
    const s = this.s;
    const info = sub.framework_info;
    let fw = s.frameworks.get(fid);
    if (!fw) {
      // Not yet re-registered after master failover, no agent reported its tasks: recover it.
      fw = new Framework(fid, info, s.now);
      fw.recovered = true;
      s.frameworks.set(fid, fw);
    }
    // preserveImmutableFields, then validateUpdate (principal).
    const newInfo: FrameworkInfo = { ...info, user: fw.info.user, checkpoint: fw.info.checkpoint ?? false };
    if ((fw.info.principal ?? undefined) !== (newInfo.principal ?? undefined)) {
      conn.write({ type: 'ERROR', error: { message: "Changing framework's principal is not allowed." } });
      conn.close();
      s.emit({ kind: 'framework', at: s.now, frameworkId: fid, what: 'refused', message: 'principal change' });
      return false;
    }
    this.applyUpdate(fw, newInfo, sub.suppressed_roles, sub.offer_constraints);
    fw.reregisteredTime = s.now;
    if (!fw.recovered) {
      this.failover(fw, conn);
      return true;
    }
    fw.recovered = false;
    this.connect(fw, conn);
    fw.active = true;
    s.emit({ kind: 'framework', at: s.now, frameworkId: fid, what: 'subscribed' });
    this.sendSubscribed(fw);
    return true;
  }

  /** Master::updateFramework(framework, info, constraints, options) */
  private applyUpdate(fw: Framework, info: FrameworkInfo, suppressed: string[] | undefined, constraints: unknown): void {
    fw.update(info);
    fw.offerConstraints = constraints;
    fw.suppressed = new Set(suppressed ?? []);
    const roles = new Set(fw.roles);
    for (const o of [...fw.offers]) if (!roles.has(o.role)) this.alloc.rescindOffer(o);
    this.alloc.markAllFreeDirty();
  }

  private connect(fw: Framework, conn: Conn): void {
    fw.conn = conn;
    conn.fw = fw;
    this.s.cancel(fw.failoverTimer);
    fw.failoverTimer = undefined;
  }

  private failover(fw: Framework, conn: Conn): void {
    const old = fw.conn;
    if (old && !old.closed) {
      old.write({ type: 'ERROR', error: { message: 'Framework failed over' } });
    }
    if (old) {
      old.fw = undefined;
      old.close();
    }
    this.s.cancel(fw.heartbeat);
    fw.heartbeat = undefined;
    this.connect(fw, conn);
    // _failoverFramework: discard offers and inverse offers without RESCIND.
    for (const o of [...fw.offers]) this.alloc.discardOffer(o);
    for (const io of [...fw.inverseOffers]) {
      this.inverse.update(io.agent, fw, undefined, undefined);
      this.inverse.remove(io, false);
    }
    fw.active = true;
    this.s.emit({ kind: 'framework', at: this.s.now, frameworkId: fw.id, what: 'failed-over' });
    this.sendSubscribed(fw);
  }

  private sendSubscribed(fw: Framework): void {
    const s = this.s;
    fw.send({
      type: 'SUBSCRIBED',
      subscribed: { framework_id: id(fw.id), heartbeat_interval_seconds: HEARTBEAT_INTERVAL_SECONDS, master_info: s.info },
    });
    // Framework::heartbeat(): first HEARTBEAT immediately, then every 15 s.
    s.cancel(fw.heartbeat);
    const beat = (): void => {
      if (!fw.heartbeatsStopped) fw.send({ type: 'HEARTBEAT' });
    };
    beat();
    const t = s.ctx.timers.every(HEARTBEAT_INTERVAL_SECONDS * 1000, () => {
      if (s.closed || fw.conn === undefined || fw.conn.closed) {
        s.cancel(t);
        return;
      }
      beat();
    });
    s.timers.add(t);
    fw.heartbeat = t;
  }

  /** The subscription connection closed (client went away or the socket broke). */
  exited(conn: Conn): void {
    const s = this.s;
    const fw = conn.fw;
    conn.closed = true;
    if (!fw || fw.conn !== conn || s.closed) return;
    s.emit({ kind: 'framework', at: s.now, frameworkId: fw.id, what: 'disconnected' });
    this.disconnect(fw);
    const ms = Math.max(0, (fw.info.failover_timeout ?? 0) * 1000);
    const reregisteredTime = fw.reregisteredTime;
    fw.failoverTimer = s.after(ms, () => {
      fw.failoverTimer = undefined;
      if (s.frameworks.get(fw.id) === fw && !fw.connected && fw.reregisteredTime === reregisteredTime) {
        this.remove(fw);
      }
    });
  }

  private disconnect(fw: Framework): void {
    if (fw.active) this.deactivate(fw, true);
    this.s.cancel(fw.heartbeat);
    fw.heartbeat = undefined;
    this.closeConn(fw);
  }

  private closeConn(fw: Framework): void {
    if (fw.conn) {
      fw.conn.fw = undefined;
      fw.conn.close();
    }
    fw.conn = undefined;
  }

  /** Master::deactivate(Framework*, rescind) + allocator deactivateFramework (filters cleared). */
  private deactivate(fw: Framework, rescind: boolean): void {
    fw.active = false;
    this.alloc.clearFilters(fw, undefined);
    this.inverse.clearFilters(fw);
    for (const o of [...fw.offers]) (rescind ? this.alloc.rescindOffer(o) : this.alloc.discardOffer(o));
    for (const io of [...fw.inverseOffers]) {
      this.inverse.update(io.agent, fw, undefined, undefined);
      this.inverse.remove(io, rescind);
    }
  }

  /** Master::removeFramework: TEARDOWN, failover timeout, operator teardown. */
  remove(fw: Framework): void {
    const s = this.s;
    if (s.frameworks.get(fw.id) !== fw) return;
    if (fw.active) this.deactivate(fw, false);
    s.ctx.runtime.shutdownFramework(fw.id);
    for (const task of [...fw.tasks.values()]) {
      this.tasks.updateTask(task, 'TASK_KILLED', s.now);
      this.tasks.removeTask(task);
    }
    for (const [tid, u] of fw.unreachable) {
      fw.completed.push({ task: u.task, state: 'TASK_KILLED', statuses: u.statuses });
      fw.unreachable.delete(tid);
    }
    for (const a of s.agentsById.values()) a.m?.executors.delete(fw.id);
    s.cancel(fw.heartbeat);
    s.cancel(fw.failoverTimer);
    fw.heartbeat = undefined;
    fw.failoverTimer = undefined;
    this.closeConn(fw);
    fw.unregisteredTime = s.now;
    this.alloc.clearFilters(fw, undefined);
    this.inverse.clearFilters(fw);
    for (const a of s.maintAgents) a.m?.maint?.outstanding.delete(fw);
    s.frameworks.delete(fw.id);
    s.completed.push(fw);
    s.completedIds.add(fw.id);
    while (s.completed.length > MAX_COMPLETED_FRAMEWORKS) {
      const old = s.completed.shift()!;
      s.completedIds.delete(old.id);
    }
    s.emit({ kind: 'framework', at: s.now, frameworkId: fw.id, what: 'removed' });
  }

  /** UPDATE_FRAMEWORK (Master::updateFramework(call)). */
  updateCall(fw: Framework, uf: Subscribe): CallResult {
    const info = uf.framework_info;
    const err = frameworkUpdateError(fw, info, this.s.completedIds);
    if (err) return { status: 400, body: err };
    const optErr = allocatorOptionsError(info, uf.suppressed_roles, uf.offer_constraints);
    if (optErr) return { status: 400, body: "'UpdateFramework' call is not valid: " + optErr };
    this.applyUpdate(fw, info, uf.suppressed_roles, uf.offer_constraints);
    this.alloc.allocateSoon();
    return { status: 200 };
  }
}
