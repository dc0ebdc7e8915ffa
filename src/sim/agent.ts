/**
 * The agent side of the simulator: command executors running tasks, and the agent's task status
 * update manager (src/slave/task_status_update_manager.cpp): per task, updates are delivered one
 * at a time and in order; the head is re-sent after 10 s, then 20 s, ... capped at 10 min, until
 * the scheduler acknowledges it; after the terminal update is acknowledged the agent forgets the
 * task. Updates are produced by the executor as in src/launcher/executor.cpp (SOURCE_EXECUTOR,
 * executor_id = task id for command tasks, container_status, fresh uuid).
 */
import { REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, type TaskState, type TaskStatus, type FrameworkInfo } from '../mesos/types.js';
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';
import { Agent, Task, isTerminalState } from './model.js';
import { HealthCheckers } from './health.js';

export { BEHAVIOUR_LABELS, behaviourFromTaskInfo } from './behaviour.js';
import type { TimerQueue } from './timers.js';
import { bytesEqual, secs, uuidBytes, type Rng } from './util.js';

export const STATUS_UPDATE_RETRY_MIN_MS = 10_000;
export const STATUS_UPDATE_RETRY_MAX_MS = 600_000;
/** Command executor default kill grace period (src/launcher/executor.cpp). */
export const DEFAULT_KILL_GRACE_MS = 3_000;

export interface TaskTransition {
  taskId: string;
  frameworkId: string;
  agentId: string;
  hostname: string;
  from: TaskState | undefined;
  to: TaskState;
  at: number;
  /** Why: 'launch', 'executor', 'kill', 'agent-removed', 'framework-removed', 'fault', ... */
  cause: string;
}

/** What the agent runtime needs from the currently leading master. */
export interface MasterLink {
  /** The agent forwards a status update (head of a task's queue) to the master. */
  statusUpdate(agent: Agent, task: Task, status: TaskStatus): void;
}

export interface AgentRuntimeContext {
  clock: Clock;
  timers: TimerQueue;
  rng: Rng;
  log: Logger;
  master(): MasterLink | undefined;
  agents(): readonly Agent[];
  transition(t: TaskTransition): void;
}

export class AgentRuntime {
  private pidCounter = 11000;
  /** The executors' health checkers. */
  private readonly health: HealthCheckers;

  constructor(private readonly ctx: AgentRuntimeContext) {
    this.health = new HealthCheckers({
      clock: ctx.clock,
      timers: ctx.timers,
      update: (task, healthy) =>
        this.produce(task, 'TASK_RUNNING', { reason: REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, healthy, cause: 'health', keepState: true }),
      kill: (task) => {
        const killing = (task.agent.fwInfos.get(task.fwId)?.capabilities ?? []).some((c) => c.type === 'TASK_KILLING_STATE');
        this.kill(task, undefined, killing, task.agent.draining?.maxGracePeriodNs);
      },
    });
  }

  nextPid(): number {
    return this.pidCounter++;
  }

  /** Whether the agent can talk to the leading master right now. */
  reachable(agent: Agent): boolean {
    return agent.up && !agent.partitioned && agent.m !== undefined && agent.m.connected;
  }

