/**
 * Other frameworks on a host (pure): what the master says other frameworks still run on a host in
 * maintenance and how they answered its inverse offers, and whether Sluice may take the machine
 * down over them.
 *
 * Policy (issue #13 item 5): before posting machine down for a host Sluice started, wait until
 * every other framework's tasks are gone or that framework ACCEPTed the inverse offer, up to the
 * deadline (window start + `others_deadline`). At the deadline:
 * - `wait` (default): keep waiting (the host stays DRAINED; `host query` says why);
 * - `down`: post machine down anyway, which ends their tasks (TASK_LOST) — logged at warn, naming
 *   every task of every framework it takes down, and recorded in the machine_down audit entry;
 * - `drain_agent`: Mesos agent draining (DRAIN_AGENT, core/drain-agent.ts) kills their tasks with
 *   the kill-policy grace capped at `drainAgentMaxGraceS`, then machine down as usual.
 *
 * What the master answers is bounded here (hostile input): at most MAX_FRAMEWORKS frameworks and
 * MAX_TASKS_LISTED task ids per framework are kept (counts stay exact), every text is cut to MAX_TEXT.
 */
import { fmtClock, fmtDuration } from './format.js';
import type { HostRecord } from './host-state.js';
import type { OtherTaskSeen } from './master.js';

export const MAX_FRAMEWORKS = 20;
export const MAX_TASKS_LISTED = 10;
export const MAX_TEXT = 200;

export type OthersAtDeadline = 'wait' | 'down' | 'drain_agent';
export const OTHERS_AT_DEADLINE: readonly OthersAtDeadline[] = ['wait', 'down', 'drain_agent'];

export interface OthersPolicy {
  /** Time after the window start up to which Sluice waits for other frameworks (default 0: the start). */
  deadlineMs: number;
  atDeadline: OthersAtDeadline;
  /** `drain_agent`: DRAIN_AGENT's max_grace_period in seconds (default 300). */
  drainAgentMaxGraceS?: number;
}

export const DEFAULT_OTHERS_POLICY: OthersPolicy = { deadlineMs: 0, atDeadline: 'wait' };

export type OtherAnswer = 'ACCEPT' | 'DECLINE' | 'UNKNOWN' | 'NONE';

export interface OtherFramework {
  framework_id: string;
  name?: string;
  /** Its inverse-offer answer for the machine (/maintenance/status); NONE: no answer recorded. */
  answer: OtherAnswer;
  /** Non-terminal tasks on the host (exact count) and the first few of them. */
  task_count: number;
  tasks: Array<{ task_id: string; state: string }>;
}

export interface OthersOnHost {
  read_ms: number;
  frameworks: OtherFramework[];
  /** More frameworks were present than kept. */
  truncated: boolean;
}

const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR']);

function cut(s: unknown): string {
  const t = typeof s === 'string' ? s : String(s ?? '');
  // control characters never reach logs or terminals
  return t.replace(/[\x00-\x1f\x7f]/g, '?').slice(0, MAX_TEXT);
}

/**
 * The other frameworks on one agent: tasks the master lists there of any framework but ours, and
 * the answers it recorded for the machine. A framework that answered but has no task left is kept
 * (its answer is shown) only if there is room.
 */
