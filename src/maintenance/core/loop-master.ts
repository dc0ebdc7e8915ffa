/**
 * The loop's work with the master beyond the scheduler API: machine down for DRAINED hosts Sluice
 * put in maintenance (downDecision), the post_drain hook once a host is DOWN, periodic
 * reconciliation with the master's schedule and status (reconcileSchedule) after resolving the
 * intents a previous process left (resolvePending), and the start-up restore. Every write is
 * announced by a durable intent (core/pending.ts) in the step that asks for it.
 */
import { hostKey, type HostRecord, type OthersSeen } from './host-state.js';
import { downDecision } from './inverse-offers.js';
import { machineEquals, machineIdOf, reconcileSchedule } from './schedule.js';
import { interruptedPostDrain, resolvePending, type PendingOp } from './pending.js';
import { cleanText, countBy } from './host-view.js';
import { describeOthers, othersGate, othersOnHost, type OthersOnHost } from './others.js';
import { inventory } from './loop-drain.js';
import { startDrainAgent } from './drain-agent.js';
import { busy, type StepBuilder } from './loop-step.js';
import type { IoRequest, IoResult, SchedulerView } from './loop-state.js';
import type { Failure } from './outcome.js';
import type { PostDrainResult } from './master.js';

type Req<K extends IoRequest['kind']> = Extract<IoRequest, { kind: K }>;

/** Start-up: the records and intents in the store; hooks that were running are not run again. */
export function onLoaded(st: StepBuilder, records: readonly HostRecord[], pending: readonly PendingOp[]): void {
  const { s, now } = st;
  for (const rec of records) s.records.set(hostKey(rec.hostname), rec);
  for (const op of pending) s.pending.set(op.id, { op, live: false });
  for (const op of pending.filter((o) => o.kind === 'post-drain')) {
    for (const rec of interruptedPostDrain(op, s.records, now)) {
      st.put(rec, []);
      const reason = 'Sluice stopped while the post_drain hook ran; it is NOT run again automatically — check the host and run the hook by hand if needed';
      st.log('warn', 'post_drain_interrupted', { host: rec.hostname, agent_id: rec.agent_id, pending_op: op.id, reason });
      st.audit.push({ kind: 'hook', ts_ms: now, actor: 'sluice', host: rec.hostname, agent_id: rec.agent_id, request_id: rec.request_id, reason, detail: { outcome: 'interrupted', exit_code: null } });
    }
    st.dropOp(op.id);
  }
  const active = [...s.records.values()].filter((r) => r.state !== 'UP');
  if (s.records.size) {
    st.log('info', 'maintenance_restored', {
      hosts: active.length,
      states: Object.fromEntries(countBy(active.map((r) => r.state))),
      reason: 'host maintenance records loaded from the store; the drain resumes where it was',
    });
  }
  st.syncBlocked(true);
}

/** On each tick: machine-down checks, post_drain hooks and reconciliation that are due. */
export function machineWork(st: StepBuilder): void {
  const { s, now } = st;
  for (const [key, r] of s.records) {
    // a read of the master for every host DRAINING or DRAINED: the other frameworks there (host
    // query) and, for a DRAINED host Sluice put in maintenance, the machine-down decision
    if (downDue(r) || watchOthers(r)) {
      if (s.downInflight.has(key) || busy(s, key)) continue;
      // (a host only watched is read less often: each check reads /master/state)
      const every = s.config.downCheckIntervalMs * (downDue(r) ? 1 : 6);
      if (now - (s.downChecked.get(key) ?? -Infinity) < every) continue;
      s.downChecked.set(key, now);
      s.downInflight.add(key);
      st.io.push({ kind: 'down-check', host: key });
    }
    if (r.state === 'DOWN' && r.options.post_drain && r.down_posted_ms !== undefined && !r.post_drain_result && !busy(s, key)) {
      const op = st.addOp('post-drain', [key], { command: r.options.post_drain, ...(r.request_id !== undefined ? { request_id: r.request_id } : {}) });
      st.log('info', 'post_drain_started', { host: r.hostname, agent_id: r.agent_id, command: cleanText(r.options.post_drain, s.config.secrets) });
      const target = { hostname: r.hostname, ...(r.ip !== undefined ? { ip: r.ip } : {}), ...(r.agent_id !== undefined ? { agent_id: r.agent_id } : {}) };
      st.io.push({ kind: 'post-drain', op: op.id, host: key, command: r.options.post_drain, target });
    }
  }
  for (const key of [...s.others.keys()]) {
    const r = s.records.get(key);
    if (!r || !watchOthers(r)) {
      s.others.delete(key);
    }
  }
  if (now >= s.nextReconcileMs && s.reconcileFrom === undefined) {
    s.nextReconcileMs = now + s.config.reconcileIntervalMs;
    s.reconcileFrom = s.writes;
    st.io.push({ kind: 'reconcile-read' });
  }
}