  /** RunTaskMessage arrived at the agent. */
  launch(agent: Agent, task: Task, fwInfo: FrameworkInfo, opts: { immediateRunning?: boolean } = {}): void {
    agent.tasks.set(task.key, task);
    agent.fwInfos.set(task.fwId, fwInfo);
    this.ctx.transition({
      taskId: task.id,
      frameworkId: task.fwId,
      agentId: agent.id,
      hostname: agent.hostname,
      from: undefined,
      to: 'TASK_STAGING',
      at: task.since,
      cause: 'launch',
    });
    if (opts.immediateRunning) {
      // Population shortcut (benchmarks): the task is running and all its updates were acknowledged.
      this.setState(task, 'TASK_RUNNING', 'populate');
      this.armLifetime(task);
      return;
    }
    if (agent.draining) {
      const partitionAware = (fwInfo.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');
      this.ctx.timers.after(0, () =>
        this.produce(task, partitionAware ? 'TASK_DROPPED' : 'TASK_LOST', {
          source: 'SOURCE_AGENT',
          reason: 'REASON_AGENT_DRAINING',
          message: 'Task was received while the agent was draining',
          cause: 'agent-draining',
          noExecutor: true,
        }),
      );
      return;
    }
    this.ctx.timers.after(0, () => {
      if (task.gone || task.state !== 'TASK_STAGING') return;
      this.produce(task, 'TASK_STARTING', { cause: 'executor' });
      task.life = this.ctx.timers.after(task.behaviour.startupDelayMs, () => {
        task.life = undefined;
        if (task.gone || task.killed || isTerminalState(task.state)) return;
        // The command executor creates the health checker, then forwards TASK_RUNNING.
        this.health.start(task);
        this.produce(task, 'TASK_RUNNING', { cause: 'executor' });
        this.armLifetime(task);
      });
    });
  }

  private armLifetime(task: Task): void {
    const b = task.behaviour;
    const exitIn = b.failAfterMs ?? b.finishAfterMs;
    if (exitIn === undefined) return;
    const failing = b.failAfterMs !== undefined;
    task.life = this.ctx.timers.after(exitIn, () => {
      task.life = undefined;
      if (task.gone || task.killed || isTerminalState(task.state)) return;
      const code = failing ? b.exitCode || 1 : 0;
      this.produce(task, code === 0 ? 'TASK_FINISHED' : 'TASK_FAILED', {
        message: `Command exited with status ${code}`,
        cause: 'executor',
      });
    });
  }

  /** The task ends on its own (fault injection: crash, OOM, ...). */
  terminate(task: Task, state: TaskState, message: string, reason?: string): void {
    if (task.gone || isTerminalState(task.state)) return;
    this.ctx.timers.cancel(task.life);
    task.life = undefined;
    this.produce(task, state, { message, reason, cause: 'fault' });
  }

  /**
   * KillTaskMessage (with an optional kill_policy override). SIGTERM, TASK_KILLING for frameworks
   * with TASK_KILLING_STATE, SIGKILL at the end of the grace period (a shorter grace period in a
   * later KILL escalates, a longer one is ignored).
   */
  kill(task: Task, overrideGraceNs: bigint | undefined, killingCapable: boolean, maxGraceNs?: bigint): void {
    if (task.gone || isTerminalState(task.state)) return;
    const now = this.ctx.clock.now();
    let graceMs =
      overrideGraceNs !== undefined
        ? Number(overrideGraceNs / 1_000_000n)
        : task.killGraceNs !== undefined
          ? Number(task.killGraceNs / 1_000_000n)
          : DEFAULT_KILL_GRACE_MS;
    if (maxGraceNs !== undefined) graceMs = Math.min(graceMs, Number(maxGraceNs / 1_000_000n));
    graceMs = Math.max(0, graceMs);
    if (task.state === 'TASK_STAGING') {
      // Killed before the executor launched it.
      this.ctx.timers.cancel(task.life);
      task.life = undefined;
      task.killed = true;
      this.health.stop(task);
      this.produce(task, 'TASK_KILLED', { message: 'Killed before the task was launched', cause: 'kill', noExecutor: false });
      return;
    }
    if (task.killed) {
      if (task.killStart + graceMs > task.killDeadline) return;
      const remaining = Math.max(0, task.killStart + graceMs - now);
      this.ctx.timers.cancel(task.life);
      task.killDeadline = now + remaining;
      task.life = this.ctx.timers.after(remaining, () => this.sigkill(task));
      return;
    }
    task.killed = true;
    task.killStart = now;
    this.health.stop(task);
    this.ctx.timers.cancel(task.life);
    task.life = undefined;
    if (killingCapable) this.produce(task, 'TASK_KILLING', { cause: 'kill' });
    if (task.behaviour.exitOnSigterm) {
      task.killDeadline = now;
      task.life = this.ctx.timers.after(0, () => {
        task.life = undefined;
        if (task.gone || isTerminalState(task.state)) return;
        this.produce(task, 'TASK_KILLED', { message: 'Command terminated with signal Terminated', cause: 'kill' });
      });
      return;
    }
    task.killDeadline = now + graceMs;
    task.life = this.ctx.timers.after(graceMs, () => this.sigkill(task));
  }

  private sigkill(task: Task): void {
    task.life = undefined;
    if (task.gone || isTerminalState(task.state)) return;
    this.produce(task, 'TASK_KILLED', { message: 'Command terminated with signal Killed', cause: 'kill' });
  }

  /** StatusUpdateAcknowledgementMessage arrived at the agent. */
  acknowledge(agent: Agent, fwId: string, taskId: string, uuid: Uint8Array): void {
    const task = agent.tasks.get(fwId + '\u0000' + taskId);
    if (!task || !task.queue || task.queue.length === 0) return;
    const head = task.queue[0]!;
    if (!bytesEqual(head.uuid, uuid)) {
      this.ctx.log.debug('sim: unexpected status update acknowledgement', { task_id: taskId });
      return;
    }
    task.queue.shift();
    this.ctx.timers.cancel(task.retry);
    task.retry = undefined;
    if (isTerminalState(head.state) && task.queue.length === 0) {
      this.forget(task);
      return;
    }
    if (task.queue.length > 0) this.sendHead(task, true);
    else task.queue = undefined;
  }

  /** Re-sends every pending head at once (agent (re-)registered with a master). */
  flush(agent: Agent): void {
    for (const task of agent.tasks.values()) {
      if (task.queue && task.queue.length > 0) this.sendHead(task, true);
    }
  }

  /** The agents shut down a framework's executors (framework removed): its tasks die silently. */
  shutdownFramework(fwId: string): void {
    for (const agent of this.ctx.agents()) {
      if (!agent.fwInfos.has(fwId)) continue;
      for (const task of [...agent.tasks.values()]) {
        if (task.fwId !== fwId) continue;
        if (!isTerminalState(task.state)) this.setState(task, 'TASK_KILLED', 'framework-removed');
        this.forget(task);
      }
      agent.fwInfos.delete(fwId);
    }
  }

  /** SHUTDOWN call: the executor is told to shut down; its tasks are killed. */
  shutdownExecutor(agent: Agent, fwId: string, executorId: string, killingCapable: boolean): void {
    for (const task of agent.tasks.values()) {
      if (task.fwId === fwId && task.executorId === executorId) {
        this.kill(task, undefined, killingCapable, 5_000_000_000n);
      }
    }
  }

  /** The agent process exits (ShutdownMessage, e.g. machine DOWN): every task on it dies. */
  shutdownAgent(agent: Agent, cause: string): void {
    agent.up = false;
    this.ctx.timers.cancel(agent.regTimer);
    agent.regTimer = undefined;
    for (const task of [...agent.tasks.values()]) {
      if (!isTerminalState(task.state)) this.setState(task, 'TASK_KILLED', cause);
      this.forget(task);
    }
    agent.fwInfos.clear();
    agent.draining = undefined;
  }

  forget(task: Task): void {
    task.gone = true;
    this.health.stop(task);
    this.ctx.timers.cancel(task.retry);
    this.ctx.timers.cancel(task.life);
    task.retry = undefined;
    task.life = undefined;
    task.queue = undefined;
    task.agent.tasks.delete(task.key);
  }

  /** Changes the agent-side state and notifies observers (no status update). */
  setState(task: Task, to: TaskState, cause: string): void {
    const from = task.state;
    task.state = to;
    task.since = this.ctx.clock.now();
    this.ctx.transition({
      taskId: task.id,
      frameworkId: task.fwId,
      agentId: task.agent.id,
      hostname: task.agent.hostname,
      from,
      to,
      at: task.since,
      cause,
    });
  }

  /** The executor (or agent) produces a status update: state change + reliable delivery. */
  produce(
    task: Task,
    state: TaskState,
    o: { message?: string; reason?: string; source?: TaskStatus['source']; cause: string; noExecutor?: boolean; healthy?: boolean; keepState?: boolean },
  ): void {
    if (task.gone) return;
    const agent = task.agent;
    let reason = o.reason;
    let st = state;
    if (agent.draining && (state === 'TASK_KILLING' || state === 'TASK_KILLED')) {
      // src/slave/slave.cpp: updates from a draining agent carry REASON_AGENT_DRAINING.
      reason = 'REASON_AGENT_DRAINING';
      const info = agent.fwInfos.get(task.fwId);
      const pa = (info?.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');
      if (state === 'TASK_KILLED' && agent.draining.markGone && pa) st = 'TASK_GONE_BY_OPERATOR';
    }
    if (!o.keepState) this.setState(task, st, o.cause);
    const status: TaskStatus = {
      task_id: { value: task.id },
      state: st,
      source: o.source ?? 'SOURCE_EXECUTOR',
      agent_id: { value: agent.id },
      timestamp: secs(this.ctx.clock.now()),
      uuid: uuidBytes(this.ctx.rng),
    };
    if (o.message !== undefined) status.message = o.message;
    if (reason !== undefined) status.reason = reason;
    if (o.healthy !== undefined) status.healthy = o.healthy;
    // "Indicate that a kill occurred due to a failing health check."
    else if (isTerminalState(st) && task.killed && task.health?.killedTask) status.healthy = false;
    if (!o.noExecutor) {
      status.executor_id = { value: task.executorId };
      status.container_status = {
        container_id: { value: task.containerId },
        network_infos: [{ ip_addresses: [{ ip_address: agent.ip }] }],
        executor_pid: task.executorPid,
      };
    }
    if (isTerminalState(st)) {
      this.ctx.timers.cancel(task.life);
      task.life = undefined;
      this.health.stop(task);
    }
    if (!task.queue) task.queue = [];
    task.queue.push(status);
    if (task.queue.length === 1) this.sendHead(task, true);
  }

  private sendHead(task: Task, reset: boolean): void {
    if (reset) task.retryMs = STATUS_UPDATE_RETRY_MIN_MS;
    this.ctx.timers.cancel(task.retry);
    const head = task.queue?.[0];
    if (!head) return;
    const master = this.ctx.master();
    if (master && this.reachable(task.agent)) master.statusUpdate(task.agent, task, head);
    task.retry = this.ctx.timers.after(task.retryMs, () => {
      task.retry = undefined;
      task.retryMs = Math.min(task.retryMs * 2, STATUS_UPDATE_RETRY_MAX_MS);
      this.sendHead(task, false);
    });
  }
}
