/**
 * Agents in the master (Master::registerSlave / reregisterSlave, _removeSlave, markUnreachable,
 * disconnect, deactivate; contract §3.5, §4.7): (re-)registration with the tasks the agent reports,
 * removal (machine DOWN, unregistration), unreachability after the ping timeouts, reconnection, and
 * the KILLs held for an agent that could not be reached.
 */
import type { TaskState, TaskStatus, TimeInfo } from '../../mesos/types.js';
import { type Agent, AgentM, Framework, type Machine, type Task, isTerminalState, machineKey } from '../model.js';
import { addInto, emptyRes, subInto, subRes } from '../resources.js';
import { nanos, secs } from '../util.js';
import type { Allocator } from './allocator.js';
import type { InverseOffers } from './inverse-offers.js';
import { type MasterState, AGENT_PING_TIMEOUT_MS, MAX_AGENT_PING_TIMEOUTS, id } from './state.js';
import type { Tasks } from './tasks.js';

export class Agents {
  constructor(
    private readonly s: MasterState,
    private readonly alloc: Allocator,
    private readonly inverse: InverseOffers,
    private readonly tasks: Tasks,
  ) {}

  private machineFor(a: Agent): Machine {
    const key = machineKey(a.machineId);
    let mach = this.s.machines.get(key);
    if (!mach) {
      mach = { key, id: a.machineId, info: { id: a.machineId, mode: 'UP' }, agents: new Set() };
      this.s.machines.set(key, mach);
    }
    return mach;
  }

  /** Whether the agent's machine is DOWN (registration refused with "Machine is `DOWN`"). */
  machineDown(a: Agent): boolean {
    return this.s.machines.get(machineKey(a.machineId))?.info.mode === 'DOWN';
  }

  /**
   * (Re-)registration of an agent with this master. Returns an error text when refused (the agent
   * gets a ShutdownMessage).
   */
  register(a: Agent): string | undefined {
    const s = this.s;
    const reg = s.ctx.registry;
    if (s.closed) return 'no master';
    if (this.machineDown(a)) return 'Machine is `DOWN`';
    if (a.id && reg.gone.has(a.id)) return 'Agent has been marked gone';
    const reregister = a.id !== '';
    if (!reregister) a.id = `${s.masterId}-S${s.nextAgent++}`;
    reg.admitted.set(a.id, a.index);
    if (a.m) s.dropAgentM(a);
    const mach = this.machineFor(a);
    const m = new AgentM(a, mach, s.now, emptyRes(), emptyRes());
    if (reregister) m.reregisteredTime = s.now;
    a.m = m;
    mach.agents.add(a);
    s.agentsById.set(a.id, a);
    s.recovered.delete(a.id);
    s.unreachable.delete(a.id);
    reg.unreachable.delete(a.id);
    addInto(s.total, a.total);
    this.recoverTasks(a, m);
    m.free = subRes(a.total, m.used);
    if (reg.deactivated.has(a.id)) m.active = false;
    const drain = reg.draining.get(a.id);
    if (drain && !a.draining) a.draining = { state: drain.state, maxGracePeriodNs: drain.maxGracePeriodNs, markGone: drain.markGone };
    if (mach.info.unavailability) {
      m.maint = { unavailability: mach.info.unavailability, statuses: new Map(), outstanding: new Set() };
      s.maintAgents.add(a);
    }
    this.alloc.touchFree(a);
    s.emit({ kind: 'agent', at: s.now, agentId: a.id, hostname: a.hostname, what: reregister ? 'reregistered' : 'registered' });
    this.alloc.allocateSoon();
    return undefined;
  }

  /** The tasks a (re-)registering agent reports: their frameworks are recovered when unknown. */
  private recoverTasks(a: Agent, m: AgentM): void {
    const s = this.s;
    for (const task of a.tasks.values()) {
      if (task.gone) continue;
      let fw = s.frameworks.get(task.fwId);
      if (!fw) {
        const info = a.fwInfos.get(task.fwId) ?? { user: 'unknown', name: 'unknown', id: id(task.fwId) };
        fw = new Framework(task.fwId, info, s.now);
        fw.recovered = true;
        s.frameworks.set(task.fwId, fw);
      }
      const known = fw.tasks.get(task.id);
      if (known && known !== task) continue;
      if (fw.unreachable.has(task.id)) fw.unreachable.delete(task.id);
      this.tasks.addTask(fw, task, task.state, [{ state: task.state, timestamp: task.since / 1000 }]);
      if (!isTerminalState(task.state)) this.alloc.account(fw, task.role, task.res, 1);
      if (task.masterExecutorId !== undefined) {
        let set = m.executors.get(fw.id);
        if (!set) m.executors.set(fw.id, (set = new Set()));
        set.add(task.masterExecutorId);
      }
    }
  }

  /** Accounting of an agent leaving the master (shared by removal and unreachability). */
  detach(a: Agent): void {
    const s = this.s;
    const m = a.m;
    if (!m) return;
    subInto(s.total, a.total);
    m.machine.agents.delete(a);
    s.agentsById.delete(a.id);
    s.freeAgents.delete(a);
    s.dirty.delete(a);
    s.maintAgents.delete(a);
    for (const f of m.filters ?? []) {
      s.cancel(f.timer);
      f.fw.filteredAgents.delete(a);
    }
    for (const [fw, t] of m.invFilters ?? []) {
      s.cancel(t);
      fw.invFilteredAgents.delete(a);
    }
    s.cancel(m.pingTimer);
    a.m = undefined;
  }

