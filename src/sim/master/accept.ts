/**
 * ACCEPT (Master::accept / _accept; contract §2.5): offer validation, then each operation in order —
 * LAUNCH and LAUNCH_GROUP validated against what is left of the offered resources, the rest of the
 * operations dropped (these agents have no reservations, volumes or resource providers) — and the
 * unused resources recovered with the call's filters.
 */
import type { Filters, Operation, TaskInfo, TaskState } from '../../mesos/types.js';
import { type Agent, type Framework } from '../model.js';
import { type Res, addRes, emptyRes, fromMesos, isEmptyRes, subRes } from '../resources.js';
import { secs } from '../util.js';
import type { Allocator } from './allocator.js';
import type { MasterState } from './state.js';
import type { Tasks } from './tasks.js';
import { type ExecutorInfoLike, validateGroup, validateOffers, validateTask } from './validation.js';

/** Where one ACCEPT stands while its operations are applied. */
interface Pending {
  fw: Framework;
  agent: Agent;
  role: string;
  /** Offered resources not yet used by an operation. */
  remaining: Res;
}

export class Accept {
  constructor(
    private readonly s: MasterState,
    private readonly alloc: Allocator,
    private readonly tasks: Tasks,
  ) {}

  accept(fw: Framework, acc: { offer_ids?: Array<{ value: string }>; operations?: Operation[]; filters?: Filters }): void {
    const s = this.s;
    const offerIds = (acc.offer_ids ?? []).map((o) => o.value);
    const operations = acc.operations ?? [];
    const error = offerIds.length === 0 ? 'No offers specified' : validateOffers(s.offers, offerIds, fw);
    if (error !== undefined) return this.refuse(fw, offerIds, operations, error);

    const first = s.offers.get(offerIds[0]!)!;
    let offered = emptyRes();
    for (const oid of offerIds) {
      const o = s.offers.get(oid)!;
      offered = addRes(offered, o.res);
      this.alloc.dropOffer(o);
    }
    // From here on the offered resources are "allocated to fw" until recovered below.
    const p: Pending = { fw, agent: first.agent, role: first.role, remaining: offered };
    for (const op of operations) {
      if (op.type === 'LAUNCH') this.launchOp(p, op);
      else if (op.type === 'LAUNCH_GROUP') this.launchGroupOp(p, op);
      else if ((op.type as string) === 'UNKNOWN' || op.type === undefined) s.ctx.log.warn('sim: ignoring unknown operation', { framework_id: fw.id });
      else this.otherOp(p, op);
    }
    // Implicitly declined: the rest goes back with accept.filters (default 5 s).
    if (!isEmptyRes(p.remaining)) this.alloc.recover(fw, p.agent, p.remaining, p.role, acc.filters ?? {});
  }

  /** Invalid offers: every live offer listed is discarded, every task to launch is TASK_DROPPED/LOST. */
  private refuse(fw: Framework, offerIds: string[], operations: Operation[], error: string): void {
    const s = this.s;
    for (const oid of offerIds) {
      const o = s.offers.get(oid);
      if (o) this.alloc.discardOffer(o);
    }
    const state: TaskState = fw.caps.partitionAware ? 'TASK_DROPPED' : 'TASK_LOST';
    for (const op of operations) {
      for (const t of launchTasks(op)) {
        this.tasks.sendMasterUpdate(fw, {
          task_id: t.task_id,
          state,
          message: 'Task launched with invalid offers: ' + error,
          source: 'SOURCE_MASTER',
          reason: 'REASON_INVALID_OFFERS',
          agent_id: t.agent_id,
          timestamp: secs(s.now),
        });
      }
    }
  }

