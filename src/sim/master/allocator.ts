/**
 * The allocator (allocator/mesos/hierarchical.cpp): DRF over (role, framework), offers and their
 * filters, resource recovery, REVIVE / SUPPRESS / DECLINE, and the allocation run (interval timer and
 * event-triggered), which ends with the inverse offers. Incremental: a run visits only the agents
 * whose free resources or filters changed since the previous one.
 */
import type { Filters, Offer as MesosOffer } from '../../mesos/types.js';
import { type Agent, type AgentM, type Framework, Offer } from '../model.js';
import { type Res, addInto, allocatable, cloneRes, containsRes, emptyRes, toMesos } from '../resources.js';
import type { SimTimer } from '../timers.js';
import type { InverseOffers } from './inverse-offers.js';
import { type MasterState, agentUrl, id, refuseSeconds } from './state.js';
import { validateRole } from './validation.js';

type Share = { cpus: number; mem: number; disk: number };

export class Allocator {
  constructor(
    private readonly s: MasterState,
    private readonly inverse: InverseOffers,
  ) {}

  private roleShare(role: string): number {
    const a = this.s.roleAlloc.get(role);
    return a ? this.share(a) : 0;
  }

  private share(a: Share): number {
    const t = this.s.total;
    return Math.max(t.cpus ? a.cpus / t.cpus : 0, t.mem ? a.mem / t.mem : 0, t.disk ? a.disk / t.disk : 0);
  }

  /** Adds (sign 1) or removes (-1) resources allocated to a framework's role. */
  account(fw: Framework, role: string, r: Res, sign: 1 | -1): void {
    fw.alloc.cpus += sign * r.cpus;
    fw.alloc.mem += sign * r.mem;
    fw.alloc.disk += sign * r.disk;
    let ra = this.s.roleAlloc.get(role);
    if (!ra) this.s.roleAlloc.set(role, (ra = { cpus: 0, mem: 0, disk: 0 }));
    ra.cpus += sign * r.cpus;
    ra.mem += sign * r.mem;
    ra.disk += sign * r.disk;
  }

  /** Releases a role's share of resources whose framework the master no longer knows. */
  releaseRole(role: string, r: Res): void {
    const ra = this.s.roleAlloc.get(role);
    if (!ra) return;
    ra.cpus -= r.cpus;
    ra.mem -= r.mem;
    ra.disk -= r.disk;
  }

  /** Offers and resource-holding tasks of a framework on an agent (who gets inverse offers). */
  use(m: AgentM, fw: Framework, delta: number): void {
    const n = (m.fwUse.get(fw) ?? 0) + delta;
    if (n <= 0) m.fwUse.delete(fw);
    else m.fwUse.set(fw, n);
  }

  /** The agent's free resources changed: offer them at the next run if allocatable. */
  touchFree(a: Agent): void {
    const m = a.m;
    if (!m) return;
    if (m.active && allocatable(m.free)) {
      this.s.freeAgents.add(a);
      this.s.dirty.add(a);
    } else {
      this.s.freeAgents.delete(a);
    }
  }

  markAllFreeDirty(): void {
    for (const a of this.s.freeAgents) this.s.dirty.add(a);
  }

  /** An allocation run as soon as possible (event-triggered, like allocator->allocate()). */
  allocateSoon(): void {
    const s = this.s;
    if (s.allocSoon || s.closed) return;
    s.allocSoon = true;
    s.ctx.timers.soon(() => {
      s.allocSoon = false;
      if (!s.closed) this.allocate();
    });
  }

  private isFiltered(fw: Framework, role: string, a: Agent, r: Res): boolean {
    const fs = a.m!.filters;
    if (!fs) return false;
    for (const f of fs) if (f.fw === fw && f.role === role && containsRes(f.res, r)) return true;
    return false;
  }

  /**
   * One allocation run over the agents whose free resources or filters changed since the last run
   * (the incremental equivalent of the hierarchical allocator's full pass), then inverse offers.
   */
  allocate(): void {
    const s = this.s;
    if (s.closed || s.recovering) return;
    const t0 = performance.now();
    const cands: Array<{ fw: Framework; role: string }> = [];
    for (const fw of s.frameworks.values()) {
      if (!fw.active || !fw.connected) continue;
      for (const role of fw.roles) if (!fw.suppressed.has(role)) cands.push({ fw, role });
    }
    const dirty = s.dirty;
    s.dirty = new Set();
    const out = new Map<Framework, Offer[]>();
    let visited = 0;
    if (cands.length > 0) {
      for (const a of dirty) {
        const m = a.m;
        if (!m || !m.active || !allocatable(m.free)) continue;
        visited++;
        const best = this.pick(cands, a, m.free);
        if (!best) continue;
        const offer = this.createOffer(best.fw, a, best.role);
        let list = out.get(best.fw);
        if (!list) out.set(best.fw, (list = []));
        list.push(offer);
      }
    }
    for (const [fw, list] of out) {
      fw.send({ type: 'OFFERS', offers: { offers: list.map((o) => this.offerJson(o)) } });
    }
    this.inverse.generate();
    s.allocStats.runs++;
    s.allocStats.lastMs = performance.now() - t0;
    s.allocStats.lastAgents = visited;
  }

  /** DRF: the (role, framework) with the lowest shares that does not filter these resources. */
  private pick(cands: Array<{ fw: Framework; role: string }>, a: Agent, free: Res): { fw: Framework; role: string } | undefined {
    let best: { fw: Framework; role: string } | undefined;
    let bestRole = Infinity;
    let bestFw = Infinity;
    for (const c of cands) {
      const rs = this.roleShare(c.role);
      if (rs > bestRole) continue;
      const fs = this.share(c.fw.alloc);
      if (rs === bestRole && fs >= bestFw) continue;
      if (this.isFiltered(c.fw, c.role, a, free)) continue;
      best = c;
      bestRole = rs;
      bestFw = fs;
    }
    return best;
  }

