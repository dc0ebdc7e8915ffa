/**
 * `others_at_deadline=drain_agent` (issue #13 item 5): for a host Sluice put in maintenance whose
 * other frameworks ignore inverse offers, Mesos agent draining (operator API DRAIN_AGENT, Mesos
 * 1.9+) ends their tasks once the others deadline has passed, then machine down goes as usual.
 *
 * The master refuses DRAIN_AGENT for a registered agent whose MachineID is in ANY window of the
 * maintenance schedule (src/master/http.cpp `Master::Http::drainAgent`: 400 "Agent <id> is part of
 * a maintenance schedule under Machine <host> (<ip>)"). So the flow is, one durable step at a time:
 *
 *   window-out   remove the machine from the schedule (the one ScheduleWriter: every other window,
 *                ours and other operators', is kept as it is)
 *   drain        DRAIN_AGENT { agent_id, max_grace_period, mark_gone: false }: the master deactivates
 *                the agent and kills every task on it, the kill-policy grace capped at max_grace_period
 *   watch        /master/state until the agent's drain_info.state is DRAINED (every task terminal
 *                and its update acknowledged by its framework)
 *   window-back  put Sluice's window back; the down check then posts machine down as usual
 *   reactivate   once the host is UP again (complete / abort): REACTIVATE_AGENT. Machine down makes
 *                the master remove the agent, which clears its deactivation: a 400 "Agent is not
 *                deactivated" is then the expected answer and counts as done.
 *
 * Each step is the persisted intent (a PendingOp of kind `drain-agent`, rewritten with the next
 * step in the batch that records the previous step's result), so a crash between any two steps
 * resumes at start-up with the step it was at; every step is idempotent with the master (removing an
 * absent machine, DRAIN_AGENT of a draining or drained agent, reading, putting back the same window,
 * reactivating an active agent). While the intent exists the host is busy: reconciliation leaves it
 * alone (its machine is out of the schedule on purpose), and complete / abort are refused (409,
 * retry) — Mesos cannot cancel a drain anyway.
 *
 * Pure: no I/O, no clock; the executor (src/maintenance/io/executor.ts) runs each step once the step
 * asking for it is durable and its result comes back as an `io` input.
 */
import { hostKey, type HostRecord } from './host-state.js';
import { machineIdOf } from './schedule.js';
import { PENDING_COLLECTION, type PendingOp } from './pending.js';
import type { OthersGate } from './others.js';
import { busy, type StepBuilder } from './loop-step.js';
import type { MaintenanceState } from './loop-state.js';
import type { Failure } from './outcome.js';
import type { DrainAgentIntent, DrainAgentOther, DrainAgentRequest, DrainAgentResult } from './drain-agent-types.js';

export type { DrainAgentStep } from './drain-agent-types.js';

export const DEFAULT_DRAIN_AGENT_MAX_GRACE_S = 300;

type Intent = Extract<PendingOp, { kind: 'drain-agent' }>;

function mem(s: MaintenanceState): NonNullable<MaintenanceState['drainAgent']> {
  return (s.drainAgent ??= { inflight: new Set(), last: new Map(), warned: new Set() });
}

/** Least time between two runs of a step that waits (watch) or failed (retry). */
function retryMs(s: MaintenanceState): number {
  return s.config.downCheckIntervalMs;
}

function intents(s: MaintenanceState): Intent[] {
  const out: Intent[] = [];
  for (const e of s.pending.values()) if (e.op.kind === 'drain-agent') out.push(e.op);
  return out;
}

/** The drain_agent intent of a host, if its flow is under way. */
export function drainAgentOf(s: MaintenanceState, key: string): Intent | undefined {
  return intents(s).find((o) => o.hosts.includes(key));
}

function othersOf(gate: OthersGate): DrainAgentOther[] {
  return gate.blocking.map((f) => ({ framework_id: f.framework_id, ...(f.name !== undefined ? { framework_name: f.name } : {}), answer: f.answer, task_count: f.task_count, task_ids: f.tasks.map((t) => t.task_id) }));
}

function base(rec: HostRecord | undefined, op: Intent): Record<string, unknown> {
  return { host: rec?.hostname ?? op.hosts[0], agent_id: op.agent_id, request_id: op.request_id ?? rec?.request_id, pending_op: op.id };
}

function audit(st: StepBuilder, op: Intent, rec: HostRecord | undefined, step: string, reason: string, detail: Record<string, unknown> = {}): void {
  st.audit.push({
    kind: 'drain_agent',
    ts_ms: st.now,
    actor: 'sluice',
    host: rec?.hostname ?? op.hosts[0],
    agent_id: op.agent_id,
    request_id: op.request_id ?? rec?.request_id,
    reason,
    action: step,
    detail: { step, ...detail },
  });
}

