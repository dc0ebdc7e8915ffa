/**
 * Operator deactivation and agent draining (Master::deactivateAgent / reactivateAgent / drainAgent,
 * checkAndTransitionDrainingAgent, markGone; contract §4.10, Mesos 1.9+): DEACTIVATE_AGENT,
 * REACTIVATE_AGENT, DRAIN_AGENT with max_grace_period and mark_gone.
 */
import type { TimeInfo } from '../../mesos/types.js';
import { type Agent, machineKey } from '../model.js';
import { nanos, secs } from '../util.js';
import { type Agents, masterStatus } from './agents.js';
import { type CallResult, type MasterState, machineText } from './state.js';
import type { Tasks } from './tasks.js';

export class Drain {
  constructor(
    private readonly s: MasterState,
    private readonly agents: Agents,
    private readonly tasks: Tasks,
  ) {}

  private known(agentId: string): boolean {
    return this.s.agentsById.has(agentId) || this.s.recovered.has(agentId) || this.s.unreachable.has(agentId);
  }

  /** DEACTIVATE_AGENT. */
  deactivate(agentId: string): CallResult {
    const a = this.s.agentsById.get(agentId);
    if (!this.known(agentId)) return { status: 400, body: 'Unknown agent' };
    this.s.ctx.registry.deactivated.add(agentId);
    if (a?.m) this.agents.deactivate(a);
    return { status: 200 };
  }

  /** REACTIVATE_AGENT. */
  reactivate(agentId: string): CallResult {
    const reg = this.s.ctx.registry;
    if (!reg.deactivated.has(agentId)) return { status: 400, body: 'Agent is not deactivated' };
    const d = reg.draining.get(agentId);
    if (d && d.state === 'DRAINING') return { status: 400, body: 'Agent is still in the DRAINING state' };
    reg.draining.delete(agentId);
    reg.deactivated.delete(agentId);
    const a = this.s.agentsById.get(agentId);
    if (!a || !a.m) return { status: 409, body: 'Agent removed while processing the call' };
    a.draining = undefined;
    a.m.estimatedDrainStartMs = undefined;
    if (a.m.connected) {
      a.m.active = true;
      this.agents.reactivated(a);
    }
    return { status: 200 };
  }

  /** DRAIN_AGENT (contract §4.10). */
  drain(agentId: string, maxGraceNs: bigint | undefined, markGone: boolean): CallResult {
    const s = this.s;
    const a = s.agentsById.get(agentId);
    // (Master::Http::drainAgent: only a registered agent's MachineID is checked against the schedule)
    if (a?.m) {
      for (const w of s.ctx.registry.schedule.windows ?? []) {
        for (const mid of w.machine_ids ?? []) {
          if (machineKey(mid) === machineKey(a.machineId)) {
            return { status: 400, body: `Agent ${agentId} is part of a maintenance schedule under Machine ${machineText(mid)}` };
          }
        }
      }
    }
    if (!this.known(agentId)) return { status: 400, body: 'Unknown agent' };
    s.ctx.registry.draining.set(agentId, { state: 'DRAINING', maxGracePeriodNs: maxGraceNs, markGone });
    s.ctx.registry.deactivated.add(agentId);
    if (a && a.m) {
      this.agents.deactivate(a);
      a.draining = { state: 'DRAINING', maxGracePeriodNs: maxGraceNs, markGone };
      a.m.estimatedDrainStartMs = s.now;
      if (s.ctx.runtime.reachable(a)) {
        for (const task of [...a.tasks.values()]) {
          const fw = s.frameworks.get(task.fwId);
          s.ctx.runtime.kill(task, undefined, fw?.caps.taskKilling ?? false, maxGraceNs);
        }
      }
      this.checkDrained(a);
    }
    return { status: 200 };
  }

  /** Master::checkAndTransitionDrainingAgent */
  checkDrained(a: Agent): void {
    const s = this.s;
    const d = s.ctx.registry.draining.get(a.id);
    if (!d || d.state === 'DRAINED' || !a.m) return;
    for (const t of a.tasks.values()) if (t.mEpoch === s.epoch) return;
    if (d.markGone) {
      const time: TimeInfo = { nanoseconds: nanos(s.now) };
      s.ctx.registry.gone.set(a.id, time);
      this.markGone(a);
      return;
    }
    d.state = 'DRAINED';
    if (a.draining) a.draining.state = 'DRAINED';
  }

  private markGone(a: Agent): void {
    const s = this.s;
    if (!a.m) return;
    this.tasks.endAgentTasks(a, (task, fw) =>
      masterStatus(task, a, fw?.caps.partitionAware ? 'TASK_GONE_BY_OPERATOR' : 'TASK_LOST', 'Agent has been marked gone', 'REASON_AGENT_REMOVED_BY_OPERATOR', secs(s.now)),
    );
    this.agents.withdrawOffers(a);
    this.agents.detach(a);
    this.agents.sendAgentLost(a);
    s.ctx.runtime.shutdownAgent(a, 'agent-gone');
    s.emit({ kind: 'agent', at: s.now, agentId: a.id, hostname: a.hostname, what: 'gone' });
  }
}
