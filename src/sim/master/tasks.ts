/**
 * Tasks in the master (Master::addTask, updateTask, removeTask, statusUpdate/forward, KILL, SHUTDOWN,
 * ACKNOWLEDGE; contract §3): the master's view of each task, the status updates it forwards, and the
 * resources a task holds until it is terminal or unreachable.
 */
import type { TaskInfo, TaskState, TaskStatus, TimeInfo } from '../../mesos/types.js';
import { type Agent, type Framework, type StatusLite, Task, isTerminalState } from '../model.js';
import { type Res, addInto, containsRes, fromMesos, subInto } from '../resources.js';
import { bytesEqual, secs } from '../util.js';
import { healthState } from '../health.js';
import type { Allocator } from './allocator.js';
import type { Reconciler } from './reconcile.js';
import { type MasterState, MAX_COMPLETED_TASKS_PER_FRAMEWORK } from './state.js';
import type { ExecutorInfoLike } from './validation.js';

export class Tasks {
  constructor(
    private readonly s: MasterState,
    private readonly alloc: Allocator,
    private readonly reconciler: Reconciler,
  ) {}

  /** Adds a validated task to the master and sends it to the agent (RunTaskMessage). */
  launch(fw: Framework, a: Agent, t: TaskInfo, role: string, ex: ExecutorInfoLike | undefined, r: Res, groupExecutorId?: string): void {
    const s = this.s;
    const commandTask = ex === undefined;
    const task = new Task(
      fw.id,
      t.task_id.value,
      t.name,
      a,
      r,
      role,
      commandTask ? undefined : (groupExecutorId ?? ex!.executor_id.value),
      s.ctx.rng.int(2 ** 32),
      s.ctx.runtime.nextPid(),
      s.ctx.behaviour(t, fw.id, a),
      s.now,
    );
    task.labels = t.labels;
    task.killGraceNs = t.kill_policy?.grace_period?.nanoseconds;
    task.health = healthState(t);
    task.healthCheck = t.health_check;
    this.addTask(fw, task, 'TASK_STAGING');
    if (ex && groupExecutorId === undefined) {
      // LAUNCH with a custom executor: the master tracks the executor.
      let set = a.m!.executors.get(fw.id);
      if (!set) a.m!.executors.set(fw.id, (set = new Set()));
      set.add(ex.executor_id.value);
    }
    s.ctx.runtime.launch(a, task, fw.info);
  }

  /**
   * A task an in-process framework launches on an agent without an offer (the simulated other
   * frameworks, src/sim/others.ts): outstanding offers of the agent are rescinded when its free
   * resources do not suffice, as if the other framework had been offered them first.
   */
  launchUnoffered(fw: Framework, a: Agent, t: TaskInfo, role: string): void {
    const m = a.m;
    if (!m) throw new Error(`sim: agent ${a.hostname} is not registered`);
    const r = fromMesos(t.resources).res;
    if (!containsRes(m.free, r)) this.alloc.rescindAll(a);
    if (!containsRes(m.free, r)) throw new Error(`sim: agent ${a.hostname} lacks free resources for ${t.task_id.value}`);
    subInto(m.free, r);
    this.alloc.account(fw, role, r, 1);
    this.launch(fw, a, t, role, undefined, r);
    this.alloc.touchFree(a);
  }

  /** Master::addTask: the task holds resources on the agent. */
  addTask(fw: Framework, task: Task, state: TaskState, statuses?: StatusLite[]): void {
    const m = task.agent.m!;
    task.mEpoch = this.s.epoch;
    task.pendingKill = undefined;
    task.mState = state;
    task.mSUState = undefined;
    task.mSUUuid = undefined;
    task.mStatuses = statuses;
    fw.tasks.set(task.id, task);
    if (!isTerminalState(state) && state !== 'TASK_UNREACHABLE') {
      addInto(m.used, task.res);
      this.alloc.use(m, fw, 1);
    }
  }

  /** In-process population: a task already running on the agent (resources already taken from free). */
  placeTask(fw: Framework, task: Task): void {
    this.addTask(fw, task, 'TASK_RUNNING');
    this.alloc.account(fw, task.role, task.res, 1);
    this.alloc.touchFree(task.agent);
  }

  /** forward() of an update without uuid (master-generated). */
  sendMasterUpdate(fw: Framework, status: TaskStatus): void {
    fw.send({ type: 'UPDATE', update: { status } });
  }

  /** TASK_ERROR for a task that failed validation. */
  taskError(fw: Framework, t: TaskInfo, reason: string, message: string): void {
    this.sendMasterUpdate(fw, {
      task_id: t.task_id,
      state: 'TASK_ERROR',
      message,
      source: 'SOURCE_MASTER',
      reason,
      agent_id: t.agent_id,
      timestamp: secs(this.s.now),
    });
  }

  kill(fw: Framework, k: { task_id: { value: string }; agent_id?: { value: string }; kill_policy?: { grace_period?: { nanoseconds: bigint } } }): void {
    const s = this.s;
    const task = fw.tasks.get(k.task_id.value);
    if (!task || task.mEpoch !== s.epoch) {
      this.reconciler.reconcile(fw, { tasks: [{ task_id: k.task_id, agent_id: k.agent_id }] });
      return;
    }
    if (k.agent_id && k.agent_id.value !== task.agent.id) return; // silently ignored
    const a = task.agent;
    const grace = k.kill_policy?.grace_period?.nanoseconds;
    if (!a.m || !a.m.connected || !s.ctx.runtime.reachable(a)) {
      // slave->killedTasks: re-sent when the agent re-registers.
      task.pendingKill = grace ?? -1n;
      return;
    }
    s.ctx.runtime.kill(task, grace, fw.caps.taskKilling, a.draining?.maxGracePeriodNs);
  }