/** A DRAINED host of Sluice's, its window posted and no machine down yet: down is decided on each check. */
function downDue(r: HostRecord): boolean {
  return r.origin === 'sluice' && r.state === 'DRAINED' && r.down_posted_ms === undefined && r.schedule_posted_ms !== undefined;
}

/** Hosts whose other frameworks are shown (and audited). */
function watchOthers(r: HostRecord): boolean {
  return (r.state === 'DRAINING' || r.state === 'DRAINED') && r.down_posted_ms === undefined;
}

/** At most this many other frameworks' answers are kept on a host record (the oldest go first). */
const MAX_ANSWERS_KEPT = 50;

/** The record's persisted view of other frameworks, changed by `patch` and written in this step. */
function putOthersSeen(st: StepBuilder, key: string, patch: Partial<OthersSeen>): void {
  const cur = st.s.records.get(key);
  if (!cur) return;
  st.put({ ...cur, others_seen: { ...(cur.others_seen ?? { answers: {} }), ...patch } }, []);
}

/**
 * Keeps what the master says of the other frameworks on the host; audits each new answer of
 * theirs. The answers audited are kept on the host record (persisted): a restart does not audit
 * them again.
 */
function noteOthers(st: StepBuilder, rec: HostRecord, key: string, others: OthersOnHost): void {
  const { s, now } = st;
  s.others.set(key, others);
  const seen = new Map(Object.entries(rec.others_seen?.answers ?? {}));
  let changed = false;
  for (const f of others.frameworks) {
    if (f.answer === 'NONE' || seen.get(f.framework_id) === f.answer) continue;
    seen.delete(f.framework_id);
    seen.set(f.framework_id, f.answer);
    changed = true;
    const reason = `other framework ${f.framework_id}${f.name ? ` (${f.name})` : ''} answered ${f.answer}; ${describeOthers([f]).replace(/^.*?: /, '')} on the host`;
    st.log('info', 'other_framework_answer', { host: rec.hostname, framework_id: f.framework_id, framework_name: f.name, answer: f.answer, tasks: f.task_count });
    st.audit.push({
      kind: 'inverse_offer',
      ts_ms: now,
      actor: 'master',
      host: rec.hostname,
      agent_id: rec.agent_id,
      request_id: rec.request_id,
      reason,
      detail: { framework_id: f.framework_id, framework_name: f.name, answer: f.answer, other_framework: true, task_count: f.task_count, tasks: f.tasks },
    });
  }
  if (changed) putOthersSeen(st, key, { answers: Object.fromEntries([...seen].slice(-MAX_ANSWERS_KEPT)) });
}

