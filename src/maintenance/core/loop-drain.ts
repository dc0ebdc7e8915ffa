/**
 * The drain inside the loop: plan (planDrain) and apply the plan — host transitions, kills and
 * make-before-break surges as scheduler commands, drain timeouts recorded once — and the master's
 * hints: offers and inverse offers carrying unavailability (an external window starts a drain),
 * inverse offers answered by the policy (decideInverseOffer), held ones re-decided after each plan.
 */
import type { Call, InverseOffer, Offer } from '../../mesos/types.js';
import { attributeText } from '../../mesos/types.js';
import { agentCapacity, coordinatorNow, workloadJobs, workloadRows } from '../../scheduler/index.js';
import { parseOverride, type SlaOverride } from '../../sla/validate.js';
import { hostKey, withClusterPause, type HostRecord, type InventoryHost, type MaintenanceWindow } from './host-state.js';
import { planDrain } from './drainer.js';
import type { DrainOptions, DrainPlan, DrainView } from './drain-types.js';
import { decideInverseOffer, enterFromUnavailability, windowFromUnavailability } from './inverse-offers.js';
import { tasksOnAgent } from './host-view.js';
import { busy, type StepBuilder } from './loop-step.js';
import type { HeldInverseOffer, IoRequest, MaintenanceState, SchedulerView } from './loop-state.js';

export function drainOptions(s: MaintenanceState): Partial<DrainOptions> {
  return { lead_ms: s.config.leadMs, ...s.config.drain };
}

/** Drain options for a plan over `hosts`: the cluster cap less the DRAINING hosts outside the plan (windows not posted yet). */
function capOptions(s: MaintenanceState, hosts: readonly HostRecord[]): Partial<DrainOptions> {
  const o = drainOptions(s);
  if (o.max_draining_hosts === undefined) return o;
  const inPlan = new Set(hosts.map((h) => hostKey(h.hostname)));
  let outside = 0;
  for (const [k, r] of s.records) if (r.state === 'DRAINING' && !inPlan.has(k)) outside++;
  return { ...o, max_draining_hosts: Math.max(0, o.max_draining_hosts - outside) };
}

/** The planner's view: the given host records and the workload as SLA rows. */
export function drainView(s: MaintenanceState, sched: SchedulerView, hosts: HostRecord[] = [...s.records.values()], now?: number): DrainView {
  const v: DrainView = { hosts, jobs: workloadJobs(sched), instances: workloadRows(sched), capacity: agentCapacity(sched) };
  if (s.config.slaGuardrails) v.guardrails = s.config.slaGuardrails;
  if (now !== undefined) v.coordinator = coordinatorNow(sched, now);
  const overrides = slaOverrides(hosts);
  if (overrides.size) v.overrides = overrides;
  return v;
}

/**
 * `--override-sla` of the hosts' requests, by hostKey (hosts in maintenance only). A stored override
 * is parsed again before use: a damaged store entry lowers nothing.
 */
export function slaOverrides(hosts: Iterable<HostRecord>): Map<string, SlaOverride> {
  const out = new Map<string, SlaOverride>();
  for (const h of hosts) {
    const ov = h.options.sla_override as Partial<SlaOverride> | undefined;
    if (!ov || h.state === 'UP') continue;
    const ok = parseOverride(ov.text, ov.reason);
    if (ok.ok) out.set(hostKey(h.hostname), ok.value);
  }
  return out;
}

/**
 * Hand the plan's coordinator questions to the scheduler, which keeps the one approval book shared
 * with rolling updates (src/scheduler/coordinator.ts): it sends those not out already nor answered
 * lately, and each answer comes back into that book; the next plan reads it (`drainView`).
 */
function askCoordinators(st: StepBuilder, p: DrainPlan): void {
  if (p.questions.length) st.commands.push({ type: 'coordinator_ask', asks: p.questions.map((q) => ({ ref: q.ref, question: q.question })) });
}

/** Hosts the planner works on: not UP, and (Sluice-origin) with the window accepted by the master. */
function planHosts(s: MaintenanceState): HostRecord[] {
  const hosts = [...s.records.values()].filter((r) => r.state !== 'UP' && !(r.origin === 'sluice' && r.schedule_posted_ms === undefined));
  return withClusterPause(hosts, s.pausedAll);
}

/** Agents the loop knows: the scheduler's (from offers) completed with what it learned (ip, rack). */
export function inventory(s: MaintenanceState, sched: SchedulerView): InventoryHost[] {
  const byKey = new Map<string, InventoryHost>();
  for (const a of sched.agents.values()) {
    const h: InventoryHost = { hostname: a.host, agent_id: a.agent_id };
    const rack = a.attributes[s.config.rackAttribute];
    if (rack !== undefined) h.rack = rack;
    byKey.set(hostKey(a.host), h);
  }
  for (const a of s.agents.values()) {
    const prev = byKey.get(hostKey(a.hostname));
    byKey.set(hostKey(a.hostname), { ...prev, ...a });
  }
  return [...byKey.values()];
}

