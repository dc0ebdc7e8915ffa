/**
 * The calls of /api/v1/scheduler and /api/v1 (src/master/http.cpp scheduler() and api()): body
 * decoding with the master's error texts, scheduler::Call validation, and each call dispatched to
 * the leading master with the status it answers.
 */
import { CodecError } from '../mesos/errors.js';
import { codecFor, protobufCodec, type Codec } from '../mesos/codec.js';
import { parseJsonLossless } from '../mesos/json.js';
import { lookupType } from '../mesos/proto.js';
import { fromJsonValue } from '../mesos/stout.js';
import type { Call, MachineID, Schedule } from '../mesos/types.js';
import type { Master } from './master.js';
import type { Framework } from './model.js';
import { APPLICATION_JSON, APPLICATION_PROTOBUF, type Reply, acceptsMediaType, empty, text } from './http-reply.js';
import { isValidUuidBytes } from './util.js';
import { getAgents, getFrameworks, getState, getTasks } from './views.js';

export function decodeCall(
  name: 'mesos.v1.scheduler.Call' | 'mesos.v1.master.Call',
  contentType: string | undefined,
  body: Buffer,
): { call?: Record<string, unknown>; reply?: Reply } {
  if (contentType === undefined) return { reply: text(400, "Expecting 'Content-Type' to be present") };
  if (contentType === APPLICATION_PROTOBUF) {
    try {
      return { call: protobufCodec.decode(name, body) };
    } catch {
      return { reply: text(400, 'Failed to parse body into Call protobuf') };
    }
  }
  if (contentType === APPLICATION_JSON) {
    let value: unknown;
    try {
      value = parseJsonLossless(body.toString('utf8'));
    } catch (e) {
      const msg = (e as Error).message.replace(/^Invalid JSON: /, '');
      return { reply: text(400, 'Failed to parse body into JSON: ' + msg) };
    }
    try {
      return { call: fromJsonValue(lookupType(name), value) };
    } catch (e) {
      const msg = e instanceof CodecError ? e.message : String(e);
      return { reply: text(400, 'Failed to convert JSON into Call protobuf: ' + msg) };
    }
  }
  return { reply: text(415, `Expecting 'Content-Type' of ${APPLICATION_JSON} or ${APPLICATION_PROTOBUF}`) };
}

export function validateSchedulerCall(call: Call & Record<string, unknown>, principal: string | undefined): string | undefined {
  if (call.type === undefined) return "Expecting 'type' to be present";
  if (call.type === 'SUBSCRIBE') {
    if (!call.subscribe) return "Expecting 'subscribe' to be present";
    const info = call.subscribe.framework_info;
    if ((info.id?.value ?? '') !== (call.framework_id?.value ?? '')) {
      return "'framework_id' differs from 'subscribe.framework_info.id'";
    }
    if (principal !== undefined && info.principal !== undefined && info.principal !== principal) {
      return `Authenticated principal '${principal}' does not match principal '${info.principal}' set in \`FrameworkInfo\``;
    }
    return undefined;
  }
  if (!call.framework_id) return "Expecting 'framework_id' to be present";
  const need: Record<string, string> = {
    ACCEPT: 'accept',
    DECLINE: 'decline',
    ACCEPT_INVERSE_OFFERS: 'accept_inverse_offers',
    DECLINE_INVERSE_OFFERS: 'decline_inverse_offers',
    KILL: 'kill',
    SHUTDOWN: 'shutdown',
    ACKNOWLEDGE: 'acknowledge',
    ACKNOWLEDGE_OPERATION_STATUS: 'acknowledge_operation_status',
    RECONCILE: 'reconcile',
    RECONCILE_OPERATIONS: 'reconcile_operations',
    MESSAGE: 'message',
    REQUEST: 'request',
    UPDATE_FRAMEWORK: 'update_framework',
  };
  const field = need[call.type];
  if (field && call[field] === undefined) return `Expecting '${field}' to be present`;
  if (call.type === 'ACKNOWLEDGE' && !isValidUuidBytes(call.acknowledge!.uuid)) return 'Not a valid UUID';
  if (call.type === 'ACKNOWLEDGE_OPERATION_STATUS') {
    const a = call['acknowledge_operation_status'] as { uuid?: Uint8Array; agent_id?: unknown };
    if (!isValidUuidBytes(a.uuid)) return 'Not a valid UUID';
    if (a.agent_id === undefined) return "Expecting 'agent_id' to be present";
  }
  if (call.type === 'UPDATE_FRAMEWORK') {
    if ((call.update_framework!.framework_info.id?.value ?? '') !== call.framework_id.value) {
      return "'framework_id' differs from 'update_framework.framework_info.id'";
    }
  }
  return undefined;
}

