/**
 * Operator requests inside the loop: `host maintenance start | complete | abort`. A request is
 * decided at once (refused with a domain outcome, or its records and intent written in one batch);
 * the write to the master is an I/O request, and the request's answer is given when its result
 * comes back (records marked posted, or rolled back) — always from the state as it is then.
 */
import type { MachineID } from '../../mesos/types.js';
import { abortMaintenance, admit, completeMaintenance, drainDeadline, hostKey, withClusterPause, withPauseClock, type HostRecord, type LeadOptions, type MaintenanceOptions, type PauseMark, type StartRequest } from './host-state.js';
import { MaintenanceError, MaintenanceRequestError, type HostProblem } from './errors.js';
import { hasSelector, selectHosts, type Selection } from './select.js';
import { addWindow, machineIdOf } from './schedule.js';
import { startMaintenance } from './host-state.js';
import { dryRunStart } from './probe.js';
import { drainOptions, drainView, inventory } from './loop-drain.js';
import { busy, type StepBuilder } from './loop-step.js';
import { CONTROL_COLLECTION, PAUSE_KEY, type EditInput, type EndInput, type IoRequest, type OperatorMeta, type PauseInput, type SchedulerView, type StartInput } from './loop-state.js';
import type { Failure } from './outcome.js';
import { failureOf } from './errors.js';
import type { MasterAgent } from './master.js';
import type { DrainView } from './drain-types.js';
import { applyOverride, effectiveSla, type SlaOverride } from '../../sla/index.js';

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

/** What `--override-sla` would do to each job with an instance on `hosts` (for the dry run). */
function overrideNotes(view: DrainView, hosts: readonly string[], ov: SlaOverride): string[] {
  const keys = new Set(hosts.map(hostKey));
  const jobs = new Set(view.instances.filter((r) => r.hostname !== undefined && keys.has(hostKey(r.hostname))).map((r) => r.job));
  const out: string[] = [];
  for (const j of view.jobs) {
    if (!jobs.has(j.name)) continue;
    const eff = applyOverride(effectiveSla(j, view.guardrails), j.instances, ov);
    out.push(`job ${j.name}: ${eff.notes[eff.notes.length - 1] ?? ''}`);
  }
  return out;
}