  private createOffer(fw: Framework, a: Agent, role: string): Offer {
    const s = this.s;
    const m = a.m!;
    const r = m.free;
    m.free = emptyRes();
    const offer = new Offer(`${s.masterId}-O${s.nextOffer++}`, fw, a, r, role);
    s.offers.set(offer.id, offer);
    fw.offers.add(offer);
    m.offers.add(offer);
    this.account(fw, role, r, 1);
    this.use(m, fw, 1);
    s.freeAgents.delete(a);
    return offer;
  }

  offerJson(o: Offer): MesosOffer {
    const a = o.agent;
    const fw = o.fw;
    const out: MesosOffer = {
      id: id(o.id),
      framework_id: id(fw.id),
      agent_id: id(a.id),
      hostname: a.hostname,
      url: agentUrl(a),
      resources: toMesos(o.res, {
        allocationRole: fw.caps.multiRole ? o.role : undefined,
        legacyRole: !fw.caps.reservationRefinement,
      }),
    };
    if (a.attributes.length) out.attributes = a.attributes;
    const ex = a.m?.executors.get(fw.id);
    if (ex && ex.size) out.executor_ids = [...ex].map(id);
    const un = a.m?.machine.info.unavailability;
    if (un) out.unavailability = un;
    if (fw.caps.multiRole) out.allocation_info = { role: o.role };
    return out;
  }

  /** Removes an offer from the books without returning its resources. */
  dropOffer(o: Offer): void {
    this.s.offers.delete(o.id);
    o.fw.offers.delete(o);
    const m = o.agent.m;
    if (m) {
      m.offers.delete(o);
      this.use(m, o.fw, -1);
    }
  }

  /** allocator->recoverResources */
  recover(fw: Framework, a: Agent, r: Res, role: string, filters: Filters | undefined | null): void {
    const s = this.s;
    const m = a.m;
    this.account(fw, role, r, -1);
    if (!m) return;
    addInto(m.free, r);
    this.touchFree(a);
    if (filters === undefined || filters === null || !s.frameworks.has(fw.id)) return;
    const seconds = refuseSeconds(filters);
    if (seconds === 0) return;
    const ms = Math.max(s.ctx.allocationIntervalMs, seconds * 1000);
    const filter = { fw, role, res: cloneRes(r), timer: undefined as unknown as SimTimer };
    filter.timer = s.after(ms, () => {
      const fs = a.m?.filters;
      if (!fs) return;
      const i = fs.indexOf(filter);
      if (i >= 0) fs.splice(i, 1);
      if (!fs.some((f) => f.fw === fw)) fw.filteredAgents.delete(a);
      if (fs.length === 0 && a.m) a.m.filters = undefined;
      s.dirty.add(a);
    });
    (m.filters ??= []).push(filter);
    fw.filteredAgents.add(a);
  }

  /** Master::rescindOffer */
  rescindOffer(o: Offer, filters?: Filters): void {
    o.fw.send({ type: 'RESCIND', rescind: { offer_id: id(o.id) } });
    this.dropOffer(o);
    this.recover(o.fw, o.agent, o.res, o.role, filters ?? null);
  }

  /** Master::discardOffer */
  discardOffer(o: Offer, filters?: Filters | null): void {
    this.dropOffer(o);
    this.recover(o.fw, o.agent, o.res, o.role, filters ?? null);
  }

  /** Rescinds every outstanding offer of an agent. */
  rescindAll(a: Agent): void {
    for (const o of [...(a.m?.offers ?? [])]) this.rescindOffer(o);
  }

  /** Removes the framework's offer filters (of these roles; all roles when undefined). */
  clearFilters(fw: Framework, roles: Set<string> | undefined): void {
    for (const a of [...fw.filteredAgents]) {
      const fs = a.m?.filters;
      if (!fs) {
        fw.filteredAgents.delete(a);
        continue;
      }
      const keep = [];
      for (const f of fs) {
        if (f.fw === fw && (roles === undefined || roles.has(f.role))) this.s.cancel(f.timer);
        else keep.push(f);
      }
      a.m!.filters = keep.length ? keep : undefined;
      if (!keep.some((f) => f.fw === fw)) fw.filteredAgents.delete(a);
      this.s.dirty.add(a);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Scheduler calls

  decline(fw: Framework, d: { offer_ids?: Array<{ value: string }>; filters?: Filters }): void {
    void fw;
    for (const oid of d.offer_ids ?? []) {
      const o = this.s.offers.get(oid.value);
      // Master::decline looks the offer up without checking its framework (as the source does).
      if (o) this.discardOffer(o, d.filters ?? {});
    }
  }

  revive(fw: Framework, r: { roles?: string[] }): void {
    const roles = r.roles ?? [];
    for (const role of roles) {
      if (validateRole(role) || !fw.roles.includes(role)) return; // whole call dropped
    }
    const set = new Set(roles.length ? roles : fw.roles);
    this.inverse.clearFilters(fw);
    this.clearFilters(fw, set);
    for (const role of set) fw.suppressed.delete(role);
    this.markAllFreeDirty();
    this.allocateSoon();
  }

  suppress(fw: Framework, s: { roles?: string[] }): void {
    const roles = s.roles ?? [];
    for (const role of roles) {
      if (validateRole(role) || !fw.roles.includes(role)) return;
    }
    for (const role of roles.length ? roles : fw.roles) fw.suppressed.add(role);
  }
}
