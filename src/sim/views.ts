/**
 * Read-only views of the leading master: GET /master/state (hand-written JSON as in
 * src/master/readonly_handler.cpp, shaped like the recorded master-state.json) and the operator
 * API's GET_AGENTS / GET_FRAMEWORKS / GET_TASKS / GET_STATE responses (Mesos object form).
 */
import type { MasterInfo, Resource, TaskStatus } from '../mesos/types.js';
import { encodeJsonText } from '../mesos/codec.js';
import type { Master } from './master.js';
import { type Agent, type Framework, type StatusLite, type Task, isTerminalState } from './model.js';
import { type Res, emptyRes, addInto, portsText, toMesos } from './resources.js';
import { RawJson, dbl, nanos, writeJson } from './util.js';

export const MESOS_VERSION = '1.12.0';
export const AGENT_CAPABILITIES = [
  'MULTI_ROLE',
  'HIERARCHICAL_ROLE',
  'RESERVATION_REFINEMENT',
  'RESOURCE_PROVIDER',
  'RESIZE_VOLUME',
  'AGENT_OPERATION_FEEDBACK',
  'AGENT_DRAINING',
  'TASK_RESOURCE_LIMITS',
];
export const MASTER_CAPABILITIES = ['AGENT_UPDATE', 'AGENT_DRAINING', 'QUOTA_V2'];

export interface StateContext {
  info: MasterInfo;
  leader: MasterInfo | undefined;
  cluster: string;
  buildTime: number;
  allocationIntervalMs: number;
  port: number;
  /** --authenticate_http_* and authenticator flags when the masters authenticate (src/sim/auth.ts). */
  authFlags?: Record<string, string>;
}

function resJson(r: Res): Record<string, unknown> {
  const o: Record<string, unknown> = {
    disk: dbl(r.disk / 1000),
    mem: dbl(r.mem / 1000),
    gpus: dbl(0),
    cpus: dbl(r.cpus / 1000),
  };
  if (r.ports.length) o['ports'] = portsText(r.ports);
  return o;
}

function offeredOf(a: Agent): Res {
  const r = emptyRes();
  for (const o of a.m?.offers ?? []) addInto(r, o.res);
  return r;
}

function attributesJson(a: Agent): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const at of a.attributes) {
    if (at.type === 'TEXT') o[at.name] = at.text?.value ?? '';
    else if (at.type === 'SCALAR') o[at.name] = dbl(at.scalar?.value ?? 0);
    else if (at.type === 'SET') o[at.name] = '{' + (at.set?.item ?? []).join(', ') + '}';
    else if (at.type === 'RANGES') o[at.name] = '[' + (at.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(', ') + ']';
  }
  return o;
}

function statusesJson(task: Task, list: StatusLite[] | undefined): unknown[] {
  return (list ?? []).map((s) => {
    const o: Record<string, unknown> = { state: s.state, timestamp: dbl(s.timestamp) };
    if (s.state !== 'TASK_STAGING' && !isMasterOnly(s)) {
      o['container_status'] = {
        container_id: { value: task.containerId },
        network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: task.agent.ip }] }],
      };
    }
    if (s.healthy !== undefined) o['healthy'] = s.healthy;
    return o;
  });
}

function isMasterOnly(s: StatusLite): boolean {
  return s.state === 'TASK_LOST' || s.state === 'TASK_UNREACHABLE' || s.state === 'TASK_GONE_BY_OPERATOR';
}

/** common/http.cpp json(JSON::ArrayWriter*, const Labels&): /master/state renders Labels as the array of its labels. */
function labelsJson(labels: unknown): RawJson {
  const list = (labels as { labels?: unknown[] }).labels ?? [];
  return new RawJson('[' + list.map((l) => encodeJsonText('mesos.v1.Label', l)).join(',') + ']');
}

function taskJson(task: Task, state: string, statuses: StatusLite[] | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: task.id,
    name: task.name,
    framework_id: task.fwId,
    executor_id: task.masterExecutorId ?? '',
    slave_id: task.agent.id,
    state,
    resources: resJson(task.res),
    role: task.role,
    statuses: statusesJson(task, statuses),
  };
  if (task.labels) o['labels'] = labelsJson(task.labels);
  // common/http.cpp json(Task): `health_check` as JSON::Protobuf (every field set or with a default)
  if (task.healthCheck) o['health_check'] = new RawJson(encodeJsonText('mesos.v1.HealthCheck', task.healthCheck));
  return o;
}