/** Rewrites the intent (same id, same store key) in this step. */
function rewrite(st: StepBuilder, op: Intent, patch: Partial<DrainAgentIntent>): Intent {
  const next = { ...op, ...patch } as Intent;
  const e = st.s.pending.get(op.id);
  st.s.pending.set(op.id, { ...(e ?? { live: true }), op: next, live: true });
  st.storeOps.push({ op: 'put', collection: PENDING_COLLECTION, key: op.id, value: next });
  return next;
}

/** Asks the executor for the intent's current step (once the step asking is durable). */
function run(st: StepBuilder, op: Intent): void {
  const m = mem(st.s);
  m.inflight.add(op.id);
  m.last.set(op.id, st.now);
  const req: DrainAgentRequest = { kind: 'drain-agent', op: op.id, host: op.hosts[0]!, step: op.step, agent_id: op.agent_id, machine: op.machine, max_grace_s: op.max_grace_s };
  if (op.window) req.window = op.window;
  st.io.push(req);
}

/**
 * The others gate said `drain_agent` for a DRAINED host of Sluice's whose machine down is due:
 * start the flow (or, if it already ran for this maintenance, keep waiting).
 */
export function startDrainAgent(st: StepBuilder, rec: HostRecord, agentId: string | undefined, gate: OthersGate): void {
  const { s, now } = st;
  const key = hostKey(rec.hostname);
  const m = mem(s);
  if (rec.agent_drained || !agentId || !rec.ip || !rec.window) {
    // drained once already (tasks came back?) or gave up: never again in this maintenance
    if (!m.warned.has(key)) {
      m.warned.add(key);
      const why = rec.agent_drained?.failed
        ? `agent drain gave up earlier (${rec.agent_drained.failed}); waiting as with others_at_deadline=wait`
        : rec.agent_drained
          ? 'the agent was drained already in this maintenance; waiting as with others_at_deadline=wait'
          : 'agent id, ip or window unknown: cannot drain the agent; waiting as with others_at_deadline=wait';
      st.log('warn', 'drain_agent_not_started', { host: rec.hostname, agent_id: agentId, reason: `${why}: ${gate.reason}` });
    }
    return;
  }
  const others = othersOf(gate);
  const intent: Omit<DrainAgentIntent, 'kind'> = {
    step: 'window-out',
    agent_id: agentId,
    machine: machineIdOf(rec),
    max_grace_s: s.config.others.drainAgentMaxGraceS ?? DEFAULT_DRAIN_AGENT_MAX_GRACE_S,
    started_ms: now,
    others,
  };
  if (rec.window) intent.window = rec.window;
  const op = st.addOp('drain-agent', [key], { ...intent, ...(rec.request_id !== undefined ? { request_id: rec.request_id } : {}) }) as Intent;
  const reason = `${gate.reason}; max_grace_period ${op.max_grace_s}s`;
  st.log('warn', 'drain_agent_started', {
    host: rec.hostname,
    agent_id: agentId,
    request_id: rec.request_id,
    max_grace_period_s: op.max_grace_s,
    reason,
    frameworks: others,
  });
  audit(st, op, rec, 'started', reason, { others, max_grace_period_s: op.max_grace_s });
  run(st, op);
}

/** Start-up: the flows a previous process left are this process's now (resumed at their step on the next tick). */
export function resumeDrainAgents(st: StepBuilder): void {
  for (const op of intents(st.s)) {
    const e = st.s.pending.get(op.id)!;
    e.live = true;
    st.log('warn', 'drain_agent_resumed', { ...base(st.s.records.get(op.hosts[0]!), op), step: op.step, reason: `Sluice restarted during an agent drain; resuming at step ${op.step}` });
  }
}

/** On each tick: (re)run the steps that are not in flight and are due; reactivate agents of hosts UP again. */
export function drainAgentWork(st: StepBuilder): void {
  const { s, now } = st;
  const m = mem(s);
  for (const op of intents(s)) {
    if (m.inflight.has(op.id)) continue;
    const last = m.last.get(op.id);
    if (last !== undefined && now - last < retryMs(s)) continue;
    run(st, op);
  }
  for (const [key, rec] of s.records) {
    const d = rec.agent_drained;
    if (!d || rec.state !== 'UP' || busy(s, key)) continue;
    if (d.never) {
      // DRAIN_AGENT was never accepted: nothing to reactivate (the agent may be deactivated by someone else)
      const { agent_drained: _, ...rest } = rec;
      st.put(rest, []);
      continue;
    }
    const tag = `reactivate:${key}`;
    if (now - (m.last.get(tag) ?? -Infinity) < retryMs(s)) continue;
    m.last.set(tag, now);
    const op = st.addOp('drain-agent', [key], {
      step: 'reactivate',
      agent_id: d.agent_id,
      machine: machineIdOf(rec),
      max_grace_s: 0,
      started_ms: now,
      others: [],
      ...(rec.request_id !== undefined ? { request_id: rec.request_id } : {}),
    }) as Intent;
    st.log('info', 'drain_agent_reactivate', { host: rec.hostname, agent_id: d.agent_id, reason: 'host UP again: REACTIVATE_AGENT for the agent Sluice drained' });
    run(st, op);
  }
}

