/**
 * Pure builders of scheduler Calls (Mesos object form, docs/DESIGN.md), without `framework_id`:
 * the client stamps the framework id of its subscription when it sends them. The deciders in
 * src/scheduler and src/maintenance use these to produce calls without touching the client; it
 * lives beside the protocol types (the client re-exports it from src/client/index.ts).
 */
import type {
  AgentID,
  Call,
  CallType,
  DurationInfo,
  ExecutorID,
  Filters,
  Id,
  OfferID,
  Operation,
  TaskID,
} from './types.js';

/** An ID wrapper or its bare string value. */
export type IdLike = Id | string;

export function toId(x: IdLike): Id {
  return typeof x === 'string' ? { value: x } : x;
}

function ids(xs: readonly IdLike[]): Id[] {
  return xs.map(toId);
}

/**
 * Calls whose meaning depends on offers of the current subscription. The master drops every
 * outstanding offer and inverse offer of a framework when its stream breaks (and silently on
 * re-subscribe), so these calls are never queued or retried across subscriptions.
 */
export const OFFER_SCOPED_CALLS: ReadonlySet<CallType> = new Set<CallType>([
  'ACCEPT',
  'DECLINE',
  'ACCEPT_INVERSE_OFFERS',
  'DECLINE_INVERSE_OFFERS',
]);

/**
 * Calls that may safely be re-sent when a connection broke after the request may have reached the
 * master. ACCEPT is the exception: a replayed ACCEPT of consumed offers makes the master report
 * every task in it as TASK_LOST/TASK_DROPPED (REASON_INVALID_OFFERS) although the first copy
 * launched them.
 */
export function replaySafe(type: CallType): boolean {
  return type !== 'ACCEPT';
}

export const calls = {
  accept(offerIds: readonly IdLike[], operations: Operation[], filters?: Filters): Call {
    const accept: NonNullable<Call['accept']> = { offer_ids: ids(offerIds) as OfferID[], operations };
    if (filters) accept.filters = filters;
    return { type: 'ACCEPT', accept };
  },
  decline(offerIds: readonly IdLike[], filters?: Filters): Call {
    const decline: NonNullable<Call['decline']> = { offer_ids: ids(offerIds) as OfferID[] };
    if (filters) decline.filters = filters;
    return { type: 'DECLINE', decline };
  },
  acceptInverseOffers(inverseOfferIds: readonly IdLike[], filters?: Filters): Call {
    const body: NonNullable<Call['accept_inverse_offers']> = { inverse_offer_ids: ids(inverseOfferIds) as OfferID[] };
    if (filters) body.filters = filters;
    return { type: 'ACCEPT_INVERSE_OFFERS', accept_inverse_offers: body };
  },
  declineInverseOffers(inverseOfferIds: readonly IdLike[], filters?: Filters): Call {
    const body: NonNullable<Call['decline_inverse_offers']> = { inverse_offer_ids: ids(inverseOfferIds) as OfferID[] };
    if (filters) body.filters = filters;
    return { type: 'DECLINE_INVERSE_OFFERS', decline_inverse_offers: body };
  },
  /** `roles` empty or absent = all of the framework's roles. */
  revive(roles?: readonly string[]): Call {
    return roles && roles.length ? { type: 'REVIVE', revive: { roles: [...roles] } } : { type: 'REVIVE', revive: {} };
  },
  /** `roles` empty or absent = all of the framework's roles. */
  suppress(roles?: readonly string[]): Call {
    return roles && roles.length ? { type: 'SUPPRESS', suppress: { roles: [...roles] } } : { type: 'SUPPRESS', suppress: {} };
  },
  kill(taskId: IdLike, agentId?: IdLike, killPolicy?: { grace_period?: DurationInfo }): Call {
    const kill: NonNullable<Call['kill']> = { task_id: toId(taskId) as TaskID };
    if (agentId !== undefined) kill.agent_id = toId(agentId) as AgentID;
    if (killPolicy) kill.kill_policy = killPolicy;
    return { type: 'KILL', kill };
  },
  /** `uuid` is the status update's uuid bytes, echoed unchanged (16 bytes). */
  acknowledge(agentId: IdLike, taskId: IdLike, uuid: Uint8Array): Call {
    return { type: 'ACKNOWLEDGE', acknowledge: { agent_id: toId(agentId), task_id: toId(taskId), uuid } };
  },
  /** Empty list = implicit reconciliation (the master reports every task it tracks). */
  reconcile(tasks: ReadonlyArray<{ task_id: IdLike; agent_id?: IdLike }>): Call {
    return {
      type: 'RECONCILE',
      reconcile: tasks.length
        ? {
            tasks: tasks.map((t) =>
              t.agent_id === undefined ? { task_id: toId(t.task_id) } : { task_id: toId(t.task_id), agent_id: toId(t.agent_id) },
            ),
          }
        : {},
    };
  },
  message(agentId: IdLike, executorId: IdLike, data: Uint8Array): Call {
    return {
      type: 'MESSAGE',
      message: { agent_id: toId(agentId) as AgentID, executor_id: toId(executorId) as ExecutorID, data },
    };
  },
  shutdown(executorId: IdLike, agentId: IdLike): Call {
    return { type: 'SHUTDOWN', shutdown: { executor_id: toId(executorId), agent_id: toId(agentId) } };
  },
  teardown(): Call {
    return { type: 'TEARDOWN' };
  },
};