function frameworkJson(m: Master, fw: Framework): Record<string, unknown> {
  let used = emptyRes();
  for (const t of fw.tasks.values()) if (!isTerminalState(t.mState) && t.mState !== 'TASK_UNREACHABLE') addInto(used, t.res);
  const offered = emptyRes();
  for (const o of fw.offers) addInto(offered, o.res);
  const both = emptyRes();
  addInto(both, used);
  addInto(both, offered);
  const o: Record<string, unknown> = {
    id: fw.id,
    name: fw.info.name,
    used_resources: resJson(used),
    offered_resources: resJson(offered),
    capabilities: (fw.info.capabilities ?? []).map((c) => c.type),
    hostname: fw.info.hostname ?? '',
    webui_url: fw.info.webui_url ?? '',
    active: fw.active,
    connected: fw.connected,
    recovered: fw.recovered,
    user: fw.info.user,
    failover_timeout: dbl(fw.info.failover_timeout ?? 0),
    checkpoint: fw.info.checkpoint ?? false,
    registered_time: dbl(fw.registeredTime / 1000),
    unregistered_time: dbl(fw.unregisteredTime / 1000),
  };
  if (fw.info.principal !== undefined) o['principal'] = fw.info.principal;
  o['resources'] = resJson(both);
  if (fw.registeredTime !== fw.reregisteredTime) o['reregistered_time'] = dbl(fw.reregisteredTime / 1000);
  if (fw.caps.multiRole) o['roles'] = fw.info.roles ?? [];
  else o['role'] = fw.info.role ?? '*';
  o['tasks'] = [...fw.tasks.values()].map((t) => taskJson(t, t.mState, t.statuses()));
  o['unreachable_tasks'] = [...fw.unreachable.values()].map((u) => taskJson(u.task, 'TASK_UNREACHABLE', u.statuses));
  o['completed_tasks'] = fw.completed.map((c) => taskJson(c.task, c.state, c.statuses));
  o['offers'] = [...fw.offers].map((of) => ({
    id: of.id,
    framework_id: fw.id,
    slave_id: of.agent.id,
    resources: resJson(of.res),
  }));
  o['executors'] = [];
  if (fw.info.labels) o['labels'] = labelsJson(fw.info.labels);
  o['offer_constraints'] = {};
  void m;
  return o;
}

function slaveJson(m: Master, a: Agent): Record<string, unknown> {
  const am = a.m!;
  const offered = offeredOf(a);
  const o: Record<string, unknown> = {
    id: a.id,
    hostname: a.hostname,
    port: a.port,
    attributes: attributesJson(a),
    pid: `slave(1)@${a.ip}:${a.port}`,
    registered_time: dbl(am.registeredTime / 1000),
  };
  if (am.reregisteredTime !== undefined) o['reregistered_time'] = dbl(am.reregisteredTime / 1000);
  o['resources'] = resJson(a.total);
  o['used_resources'] = resJson(am.used);
  o['offered_resources'] = resJson(offered);
  o['reserved_resources'] = {};
  o['unreserved_resources'] = resJson(a.total);
  o['active'] = am.active;
  o['deactivated'] = m.ctx.registry.deactivated.has(a.id);
  o['version'] = MESOS_VERSION;
  o['capabilities'] = AGENT_CAPABILITIES;
  const d = m.ctx.registry.draining.get(a.id);
  if (d) {
    const config: Record<string, unknown> = { mark_gone: d.markGone };
    if (d.maxGracePeriodNs !== undefined) config['max_grace_period'] = { nanoseconds: d.maxGracePeriodNs };
    o['drain_info'] = { state: d.state, config };
    // readonly_handler.cpp: only with drain info, and once the master asked this agent to drain
    if (am.estimatedDrainStartMs !== undefined) o['estimated_drain_start_time_seconds'] = dbl(am.estimatedDrainStartMs / 1000);
  }
  return o;
}