function statusOf(f: Failure): number | undefined {
  const d = f.details as { status?: unknown } | undefined;
  return typeof d === 'object' && d !== null && typeof d.status === 'number' ? d.status : undefined;
}

function is400(f: Failure): boolean {
  return statusOf(f) === 400;
}

/**
 * The master's answer will not change by asking again: 400 (refused), 403 (not authorized for
 * DRAIN_AGENT / REACTIVATE_AGENT), 404/405/501 (a master without the call, older than 1.9).
 * Not 401 (credentials can be fixed), 409 (agent being marked gone), 429/5xx.
 */
function refusedForGood(f: Failure): boolean {
  const st = statusOf(f);
  return st === 400 || st === 403 || st === 404 || st === 405 || st === 501;
}

/** A step's result (or failure), on the state as it is now. */
export function onDrainAgentResult(st: StepBuilder, req: DrainAgentRequest, r: DrainAgentResult | undefined, failure: Failure | undefined): void {
  const { s, now } = st;
  const m = mem(s);
  m.inflight.delete(req.op);
  const e = s.pending.get(req.op);
  if (!e || e.op.kind !== 'drain-agent' || e.op.step !== req.step) return; // superseded
  const op = e.op;
  const rec = s.records.get(req.host);
  const at = base(rec, op);
  if (req.step !== 'watch' && req.step !== 'reactivate') st.wrote([req.host]);
  if (failure) return onFailed(st, op, rec, failure);
  switch (req.step) {
    case 'window-out': {
      audit(st, op, rec, 'window_out', 'machine removed from the maintenance schedule (the master refuses DRAIN_AGENT for a scheduled machine); every other window kept');
      st.log('warn', 'drain_agent_window_out', { ...at, frameworks: op.others, reason: 'machine out of the schedule; DRAIN_AGENT next' });
      run(st, rewrite(st, op, { step: 'drain' }));
      return;
    }
    case 'drain': {
      const reason = `DRAIN_AGENT accepted (max_grace_period ${op.max_grace_s}s, mark_gone false): the master kills every task on the agent; ${describeOthersBrief(op.others)}`;
      st.log('warn', 'drain_agent_draining', { ...at, max_grace_period_s: op.max_grace_s, frameworks: op.others, reason });
      audit(st, op, rec, 'drain_sent', reason, { others: op.others, max_grace_period_s: op.max_grace_s });
      if (rec) st.put({ ...rec, agent_drained: { agent_id: op.agent_id, at_ms: now } }, []);
      rewrite(st, op, { step: 'watch' });
      m.last.set(op.id, now);
      return;
    }
    case 'watch': {
      const a = r?.agent;
      if (!a) return;
      if (a.registered && a.drain_state === undefined) {
        // someone reactivated it, or the master lost the drain: ask again (the machine is out of the schedule)
        st.log('warn', 'drain_agent_lost', { ...at, reason: 'the agent has no drain info any more; sending DRAIN_AGENT again' });
        rewrite(st, op, { step: 'drain' });
        return;
      }
      if (a.registered && a.drain_state !== 'DRAINED') {
        st.log('debug', 'drain_agent_watch', { ...at, drain_state: a.drain_state, tasks: a.tasks });
        const slowAfter = op.started_ms + (op.max_grace_s + 60) * 1000;
        if (now >= slowAfter && !m.warned.has(op.id)) {
          m.warned.add(op.id);
          st.log('warn', 'drain_agent_slow', { ...at, drain_state: a.drain_state, tasks: a.tasks, reason: 'the agent is still DRAINING past max_grace_period + 60s: a framework may not acknowledge its tasks\' terminal updates' });
        }
        return;
      }
      const reason = a.registered ? `agent DRAINED (no task left on it)` : 'agent no longer registered with the master (removed or unreachable): its tasks are gone with it';
      st.log('warn', 'drain_agent_drained', { ...at, frameworks: op.others, reason });
      audit(st, op, rec, 'drained', reason, { registered: a.registered, drain_state: a.drain_state ?? null });
      run(st, rewrite(st, op, { step: 'window-back' }));
      return;
    }
    case 'window-back': {
      st.dropOp(op.id);
      m.last.delete(op.id);
      m.warned.delete(op.id);
      const reason = op.error ? `window put back; agent drain gave up: ${op.error}` : 'window put back; machine down follows';
      audit(st, op, rec, 'window_back', reason, op.error ? { error: op.error } : {});
      st.log('warn', 'drain_agent_window_back', { ...at, frameworks: op.others, reason });
      if (rec && op.error) st.put({ ...rec, agent_drained: { ...(rec.agent_drained ?? { agent_id: op.agent_id, at_ms: now, never: true }), failed: op.error } }, []);
      s.downChecked.delete(req.host);
      return;
    }
    case 'reactivate': {
      st.dropOp(op.id);
      m.last.delete(`reactivate:${req.host}`);
      const reason = r?.not_deactivated ? 'agent not deactivated any more (machine down removed it from the master); nothing to reactivate' : 'REACTIVATE_AGENT accepted: the agent is offered again';
      audit(st, op, rec, 'reactivated', reason, { not_deactivated: r?.not_deactivated === true });
      st.log('warn', 'drain_agent_reactivated', { ...at, reason });
      if (rec?.agent_drained) {
        const { agent_drained: _, ...rest } = rec;
        st.put(rest, []);
      }
      return;
    }
  }
}