export function onDownChecked(st: StepBuilder, r: Extract<IoResult, { kind: 'down-check' }>, sched: SchedulerView): void {
  const { s, now } = st;
  const key = r.request.host;
  for (const a of r.state.agents) st.learnAgent(a);
  let rec = s.records.get(key);
  if (!rec || busy(s, key)) {
    s.downInflight.delete(key);
    return;
  }
  const m = rec.ip ? machineIdOf(rec) : undefined;
  const statuses = m ? (r.status.draining_machines ?? []).find((d) => machineEquals(d.id, m))?.statuses : undefined;
  const agent = r.state.agents.find((a) => hostKey(a.hostname) === key);
  const frameworks = agent ? (r.state.frameworksOnAgent.get(agent.agent_id) ?? []) : [];
  const others = othersOnHost(agent ? (r.state.tasksOnAgent?.get(agent.agent_id) ?? []) : [], statuses ?? [], sched.frameworkId, now);
  if (watchOthers(rec)) {
    noteOthers(st, rec, key, others);
    rec = s.records.get(key)!;
  }
  // paused (host maintenance pause / pause --all): no machine down until resume
  if (!downDue(rec) || rec.paused !== undefined || s.pausedAll !== undefined) {
    s.downInflight.delete(key);
    return;
  }
  const gate = othersGate(rec, others, s.config.others, now);
  if (gate.verdict === 'drain_agent') {
    // others_at_deadline=drain_agent: DRAIN_AGENT first, machine down once the agent is drained
    startDrainAgent(st, rec, agent?.agent_id ?? rec.agent_id, gate);
    s.downInflight.delete(key);
    return;
  }
  if (gate.verdict === 'wait') {
    st.log('debug', 'machine_down_decision', { host: rec.hostname, down: false, reason: gate.reason });
    // when the wait began and that it was warned of are persisted: a restart keeps both
    const seen = rec.others_seen;
    const passed = now >= gate.deadline_ms;
    if (seen?.waiting_since_ms === undefined || (passed && seen.warned_ms === undefined)) {
      putOthersSeen(st, key, { waiting_since_ms: seen?.waiting_since_ms ?? now, ...(passed ? { warned_ms: now } : {}) });
    }
    if (passed && seen?.warned_ms === undefined) {
      st.log('warn', 'machine_down_waits_for_other_frameworks', { host: rec.hostname, agent_id: rec.agent_id, reason: gate.reason, frameworks: gate.blocking.map((f) => f.framework_id) });
    }
    s.downInflight.delete(key);
    return;
  }
  const d = downDecision(rec, { statuses: statuses ?? [], frameworks_on_agent: frameworks }, now);
  st.log('debug', 'machine_down_decision', { host: rec.hostname, down: d.down, reason: d.reason });
  if (!d.down) {
    s.downInflight.delete(key);
    return;
  }
  const taken = gate.verdict === 'take' ? gate.blocking : undefined;
  if (taken) {
    st.log('warn', 'machine_down_takes_other_tasks', {
      host: rec.hostname,
      agent_id: rec.agent_id,
      reason: gate.reason,
      frameworks: taken.map((f) => ({ framework_id: f.framework_id, framework_name: f.name, answer: f.answer, task_count: f.task_count, task_ids: f.tasks.map((t) => t.task_id) })),
    });
  }
  const op = st.addOp('machine-down', [key], rec.request_id !== undefined ? { request_id: rec.request_id } : {});
  st.io.push({ kind: 'machine-down', op: op.id, host: key, machine: machineIdOf(rec), reason: taken ? `${d.reason}; ${gate.reason}` : d.reason, ...(taken ? { others_taken: taken } : {}) });
}

export function onMachineDown(st: StepBuilder, req: Req<'machine-down'>, failure: Failure | undefined): void {
  const { s } = st;
  s.downInflight.delete(req.host);
  st.wrote([req.host]);
  st.dropOp(req.op);
  if (failure) {
    st.log('warn', 'machine_down_failed', { host: req.host, error: failure.error });
    return;
  }
  const cur = s.records.get(req.host);
  if (!cur || cur.state === 'DOWN' || cur.state === 'UP') return;
  const next = st.move(cur, 'DOWN', `machine down posted: ${req.reason}`, { down_posted_ms: st.now });
  const others = req.others_taken?.map((f) => ({ framework_id: f.framework_id, framework_name: f.name, answer: f.answer, task_count: f.task_count, task_ids: f.tasks.map((t) => t.task_id) }));
  st.audit.push({ kind: 'machine_down', ts_ms: st.now, actor: 'sluice', host: next.hostname, agent_id: next.agent_id, request_id: next.request_id, reason: req.reason, ...(others ? { detail: { others_taken: others } } : {}) });
}