  private launchOp(p: Pending, op: Operation): void {
    const { fw, agent, role } = p;
    for (const t of op.launch?.task_infos ?? []) {
      if (op['id'] !== undefined) {
        this.tasks.taskError(fw, t, 'REASON_TASK_INVALID', 'The `id` field cannot be set on LAUNCH operations');
        continue;
      }
      injectAllocation(t, role);
      const err = validateTask(t, fw, agent, p.remaining, role);
      if (err) {
        this.tasks.taskError(fw, t, 'REASON_TASK_INVALID', err);
        continue;
      }
      const held = taskTotal(t, fw, agent);
      p.remaining = subRes(p.remaining, held);
      this.tasks.launch(fw, agent, t, role, t.executor as ExecutorInfoLike | undefined, held);
    }
  }

  private launchGroupOp(p: Pending, op: Operation): void {
    const { fw, agent, role } = p;
    const lg = op.launch_group as { executor?: ExecutorInfoLike; task_group?: { tasks?: TaskInfo[] } } | undefined;
    const tasks = lg?.task_group?.tasks ?? [];
    if (op['id'] !== undefined) {
      for (const t of tasks) this.tasks.taskError(fw, t, 'REASON_TASK_GROUP_INVALID', 'The `id` field cannot be set on LAUNCH_GROUP operations');
      return;
    }
    const ex = lg?.executor;
    for (const t of tasks) {
      injectAllocation(t, role);
      if (t.executor === undefined && ex) t.executor = ex;
    }
    if (ex) for (const r of ex.resources ?? []) r.allocation_info ??= { role };
    const err = validateGroup(tasks, ex, fw, agent, p.remaining, role);
    if (err) {
      for (const t of tasks) this.tasks.taskError(fw, t, 'REASON_TASK_GROUP_INVALID', err);
      return;
    }
    const m = agent.m!;
    const exId = ex!.executor_id.value;
    const known = m.executors.get(fw.id)?.has(exId) ?? false;
    // The executor's resources are held by the group's first task (released with it).
    let exRes = known ? emptyRes() : fromMesos(ex!.resources).res;
    if (!known) {
      let set = m.executors.get(fw.id);
      if (!set) m.executors.set(fw.id, (set = new Set()));
      set.add(exId);
    }
    for (const t of tasks) {
      const held = addRes(fromMesos(t.resources).res, exRes);
      exRes = emptyRes();
      p.remaining = subRes(p.remaining, held);
      this.tasks.launch(fw, agent, t, role, ex, held, exId);
    }
  }

  /**
   * RESERVE/UNRESERVE/CREATE/DESTROY/...: agents here have only unreserved, non-disk-typed
   * resources; such operations are dropped (OPERATION_ERROR when feedback was requested).
   */
  private otherOp(p: Pending, op: Operation): void {
    if (op['id'] === undefined) return;
    p.fw.send({
      type: 'UPDATE_OPERATION_STATUS',
      update_operation_status: {
        status: {
          operation_id: op['id'],
          state: 'OPERATION_ERROR',
          message: `Operation requested feedback, but agent ${p.agent.id} does not have the required RESOURCE_PROVIDER capability`,
        },
      },
    });
  }
}

function launchTasks(op: Operation): TaskInfo[] {
  if (op.type === 'LAUNCH') return op.launch?.task_infos ?? [];
  if (op.type === 'LAUNCH_GROUP') return (op.launch_group as { task_group?: { tasks?: TaskInfo[] } } | undefined)?.task_group?.tasks ?? [];
  return [];
}

/** protobuf::injectAllocationInfo: resources without allocation_info get the offer's role. */
function injectAllocation(t: TaskInfo, role: string): void {
  for (const r of t.resources ?? []) r.allocation_info ??= { role };
  const ex = t.executor as ExecutorInfoLike | undefined;
  for (const r of ex?.resources ?? []) r.allocation_info ??= { role };
}

/** The resources a task holds: its own plus its executor's when the executor is new on the agent. */
function taskTotal(t: TaskInfo, fw: Framework, a: Agent): Res {
  let total = fromMesos(t.resources).res;
  const ex = t.executor as ExecutorInfoLike | undefined;
  if (ex && !(a.m?.executors.get(fw.id)?.has(ex.executor_id.value) ?? false)) {
    total = addRes(total, fromMesos(ex.resources).res);
  }
  return total;
}
