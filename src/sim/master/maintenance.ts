/**
 * Maintenance in the master (src/master/maintenance.cpp, http.cpp; contract §4): the schedule and
 * each machine's mode (UP / DRAINING / DOWN), unavailability pushed to the agents of a machine
 * (offers rescinded, inverse offers re-generated), /machine/down and /machine/up, and the cluster
 * status that /maintenance/status and GET_MAINTENANCE_STATUS report.
 */
import type { ClusterStatus, MachineID, Schedule, Unavailability } from '../../mesos/types.js';
import { type Machine, machineKey } from '../model.js';
import type { Agents } from './agents.js';
import type { Allocator } from './allocator.js';
import type { InverseOffers } from './inverse-offers.js';
import type { CallResult, MasterState } from './state.js';
import { machineJson, validateMachines, validateSchedule } from './validation.js';

type DrainingMachine = NonNullable<ClusterStatus['draining_machines']>[number];

export class Maintenance {
  constructor(
    private readonly s: MasterState,
    private readonly alloc: Allocator,
    private readonly inverse: InverseOffers,
    private readonly agents: Agents,
  ) {}

  /** maintenance::validation::schedule; returns the 400 text or undefined. */
  validateSchedule(sched: Schedule): string | undefined {
    return validateSchedule(sched, this.s.machines.values());
  }

  /** POST /maintenance/schedule after validation (___updateMaintenanceSchedule). */
  updateSchedule(sched: Schedule): void {
    const s = this.s;
    const unav = new Map<string, { id: MachineID; u: Unavailability }>();
    for (const w of sched.windows ?? []) for (const mid of w.machine_ids ?? []) unav.set(machineKey(mid), { id: mid, u: w.unavailability });
    for (const mach of [...s.machines.values()]) {
      const n = unav.get(mach.key);
      if (n) {
        if (mach.info.mode === 'UP') continue;
        this.updateUnavailability(mach, n.u);
        continue;
      }
      mach.info.mode = 'UP';
      this.updateUnavailability(mach, undefined);
    }
    for (const [key, n] of unav) {
      let mach = s.machines.get(key);
      if (mach && mach.info.mode !== 'UP') continue;
      if (!mach) {
        mach = { key, id: n.id, info: { id: n.id, mode: 'DRAINING' }, agents: new Set() };
        s.machines.set(key, mach);
      }
      mach.info = { id: n.id, mode: 'DRAINING' };
      this.updateUnavailability(mach, n.u);
    }
    s.ctx.registry.schedule = sched;
    this.persistMachines();
    s.emit({ kind: 'maintenance', at: s.now, what: 'schedule' });
    this.alloc.allocateSoon();
  }

  private persistMachines(): void {
    const reg = this.s.ctx.registry.machines;
    reg.clear();
    for (const mach of this.s.machines.values()) {
      if (mach.info.mode !== 'UP') reg.set(mach.key, { ...mach.info });
    }
  }

  /** Master::updateUnavailability + allocator updateUnavailability */
  private updateUnavailability(mach: Machine, u: Unavailability | undefined): void {
    const s = this.s;
    if (u) mach.info.unavailability = u;
    else delete mach.info.unavailability;
    for (const a of mach.agents) {
      const m = a.m;
      if (!m) continue;
      this.alloc.rescindAll(a);
      this.inverse.rescindAll(a);
      for (const [fw, t] of m.invFilters ?? []) {
        s.cancel(t);
        fw.invFilteredAgents.delete(a);
      }
      m.invFilters = undefined;
      if (u) {
        m.maint = { unavailability: u, statuses: new Map(), outstanding: new Set() };
        s.maintAgents.add(a);
      } else {
        m.maint = undefined;
        s.maintAgents.delete(a);
      }
      s.dirty.add(a);
    }
  }

  /** /machine/down and /machine/up validation (master's order and texts): the 400 to answer, if any. */
  private refuseMachines(ids: MachineID[], mode: 'DRAINING' | 'DOWN', action: string): CallResult | undefined {
    const e = validateMachines(ids);
    if (e) return { status: 400, body: e };
    for (const mid of ids) {
      const mach = this.s.machines.get(machineKey(mid));
      if (!mach) return { status: 400, body: `Machine '${machineJson(mid)}' is not part of a maintenance schedule` };
      if (mach.info.mode !== mode) {
        return { status: 400, body: `Machine '${machineJson(mid)}' is not in ${mode} mode and cannot be ${action}` };
      }
    }
    return undefined;
  }

  /** /machine/down validation + effects (START_MAINTENANCE). */
  start(ids: MachineID[]): CallResult {
    const s = this.s;
    const refused = this.refuseMachines(ids, 'DRAINING', 'brought down');
    if (refused) return refused;
    for (const mid of ids) {
      const mach = s.machines.get(machineKey(mid))!;
      for (const a of [...mach.agents]) {
        // ShutdownMessage to the agent, and immediate removal in the master.
        this.agents.remove(a, "Operator initiated 'Machine DOWN'");
        s.ctx.runtime.shutdownAgent(a, 'machine-down');
      }
      mach.info.mode = 'DOWN';
    }
    this.persistMachines();
    s.emit({ kind: 'maintenance', at: s.now, what: 'down', machines: ids });
    return { status: 200 };
  }

  /** /machine/up validation + effects (STOP_MAINTENANCE). */
  stop(ids: MachineID[]): CallResult {
    const s = this.s;
    const refused = this.refuseMachines(ids, 'DOWN', 'brought up');
    if (refused) return refused;
    const keys = new Set<string>();
    for (const mid of ids) {
      const mach = s.machines.get(machineKey(mid))!;
      mach.info.mode = 'UP';
      delete mach.info.unavailability;
      keys.add(mach.key);
    }
    const windows = [];
    for (const w of s.ctx.registry.schedule.windows ?? []) {
      const left = (w.machine_ids ?? []).filter((mid) => !keys.has(machineKey(mid)));
      if (left.length) windows.push({ ...w, machine_ids: left });
    }
    s.ctx.registry.schedule = windows.length ? { windows } : {};
    this.persistMachines();
    s.emit({ kind: 'maintenance', at: s.now, what: 'up', machines: ids });
    return { status: 200 };
  }

  /** The cluster status: draining machines with the inverse-offer answers of their agents, down machines. */
  status(): ClusterStatus {
    const out: ClusterStatus = {};
    const draining: DrainingMachine[] = [];
    const down: MachineID[] = [];
    for (const mach of this.s.machines.values()) {
      if (mach.info.mode === 'DRAINING') {
        const statuses = [];
        for (const a of mach.agents) for (const st of a.m?.maint?.statuses.values() ?? []) statuses.push(st);
        const dm: DrainingMachine = { id: mach.id };
        if (statuses.length) dm.statuses = statuses;
        draining.push(dm);
      } else if (mach.info.mode === 'DOWN') {
        down.push(mach.id);
      }
    }
    if (draining.length) out.draining_machines = draining;
    if (down.length) out.down_machines = down;
    return out;
  }
}
