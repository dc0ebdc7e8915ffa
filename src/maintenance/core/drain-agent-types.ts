/**
 * Types of the `drain_agent` flow (core/drain-agent.ts): its durable intent, the I/O it asks for and
 * what comes back. Types only.
 */
import type { MachineID } from '../../mesos/types.js';
import type { MaintenanceWindow } from './host-state.js';

export type { AgentDrainedMark } from './host-state.js';

/**
 * The steps, in order. `window-out`: remove the machine from the maintenance schedule (the master
 * refuses DRAIN_AGENT for a machine in it); `drain`: DRAIN_AGENT; `watch`: read the agent's drain
 * state until DRAINED; `window-back`: put the window back (then machine down as usual);
 * `reactivate`: REACTIVATE_AGENT once the host is UP again (complete / abort).
 */
export type DrainAgentStep = 'window-out' | 'drain' | 'watch' | 'window-back' | 'reactivate';

/** Another framework's tasks that DRAIN_AGENT ends (bounded by core/others.ts). */
export interface DrainAgentOther {
  framework_id: string;
  framework_name?: string;
  answer: string;
  task_count: number;
  task_ids: string[];
}

/** The durable intent (a PendingOp of kind `drain-agent`; rewritten at each step, same id). */
export interface DrainAgentIntent {
  kind: 'drain-agent';
  step: DrainAgentStep;
  agent_id: string;
  machine: MachineID;
  /** Sluice's window of the host (put back at `window-back`). */
  window?: MaintenanceWindow;
  max_grace_s: number;
  /** When the flow started. */
  started_ms: number;
  /** What it takes down (shown, logged and audited). */
  others: DrainAgentOther[];
  /** Why the flow gave up (the window is put back, the host then waits as with `wait`). */
  error?: string;
}

/** What the master says of the agent (the `watch` step's read of /master/state). */
export interface AgentDrainSeen {
  /** The agent is registered (listed in /master/state). */
  registered: boolean;
  /** drain_info.state (absent: no drain info). */
  drain_state?: string;
  deactivated?: boolean;
  /** Non-terminal tasks of any framework on it. */
  tasks: number;
}

/** One step to run (what of the intent the executor needs). */
export type DrainAgentRequest = { kind: 'drain-agent'; op: string; host: string } & Pick<DrainAgentIntent, 'step' | 'agent_id' | 'machine' | 'window' | 'max_grace_s'>;

export interface DrainAgentResult {
  kind: 'drain-agent';
  request: DrainAgentRequest;
  /** watch: the agent as the master lists it. */
  agent?: AgentDrainSeen;
  /** reactivate: the master says the agent is not deactivated (machine down removed it, or nobody drained it). */
  not_deactivated?: boolean;
}
