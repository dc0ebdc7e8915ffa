/**
 * The scheduler's decisions: pure functions from (state, input, now) to calls.
 *
 *   onEvent(state, event, now)      a Mesos scheduler Event (SUBSCRIBED, OFFERS, UPDATE, FAILURE, ...)
 *   onDisconnected(state, now)      the subscription broke (offers are gone; no calls until SUBSCRIBED)
 *   onTick(state, now)              periodic: reconciliation, kill retries, backoff expiry, rolling updates
 *   applyCommand(state, cmd, now)   operator/maintenance commands: create/update/delete job, restart
 *                                   instances, set the hosts blocked for placement
 *
 * Each returns a StepResult: the same state object (mutated: the reducer owns it, see state.ts), the
 * calls to send, log effects, and `changes`, the persisted records it touched. The runtime writes
 * `changes` to the store BEFORE it sends `calls` (write-ahead): a task is on disk as LAUNCHING before
 * the ACCEPT that launches it leaves, and an update is on disk before it is acknowledged.
 * No I/O, no timers, no Date.now() here: time is the `now` parameter.
 */
import type { Call, Event } from '../mesos/types.js';
import { runCommand, type CommandStepResult, type SchedulerCommand } from './commands.js';
import { finish } from './instances.js';
import { pruneCoordinator } from './coordinator.js';
import { killRetries } from './kills.js';
import { handleOffers } from './offers.js';
import { explicitReconcileRetry, handleFailure, handleSubscribed, implicitReconcile, launchTimeouts, markDisconnected, sendExplicit } from './reconcile.js';
import type { SchedulerState } from './state.js';
import { Step, type StepResult } from './step.js';
import { clearLostDomains, handleUpdate } from './updates.js';
import { jobView } from './views.js';

export { emptyChanges, hasChanges, mergeChanges, type Changes, type Effect, type LogEffect, type LogFields, type SchedulerIo, type StepResult } from './step.js';
export { coordinatorNow, type CoordinatorAsk } from './coordinator.js';
export type { CommandOutcome, CommandResult, CommandStepResult, SchedulerCommand } from './commands.js';
export { jobView, listJobs, statusView, tasksByState, type InstanceView, type JobSummary, type JobView, type StatusView } from './views.js';

// ---------------------------------------------------------------------------------------------
// Public reducers

export function onEvent(s: SchedulerState, event: Event, now: number): StepResult {
  const st = new Step(s, now);
  switch (event.type) {
    case 'SUBSCRIBED':
      handleSubscribed(st, event.subscribed?.framework_id?.value);
      break;
    case 'OFFERS':
      handleOffers(st, event.offers?.offers ?? []);
      break;
    case 'UPDATE':
      if (event.update?.status) handleUpdate(st, event.update.status);
      break;
    case 'RESCIND':
      // Offers are answered in the step that receives them, so none is held to forget.
      st.log('debug', 'offer_rescinded', { reason: event.rescind?.offer_id?.value });
      break;
    case 'FAILURE':
      handleFailure(st, event.failure ?? {});
      break;
    case 'ERROR':
      st.log('warn', 'master_error', { reason: event.error?.message });
      markDisconnected(st);
      break;
    default:
      // HEARTBEAT, MESSAGE, INVERSE_OFFERS, RESCIND_INVERSE_OFFER (src/maintenance), ...
      break;
  }
  finish(st);
  return st.done();
}

export function onDisconnected(s: SchedulerState, now: number): StepResult {
  const st = new Step(s, now);
  markDisconnected(st);
  return st.done();
}

export function onTick(s: SchedulerState, now: number): StepResult {
  const st = new Step(s, now);
  if (s.subscribed) {
    launchTimeouts(st);
    explicitReconcileRetry(st);
    implicitReconcile(st);
    killRetries(st);
  }
  clearLostDomains(st);
  pruneCoordinator(st);
  for (const j of s.converging) st.touched.add(j);
  finish(st);
  return st.done();
}

export function applyCommand(s: SchedulerState, cmd: SchedulerCommand, now: number): CommandStepResult {
  const st = new Step(s, now);
  let result = runCommand(st, cmd);
  finish(st);
  // views are computed after converging, so a created job shows its instances
  if (result.ok && (cmd.type === 'create_job' || cmd.type === 'update_job')) {
    const name = (result.body as { name: string }).name;
    result = { ...result, body: jobView(s, name, now) };
  }
  return { ...st.done(), result };
}

/**
 * A call failed to reach the master (or was refused). ACCEPT: its tasks may or may not exist, so
 * they are reconciled explicitly now (an unknown task comes back LOST/GONE and is replaced).
 * SUPPRESS/REVIVE: the master's offer state is unknown; flip our belief so the next step resends.
 * Others (KILL, RECONCILE, ACKNOWLEDGE, DECLINE) are retried by their own mechanisms.
 */
export function onCallFailed(s: SchedulerState, call: Call, now: number): StepResult {
  const st = new Step(s, now);
  if (call.type === 'ACCEPT') {
    const ask: Array<[string, string | undefined]> = [];
    for (const op of call.accept?.operations ?? []) {
      for (const ti of op.launch?.task_infos ?? []) {
        const t = s.tasks.get(ti.task_id.value);
        if (t && t.state === 'LAUNCHING' && !s.reconcile.awaiting.has(t.task_id)) {
          s.reconcile.awaiting.set(t.task_id, t.agent_id);
          ask.push([t.task_id, t.agent_id]);
        }
      }
    }
    if (ask.length) {
      st.log('warn', 'launch_unconfirmed', { tasks: ask.length, task_id: ask[0]![0] });
      if (s.subscribed) {
        sendExplicit(st, ask);
        s.reconcile.startedMs ??= now;
        s.reconcile.nextRetryMs ??= now + s.config.explicitReconcileInitialMs;
      }
    }
  } else if (call.type === 'REVIVE') {
    s.suppressed = true;
  } else if (call.type === 'SUPPRESS') {
    s.suppressed = false;
  }
  finish(st);
  return st.done();
}

/** Convenience for src/maintenance: replace the placement-blocked host set. */
export function setPlacementBlockedHosts(s: SchedulerState, hosts: Iterable<string>, now: number): StepResult {
  return applyCommand(s, { type: 'set_blocked_hosts', hosts }, now);
}