function hookOutcome(r: PostDrainResult): string {
  if (r.timed_out) return 'timed out';
  return r.exit_code === 0 ? 'succeeded' : 'failed';
}

export function onPostDrain(st: StepBuilder, req: Req<'post-drain'>, result: PostDrainResult | undefined, failure: Failure | undefined): void {
  const { s, now } = st;
  st.dropOp(req.op);
  const cur = s.records.get(req.host);
  if (!result) {
    st.log('warn', 'post_drain_failed', { host: cur?.hostname ?? req.host, error: failure?.error });
    return;
  }
  st.log(result.exit_code === 0 ? 'info' : 'warn', 'post_drain_finished', { host: req.target.hostname, exit_code: result.exit_code, signal: result.signal, timed_out: result.timed_out });
  st.audit.push({
    kind: 'hook',
    ts_ms: now,
    actor: 'sluice',
    host: req.target.hostname,
    agent_id: req.target.agent_id,
    request_id: cur?.request_id,
    reason: `post_drain ${hookOutcome(result)}`,
    detail: { outcome: hookOutcome(result), exit_code: result.exit_code, ...(result.signal ? { signal: result.signal } : {}), timed_out: result.timed_out },
  });
  if (cur && cur.state === 'DOWN') st.put({ ...cur, post_drain_result: { ...result, at_ms: now } }, []);
}

/** The master's schedule, status and agents, read exclusive with the writer: what changed outside Sluice. */
export function onReconcileRead(st: StepBuilder, r: Extract<IoResult, { kind: 'reconcile-read' }> | undefined, failure: Failure | undefined, sched: SchedulerView): void {
  const { s, now } = st;
  const from = s.reconcileFrom ?? s.writes;
  s.reconcileFrom = undefined;
  if (!r) {
    st.log('warn', 'maintenance_reconcile_failed', { error: failure?.error });
    return;
  }
  for (const a of r.state.agents) st.learnAgent(a);
  const table = new Map(s.records);
  const repost: string[] = [];
  // 1. intents left by a previous process: recognise what the master already took
  for (const e of [...s.pending.values()].filter((x) => !x.live)) {
    const res = resolvePending(e.op, table, { schedule: r.schedule, status: r.status }, now);
    for (const { record, transitions } of res.records) {
      table.set(hostKey(record.hostname), record);
      st.put(record, transitions, { reconcile: 'pending-op', pending_op: e.op.id });
    }
    for (const l of res.logs) st.log(l.level, l.event, l.fields);
    repost.push(...res.repost);
    st.dropOp(e.op.id);
  }
  // 2. what changed outside Sluice, leaving alone every host we are writing (or wrote after this
  //    read was asked for): the comparison is against what Sluice last wrote
  //    (nor may such a host be taken for one without a record: it is left alone entirely)
  const unsettled = (k: string) => busy(s, k) || (s.touched.get(k) ?? -1) > from || repost.includes(k);
  const settled = new Map([...table].filter(([k]) => !unsettled(k)));
  for (const a of reconcileSchedule(settled, r.schedule, r.status, inventory(s, sched), now, s.config.leadMs)) {
    const k = hostKey(a.hostname);
    if (a.kind === 'repost') repost.push(k);
    else if (a.record && !unsettled(k)) st.put(a.record, a.transitions, { reconcile: a.kind });
  }
  st.syncBlocked();
  for (const key of repost) repostWindow(st, key);
}

/** Post our window again: the master never took it (Sluice stopped first). */
function repostWindow(st: StepBuilder, key: string): void {
  const { s } = st;
  const rec = s.records.get(key);
  if (!rec || rec.state === 'UP' || !rec.window || !rec.ip || rec.schedule_posted_ms !== undefined || busy(s, key)) return;
  const op = st.addOp('schedule-add', [key], { window: rec.window, ...(rec.request_id !== undefined ? { request_id: rec.request_id } : {}) });
  const m = machineIdOf(rec);
  st.io.push({ kind: 'schedule-add', op: op.id, hosts: [key], machines: [m], window: rec.window, owned: [m] });
}