export function plan(st: StepBuilder, sched: SchedulerView): void {
  const { s, now } = st;
  s.lastPlanMs = now;
  const hosts = planHosts(s);
  if (!hosts.length) {
    s.lastProgress = [];
    st.syncBlocked();
    return;
  }
  const view = drainView(s, sched, hosts, now);
  const p = planDrain(view, now, capOptions(s, hosts));
  s.lastProgress = p.progress;
  askCoordinators(st, p);
  for (const t of p.transitions) {
    const rec = s.records.get(hostKey(t.hostname));
    if (!rec || rec.state !== t.from) continue;
    st.move(rec, t.to, t.reason);
  }
  if (p.kills.length) {
    for (const k of p.kills) {
      const forced = k.reason === 'forced';
      const reason = forced ? `FORCED: drain timeout passed, killing regardless of the SLA (${k.detail})` : `${k.reason}: ${k.detail}`;
      if (forced) st.log('warn', 'drain_forced_kill', { host: k.hostname, agent_id: k.agent_id, job: k.job, instance: k.instance, task_id: k.task_id, reason });
      else st.log('info', 'drain_kill', { host: k.hostname, job: k.job, instance: k.instance, task_id: k.task_id, reason });
      const rec = s.records.get(hostKey(k.hostname));
      st.audit.push({
        kind: 'drain_kill',
        ts_ms: now,
        actor: 'sluice',
        host: k.hostname,
        agent_id: k.agent_id,
        request_id: rec?.request_id,
        job: k.job,
        task_id: k.task_id,
        reason,
        detail: { instance: k.instance, kill_reason: k.reason },
      });
    }
    st.commands.push({ type: 'kill_tasks', task_ids: p.kills.map((k) => k.task_id), reason: 'drain' });
  }
  if (p.makeBeforeBreak.length) {
    for (const o of p.makeBeforeBreak) {
      st.log('info', 'drain_surge', { host: o.hostname, job: o.job, instance: o.instance, task_id: o.task_id, reason: o.reason });
      st.audit.push({
        kind: 'drain_surge',
        ts_ms: now,
        actor: 'sluice',
        host: o.hostname,
        request_id: s.records.get(hostKey(o.hostname))?.request_id,
        job: o.job,
        task_id: o.task_id,
        reason: o.reason,
        detail: { instance: o.instance },
      });
    }
    st.commands.push({ type: 'surge_instances', orders: p.makeBeforeBreak.map((o) => ({ job: o.job, instance: o.instance, task_id: o.task_id })) });
  }
  for (const t of p.timeouts) {
    const rec = s.records.get(hostKey(t.hostname));
    if (!rec || rec.timed_out_ms !== undefined) continue;
    st.put({ ...rec, timed_out_ms: now }, []);
    st.log('warn', 'drain_timeout', {
      host: rec.hostname,
      agent_id: rec.agent_id,
      tasks_left: t.tasks_left,
      deadline_ms: t.deadline_ms,
      forced: t.forced,
      reason: t.forced
        ? `drain timeout passed with ${t.tasks_left} task(s) left: --force given, killing them regardless of the SLAs`
        : `drain timeout passed with ${t.tasks_left} task(s) left: no --force, the drain continues within the SLAs`,
    });
  }
  st.syncBlocked();
  for (const h of [...s.held.values()]) decideHeld(st, h, sched);
}

// ------------------------------------------------------------------------------------------------
// offers and inverse offers

export function onOffer(st: StepBuilder, o: Offer): void {
  const agent: InventoryHost & { agent_id: string } = { hostname: o.hostname, agent_id: o.agent_id.value };
  const ip = o.url?.address?.ip;
  if (ip) agent.ip = ip;
  const rack = attributeText(o.attributes, st.s.config.rackAttribute);
  if (rack !== undefined) agent.rack = rack;
  const known = st.learnAgent(agent);
  if (!o.unavailability) return;
  enterExternal(st, known, windowFromUnavailability(o.unavailability));
}

function enterExternal(st: StepBuilder, agent: InventoryHost, window: MaintenanceWindow): void {
  const { s, now } = st;
  const key = hostKey(agent.hostname);
  if (busy(s, key)) return;
  const existing = s.records.get(key);
  if (existing && existing.state !== 'UP' && existing.origin !== 'external') return;
  const r = enterFromUnavailability(existing, agent, window, now, s.config.leadMs);
  if (r.changed === 'none') return;
  st.put(r.record, r.transitions, r.changed === 'window-updated' ? { reason: 'external window changed' } : {});
  st.syncBlocked();
}

export function onInverseOffer(st: StepBuilder, io: InverseOffer, sched: SchedulerView): void {
  const id = io.id.value;
  const agentId = io.agent_id?.value;
  if (!agentId) return;
  const known = st.s.agents.get(agentId);
  const hostname = io.url?.address?.hostname ?? known?.hostname ?? sched.agents.get(agentId)?.host;
  if (!hostname) {
    st.log('warn', 'inverse_offer_held', { agent_id: agentId, reason: 'agent unknown (no hostname): holding the inverse offer' });
    return;
  }
  const agent: InventoryHost & { agent_id: string } = { hostname, agent_id: agentId };
  const ip = io.url?.address?.ip;
  if (ip) agent.ip = ip;
  const learned = st.learnAgent(agent);
  const window = windowFromUnavailability(io.unavailability);
  enterExternal(st, learned, window);
  const h: HeldInverseOffer = { id, agent_id: agentId, key: hostKey(hostname), window };
  st.s.held.set(id, h);
  decideHeld(st, h, sched);
}