  shutdown(fw: Framework, sh: { executor_id: { value: string }; agent_id: { value: string } }): void {
    const s = this.s;
    const a = s.agentsById.get(sh.agent_id.value);
    if (!a || !a.m?.connected || !s.ctx.runtime.reachable(a)) return;
    s.ctx.runtime.shutdownExecutor(a, fw.id, sh.executor_id.value, fw.caps.taskKilling);
  }

  /** ACKNOWLEDGE; returns the agent when it is registered and connected (the caller checks its drain). */
  acknowledge(fw: Framework, ack: { agent_id: { value: string }; task_id: { value: string }; uuid: Uint8Array }): Agent | undefined {
    const s = this.s;
    const a = s.agentsById.get(ack.agent_id.value);
    if (!a || !a.m || !a.m.connected) return undefined;
    const task = a.tasks.get(fw.id + '\u0000' + ack.task_id.value);
    if (task && task.mEpoch === s.epoch && task.mSUState !== undefined) {
      if (isTerminalState(task.mSUState) && bytesEqual(task.mSUUuid, ack.uuid)) {
        this.removeTask(task);
      }
    }
    if (s.ctx.runtime.reachable(a)) s.ctx.runtime.acknowledge(a, fw.id, ack.task_id.value, ack.uuid);
    return a;
  }

  message(fw: Framework, msg: { agent_id: { value: string }; executor_id: { value: string } }): void {
    // Best-effort relay to the executor; simulated executors ignore framework messages.
    this.s.ctx.log.debug('sim: framework message to executor', { framework_id: fw.id, agent_id: msg.agent_id.value });
  }

  /** StatusUpdateMessage from an agent (Master::statusUpdate + forward + updateTask). */
  statusUpdate(a: Agent, task: Task, status: TaskStatus): void {
    const s = this.s;
    if (s.closed || !a.m || !a.m.connected) return;
    const fw = s.frameworks.get(task.fwId);
    const known = task.mEpoch === s.epoch;
    if (fw && fw.connected) {
      if (known) {
        task.mSUState = status.state;
        task.mSUUuid = status.uuid;
      }
      fw.send({ type: 'UPDATE', update: { status } });
    }
    if (!known) return;
    // latest_state = the agent's current state of the task.
    this.updateTask(task, task.state, status.timestamp !== undefined ? status.timestamp * 1000 : s.now, status);
  }

  /** Master::updateTask */
  updateTask(task: Task, latest: TaskState, atMs: number, status?: TaskStatus): void {
    const before = task.mState;
    const wasOver = isTerminalState(before) || before === 'TASK_UNREACHABLE';
    if (!isTerminalState(before)) task.mState = latest;
    const st = status?.state ?? latest;
    const lite: StatusLite = { state: st, timestamp: atMs / 1000 };
    if (status?.healthy !== undefined) lite.healthy = status.healthy;
    const list = (task.mStatuses ??= task.statuses());
    if (list.length && list[list.length - 1]!.state === st) list.pop();
    list.push(lite);
    const isOver = isTerminalState(latest) || latest === 'TASK_UNREACHABLE';
    if (!wasOver && isOver) this.releaseTask(task);
  }

  /** Resources of a task that became terminal/unreachable go back to the allocator. */
  private releaseTask(task: Task): void {
    const s = this.s;
    const m = task.agent.m;
    const fw = s.frameworks.get(task.fwId);
    if (fw) this.alloc.account(fw, task.role, task.res, -1);
    else this.alloc.releaseRole(task.role, task.res);
    if (!m) return;
    subInto(m.used, task.res);
    addInto(m.free, task.res);
    if (fw) this.alloc.use(m, fw, -1);
    if (task.masterExecutorId !== undefined) {
      // The executor goes away with its last task.
      let busy = false;
      for (const t of task.agent.tasks.values()) {
        if (t !== task && t.fwId === task.fwId && t.masterExecutorId === task.masterExecutorId && t.mEpoch === s.epoch && !isTerminalState(t.mState)) busy = true;
      }
      if (!busy) m.executors.get(task.fwId)?.delete(task.masterExecutorId);
    }
    this.alloc.touchFree(task.agent);
  }

  /** Master::removeTask: the master forgets the task (moves it to completed). */
  removeTask(task: Task, unreachableTime?: TimeInfo): void {
    const fw = this.s.frameworks.get(task.fwId);
    if (!isTerminalState(task.mState) && task.mState !== 'TASK_UNREACHABLE') {
      // Not released yet (e.g. removed while STAGING): release now.
      this.releaseTask(task);
      task.mState = 'TASK_LOST';
    }
    if (fw && fw.tasks.get(task.id) === task) {
      fw.tasks.delete(task.id);
      const statuses = task.statuses();
      if (unreachableTime) {
        fw.unreachable.set(task.id, { task, time: unreachableTime, statuses });
      } else {
        fw.completed.push({ task, state: task.mState, statuses });
        if (fw.completed.length > MAX_COMPLETED_TASKS_PER_FRAMEWORK) fw.completed.shift();
      }
    }
    task.mEpoch = -1;
  }

  /**
   * The master ends every task it tracks on an agent with a master-generated update (agent removed,
   * unreachable or gone): the update is forwarded to connected frameworks.
   */
  endAgentTasks(a: Agent, make: (task: Task, fw: Framework | undefined) => TaskStatus, unreachableTime?: TimeInfo): void {
    const s = this.s;
    for (const task of s.knownTasks(a)) {
      const fw = s.frameworks.get(task.fwId);
      const status = make(task, fw);
      this.updateTask(task, status.state, s.now, status);
      this.removeTask(task, unreachableTime);
      if (fw && fw.connected) fw.send({ type: 'UPDATE', update: { status } });
    }
  }
}