/** GET /master/state */
export function masterStateJson(m: Master, s: StateContext): string {
  let activated = 0;
  let deactivated = 0;
  for (const a of m.agentsById.values()) {
    if (a.m?.active) activated++;
    else deactivated++;
  }
  const info = s.info;
  const doc: Record<string, unknown> = {
    version: MESOS_VERSION,
    build_date: new Date(s.buildTime).toISOString().slice(0, 19).replace('T', ' '),
    build_time: dbl(Math.floor(s.buildTime / 1000)),
    build_user: '',
    start_time: dbl(m.startTime / 1000),
    elected_time: dbl(m.electedTime / 1000),
    id: info.id,
    pid: info.pid,
    hostname: info.hostname,
    capabilities: MASTER_CAPABILITIES,
    activated_slaves: dbl(activated),
    deactivated_slaves: dbl(deactivated),
    unreachable_slaves: dbl(m.unreachable.size),
  };
  if (s.leader) {
    doc['leader'] = s.leader.pid;
    doc['leader_info'] = { id: s.leader.id, pid: s.leader.pid, port: s.leader.port, hostname: s.leader.hostname };
  }
  doc['cluster'] = s.cluster;
  doc['flags'] = flagsJson(s);
  doc['slaves'] = [...m.agentsById.values()].map((a) => slaveJson(m, a));
  doc['recovered_slaves'] = [...m.recovered.values()].map((a) => ({
    id: a.id,
    hostname: a.hostname,
    port: a.port,
    attributes: attributesJson(a),
  }));
  doc['frameworks'] = [...m.frameworks.values()].map((fw) => frameworkJson(m, fw));
  doc['completed_frameworks'] = m.completed.map((fw) => frameworkJson(m, fw));
  doc['orphan_tasks'] = [];
  doc['unregistered_frameworks'] = [];
  return writeJson(doc);
}

/**
 * GET /master/tasks (Master::Http::tasks): the tasks and completed tasks of every active and
 * completed framework (`framework_id`, `task_id` select), sorted by their first status timestamp
 * (TaskComparator; `order=asc`, default descending), then `offset` and `limit` (default 100; a
 * value that is not a number is ignored, as numify<int> failing).
 */
export function tasksJson(m: Master, q: URLSearchParams): string {
  const num = (v: string | null, d: number): number => (v !== null && /^[-+]?\d+$/.test(v.trim()) ? Math.max(0, Number(v)) : d);
  const limit = num(q.get('limit'), 100);
  const offset = num(q.get('offset'), 0);
  const fid = q.get('framework_id');
  const tid = q.get('task_id');
  const rows: Array<{ first: number; json: Record<string, unknown> }> = [];
  const add = (task: Task, state: string, statuses: StatusLite[]): void => {
    if (tid !== null && task.id !== tid) return;
    rows.push({ first: statuses[0]?.timestamp ?? -Infinity, json: taskJson(task, state, statuses) });
  };
  for (const fw of [...m.frameworks.values(), ...m.completed]) {
    if (fid !== null && fw.id !== fid) continue;
    for (const t of fw.tasks.values()) add(t, t.mState, t.statuses());
    for (const c of fw.completed) add(c.task, c.state, c.statuses);
  }
  const asc = q.get('order') === 'asc';
  rows.sort((a, b) => (asc ? a.first - b.first : b.first - a.first));
  return writeJson({ tasks: rows.slice(offset, offset + limit).map((r) => r.json) });
}

export function flagsJson(s: StateContext): Record<string, string> {
  if (s.authFlags) {
    const merged: Record<string, string> = { ...flagsJson({ ...s, authFlags: undefined }), ...s.authFlags };
    return Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]!]));
  }
  return {
    agent_ping_timeout: '15secs',
    agent_reregister_timeout: '10mins',
    allocation_interval: s.allocationIntervalMs % 1000 === 0 ? `${s.allocationIntervalMs / 1000}secs` : `${s.allocationIntervalMs}ms`,
    allocator: 'hierarchical',
    authenticate_agents: 'false',
    authenticate_frameworks: 'false',
    authenticate_http_frameworks: 'false',
    authenticate_http_readonly: 'false',
    authenticate_http_readwrite: 'false',
    authorizers: 'local',
    cluster: s.cluster,
    framework_sorter: 'drf',
    hostname: '127.0.0.1',
    ip: '127.0.0.1',
    max_agent_ping_timeouts: '5',
    max_completed_frameworks: '50',
    max_completed_tasks_per_framework: '1000',
    max_unreachable_tasks_per_framework: '1000',
    min_allocatable_resources: 'cpus:0.01|mem:32',
    port: String(s.port),
    recovery_agent_removal_limit: '100%',
    registry: 'in_memory',
    role_sorter: 'drf',
    root_submissions: 'true',
    version: 'false',
    zk_session_timeout: '10secs',
  };
}