function answer(type: 'ACCEPT_INVERSE_OFFERS' | 'DECLINE_INVERSE_OFFERS', id: string, refuseSeconds: number): Call {
  const body = { inverse_offer_ids: [{ value: id }], filters: { refuse_seconds: refuseSeconds } };
  return (type === 'ACCEPT_INVERSE_OFFERS' ? { type, accept_inverse_offers: body } : { type, decline_inverse_offers: body }) as Call;
}

function decideHeld(st: StepBuilder, h: HeldInverseOffer, sched: SchedulerView): void {
  const { s, now } = st;
  const rec = s.records.get(h.key);
  const n = tasksOnAgent(sched as never, h.agent_id, h.key);
  const progress = s.lastProgress.find((p) => hostKey(p.hostname) === h.key);
  const d = decideInverseOffer(rec?.window ?? h.window, { tasks_on_agent: n, host: rec, estimated_empty_ms: progress?.estimated_empty_ms }, now, s.config.inverseOffers);
  if (d.action === 'hold') return;
  s.held.delete(h.id);
  const auditOf = (ans: 'ACCEPT' | 'DECLINE') =>
    st.audit.push({
      kind: 'inverse_offer',
      ts_ms: now,
      actor: 'sluice',
      host: rec?.hostname,
      agent_id: h.agent_id,
      request_id: rec?.request_id,
      reason: d.reason,
      detail: { answer: ans, inverse_offer_id: h.id, tasks_left: n },
    });
  if (d.action === 'accept') {
    // The invariant, checked where the call is built: no task of ours on the agent.
    if (n !== 0) {
      st.log('error', 'inverse_offer_accept_refused', { host: rec?.hostname, agent_id: h.agent_id, tasks_left: n, reason: 'BUG: policy said accept with tasks of ours on the agent; not sent' });
      s.held.set(h.id, h);
      return;
    }
    st.calls.push(answer('ACCEPT_INVERSE_OFFERS', h.id, d.refuse_seconds));
    st.log('info', 'inverse_offer_accepted', { host: rec?.hostname, agent_id: h.agent_id, inverse_offer_id: h.id, reason: d.reason });
    auditOf('ACCEPT');
  } else {
    st.calls.push(answer('DECLINE_INVERSE_OFFERS', h.id, d.refuse_seconds));
    st.log('warn', 'inverse_offer_declined', { host: rec?.hostname, agent_id: h.agent_id, inverse_offer_id: h.id, tasks_left: n, reason: d.reason });
    auditOf('DECLINE');
  }
  rememberAnswer(s, h);
}

/** Most answers remembered for call_failed (older ones are forgotten first). */
const ANSWERS_KEPT = 10_000;

/** An answered inverse offer, kept so that a failed answer can be held again (call_failed). */
function rememberAnswer(s: MaintenanceState, h: HeldInverseOffer): void {
  s.answered.delete(h.id);
  s.answered.set(h.id, h);
  if (s.answered.size > ANSWERS_KEPT) s.answered.delete(s.answered.keys().next().value!);
}

/**
 * An ACCEPT / DECLINE_INVERSE_OFFERS of ours failed (the runtime routes the failure back here): the
 * inverse offer is still outstanding at the master, so it is held again and answered at the next
 * plan — once; a second failure drops it (the master re-offers it, or rescinds it).
 */
export function onAnswerFailed(st: StepBuilder, call: Call, error: string): void {
  const { s, now } = st;
  const ids = call.type === 'ACCEPT_INVERSE_OFFERS' ? call.accept_inverse_offers?.inverse_offer_ids : call.type === 'DECLINE_INVERSE_OFFERS' ? call.decline_inverse_offers?.inverse_offer_ids : undefined;
  const ans = call.type === 'ACCEPT_INVERSE_OFFERS' ? 'ACCEPT' : 'DECLINE';
  for (const { value: id } of ids ?? []) {
    const h = s.answered.get(id);
    s.answered.delete(id);
    const again = !!h && !h.retried && s.connected;
    const rec = h ? s.records.get(h.key) : undefined;
    st.log('warn', 'inverse_offer_answer_failed', {
      host: rec?.hostname,
      agent_id: h?.agent_id,
      inverse_offer_id: id,
      answer: ans,
      error,
      reason: again ? 'the answer did not reach the master: holding the inverse offer again, answered at the next plan' : 'the answer did not reach the master twice (or Sluice is not subscribed): dropped; the master offers it again',
    });
    st.audit.push({ kind: 'inverse_offer', ts_ms: now, actor: 'sluice', host: rec?.hostname, agent_id: h?.agent_id, request_id: rec?.request_id, reason: `answer failed: ${error}`, detail: { answer: ans, inverse_offer_id: id, failed: true, held_again: again } });
    if (again) s.held.set(id, { ...h!, retried: true });
  }
}
