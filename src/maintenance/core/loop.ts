/**
 * The maintenance loop: one pure reducer, like the scheduler's.
 *
 *   reduce(state, input, now) → { state, calls, commands, storeOps, io, audit, logs, replies }
 *
 * Inputs are the master's events and the runtime's ticks (seen after the scheduler's reducer), the
 * failures of calls this loop issued, operator requests, and the results of the I/O it asked for.
 * It never waits: a decision that needs the master asks for I/O (`io`, run by src/maintenance/io/
 * executor.ts once the step is durable) and continues when the result comes back as an input —
 * from the state as it is then, so no stale record can be written after an await.
 *
 * The parts: loop-drain.ts (plan, offers, inverse offers), loop-requests.ts (start, complete,
 * abort), loop-master.ts (machine down, post_drain, reconciliation, restore), loop-step.ts (how a
 * step is written), loop-state.ts (types), views.ts (what the API reads).
 */
import { machineWork, onDownChecked, onLoaded, onMachineDown, onPostDrain, onReconcileRead } from './loop-master.js';
import { onAnswerFailed, onInverseOffer, onOffer, plan } from './loop-drain.js';
import { onEdit, onEnd, onPause, onScheduleAdded, onScheduleEnded, onStart } from './loop-requests.js';
import { StepBuilder } from './loop-step.js';
import { drainAgentWork, onDrainAgentResult, resumeDrainAgents } from './drain-agent.js';
import type { IoResult, MaintenanceInput, MaintenanceState, MaintenanceStep, SchedulerView } from './loop-state.js';
import type { Failure } from './outcome.js';

export function reduce(state: MaintenanceState, input: MaintenanceInput, now: number): MaintenanceStep {
  const st = new StepBuilder(state, now);
  switch (input.kind) {
    case 'loaded':
      onLoaded(st, input.records, input.pending);
      resumeDrainAgents(st);
      if (input.pausedAll) state.pausedAll = input.pausedAll;
      break;
    case 'event':
      onEvent(st, input, input.sched);
      break;
    case 'disconnected':
      state.held.clear();
      state.answered.clear();
      state.connected = false;
      break;
    case 'tick':
      plan(st, input.sched);
      machineWork(st);
      drainAgentWork(st);
      break;
    case 'call_failed':
      onAnswerFailed(st, input.call, input.error);
      break;
    case 'agents':
      for (const a of input.agents) st.learnAgent(a);
      break;
    case 'start':
      onStart(st, input, input.sched);
      break;
    case 'end':
      onEnd(st, input);
      break;
    case 'pause':
    case 'resume':
      onPause(st, input);
      break;
    case 'edit':
      onEdit(st, input);
      break;
    case 'io':
      onIo(st, input.result, input.sched);
      break;
  }
  return st.out();
}

function onEvent(st: StepBuilder, input: Extract<MaintenanceInput, { kind: 'event' }>, sched: SchedulerView): void {
  const { s, now } = st;
  const event = input.event;
  switch (event.type) {
    case 'SUBSCRIBED':
      s.held.clear();
      s.answered.clear();
      s.connected = true;
      s.nextReconcileMs = 0;
      return;
    case 'OFFERS':
      for (const o of event.offers?.offers ?? []) onOffer(st, o);
      return;
    case 'INVERSE_OFFERS':
      for (const io of event.inverse_offers?.inverse_offers ?? []) onInverseOffer(st, io, sched);
      st.syncBlocked();
      return;
    case 'RESCIND_INVERSE_OFFER': {
      const id = event.rescind_inverse_offer?.inverse_offer_id?.value;
      if (id) {
        s.held.delete(id);
        s.answered.delete(id);
      }
      return;
    }
    case 'UPDATE':
      if (now - s.lastPlanMs >= s.config.planIntervalMs) plan(st, sched);
      return;
    default:
      return;
  }
}

function onIo(st: StepBuilder, r: IoResult, sched: SchedulerView): void {
  if (r.kind !== 'failed') {
    switch (r.kind) {
      case 'done':
        return onWritten(st, r.request, undefined);
      case 'down-check':
        return onDownChecked(st, r, sched);
      case 'post-drain':
        return onPostDrain(st, r.request, r.result, undefined);
      case 'reconcile-read':
        return onReconcileRead(st, r, undefined, sched);
      case 'drain-agent':
        return onDrainAgentResult(st, r.request, r, undefined);
    }
  }
  const { request: req, failure } = r;
  switch (req.kind) {
    case 'schedule-add':
    case 'schedule-end':
    case 'machine-down':
      return onWritten(st, req, failure);
    case 'down-check':
      st.s.downInflight.delete(req.host);
      st.log('warn', 'machine_down_failed', { host: req.host, error: failure.error });
      return;
    case 'post-drain':
      return onPostDrain(st, req, undefined, failure);
    case 'reconcile-read':
      return onReconcileRead(st, undefined, failure, sched);
    case 'drain-agent':
      return onDrainAgentResult(st, req, undefined, failure);
  }
}

function onWritten(st: StepBuilder, req: Extract<IoResult, { kind: 'done' }>['request'], failure: Failure | undefined): void {
  if (req.kind === 'schedule-add') onScheduleAdded(st, req, failure);
  else if (req.kind === 'schedule-end') onScheduleEnded(st, req, failure);
  else onMachineDown(st, req, failure);
}

/**
 * Whether an event concerns the loop at all: the runtime hands it every event, most of them (task
 * updates between two plans, heartbeats) are skipped here without building a step.
 */
export function concerns(state: MaintenanceState, event: { type: string }, now: number): boolean {
  switch (event.type) {
    case 'SUBSCRIBED':
    case 'OFFERS':
    case 'INVERSE_OFFERS':
    case 'RESCIND_INVERSE_OFFER':
      return true;
    case 'UPDATE':
      return now - state.lastPlanMs >= state.config.planIntervalMs;
    default:
      return false;
  }
}
