/**
 * The audit record types, types only and free of imports: shared by the server (src/audit/types.ts
 * re-exports them) and the console's browser code (src/console/web, compiled by its own tsconfig,
 * which includes this file). Emits no code the browser loads (its imports of it are `import type`).
 */

/** What happened. Extend by adding names; never reuse or rename one (they are stored). */
export type AuditKind =
  /** an operator request (start / complete / abort / pause / resume / edit / override / force) */
  | 'request'
  /** a host moved between maintenance states (from → to) */
  | 'host_transition'
  /** a task was killed (or surged, make-before-break) to drain a host */
  | 'drain_kill'
  | 'drain_surge'
  /** an inverse offer was answered (detail.answer = ACCEPT | DECLINE, detail.reason) */
  | 'inverse_offer'
  /** machine down / up posted to the master */
  | 'machine_down'
  | 'machine_up'
  /** post_drain hook finished (detail.exit_code, detail.outcome) */
  | 'hook'
  /** leadership gained / lost (HA) */
  | 'leadership'
  /** SLA override or force used (detail.override, reason required) */
  | 'sla_override'
  /** a step of others_at_deadline=drain_agent (detail.step: started, window_out, drain_sent, drained, window_back, reactivated, failed) */
  | 'drain_agent';

export interface AuditInput {
  kind: AuditKind;
  /** epoch milliseconds (the decision's `now`) */
  ts_ms: number;
  /** who: an operator name from the tokens file, "token", "local", or "sluice" for its own decisions */
  actor: string;
  host?: string;
  agent_id?: string;
  request_id?: string;
  reason?: string;
  /** host_transition: states; request: the verb */
  from?: string;
  to?: string;
  action?: string;
  job?: string;
  task_id?: string;
  /** small, JSON-serialisable, never secrets */
  detail?: Record<string, unknown>;
}

export interface AuditEntry extends AuditInput {
  /** strictly increasing over the life of the store (also the SSE event id) */
  seq: number;
}
