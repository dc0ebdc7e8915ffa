/**
 * RECONCILE and RECONCILE_OPERATIONS (Master::reconcile, Master::reconcileOperations; contract §3.4):
 * implicit reconciliation answers every task the master tracks with its latest state; explicit
 * reconciliation answers each listed task by what the master knows of it and of its agent.
 */
import type { TaskStatus } from '../../mesos/types.js';
import type { Framework, Task } from '../model.js';
import { secs } from '../util.js';
import { type MasterState, id } from './state.js';

type TaskRef = { task_id: { value: string }; agent_id?: { value: string } };

export class Reconciler {
  constructor(private readonly s: MasterState) {}

  reconcile(fw: Framework, rec: { tasks?: TaskRef[] }): void {
    const list = rec.tasks ?? [];
    if (list.length === 0) {
      for (const task of fw.tasks.values()) fw.send({ type: 'UPDATE', update: { status: this.latest(task) } });
      return;
    }
    for (const t of list) {
      const status = this.explicit(fw, t);
      if (status) fw.send({ type: 'UPDATE', update: { status } });
    }
  }

  /** The answer to one listed task (undefined: no answer while its agent is still recovering). */
  private explicit(fw: Framework, t: TaskRef): TaskStatus | undefined {
    const s = this.s;
    const pa = fw.caps.partitionAware;
    const aid = t.agent_id?.value;
    const task = fw.tasks.get(t.task_id.value);
    const base = { task_id: t.task_id, source: 'SOURCE_MASTER' as const, reason: 'REASON_RECONCILIATION', timestamp: secs(s.now) };
    if (task) return this.latest(task);
    if ((aid !== undefined && s.recovered.has(aid)) || (aid === undefined && s.recovered.size > 0)) return undefined;
    if (aid !== undefined && s.agentsById.has(aid)) {
      return { ...base, state: pa ? 'TASK_GONE' : 'TASK_LOST', message: 'Reconciliation: Task is unknown to the agent', agent_id: id(aid) };
    }
    if (aid !== undefined && s.unreachable.has(aid)) {
      return {
        ...base,
        state: pa ? 'TASK_UNREACHABLE' : 'TASK_LOST',
        message: 'Reconciliation: Task is unreachable',
        agent_id: id(aid),
        unreachable_time: s.unreachable.get(aid)!,
      };
    }
    if (aid !== undefined && s.ctx.registry.gone.has(aid)) {
      return { ...base, state: pa ? 'TASK_GONE_BY_OPERATOR' : 'TASK_LOST', message: 'Reconciliation: Task is gone', agent_id: id(aid) };
    }
    const status: TaskStatus = { ...base, state: pa ? 'TASK_UNKNOWN' : 'TASK_LOST', message: 'Reconciliation: Task is unknown' };
    if (aid !== undefined) status.agent_id = id(aid);
    return status;
  }

  /** The latest state the master knows of a task it tracks. */
  private latest(task: Task): TaskStatus {
    const st: TaskStatus = {
      task_id: id(task.id),
      state: task.mSUState ?? task.mState,
      message: 'Reconciliation: Latest task state',
      source: 'SOURCE_MASTER',
      reason: 'REASON_RECONCILIATION',
      agent_id: id(task.agent.id),
      timestamp: secs(this.s.now),
    };
    if (task.masterExecutorId !== undefined) st.executor_id = id(task.masterExecutorId);
    const statuses = task.statuses();
    const last = statuses[statuses.length - 1];
    if (last?.healthy !== undefined) st.healthy = last.healthy;
    if (statuses.some((s) => s.state !== 'TASK_STAGING')) {
      st.container_status = {
        container_id: id(task.containerId),
        network_infos: [{ ip_addresses: [{ ip_address: task.agent.ip }] }],
        executor_pid: task.executorPid,
      };
    }
    return st;
  }

  /** RECONCILE_OPERATIONS: these agents never have operations with feedback, so every listed one is unknown. */
  operations(
    fw: Framework,
    rec: { operations?: Array<{ operation_id: { value: string }; agent_id?: { value: string }; resource_provider_id?: { value: string } }> },
  ): void {
    for (const op of rec.operations ?? []) {
      const [state, message] = this.operationAnswer(op.agent_id?.value);
      const status: Record<string, unknown> = { operation_id: op.operation_id, state, message };
      if (op.agent_id) status['agent_id'] = op.agent_id;
      if (op.resource_provider_id) status['resource_provider_id'] = op.resource_provider_id;
      fw.send({ type: 'UPDATE_OPERATION_STATUS', update_operation_status: { status } });
    }
  }

  private operationAnswer(aid: string | undefined): [string, string] {
    const s = this.s;
    if (aid === undefined) return ['OPERATION_UNKNOWN', "Reconciliation: Operation is unknown and no 'agent_id' was provided"];
    if (s.recovered.has(aid)) return ['OPERATION_RECOVERING', 'Reconciliation: Agent is recovered but has not re-registered'];
    if (s.agentsById.has(aid)) return ['OPERATION_UNKNOWN', 'Reconciliation: Operation is unknown'];
    if (s.unreachable.has(aid)) return ['OPERATION_UNREACHABLE', 'Reconciliation: Agent is unreachable'];
    if (s.ctx.registry.gone.has(aid)) return ['OPERATION_GONE_BY_OPERATOR', 'Reconciliation: Agent marked gone by operator'];
    return ['OPERATION_UNKNOWN', 'Reconciliation: Both operation and agent are unknown'];
  }
}