/** A validated call of a subscribed framework on its stream (SUBSCRIBE is answered by the node). */
export function dispatchSchedulerCall(master: Master, fw: Framework, call: Call & Record<string, unknown>): Reply {
  switch (call.type) {
    case 'TEARDOWN':
      master.teardown(fw);
      return empty(202);
    case 'ACCEPT':
      master.accept(fw, call.accept!);
      return empty(202);
    case 'DECLINE':
      master.decline(fw, call.decline!);
      return empty(202);
    case 'ACCEPT_INVERSE_OFFERS':
      master.acceptInverseOffers(fw, call.accept_inverse_offers!, false);
      return empty(202);
    case 'DECLINE_INVERSE_OFFERS':
      master.acceptInverseOffers(fw, call.decline_inverse_offers!, true);
      return empty(202);
    case 'REVIVE':
      master.revive(fw, call.revive ?? {});
      return empty(202);
    case 'SUPPRESS':
      master.suppress(fw, call.suppress ?? {});
      return empty(202);
    case 'KILL':
      master.kill(fw, call.kill!);
      return empty(202);
    case 'SHUTDOWN':
      master.shutdown(fw, call.shutdown!);
      return empty(202);
    case 'ACKNOWLEDGE':
      master.acknowledge(fw, call.acknowledge!);
      return empty(202);
    case 'ACKNOWLEDGE_OPERATION_STATUS':
      return empty(202);
    case 'RECONCILE':
      master.reconcile(fw, call.reconcile!);
      return empty(202);
    case 'RECONCILE_OPERATIONS':
      // The Accept check above is kept for compatibility; the answers come as events.
      master.reconcileOperations(fw, call['reconcile_operations'] as never);
      return empty(202);
    case 'MESSAGE':
      master.message(fw, call.message!);
      return empty(202);
    case 'REQUEST':
      return empty(202);
    case 'UPDATE_FRAMEWORK': {
      const r = master.updateFrameworkCall(fw, call.update_framework!);
      return r.body !== undefined ? text(r.status, r.body) : empty(r.status);
    }
    default:
      return text(501, '501 Not Implemented.');
  }
}

/** master::Call types and the field each must carry (validation::master::call::validate). */
const OPERATOR_CALL_FIELDS: Record<string, string> = {
  UPDATE_MAINTENANCE_SCHEDULE: 'update_maintenance_schedule',
  START_MAINTENANCE: 'start_maintenance',
  STOP_MAINTENANCE: 'stop_maintenance',
  DRAIN_AGENT: 'drain_agent',
  DEACTIVATE_AGENT: 'deactivate_agent',
  REACTIVATE_AGENT: 'reactivate_agent',
  GET_METRICS: 'get_metrics',
  SET_LOGGING_LEVEL: 'set_logging_level',
  LIST_FILES: 'list_files',
  READ_FILE: 'read_file',
  UPDATE_WEIGHTS: 'update_weights',
  RESERVE_RESOURCES: 'reserve_resources',
  UNRESERVE_RESOURCES: 'unreserve_resources',
  CREATE_VOLUMES: 'create_volumes',
  DESTROY_VOLUMES: 'destroy_volumes',
  GROW_VOLUME: 'grow_volume',
  SHRINK_VOLUME: 'shrink_volume',
  UPDATE_QUOTA: 'update_quota',
  SET_QUOTA: 'set_quota',
  REMOVE_QUOTA: 'remove_quota',
  TEARDOWN: 'teardown',
  MARK_AGENT_GONE: 'mark_agent_gone',
};