// ---------------------------------------------------------------------------------------------
// Operator API (v1) views in Mesos object form.

function allocatedResources(r: Res, role: string | undefined): Resource[] {
  return toMesos(r, { allocationRole: role, legacyRole: false });
}

export function getAgents(m: Master): Record<string, unknown> {
  const agents = [...m.agentsById.values()].map((a) => {
    const am = a.m!;
    const o: Record<string, unknown> = {
      agent_info: {
        hostname: a.hostname,
        port: a.port,
        resources: toMesos(a.total, { legacyRole: false }),
        attributes: a.attributes.length ? a.attributes : undefined,
        id: { value: a.id },
      },
      active: am.active,
      deactivated: m.ctx.registry.deactivated.has(a.id),
      version: MESOS_VERSION,
      pid: `slave(1)@${a.ip}:${a.port}`,
      registered_time: { nanoseconds: nanos(am.registeredTime) },
      total_resources: toMesos(a.total, { legacyRole: false }),
      allocated_resources: allocatedResources(am.used, undefined),
      offered_resources: allocatedResources(offeredOf(a), undefined),
      capabilities: AGENT_CAPABILITIES.map((type) => ({ type })),
    };
    if (am.reregisteredTime !== undefined) o['reregistered_time'] = { nanoseconds: nanos(am.reregisteredTime) };
    const d = m.ctx.registry.draining.get(a.id);
    if (d) {
      const config: Record<string, unknown> = { mark_gone: d.markGone };
      if (d.maxGracePeriodNs !== undefined) config['max_grace_period'] = { nanoseconds: d.maxGracePeriodNs };
      o['drain_info'] = { state: d.state, config };
    }
    return o;
  });
  const recovered = [...m.recovered.values()].map((a) => ({
    hostname: a.hostname,
    port: a.port,
    resources: toMesos(a.total, { legacyRole: false }),
    attributes: a.attributes.length ? a.attributes : undefined,
    id: { value: a.id },
  }));
  const out: Record<string, unknown> = {};
  if (agents.length) out['agents'] = agents;
  if (recovered.length) out['recovered_agents'] = recovered;
  return out;
}

function frameworkView(m: Master, fw: Framework): Record<string, unknown> {
  const used = emptyRes();
  for (const t of fw.tasks.values()) if (!isTerminalState(t.mState) && t.mState !== 'TASK_UNREACHABLE') addInto(used, t.res);
  const offered = emptyRes();
  for (const o of fw.offers) addInto(offered, o.res);
  const o: Record<string, unknown> = {
    framework_info: fw.info,
    active: fw.active,
    connected: fw.connected,
    recovered: fw.recovered,
    registered_time: { nanoseconds: nanos(fw.registeredTime) },
  };
  if (fw.reregisteredTime !== fw.registeredTime) o['reregistered_time'] = { nanoseconds: nanos(fw.reregisteredTime) };
  if (fw.unregisteredTime) o['unregistered_time'] = { nanoseconds: nanos(fw.unregisteredTime) };
  const offers = [...fw.offers].map((of) => m.offerJson(of));
  if (offers.length) o['offers'] = offers;
  const ios = [...fw.inverseOffers].map((io) => ({
    id: { value: io.id },
    framework_id: { value: fw.id },
    agent_id: { value: io.agent.id },
    unavailability: io.unavailability,
  }));
  if (ios.length) o['inverse_offers'] = ios;
  o['allocated_resources'] = allocatedResources(used, fw.roles[0]);
  o['offered_resources'] = allocatedResources(offered, fw.roles[0]);
  return o;
}

export function getFrameworks(m: Master): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fws = [...m.frameworks.values()].map((fw) => frameworkView(m, fw));
  if (fws.length) out['frameworks'] = fws;
  const done = m.completed.map((fw) => frameworkView(m, fw));
  if (done.length) out['completed_frameworks'] = done;
  return out;
}

