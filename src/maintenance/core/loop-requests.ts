/**
 * Operator requests inside the loop: `host maintenance start | complete | abort`. A request is
 * decided at once (refused with a domain outcome, or its records and intent written in one batch);
 * the write to the master is an I/O request, and the request's answer is given when its result
 * comes back (records marked posted, or rolled back) — always from the state as it is then.
 */
import type { MachineID } from '../../mesos/types.js';
import { abortMaintenance, completeMaintenance, hostKey, type HostRecord, type StartRequest } from './host-state.js';
import { MaintenanceError, MaintenanceRequestError, type HostProblem } from './errors.js';
import { hasSelector, selectHosts, type Selection } from './select.js';
import { addWindow, machineIdOf } from './schedule.js';
import { startMaintenance } from './host-state.js';
import { dryRunStart } from './probe.js';
import { drainOptions, drainView, inventory } from './loop-drain.js';
import { busy, type StepBuilder } from './loop-step.js';
import type { EndInput, IoRequest, OperatorMeta, SchedulerView, StartInput } from './loop-state.js';
import type { Failure } from './outcome.js';
import { failureOf } from './errors.js';
import type { MasterAgent } from './master.js';

function learnAll(st: StepBuilder, agents: readonly MasterAgent[]): void {
  for (const a of agents) st.learnAgent(a);
}

/** Resolves `--rack`/`--attribute` against the agents the master reports (invalid when nothing matches). */
export function resolveSelection(verb: string, hosts: readonly string[], sel: StartInput['select'], agents: readonly MasterAgent[]): { hosts: string[]; selection?: Selection } {
  if (!hasSelector(sel)) return { hosts: [...hosts] };
  const problems: HostProblem[] = [];
  const selection = selectHosts(hosts, sel, agents, problems);
  if (problems.length) throw new MaintenanceRequestError(verb, problems);
  return { hosts: selection.hosts, selection };
}

/** Runs a decision that may refuse with a MaintenanceError: the refusal becomes the request's reply. */
function refusable(st: StepBuilder, reply: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof MaintenanceError)) throw e;
    st.reply(reply, failureOf(e));
  }
}

function meta(m: OperatorMeta): OperatorMeta {
  return m.reason !== undefined ? { actor: m.actor, reason: m.reason } : { actor: m.actor };
}

export function onStart(st: StepBuilder, input: StartInput, sched: SchedulerView): void {
  const { s, now } = st;
  learnAll(st, input.agents);
  refusable(st, input.reply, () => {
    const picked = resolveSelection('host maintenance start', input.request.hosts, input.select, input.agents);
    const req: StartRequest = { ...input.request, hosts: picked.hosts };
    const selection = picked.selection ? { selection: picked.selection } : {};
    if (req.dry_run) {
      const r = dryRunStart(s.records, req, inventory(s, sched), drainView(s, sched), now, input.request_id, drainOptions(s));
      st.reply(input.reply, { outcome: 'ok', body: { ...r, ...selection } });
      return;
    }
    const r = startMaintenance(s.records, req, inventory(s, sched), now, input.request_id, { lead_ms: s.config.leadMs });
    // someone else's window on one of these machines: refuse before writing anything
    const machines = r.records.map(machineIdOf);
    addWindow(input.schedule, machines, r.window);
    const who = meta(input);
    const keys = r.records.map((rec) => hostKey(rec.hostname));
    const rollback: Array<[string, HostRecord | undefined]> = keys.map((k) => [k, s.records.get(k)]);
    for (const rec of r.records) {
      const key = hostKey(rec.hostname);
      st.put({ ...rec, ...who }, r.transitions.filter((t) => hostKey(t.hostname) === key));
    }
    // the intent, in the same batch as the records: durable before the POST
    const op = st.addOp('schedule-add', keys, { window: r.window, request_id: input.request_id }, { reply: input.reply, rollback, request: { ...who, ...selection } });
    st.io.push({ kind: 'schedule-add', op: op.id, hosts: keys, machines, window: r.window, owned: [], reply: input.reply });
    st.syncBlocked();
  });
}

export function onEnd(st: StepBuilder, input: EndInput): void {
  const { s, now } = st;
  const verb = `host maintenance ${input.verb}`;
  refusable(st, input.reply, () => {
    const r = (input.verb === 'complete' ? completeMaintenance : abortMaintenance)(s.records, input.hosts, now);
    const held = r.records.filter((rec) => busy(s, hostKey(rec.hostname)));
    if (held.length) {
      throw new MaintenanceRequestError(verb, held.map((rec) => ({
        hostname: rec.hostname,
        code: 'wrong-state' as const,
        message: 'an operation of Sluice on this host is still in progress with the master; retry in a moment',
      })));
    }
    const keys = r.records.map((rec) => hostKey(rec.hostname));
    const op = st.addOp('schedule-remove', keys, { verb: input.verb }, { reply: input.reply, request: meta(input) });
    const up: MachineID[] = r.machines_up.map(machineIdOf);
    const unschedule: MachineID[] = r.machines_unscheduled.map(machineIdOf);
    st.io.push({ kind: 'schedule-end', op: op.id, hosts: keys, up, unschedule, reply: input.reply });
  });
}