/** A decoded operator call on the leading master. */
export function operatorCall(
  master: Master,
  call: Record<string, unknown> & { type?: string },
  accept: string | undefined,
  callFault: (type: string) => { status?: number; body?: string; delayMs?: number } | undefined,
): Reply {
  const type = call.type;
  if (type === undefined) return text(400, "Failed to validate master::Call: Expecting 'type' to be present");
  const field = OPERATOR_CALL_FIELDS[type];
  if (field && call[field] === undefined) return text(400, `Failed to validate master::Call: Expecting '${field}' to be present`);
  let codec: Codec;
  if (acceptsMediaType(accept, APPLICATION_JSON)) codec = codecFor(APPLICATION_JSON);
  else if (acceptsMediaType(accept, APPLICATION_PROTOBUF)) codec = codecFor(APPLICATION_PROTOBUF);
  else return text(406, `Expecting 'Accept' to allow '${APPLICATION_PROTOBUF}' or '${APPLICATION_JSON}'`);
  const fault = callFault(type);
  if (fault?.status !== undefined) return text(fault.status, fault.body ?? '');

  const respond = (resp: Record<string, unknown>): Reply => ({
    status: 200,
    body: codec.encode('mesos.v1.master.Response', resp),
    contentType: codec.mediaType,
  });
  const result = (r: { status: number; body?: string }): Reply => (r.body !== undefined ? text(r.status, r.body) : empty(r.status));

  switch (type) {
    case 'UNKNOWN':
      return text(501, '501 Not Implemented.');
    case 'GET_MAINTENANCE_STATUS':
      return respond({ type, get_maintenance_status: { status: master.maintenanceStatus() } });
    case 'GET_MAINTENANCE_SCHEDULE':
      return respond({ type, get_maintenance_schedule: { schedule: master.ctx.registry.schedule } });
    case 'UPDATE_MAINTENANCE_SCHEDULE': {
      const s = (call['update_maintenance_schedule'] as { schedule: Schedule }).schedule;
      const e = master.validateSchedule(s);
      if (e) return text(400, e);
      master.updateSchedule(s);
      return empty(200);
    }
    case 'START_MAINTENANCE':
      return result(master.startMaintenance((call['start_maintenance'] as { machines?: MachineID[] }).machines ?? []));
    case 'STOP_MAINTENANCE':
      return result(master.stopMaintenance((call['stop_maintenance'] as { machines?: MachineID[] }).machines ?? []));
    case 'GET_AGENTS':
      return respond({ type, get_agents: getAgents(master) });
    case 'GET_FRAMEWORKS':
      return respond({ type, get_frameworks: getFrameworks(master) });
    case 'GET_TASKS':
      return respond({ type, get_tasks: getTasks(master) });
    case 'GET_STATE':
      return respond({ type, get_state: getState(master) });
    case 'DRAIN_AGENT': {
      const d = call['drain_agent'] as { agent_id: { value: string }; max_grace_period?: { seconds?: bigint; nanos?: number }; mark_gone?: boolean };
      let maxNs: bigint | undefined;
      if (d.max_grace_period) maxNs = BigInt(d.max_grace_period.seconds ?? 0n) * 1_000_000_000n + BigInt(d.max_grace_period.nanos ?? 0);
      return result(master.drainAgent(d.agent_id.value, maxNs, d.mark_gone ?? false));
    }
    case 'DEACTIVATE_AGENT':
      return result(master.deactivateAgent((call['deactivate_agent'] as { agent_id: { value: string } }).agent_id.value));
    case 'REACTIVATE_AGENT':
      return result(master.reactivateAgent((call['reactivate_agent'] as { agent_id: { value: string } }).agent_id.value));
    default:
      // Calls this simulator does not model (metrics, quota, files, volumes, event SUBSCRIBE, ...).
      return text(501, '501 Not Implemented.');
  }
}