function taskView(task: Task, state: string, statuses: StatusLite[] | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {
    name: task.name,
    task_id: { value: task.id },
    framework_id: { value: task.fwId },
    agent_id: { value: task.agent.id },
    state,
    resources: toMesos(task.res, { allocationRole: task.role, legacyRole: false }),
    statuses: (statuses ?? []).map((s): TaskStatus => {
      const st: TaskStatus = { task_id: { value: task.id }, state: s.state, agent_id: { value: task.agent.id }, timestamp: s.timestamp };
      if (s.healthy !== undefined) st.healthy = s.healthy;
      return st;
    }),
  };
  if (task.masterExecutorId !== undefined) o['executor_id'] = { value: task.masterExecutorId };
  if (task.mSUState !== undefined && task.mEpoch >= 0) o['status_update_state'] = task.mSUState;
  if (task.mSUUuid !== undefined && task.mEpoch >= 0) o['status_update_uuid'] = task.mSUUuid;
  if (task.labels) o['labels'] = task.labels;
  if (task.healthCheck) o['health_check'] = task.healthCheck; // Task.health_check (15), copied from the TaskInfo
  return o;
}

export function getTasks(m: Master): Record<string, unknown> {
  const tasks = [];
  const unreachable = [];
  const completed = [];
  for (const fw of [...m.frameworks.values(), ...m.completed]) {
    for (const t of fw.tasks.values()) tasks.push(taskView(t, t.mState, t.statuses()));
    for (const u of fw.unreachable.values()) unreachable.push(taskView(u.task, 'TASK_UNREACHABLE', u.statuses));
    for (const c of fw.completed) completed.push(taskView(c.task, c.state, c.statuses));
  }
  const out: Record<string, unknown> = {};
  if (tasks.length) out['tasks'] = tasks;
  if (unreachable.length) out['unreachable_tasks'] = unreachable;
  if (completed.length) out['completed_tasks'] = completed;
  return out;
}

export function getState(m: Master): Record<string, unknown> {
  return { get_tasks: getTasks(m), get_executors: {}, get_frameworks: getFrameworks(m), get_agents: getAgents(m) };
}

// ---------------------------------------------------------------------------------------------
// GET /master/roles (Master::ReadOnlyHandler::roles): the roles the master knows — here the roles
// of its frameworks and their ancestors (no weights, quotas, reservations or whitelist are
// modelled), sorted; weight 1.0, empty quota, allocated/offered as scalar ResourceQuantities.

function quantitiesJson(r: Res): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (r.cpus) o['cpus'] = dbl(r.cpus / 1000);
  if (r.disk) o['disk'] = dbl(r.disk / 1000);
  if (r.mem) o['mem'] = dbl(r.mem / 1000);
  return o;
}

export function rolesJson(m: Master): string {
  const frameworks = new Map<string, string[]>();
  const known = new Set<string>();
  for (const fw of m.frameworks.values()) {
    for (const role of fw.roles) {
      const l = frameworks.get(role) ?? [];
      l.push(fw.id);
      frameworks.set(role, l);
      const parts = role.split('/');
      for (let i = 1; i <= parts.length; i++) known.add(parts.slice(0, i).join('/'));
    }
  }
  const roles = [...known].sort().map((name) => {
    const allocated = emptyRes();
    const offered = emptyRes();
    for (const fw of m.frameworks.values()) {
      for (const t of fw.tasks.values()) {
        if (!isTerminalState(t.mState) && t.mState !== 'TASK_UNREACHABLE' && (t.role === name || t.role.startsWith(name + '/'))) addInto(allocated, t.res);
      }
      for (const o of fw.offers) if (o.role === name || o.role.startsWith(name + '/')) addInto(offered, o.res);
    }
    const both = emptyRes();
    addInto(both, allocated);
    addInto(both, offered);
    return {
      name,
      weight: dbl(1),
      quota: { role: name, guarantee: {}, limit: {}, consumed: quantitiesJson(allocated) },
      resources: quantitiesJson(both),
      allocated: quantitiesJson(allocated),
      offered: quantitiesJson(offered),
      reserved: {},
      frameworks: frameworks.get(name) ?? [],
    };
  });
  return writeJson({ roles });
}