type Done<K extends IoRequest['kind']> = Extract<IoRequest, { kind: K }>;

/** The master took the window (or refused it): mark the records posted, or roll them back. */
export function onScheduleAdded(st: StepBuilder, req: Done<'schedule-add'>, failure: Failure | undefined): void {
  const { s, now } = st;
  st.wrote(req.hosts);
  const entry = st.dropOp(req.op);
  if (!entry) return;
  const rec0 = s.records.get(req.hosts[0] ?? '');
  if (entry.op.kind !== 'schedule-add') return;
  if (!entry.reply) return repostDone(st, req, failure, rec0);
  if (failure) {
    for (const [key, prev] of entry.rollback ?? []) st.restore(key, prev);
    st.log('warn', 'maintenance_start_rolled_back', { request_id: entry.op.request_id, hosts: req.hosts, reason: `the master did not take the window: ${failure.error}` });
    st.syncBlocked();
    st.reply(entry.reply, failure);
    return;
  }
  const hosts: unknown[] = [];
  for (const key of req.hosts) {
    const cur = s.records.get(key);
    if (!cur) continue;
    const next = { ...cur, schedule_posted_ms: now };
    st.put(next, []);
    hosts.push({ hostname: next.hostname, state: next.state, group: next.group, rack: next.rack, agent_id: next.agent_id });
  }
  const who = entry.request ?? { actor: 'local' };
  st.log('info', 'maintenance_started', { request_id: entry.op.request_id, hosts: req.hosts, actor: who.actor, operator_reason: who.reason, reason: 'window posted to the master' });
  st.audit.push({
    kind: 'request',
    ts_ms: now,
    actor: who.actor,
    action: 'start',
    request_id: entry.op.request_id,
    reason: who.reason,
    detail: { hosts: req.hosts, window: req.window, ...(rec0 ? { options: rec0.options.post_drain ? { ...rec0.options, post_drain: '(set)' } : rec0.options } : {}) },
  });
  const selection = who.selection ? { selection: who.selection } : {};
  st.reply(entry.reply, { outcome: 'accepted', body: { request_id: entry.op.request_id, window: req.window, options: rec0?.options, hosts, ...selection } });
}

/** A window posted again by reconciliation (the master never took it before a restart). */
function repostDone(st: StepBuilder, req: Done<'schedule-add'>, failure: Failure | undefined, rec: HostRecord | undefined): void {
  if (!rec) return;
  if (failure) {
    st.log('warn', 'maintenance_repost_failed', { host: rec.hostname, error: failure.error });
    return;
  }
  if (rec.state !== 'UP') st.put({ ...rec, schedule_posted_ms: st.now }, []);
  st.log('info', 'maintenance_window_reposted', { host: rec.hostname, reason: 'window was not on the master (Sluice stopped before the master took it)' });
}

/** complete / abort went through at the master (or did not): hosts UP, or nothing changed. */
export function onScheduleEnded(st: StepBuilder, req: Done<'schedule-end'>, failure: Failure | undefined): void {
  const { s, now } = st;
  st.wrote(req.hosts);
  const entry = st.dropOp(req.op);
  if (!entry || entry.op.kind !== 'schedule-remove') return;
  if (failure) {
    st.reply(entry.reply, failure);
    return;
  }
  const verb = entry.op.verb;
  const who = entry.request ?? { actor: 'local' };
  const upKeys = new Set(req.up.map((m) => hostKey(m.hostname ?? '')));
  const out: unknown[] = [];
  for (const key of req.hosts) {
    const cur = s.records.get(key);
    if (!cur || cur.state === 'UP') continue;
    const next = st.move(cur, 'UP', verb === 'complete' ? 'maintenance complete' : 'maintenance aborted', { ended: { verb, actor: who.actor, at_ms: now, ...(who.reason !== undefined ? { reason: who.reason } : {}) } });
    s.downChecked.delete(key);
    if (upKeys.has(key)) st.audit.push({ kind: 'machine_up', ts_ms: now, actor: who.actor, host: next.hostname, agent_id: next.agent_id, request_id: next.request_id, reason: `host maintenance ${verb}` });
    out.push({ hostname: next.hostname, state: next.state });
  }
  st.audit.push({ kind: 'request', ts_ms: now, actor: who.actor, action: verb, reason: who.reason, detail: { hosts: req.hosts } });
  st.syncBlocked();
  st.reply(entry.reply, { outcome: 'ok', body: { [verb === 'complete' ? 'completed' : 'aborted']: out } });
}