  /** Offers and inverse offers of an agent leaving the master are rescinded. */
  withdrawOffers(a: Agent): void {
    const m = a.m!;
    for (const o of [...m.offers]) this.alloc.rescindOffer(o);
    for (const io of [...m.inverseOffers]) this.inverse.remove(io, true);
  }

  /** Master::_removeSlave (machine DOWN, agent unregistered): TASK_LOST, RESCIND, RESCIND_INVERSE_OFFER, FAILURE. */
  remove(a: Agent, cause: string): void {
    const s = this.s;
    if (!a.m) return;
    this.tasks.endAgentTasks(a, (task) =>
      withExecutor(task, masterStatus(task, a, 'TASK_LOST', `Agent ${a.hostname} removed: ${cause}`, 'REASON_AGENT_REMOVED', secs(s.now))),
    );
    this.withdrawOffers(a);
    this.detach(a);
    s.ctx.registry.admitted.delete(a.id);
    s.ctx.registry.draining.delete(a.id);
    s.ctx.registry.deactivated.delete(a.id);
    this.sendAgentLost(a);
    s.emit({ kind: 'agent', at: s.now, agentId: a.id, hostname: a.hostname, what: 'removed', message: cause });
  }

  sendAgentLost(a: Agent): void {
    for (const fw of this.s.frameworks.values()) {
      if (fw.connected) fw.send({ type: 'FAILURE', failure: { agent_id: id(a.id) } });
    }
  }

  /** Master::markUnreachable -> __removeSlave with an unreachable time. */
  markUnreachable(a: Agent, message: string): void {
    const s = this.s;
    if (!a.m) return;
    const time: TimeInfo = { nanoseconds: nanos(s.now) };
    s.unreachable.set(a.id, time);
    s.ctx.registry.unreachable.set(a.id, time);
    this.tasks.endAgentTasks(
      a,
      (task, fw) => {
        const state: TaskState = fw?.caps.partitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST';
        const status = masterStatus(task, a, state, message, 'REASON_AGENT_REMOVED', secs(s.now));
        status.unreachable_time = time;
        return withExecutor(task, status);
      },
      time,
    );
    this.withdrawOffers(a);
    this.detach(a);
    this.sendAgentLost(a);
    s.emit({ kind: 'agent', at: s.now, agentId: a.id, hostname: a.hostname, what: 'unreachable', message });
  }

  /** The agent's connection broke (process exited or partition): offers go, tasks stay. */
  disconnect(a: Agent): void {
    const s = this.s;
    const m = a.m;
    if (!m || !m.connected) return;
    m.connected = false;
    this.deactivate(a);
    s.emit({ kind: 'agent', at: s.now, agentId: a.id, hostname: a.hostname, what: 'disconnected' });
    // Ping timeouts: unreachable after agent_ping_timeout x max_agent_ping_timeouts.
    m.pingTimer = s.after(AGENT_PING_TIMEOUT_MS * MAX_AGENT_PING_TIMEOUTS, () => {
      if (a.m === m && !m.connected) this.markUnreachable(a, 'health check timed out');
    });
  }

  /** Master::deactivate(Slave*): rescind offers and inverse offers, stop offering. */
  deactivate(a: Agent): void {
    const m = a.m!;
    m.active = false;
    this.alloc.rescindAll(a);
    this.inverse.rescindAll(a);
    this.s.freeAgents.delete(a);
  }

  /** An operator reactivated a connected agent: its free resources are offered again. */
  reactivated(a: Agent): void {
    this.alloc.touchFree(a);
    this.alloc.allocateSoon();
  }

  /** Kills recorded while the agent was unreachable are sent now. */
  resendKills(a: Agent): void {
    const s = this.s;
    for (const t of s.knownTasks(a)) {
      if (t.pendingKill === undefined) continue;
      const grace = t.pendingKill < 0n ? undefined : t.pendingKill;
      t.pendingKill = undefined;
      const fw = s.frameworks.get(t.fwId);
      s.ctx.runtime.kill(t, grace, fw?.caps.taskKilling ?? false, a.draining?.maxGracePeriodNs);
    }
  }

  /** An agent that had disconnected came back (same master). */
  reconnect(a: Agent): void {
    const s = this.s;
    const m = a.m;
    if (!m) return;
    m.connected = true;
    s.cancel(m.pingTimer);
    m.pingTimer = undefined;
    m.reregisteredTime = s.now;
    if (!s.ctx.registry.deactivated.has(a.id)) m.active = true;
    this.alloc.touchFree(a);
    s.emit({ kind: 'agent', at: s.now, agentId: a.id, hostname: a.hostname, what: 'reregistered' });
    this.alloc.allocateSoon();
  }
}

/** A master-generated update for a task of an agent that leaves (SOURCE_MASTER, no uuid). */
export function masterStatus(task: Task, a: Agent, state: TaskState, message: string, reason: string, timestamp: number): TaskStatus {
  return { task_id: id(task.id), state, message, source: 'SOURCE_MASTER', reason, agent_id: id(a.id), timestamp };
}

function withExecutor(task: Task, status: TaskStatus): TaskStatus {
  if (task.masterExecutorId !== undefined) status.executor_id = id(task.masterExecutorId);
  return status;
}
