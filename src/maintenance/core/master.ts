/**
 * What the maintenance loop is told by its I/O edge (src/maintenance/io): the master's agents as
 * /master/state lists them, and a post_drain hook's outcome. Types only.
 */

/** An agent as the master's /master/state lists it. */
export interface MasterAgent {
  agent_id: string;
  hostname: string;
  ip?: string;
  rack?: string;
  /** The agent's attributes as /master/state shows them (text; scalars, sets, ranges as text). */
  attributes?: Record<string, string>;
}

export interface MasterStateView {
  agents: MasterAgent[];
  /** agent id -> frameworks holding tasks or offers on it. */
  frameworksOnAgent: Map<string, string[]>;
  /** agent id -> non-terminal tasks of every framework on it (bounded by the operator client). */
  tasksOnAgent?: Map<string, OtherTaskSeen[]>;
  /** agent id -> its operator deactivation and drain state (Mesos 1.9+: `deactivated`, `drain_info.state`). */
  drainOnAgent?: Map<string, { deactivated: boolean; state?: string }>;
}

/** One task as /master/state lists it (any framework): what Sluice shows of other frameworks. */
export interface OtherTaskSeen {
  framework_id: string;
  framework_name?: string;
  task_id: string;
  state: string;
}

/** How a post_drain hook ended (output cleaned and bounded by the runner). */
export interface PostDrainResult {
  exit_code: number | null;
  signal?: string;
  timed_out: boolean;
  output_tail: string;
}

/** The host a hook runs for (its SLUICE_HOST, SLUICE_IP, SLUICE_AGENT_ID). */
export interface HookHost {
  hostname: string;
  ip?: string;
  agent_id?: string;
}