function onFailed(st: StepBuilder, op: Intent, rec: HostRecord | undefined, f: Failure): void {
  const { s } = st;
  const at = { ...base(rec, op), step: op.step, error: f.error };
  if (op.step === 'drain' && is400(f) && /part of a maintenance schedule/.test(f.error)) {
    // the machine is (again) in a window: out with it again, then DRAIN_AGENT
    st.log('warn', 'drain_agent_refused_scheduled', { ...at, reason: 'the master refused DRAIN_AGENT: the machine is in the maintenance schedule; removing it again' });
    rewrite(st, op, { step: 'window-out' });
    return;
  }
  const final =
    ((op.step === 'drain' || op.step === 'reactivate') && refusedForGood(f)) || (op.step === 'window-back' && f.code === 'window-conflict') || (op.step === 'window-out' && f.code === 'machine-down');
  if (!final) {
    st.log('warn', 'drain_agent_step_failed', { ...at, reason: `retrying in ${Math.round(retryMs(s) / 1000)}s` });
    return;
  }
  if (op.step === 'reactivate') {
    st.dropOp(op.id);
    st.log('error', 'drain_agent_reactivate_refused', { ...at, reason: 'the master refused REACTIVATE_AGENT: the agent stays deactivated (no offers) until an operator reactivates it' });
    audit(st, op, rec, 'failed', `REACTIVATE_AGENT refused: ${f.error}`, { error: f.error });
    if (rec?.agent_drained) {
      const { agent_drained: _, ...rest } = rec;
      st.put(rest, []);
    }
    return;
  }
  if (op.step === 'window-back') {
    // someone else put the machine in their window meanwhile: it is theirs now
    st.dropOp(op.id);
    st.log('error', 'drain_agent_window_taken', { ...at, reason: 'could not put Sluice\'s window back: the machine is in another window now (not Sluice\'s); reconciliation takes it from here' });
    audit(st, op, rec, 'failed', `window not put back: ${f.error}`, { error: f.error });
    if (rec) st.put({ ...rec, agent_drained: { ...(rec.agent_drained ?? { agent_id: op.agent_id, at_ms: st.now, never: true }), failed: f.error } }, []);
    return;
  }
  st.log('error', 'drain_agent_gave_up', { ...at, reason: 'the master refused; putting the window back, the host then waits as with others_at_deadline=wait' });
  audit(st, op, rec, 'failed', `agent drain gave up: ${f.error}`, { error: f.error });
  run(st, rewrite(st, op, { step: 'window-back', error: f.error }));
}

function describeOthersBrief(others: readonly DrainAgentOther[]): string {
  if (!others.length) return 'no other framework task was listed';
  const one = (o: DrainAgentOther) => `${o.framework_id}${o.framework_name ? ` (${o.framework_name})` : ''} answered ${o.answer}: ${o.task_count} task(s) [${o.task_ids.join(', ')}${o.task_count > o.task_ids.length ? ', ...' : ''}]`;
  return `tasks of other frameworks ended: ${others.map(one).join('; ')}`;
}

/** What `host query` shows of a flow under way (or done) on a host. */
export function drainAgentView(s: MaintenanceState, key: string, rec: HostRecord): Record<string, unknown> | undefined {
  const op = drainAgentOf(s, key);
  if (op) return { step: op.step, agent_id: op.agent_id, started_ms: op.started_ms, max_grace_period_s: op.max_grace_s, others: op.others, ...(op.error ? { error: op.error } : {}) };
  if (rec.agent_drained) return { step: 'done', ...rec.agent_drained };
  return undefined;
}
