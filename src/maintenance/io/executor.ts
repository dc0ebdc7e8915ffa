/**
 * The maintenance loop's I/O edge: runs the I/O requests of a step once that step is durable, and
 * feeds each result (or failure, as data) back into the loop as an input. It keeps no maintenance
 * state and changes none: whatever the result means is decided by the reducer, inside the loop,
 * on the state as it is when the result arrives.
 *
 * Every write to the master goes through the ONE ScheduleWriter (queued, coalesced, re-read before
 * each POST; machine down/up and the reconciliation reads exclusive between writes).
 */
import type { Logger } from '../../util/logger.js';
import type { IoRequest, IoResult } from '../core/loop-state.js';
import { addWindow, removeMachines } from '../core/schedule.js';
import { MasterRequestError, type MaintenanceOperatorClient } from './operator-client.js';
import type { DrainAgentRequest, DrainAgentResult } from '../core/drain-agent-types.js';
import type { ScheduleWriter } from './schedule-writer.js';
import { runPostDrain, type PostDrainConfig } from './post-drain.js';
import { failureFromError } from './failure.js';

export interface ExecutorDeps {
  client: Pick<MaintenanceOperatorClient, 'getSchedule' | 'getStatus' | 'getState' | 'machineDown' | 'machineUp' | 'drainAgent' | 'reactivateAgent'>;
  writer: ScheduleWriter;
  hook: PostDrainConfig;
  log: Logger;
  /** Hands a result to the loop; rejects when the loop cannot take it any more (stopped). */
  feed(result: IoResult): Promise<void>;
  /** A result the loop will never see (it stopped): whoever waits on the request is told. */
  lost(request: IoRequest, error: Error): void;
}

export class MaintenanceExecutor {
  /** Requests started and not yet fed back (tests, shutdown). */
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly d: ExecutorDeps) {}

  run(requests: readonly IoRequest[]): void {
    for (const r of requests) {
      const p = this.one(r);
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  /** Resolves once every request started so far has been fed back (or lost). */
  async settled(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  private async one(req: IoRequest): Promise<void> {
    let result: IoResult;
    try {
      result = await this.perform(req);
    } catch (e) {
      result = { kind: 'failed', request: req, failure: failureFromError(e) };
    }
    try {
      await this.d.feed(result);
    } catch (e) {
      this.d.lost(req, e instanceof Error ? e : new Error(String(e)));
    }
  }

  private async perform(req: IoRequest): Promise<IoResult> {
    const { client, writer } = this.d;
    switch (req.kind) {
      case 'schedule-add':
        await writer.edit({ hosts: req.hosts, apply: (s) => addWindow(s, req.machines, req.window, req.owned) });
        return { kind: 'done', request: req };
      case 'schedule-end':
        if (req.up.length) await writer.exclusive(req.hosts, () => client.machineUp(req.up));
        if (req.unschedule.length) await writer.edit({ hosts: req.hosts, apply: (s, status) => removeMachines(s, req.unschedule, status.down_machines ?? []) });
        return { kind: 'done', request: req };
      case 'machine-down':
        await writer.exclusive([req.host], () => client.machineDown([req.machine]));
        return { kind: 'done', request: req };
      case 'down-check': {
        const [status, state] = await Promise.all([client.getStatus(), client.getState()]);
        return { kind: 'down-check', request: req, status, state };
      }
      case 'reconcile-read': {
        // inside the writer's queue: no write of ours is half done while we read
        const [schedule, status, state] = await writer.exclusive([], () => Promise.all([client.getSchedule(), client.getStatus(), client.getState()]));
        return { kind: 'reconcile-read', request: req, schedule, status, state };
      }
      case 'post-drain': {
        const log = this.d.log;
        const result = await runPostDrain(req.command, req.target, this.d.hook, (stream, line) => log.info('post_drain_output', { event: 'post_drain_output', host: req.target.hostname, stream, line }));
        return { kind: 'post-drain', request: req, result };
      }
      case 'drain-agent':
        return this.drainAgentStep(req);
    }
  }

  /** One step of the drain_agent flow (core/drain-agent.ts); schedule edits and calls go through the one writer. */
  private async drainAgentStep(req: DrainAgentRequest): Promise<DrainAgentResult> {
    const { client, writer } = this.d;
    switch (req.step) {
      case 'window-out':
        await writer.edit({ hosts: [req.host], apply: (s, status) => removeMachines(s, [req.machine], status.down_machines ?? []) });
        return { kind: 'drain-agent', request: req };
      case 'drain':
        await writer.exclusive([req.host], () => client.drainAgent(req.agent_id, req.max_grace_s));
        return { kind: 'drain-agent', request: req };
      case 'watch': {
        const state = await client.getState();
        const registered = state.agents.some((a) => a.agent_id === req.agent_id);
        const d = state.drainOnAgent?.get(req.agent_id);
        const tasks = (state.tasksOnAgent?.get(req.agent_id) ?? []).length;
        return { kind: 'drain-agent', request: req, agent: { registered, tasks, ...(d ? { deactivated: d.deactivated } : {}), ...(d?.state !== undefined ? { drain_state: d.state } : {}) } };
      }
      case 'window-back':
        if (!req.window) throw new Error('drain_agent: no window to put back');
        await writer.edit({ hosts: [req.host], apply: (s) => addWindow(s, [req.machine], req.window!, [req.machine]) });
        return { kind: 'drain-agent', request: req };
      case 'reactivate':
        try {
          await writer.exclusive([req.host], () => client.reactivateAgent(req.agent_id));
          return { kind: 'drain-agent', request: req };
        } catch (e) {
          // machine down removed the agent from the master, which cleared its deactivation
          if (e instanceof MasterRequestError && e.body.trim() === 'Agent is not deactivated') return { kind: 'drain-agent', request: req, not_deactivated: true };
          throw e;
        }
    }
  }
}