export function othersOnHost(
  tasks: readonly OtherTaskSeen[],
  statuses: ReadonlyArray<{ status: string; framework_id: { value: string } }>,
  ours: string | undefined,
  now: number,
): OthersOnHost {
  const byFw = new Map<string, OtherFramework>();
  const answers = new Map<string, OtherAnswer>();
  for (const s of statuses) {
    const a = s.status === 'ACCEPT' || s.status === 'DECLINE' ? s.status : 'UNKNOWN';
    answers.set(cut(s.framework_id?.value), a);
  }
  let truncated = false;
  for (const t of tasks) {
    const id = cut(t.framework_id);
    if (!id || id === ours || TERMINAL.has(t.state)) continue;
    let f = byFw.get(id);
    if (!f) {
      if (byFw.size >= MAX_FRAMEWORKS) {
        truncated = true;
        continue;
      }
      f = { framework_id: id, answer: answers.get(id) ?? 'NONE', task_count: 0, tasks: [] };
      if (t.framework_name) f.name = cut(t.framework_name);
      byFw.set(id, f);
    }
    f.task_count++;
    if (f.tasks.length < MAX_TASKS_LISTED) f.tasks.push({ task_id: cut(t.task_id), state: cut(t.state) });
  }
  for (const [id, answer] of answers) {
    if (id === ours || byFw.has(id) || !id) continue;
    if (byFw.size >= MAX_FRAMEWORKS) {
      truncated = true;
      break;
    }
    byFw.set(id, { framework_id: id, answer, task_count: 0, tasks: [] });
  }
  const frameworks = [...byFw.values()].sort((a, b) => a.framework_id.localeCompare(b.framework_id));
  return { read_ms: now, frameworks, truncated };
}

/** Frameworks that still hold a machine down back: tasks on the host and no ACCEPT. */
export function blockingOthers(o: OthersOnHost): OtherFramework[] {
  return o.frameworks.filter((f) => f.task_count > 0 && f.answer !== 'ACCEPT');
}

export interface OthersGate {
  /**
   * clear: nothing of theirs in the way; wait: not yet; take: down anyway (deadline passed, policy
   * `down`); drain_agent: deadline passed, policy `drain_agent` (core/drain-agent.ts).
   */
  verdict: 'clear' | 'wait' | 'take' | 'drain_agent';
  reason: string;
  blocking: OtherFramework[];
  deadline_ms: number;
}

export function othersDeadline(rec: HostRecord, policy: OthersPolicy): number {
  return (rec.window?.start_ms ?? rec.since_ms) + policy.deadlineMs;
}

/** One line naming the frameworks and their tasks (bounded by what othersOnHost kept). */
export function describeOthers(fws: readonly OtherFramework[]): string {
  return fws
    .map((f) => {
      const more = f.task_count > f.tasks.length ? `, +${f.task_count - f.tasks.length} more` : '';
      return `${f.framework_id}${f.name ? ` (${f.name})` : ''} answered ${f.answer}: ${f.task_count} task(s) [${f.tasks.map((t) => `${t.task_id} ${t.state}`).join(', ')}${more}]`;
    })
    .join('; ');
}

/** May Sluice post machine down for this host as far as other frameworks are concerned? */
export function othersGate(rec: HostRecord, others: OthersOnHost, policy: OthersPolicy, now: number): OthersGate {
  const deadline_ms = othersDeadline(rec, policy);
  const blocking = blockingOthers(others);
  if (!blocking.length) return { verdict: 'clear', reason: 'no other framework has a task on the host without accepting', blocking, deadline_ms };
  const what = describeOthers(blocking);
  if (now < deadline_ms) {
    return { verdict: 'wait', reason: `waiting for other frameworks until ${fmtClock(deadline_ms)} (+${fmtDuration(deadline_ms - now)}): ${what}`, blocking, deadline_ms };
  }
  if (policy.atDeadline === 'down') {
    return { verdict: 'take', reason: `others deadline ${fmtClock(deadline_ms)} passed (others_at_deadline=down): machine down takes down ${what}`, blocking, deadline_ms };
  }
  if (policy.atDeadline === 'drain_agent') {
    return { verdict: 'drain_agent', reason: `others deadline ${fmtClock(deadline_ms)} passed (others_at_deadline=drain_agent): draining the agent (DRAIN_AGENT) ends ${what}`, blocking, deadline_ms };
  }
  return { verdict: 'wait', reason: `others deadline ${fmtClock(deadline_ms)} passed; others_at_deadline=wait: not taking the machine down over ${what}`, blocking, deadline_ms };
}
