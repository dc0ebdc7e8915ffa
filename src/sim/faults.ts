/**
 * Fault injection (`sim.faults`): cut streams, stop heartbeats, fail the leader over, reject or delay
 * calls, partition, lose, stop and restart agents, crash tasks.
 */
import type { TaskState } from '../mesos/types.js';
import type { Master } from './master.js';
import type { FailoverOptions } from './options.js';
import type { AgentRuntime } from './agent.js';
import { type Agent, isTerminalState, taskKey } from './model.js';
import type { TimerQueue } from './timers.js';

export interface CallFaultRule {
  kind: 'reject' | 'delay';
  remaining: number;
  status?: number;
  body?: string;
  delayMs?: number;
  types?: string[];
  endpoint?: 'scheduler' | 'operator';
}

export interface Faults {
  /** Destroys the TCP connection of a framework's SUBSCRIBE stream. */
  cutStream(frameworkId: string): boolean;
  /** Stops writing HEARTBEATs (stream stays open); all frameworks when no id. */
  stopHeartbeats(frameworkId?: string): void;
  resumeHeartbeats(frameworkId?: string): void;
  /** Leader failover (see FailoverOptions). */
  failover(opts?: FailoverOptions): Promise<void>;
  /** The next `n` scheduler calls (optionally only of these types) get `status` (default 503). */
  rejectCalls(n: number, opts?: { status?: number; body?: string; types?: string[]; endpoint?: 'scheduler' | 'operator' }): void;
  /** The next `n` scheduler calls are held for `ms` of clock time before being processed. */
  delayCalls(ms: number, opts?: { count?: number; types?: string[]; endpoint?: 'scheduler' | 'operator' }): void;
  clearCallFaults(): void;
  /**
   * Network partition between an agent and the masters: offers rescinded at once, tasks
   * reported TASK_UNREACHABLE/TASK_LOST + FAILURE after the ping timeout (75 s), or at once with
   * `immediate`.
   */
  partitionAgent(agent: string, opts?: { immediate?: boolean }): void;
  /** Heals a partition: the agent re-registers (its tasks come back). */
  healAgent(agent: string): void;
  /** Lose an agent: partition + immediately unreachable. */
  loseAgent(agent: string): void;
  /** The agent process stops (tasks keep running); the master sees a disconnect. */
  stopAgent(agent: string): void;
  /**
   * The agent process (re)starts and (re-)registers. It keeps its agent id (checkpointed, as a
   * real 1.12 agent does) unless `fresh` (work dir wiped: registers as a new agent).
   */
  restartAgent(agent: string, opts?: { fresh?: boolean }): void;
  /** A task dies on its own (crash): TASK_FAILED by default. */
  killTask(frameworkId: string, taskId: string, opts?: { state?: TaskState; message?: string; reason?: string }): boolean;
}


/** Rejections and delays waiting for the next matching calls. */
export class CallFaults {
  readonly rules: CallFaultRule[] = [];

  take(kind: 'scheduler' | 'operator', type: string | undefined): { status?: number; body?: string; delayMs?: number } | undefined {
    for (let i = 0; i < this.rules.length; i++) {
      const r = this.rules[i]!;
      if ((r.endpoint ?? 'scheduler') !== kind) continue;
      if (r.types && (type === undefined || !r.types.includes(type))) continue;
      r.remaining--;
      if (r.remaining <= 0) this.rules.splice(i, 1);
      if (r.kind === 'reject') return { status: r.status ?? 503, body: r.body ?? '' };
      return { delayMs: r.delayMs };
    }
    return undefined;
  }
}

/** What the faults act on. */
export interface FaultHost {
  master(): Master | undefined;
  readonly timers: TimerQueue;
  readonly runtime: AgentRuntime;
  readonly agents: readonly Agent[];
  findAgent(ref: string): Agent;
  agentConnect(a: Agent): void;
  failover(o?: FailoverOptions): Promise<void>;
}

export function makeFaults(h: FaultHost, rules: CallFaultRule[]): Faults {
  const faults: Faults = {
    cutStream: (fid) => {
      const fw = h.master()?.frameworks.get(fid);
      if (!fw?.conn || fw.conn.closed) return false;
      fw.conn.destroy();
      if (fw.conn.direct) h.master()?.exited(fw.conn);
      return true;
    },
    stopHeartbeats: (fid) => {
      for (const fw of h.master()?.frameworks.values() ?? []) if (fid === undefined || fw.id === fid) fw.heartbeatsStopped = true;
    },
    resumeHeartbeats: (fid) => {
      for (const fw of h.master()?.frameworks.values() ?? []) if (fid === undefined || fw.id === fid) fw.heartbeatsStopped = false;
    },
    failover: (o) => h.failover(o),
    rejectCalls: (n, o = {}) => {
      rules.push({ kind: 'reject', remaining: n, status: o.status ?? 503, body: o.body, types: o.types, endpoint: o.endpoint });
    },
    delayCalls: (ms, o = {}) => {
      rules.push({ kind: 'delay', remaining: o.count ?? 1, delayMs: ms, types: o.types, endpoint: o.endpoint });
    },
    clearCallFaults: () => {
      rules.length = 0;
    },
    partitionAgent: (ref, o = {}) => {
      const a = h.findAgent(ref);
      if (a.partitioned) return;
      a.partitioned = true;
      h.timers.cancel(a.regTimer);
      const m = h.master();
      if (!m || !a.m) return;
      if (o.immediate) m.markUnreachable(a, 'health check timed out');
      else m.disconnectAgent(a);
    },
    healAgent: (ref) => {
      const a = h.findAgent(ref);
      a.partitioned = false;
      h.agentConnect(a);
    },
    loseAgent: (ref) => faults.partitionAgent(ref, { immediate: true }),
    stopAgent: (ref) => {
      const a = h.findAgent(ref);
      if (!a.up) return;
      a.up = false;
      h.timers.cancel(a.regTimer);
      if (h.master() && a.m) h.master()!.disconnectAgent(a);
    },
    restartAgent: (ref, o = {}) => {
      const a = h.findAgent(ref);
      if (o.fresh) {
        if (h.master() && a.m) h.master()!.removeAgent(a, 'the agent unregistered');
        h.runtime.shutdownAgent(a, 'agent-restart');
        a.id = '';
      }
      a.up = true;
      h.agentConnect(a);
    },
    killTask: (fid, tid, o = {}) => {
      const known = h.master()?.frameworks.get(fid)?.tasks.get(tid);
      if (known && !known.gone && !isTerminalState(known.state)) {
        h.runtime.terminate(known, o.state ?? 'TASK_FAILED', o.message ?? 'Command exited with status 1', o.reason);
        return true;
      }
      for (const a of h.agents) {
        const t = a.tasks.get(taskKey(fid, tid));
        if (t && !t.gone && !isTerminalState(t.state)) {
          h.runtime.terminate(t, o.state ?? 'TASK_FAILED', o.message ?? 'Command exited with status 1', o.reason);
          return true;
        }
      }
      return false;
    },
  };
  return faults;
}
