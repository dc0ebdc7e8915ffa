/**
 * Subscription and reconciliation (Mesos docs/reconciliation.md): explicit reconciliation of every
 * known task on SUBSCRIBED (retried with backoff until answered), periodic implicit reconciliation,
 * launch timeouts, and lost agents.
 */
import { calls as C } from '../mesos/calls.js';
import type { Event } from '../mesos/types.js';
import { invalidateRacks } from './agents.js';
import { sendKill } from './kills.js';
import type { Step } from './step.js';

export function handleSubscribed(st: Step, frameworkId: string | undefined): void {
  const s = st.s;
  if (frameworkId && frameworkId !== s.frameworkId) {
    st.log('info', 'framework_registered', { framework_id: frameworkId, previous: s.frameworkId });
    s.frameworkId = frameworkId;
    st.changes.frameworkId = true;
  }
  s.subscribed = true;
  s.suppressed = false; // a SUBSCRIBE without suppressed_roles leaves every role unsuppressed
  // Explicit reconciliation of every task we know (docs/reconciliation.md), retried until answered.
  s.reconcile.awaiting.clear();
  for (const t of s.tasks.values()) s.reconcile.awaiting.set(t.task_id, t.agent_id);
  s.reconcile.attempt = 0;
  s.reconcile.startedMs = st.now;
  if (s.reconcile.awaiting.size) {
    sendExplicit(st, [...s.reconcile.awaiting]);
    s.reconcile.nextRetryMs = st.now + s.config.explicitReconcileInitialMs;
  } else {
    s.reconcile.startedMs = undefined;
    s.reconcile.completedMs = st.now;
    s.reconcile.nextRetryMs = undefined;
  }
  s.reconcile.nextImplicitMs ??= st.now + s.config.implicitReconcileIntervalMs;
  if (s.reconcile.restored) {
    // The store may be behind the cluster (a repaired store lost its last writes): ask for every
    // task the master knows, and place nothing until the answers are in.
    s.reconcile.restored = false;
    st.calls.push(C.reconcile([]));
    s.reconcile.lastImplicitMs = st.now;
    s.reconcile.placementHoldUntilMs = st.now + s.config.restartPlacementHoldMs;
    st.log('info', 'reconcile_implicit', { reason: 'restart', hold_ms: s.config.restartPlacementHoldMs });
  }
  st.log('info', 'reconcile_explicit', { framework_id: s.frameworkId, tasks: s.reconcile.awaiting.size });
  // kills requested while disconnected (or before a restart) go out now
  for (const id of s.killing) {
    const t = s.tasks.get(id);
    if (t?.kill) sendKill(st, t);
  }
}

export function markDisconnected(st: Step): void {
  const s = st.s;
  if (!s.subscribed) return;
  s.subscribed = false;
  s.reconcile.nextRetryMs = undefined;
  st.log('warn', 'disconnected', { framework_id: s.frameworkId });
}

export const RECONCILE_CHUNK = 1000;

export function sendExplicit(st: Step, entries: Array<[string, string | undefined]>): void {
  for (let i = 0; i < entries.length; i += RECONCILE_CHUNK) {
    st.calls.push(
      C.reconcile(entries.slice(i, i + RECONCILE_CHUNK).map(([task_id, agent_id]) => (agent_id ? { task_id, agent_id } : { task_id }))),
    );
  }
}

export function explicitReconcileRetry(st: Step): void {
  const r = st.s.reconcile;
  if (!r.awaiting.size || r.nextRetryMs === undefined || st.now < r.nextRetryMs) {
    if (r.awaiting.size && r.nextRetryMs === undefined) r.nextRetryMs = st.now; // resumed after a reconnect
    return;
  }
  r.attempt++;
  sendExplicit(st, [...r.awaiting]);
  const c = st.s.config;
  r.nextRetryMs = st.now + Math.min(c.explicitReconcileMaxMs, c.explicitReconcileInitialMs * 2 ** r.attempt);
  st.log('info', 'reconcile_retry', { tasks: r.awaiting.size, attempt: r.attempt });
}

export function implicitReconcile(st: Step): void {
  const r = st.s.reconcile;
  if (r.nextImplicitMs === undefined || st.now < r.nextImplicitMs) return;
  st.calls.push(C.reconcile([]));
  r.lastImplicitMs = st.now;
  r.nextImplicitMs = st.now + st.s.config.implicitReconcileIntervalMs;
  st.log('info', 'reconcile_implicit', { tasks: st.s.tasks.size });
}

/** Tasks without any status long after launch are asked about explicitly. */
export function launchTimeouts(st: Step): void {
  const s = st.s;
  const limit = st.now - s.config.launchTimeoutMs;
  const add: Array<[string, string | undefined]> = [];
  for (const t of s.tasks.values()) {
    if ((t.state === 'LAUNCHING' || t.state === 'TASK_STAGING') && t.updated_ms <= limit && !s.reconcile.awaiting.has(t.task_id)) {
      s.reconcile.awaiting.set(t.task_id, t.agent_id);
      add.push([t.task_id, t.agent_id]);
      t.updated_ms = st.now; // ask again only after another timeout
      st.log('warn', 'launch_timeout', { task_id: t.task_id, job: t.job, agent_id: t.agent_id, state_from: t.state });
    }
  }
  if (add.length) {
    sendExplicit(st, add);
    s.reconcile.startedMs ??= st.now;
    s.reconcile.nextRetryMs ??= st.now + s.config.explicitReconcileInitialMs;
  }
}

export function handleFailure(st: Step, f: NonNullable<Event['failure']>): void {
  const s = st.s;
  const agentId = f.agent_id?.value;
  if (!agentId) return;
  if (f.executor_id) {
    st.log('info', 'executor_failure', { agent_id: agentId, executor_id: f.executor_id.value, status: f.status });
    return;
  }
  const host = s.agents.get(agentId)?.host;
  if (s.agents.delete(agentId)) invalidateRacks(s);
  // Mesos sends (or will send) updates for its tasks; ask explicitly so none is missed.
  const ask: Array<[string, string | undefined]> = [];
  for (const t of s.tasks.values()) {
    if (t.agent_id === agentId && !s.reconcile.awaiting.has(t.task_id)) {
      s.reconcile.awaiting.set(t.task_id, agentId);
      ask.push([t.task_id, agentId]);
    }
  }
  st.log('warn', 'agent_lost', { agent_id: agentId, host, tasks: ask.length });
  if (ask.length && s.subscribed) {
    sendExplicit(st, ask);
    s.reconcile.startedMs ??= st.now;
    s.reconcile.nextRetryMs ??= st.now + s.config.explicitReconcileInitialMs;
  }
}