export function onStart(st: StepBuilder, input: StartInput, sched: SchedulerView): void {
  const { s, now } = st;
  learnAll(st, input.agents);
  refusable(st, input.reply, () => {
    const picked = resolveSelection('host maintenance start', input.request.hosts, input.select, input.agents);
    const req: StartRequest = { ...input.request, hosts: picked.hosts };
    const selection = picked.selection ? { selection: picked.selection } : {};
    if (req.dry_run) {
      const view = drainView(s, sched);
      const ov = req.override_sla;
      if (ov) view.overrides = new Map([...(view.overrides ?? []), ...picked.hosts.map((h) => [hostKey(h), ov] as const)]);
      const r = dryRunStart(s.records, req, inventory(s, sched), view, now, input.request_id, drainOptions(s));
      if (ov) r.notes.push(...overrideNotes(view, picked.hosts, ov));
      st.reply(input.reply, { outcome: 'ok', body: { ...r, ...selection } });
      return;
    }
    const cap = s.config.drain?.max_draining_hosts;
    // under `pause --all` nothing is admitted: the hosts wait SCHEDULED until resume --all
    const r = startMaintenance(s.records, req, inventory(s, sched), now, input.request_id, { lead_ms: s.config.leadMs, ...(cap !== undefined ? { max_draining: cap } : {}), ...(s.pausedAll ? { paused_all: true } : {}) });
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
  const ov = rec0?.options.sla_override;
  if (ov) {
    // loud: every lowering of SLAs is logged at warn, audited (same batch) and counted (sluice_sla_overrides_total)
    st.log('warn', 'sla_override', { request_id: entry.op.request_id, actor: who.actor, reason: ov.reason, hosts: req.hosts, override: ov.text });
    st.audit.push({ kind: 'sla_override', ts_ms: now, actor: who.actor, action: 'start', request_id: entry.op.request_id, reason: ov.reason, detail: { hosts: req.hosts, override: ov.text, kind: ov.kind, value: ov.value, duration_seconds: ov.duration_seconds } });
  }
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

// ------------------------------------------------------------------------------------------------
// pause / resume / edit (issue #13): decided at once, written with their audit entries in one
// batch; the reply goes out once that batch is durable. The planner reads the marks (drainer.ts
// skips paused hosts' kills and surges, admissions() skips paused SCHEDULED hosts, machine down waits).

/** Hosts a pause / resume / edit applies to: in maintenance (not UP, not DOWN). */
function active(rec: HostRecord): boolean {
  return rec.state !== 'UP' && rec.state !== 'DOWN';
}

/** The records of a request still in maintenance (not_found when there is none). */
function requestRecords(st: StepBuilder, verb: string, requestId: string): HostRecord[] {
  const recs = [...st.s.records.values()].filter((r) => r.request_id === requestId && active(r));
  if (!recs.length) {
    const known = [...st.s.records.values()].some((r) => r.request_id === requestId);
    throw new MaintenanceRequestError(verb, [{
      hostname: '',
      code: known ? 'wrong-state' : 'not-in-maintenance',
      message: known ? `request ${requestId} has no host left in maintenance (all UP or DOWN)` : `no maintenance request ${requestId}`,
    }]);
  }
  return recs;
}

function hostRecords(st: StepBuilder, verb: string, hosts: readonly string[]): HostRecord[] {
  const problems: HostProblem[] = [];
  const out: HostRecord[] = [];
  for (const h of hosts) {
    const rec = st.s.records.get(hostKey(h));
    if (!rec || !active(rec)) {
      problems.push({ hostname: h, code: rec ? 'wrong-state' : 'not-in-maintenance', message: rec ? `is ${rec.state}: only hosts SCHEDULED, DRAINING or DRAINED can be paused or resumed` : 'is not in maintenance' });
    } else out.push(rec);
  }
  if (problems.length) throw new MaintenanceRequestError(verb, problems);
  return out;
}

export function onPause(st: StepBuilder, input: PauseInput): void {
  const { s, now } = st;
  const pause = input.kind === 'pause';
  const verb = input.kind;
  const who = meta(input);
  refusable(st, input.reply, () => {
    if ('all' in input.target) {
      const was = s.pausedAll;
      if (pause) {
        const mark: PauseMark = { ...who, at_ms: now };
        s.pausedAll = mark;
        st.storeOps.push({ op: 'put', collection: CONTROL_COLLECTION, key: PAUSE_KEY, value: mark });
      } else {
        delete s.pausedAll;
        st.storeOps.push({ op: 'delete', collection: CONTROL_COLLECTION, key: PAUSE_KEY });
      }
      // the drain timeout stops (or goes on) for every host not paused on its own, in the same batch
      for (const rec of [...s.records.values()]) {
        if (!active(rec) || rec.paused !== undefined) continue;
        const next = withPauseClock(rec, pause, now);
        if (next !== rec) st.put(next, []);
      }
      st.log('warn', pause ? 'maintenance_paused_all' : 'maintenance_resumed_all', { actor: who.actor, operator_reason: who.reason, reason: pause ? 'no new kill, admission or machine down anywhere until resume --all' : 'drains continue' });
      st.audit.push({ kind: 'request', ts_ms: now, actor: who.actor, action: verb, reason: who.reason, detail: { all: true, was_paused: was !== undefined } });
      st.reply(input.reply, { outcome: 'ok', body: { all: true, paused_all: s.pausedAll ?? null } });
      return;
    }
    const byRequest = 'request_id' in input.target ? input.target.request_id : undefined;
    const recs = byRequest !== undefined ? requestRecords(st, `host maintenance ${verb}`, byRequest) : hostRecords(st, `host maintenance ${verb}`, (input.target as { hosts: readonly string[] }).hosts);
    const out: unknown[] = [];
    for (const rec of recs) {
      const changed = pause ? rec.paused === undefined : rec.paused !== undefined;
      if (changed) {
        let next: HostRecord = { ...rec };
        if (pause) next.paused = { ...who, at_ms: now };
        else delete next.paused;
        // the drain timeout does not count while paused (by this mark or by pause --all)
        next = withPauseClock(next, pause || s.pausedAll !== undefined, now);
        st.put(next, []);
        st.audit.push({ kind: 'request', ts_ms: now, actor: who.actor, action: verb, host: rec.hostname, agent_id: rec.agent_id, request_id: rec.request_id, reason: who.reason, detail: { state: rec.state, ...(byRequest !== undefined ? { by_request: byRequest } : {}) } });
      }
      out.push({ hostname: rec.hostname, state: rec.state, request_id: rec.request_id, paused: pause, changed });
    }
    st.log('info', pause ? 'maintenance_paused' : 'maintenance_resumed', { hosts: recs.map((r) => r.hostname), request_id: byRequest, actor: who.actor, operator_reason: who.reason, reason: pause ? 'no new kill, admission or machine down for these hosts until resume' : 'drain continues' });
    st.reply(input.reply, { outcome: 'ok', body: { [pause ? 'paused' : 'resumed']: out, ...(s.pausedAll ? { paused_all: s.pausedAll } : {}) } });
  });
}

export function onEdit(st: StepBuilder, input: EditInput): void {
  const { now } = st;
  const verb = 'host maintenance edit';
  const who = meta(input);
  refusable(st, input.reply, () => {
    const recs = requestRecords(st, verb, input.request_id);
    const before = recs[0]!.options;
    const after: MaintenanceOptions = { ...before };
    if (input.max_parallel === null) delete after.max_parallel;
    else if (input.max_parallel !== undefined) after.max_parallel = input.max_parallel;
    if (input.timeout_ms === null) delete after.timeout_ms;
    else if (input.timeout_ms !== undefined) after.timeout_ms = input.timeout_ms;
    if (after.force && after.timeout_ms === undefined) {
      throw new MaintenanceRequestError(verb, [{ hostname: '', code: 'invalid-option', path: 'timeout', message: 'this request was started with --force, which needs a timeout: it cannot be removed' }]);
    }
    const pick = (o: MaintenanceOptions) => ({ max_parallel: o.max_parallel ?? null, timeout_ms: o.timeout_ms ?? null });
    if (input.dry_run) {
      // nothing written, nothing audited: what the edit would do, from the state as it is now
      st.reply(input.reply, { outcome: 'ok', body: editDryRun(st, input.request_id, recs, before, after) });
      return;
    }
    for (const rec of recs) {
      const next: HostRecord = { ...rec, options: { ...after } };
      // a longer timeout re-arms the notice (and --force) once the new deadline passes
      const deadline = drainDeadline(next, now);
      if (rec.timed_out_ms !== undefined && (deadline === undefined || deadline > now)) delete next.timed_out_ms;
      st.put(next, []);
    }
    st.log('info', 'maintenance_edited', { request_id: input.request_id, actor: who.actor, operator_reason: who.reason, before: pick(before), after: pick(after), reason: 'options changed in flight' });
    st.audit.push({ kind: 'request', ts_ms: now, actor: who.actor, action: 'edit', request_id: input.request_id, reason: who.reason, detail: { hosts: recs.map((r) => r.hostname), before: pick(before), after: pick(after) } });
    st.reply(input.reply, { outcome: 'ok', body: { request_id: input.request_id, options: after, hosts: recs.map((r) => ({ hostname: r.hostname, state: r.state })) } });
  });
}

/**
 * `host maintenance edit --dry-run`: per host the drain deadline before and after (paused time not
 * counted), which hosts the next plan would start draining under the new max_parallel and the
 * cluster cap (through the same admit() the planner uses), and which the cap alone holds back.
 */
function editDryRun(st: StepBuilder, requestId: string, recs: readonly HostRecord[], before: MaintenanceOptions, after: MaintenanceOptions): Record<string, unknown> {
  const { s, now } = st;
  const cap = s.config.drain?.max_draining_hosts;
  const lead: LeadOptions = { lead_ms: s.config.leadMs, ...(cap !== undefined ? { max_draining: cap } : {}), ...(s.pausedAll ? { paused_all: true } : {}) };
  const mine = new Set(recs.map((r) => hostKey(r.hostname)));
  // what the planner sees: hosts in maintenance whose window the master took (a DRAINING one still counts against the cap)
  const seen = withClusterPause([...s.records.values()].filter((r) => r.state !== 'UP' && (r.origin !== 'sluice' || r.schedule_posted_ms !== undefined || r.state === 'DRAINING')), s.pausedAll)
    .map((r) => (mine.has(hostKey(r.hostname)) ? { ...r, options: { ...after } } : r));
  const ofMine = (xs: Array<{ hostname: string; reason: string }>) => xs.filter((a) => mine.has(hostKey(a.hostname)));
  const starts = ofMine(admit(seen, now, lead).admit);
  const uncapped = cap === undefined ? starts : ofMine(admit(seen, now, { ...lead, max_draining: undefined } as LeadOptions).admit);
  const startKeys = new Set(starts.map((a) => hostKey(a.hostname)));
  const draining = recs.filter((r) => r.state === 'DRAINING').length;
  const notes: string[] = [];
  if (after.max_parallel !== undefined && draining > after.max_parallel) {
    notes.push(`${draining} hosts of ${requestId} are draining now: they go on; no new host starts until fewer than ${after.max_parallel} drain`);
  }
  if (s.pausedAll) notes.push('all drains are paused (pause --all): nothing starts until resume --all');
  const hosts = recs.map((r) => {
    const was = drainDeadline(r, now);
    const will = drainDeadline({ ...r, options: { ...after } }, now);
    const paused = r.paused !== undefined || s.pausedAll !== undefined;
    return {
      hostname: r.hostname,
      state: r.state,
      deadline_before_ms: was ?? null,
      deadline_ms: will ?? null,
      timeout_remaining_ms: will === undefined ? null : Math.max(0, will - now),
      ...(paused ? { paused: true } : {}),
      // a shorter timeout already past: the notice (and --force kills) at the next plan
      times_out_now: will !== undefined && will <= now && r.state === 'DRAINING' && !paused && r.timed_out_ms === undefined,
    };
  });
  return {
    dry_run: true,
    request_id: requestId,
    before: { max_parallel: before.max_parallel ?? null, timeout_ms: before.timeout_ms ?? null },
    after: { max_parallel: after.max_parallel ?? null, timeout_ms: after.timeout_ms ?? null },
    max_draining_hosts: cap ?? null,
    would_start_draining: starts,
    held_by_cluster_cap: uncapped.filter((a) => !startKeys.has(hostKey(a.hostname))).map((a) => a.hostname),
    hosts,
    notes,
  };
}
