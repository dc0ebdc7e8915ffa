/**
 * Validation of what frameworks and operators send, with the master's texts: ids and roles
 * (src/common/validation.cpp, src/common/roles.cpp), FrameworkInfo and allocator options
 * (Master::validateFramework, validation::framework), ACCEPT's offers and tasks
 * (src/master/validation.cpp: offer::validate, task::validate, task::group::validate) and
 * maintenance schedules and machines (src/master/maintenance.cpp, maintenance::validation).
 * Every function returns the error text, or undefined when valid.
 */
import type { FrameworkInfo, MachineID, Resource, Schedule, TaskInfo } from '../../mesos/types.js';
import { encodeJsonText } from '../../mesos/codec.js';
import { type Agent, type Framework, type Machine, type Offer, capsOf, machineKey, rolesOf } from '../model.js';
import { type Res, addRes, containsRes, emptyRes, fromMesos, resourcesText, toMesos } from '../resources.js';
import { cppDouble, isIPv4 } from '../util.js';

/** The ExecutorInfo fields the master looks at. */
export interface ExecutorInfoLike {
  executor_id: { value: string };
  type?: string;
  command?: unknown;
  resources?: Resource[];
}

/** common::validation::validateID */
export function validateId(s: string): string | undefined {
  if (s.length === 0) return 'ID must not be empty';
  if (s.length > 255) return 'ID must not be greater than 255 characters';
  if (s === '.' || s === '..') return `'${s}' is disallowed`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f/\\]/.test(s)) return `'${s}' contains invalid characters`;
  return undefined;
}

/** src/common/roles.cpp validate */
export function validateRole(role: string): string | undefined {
  if (role === '*') return undefined;
  if (role.startsWith('/')) return `Role '${role}' cannot start with a slash`;
  if (role.endsWith('/')) return `Role '${role}' cannot end with a slash`;
  if (role.includes('//')) return `Role '${role}' cannot contain two adjacent slashes`;
  const comps = role.split('/').filter((c) => c.length > 0);
  if (comps.length === 0) return 'Role names cannot be the empty string';
  for (const c of comps) {
    if (c === '.') return `Role '${role}' cannot include '.' as a component`;
    if (c === '..') return `Role '${role}' cannot include '..' as a component`;
    if (c === '*') return `Role '${role}' cannot include '*' as a component`;
    if (c.startsWith('-')) return `Role component '${c}' is invalid because it starts with a dash`;
    if (/[\t\n\u000b\f\r \u007f]/.test(c)) return `Role component '${c}' is invalid because it contains backspace or whitespace`;
  }
  return undefined;
}

function stringifySet(items: Iterable<string>): string {
  const arr = [...new Set(items)].sort();
  return '{ ' + arr.join(', ') + ' }';
}

// ---------------------------------------------------------------------------------------------
// Frameworks

/** Master::validateFramework + validation::framework::validate */
export function validateFrameworkInfo(info: FrameworkInfo, completedIds: ReadonlySet<string>): string | undefined {
  const multiRole = capsOf(info).multiRole;
  if (multiRole) {
    if (info.role !== undefined) return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable";
  } else if ((info.roles ?? []).length > 0) {
    return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable";
  }
  if (multiRole) {
    const seen = new Set<string>();
    const dups = new Set<string>();
    for (const r of info.roles ?? []) (seen.has(r) ? dups : seen).add(r);
    if (dups.size) return "'FrameworkInfo.roles' contains duplicate items: " + stringifySet(dups);
    for (const r of info.roles ?? []) {
      const e = validateRole(r);
      if (e) return "'FrameworkInfo.roles' contains invalid role: " + e;
    }
  } else {
    const e = validateRole(info.role ?? '*');
    if (e) return "'FrameworkInfo.role' is not a valid role: " + e;
  }
  if (info.id && info.id.value !== '') {
    const e = validateId(info.id.value);
    if (e) return e;
  }
  const ft = info.failover_timeout ?? 0;
  if (Number.isNaN(ft) || ft * 1e9 > 9223372036854775807 || ft * 1e9 < -9223372036854775808) {
    return `The framework failover_timeout (${cppDouble(ft)}) is invalid`;
  }
  // No --roles whitelist and --root_submissions=true (as the recorded master's flags).
  if (info.id && info.id.value !== '' && completedIds.has(info.id.value)) return 'Framework has been removed';
  return undefined;
}

/** Suppressed roles and offer constraints must name roles of the framework. */
export function allocatorOptionsError(info: FrameworkInfo, suppressed: string[] | undefined, constraints: unknown): string | undefined {
  const roles = new Set(rolesOf(info));
  const bad = (suppressed ?? []).filter((r) => !roles.has(r));
  if (bad.length) return 'Suppressed roles ' + stringifySet(bad) + ' are not contained in the set of roles';
  const rc = (constraints as { role_constraints?: Record<string, unknown> } | undefined)?.role_constraints;
  for (const role of Object.keys(rc ?? {})) {
    if (!roles.has(role)) return "Offer constraints specify `role_constraints` for a role '" + role + "'not contained in the set of roles";
  }
  return undefined;
}

/** The UPDATE_FRAMEWORK answer when the update is refused (Master::updateFramework(call)). */
export function frameworkUpdateError(fw: Framework, info: FrameworkInfo, completedIds: ReadonlySet<string>): string | undefined {
  const err = validateFrameworkInfo(info, completedIds);
  if (err) return 'Supplied FrameworkInfo is not valid: ' + err;
  if ((fw.info.principal ?? undefined) !== (info.principal ?? undefined)) {
    return "FrameworkInfo update is not valid: Changing framework's principal is not allowed.";
  }
  if (info.user !== fw.info.user) {
    return `FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; attempted to update from '${fw.info.user}' to '${info.user}'`;
  }
  const oc = fw.info.checkpoint ?? false;
  const nc = info.checkpoint ?? false;
  if (oc !== nc) {
    return `FrameworkInfo update is not valid: Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '${oc}' to '${nc}'`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Offers and tasks (ACCEPT)

/** validation::offer::validate */
export function validateOffers(offers: ReadonlyMap<string, Offer>, offerIds: string[], fw: Framework): string | undefined {
  const seen = new Set<string>();
  for (const oid of offerIds) {
    if (seen.has(oid)) return `Duplicate offer ${oid} in offer list`;
    seen.add(oid);
  }
  for (const oid of offerIds) if (!offers.has(oid)) return `Offer ${oid} is no longer valid`;
  for (const oid of offerIds) {
    const o = offers.get(oid)!;
    if (o.fw !== fw) return `Offer ${oid} has invalid framework ${o.fw.id} while framework ${fw.id} is expected`;
  }
  let role: string | undefined;
  for (const oid of offerIds) {
    const r = offers.get(oid)!.role;
    if (role === undefined) role = r;
    else if (r !== role) {
      return `Aggregated offers must be allocated to the same role. Offer ${oid} uses role '${r} but another is using role '${role}`;
    }
  }
  let agent: Agent | undefined;
  for (const oid of offerIds) {
    const a = offers.get(oid)!.agent;
    if (agent === undefined) agent = a;
    else if (a !== agent) return `Aggregated offers must belong to one single agent. Offer ${oid} uses agent ${a.id} and agent ${agent.id}`;
  }
  return undefined;
}

function executorKnown(a: Agent, fw: Framework, eid: string): boolean {
  return a.m?.executors.get(fw.id)?.has(eid) ?? false;
}

/** validation::task::validate (the parts that apply to this simulator's agents). */
export function validateTask(t: TaskInfo, fw: Framework, a: Agent, available: Res, role: string): string | undefined {
  const e = validateTaskCommon(t, fw, a);
  if (e) return e;
  const ex = t.executor as ExecutorInfoLike | undefined;
  if ((ex !== undefined) === (t.command !== undefined)) {
    return 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present';
  }
  const parsed = fromMesos(t.resources);
  let total = parsed.res;
  let foreign = parsed.foreign || parsed.roles.some((r) => r !== role);
  let totalText = resourcesText(t.resources ?? []);
  if (ex) {
    const eid = ex.executor_id?.value ?? '';
    const idErr = validateId(eid);
    if (idErr) return idErr;
    if (ex.type !== undefined && ex.type !== 'CUSTOM') return "'ExecutorInfo.type' must be 'CUSTOM'";
    if (ex.command === undefined) return "'ExecutorInfo.command' must be set";
    if (!executorKnown(a, fw, eid)) {
      const pe = fromMesos(ex.resources);
      total = addRes(total, pe.res);
      foreign = foreign || pe.foreign || pe.roles.some((r) => r !== role);
      if ((ex.resources ?? []).length) totalText = totalText ? totalText + '; ' + pe.text : pe.text;
    }
  }
  if (foreign || !containsRes(available, total)) {
    const avail = resourcesText(toMesos(available, { allocationRole: role, legacyRole: false }));
    return `Total resources ${totalText} required by task and its executor is more than available ${avail}`;
  }
  return undefined;
}

function validateTaskCommon(t: TaskInfo, fw: Framework, a: Agent): string | undefined {
  const tid = t.task_id.value;
  const idErr = validateId(tid);
  if (idErr) return idErr;
  if (fw.tasks.has(tid)) return `Task has duplicate ID: ${tid}`;
  if (fw.unreachable.has(tid)) return `Task reuses the ID of an unreachable task: ${tid}`;
  if (t.agent_id.value !== a.id) return `Task uses invalid agent ${t.agent_id.value} while agent ${a.id} is expected`;
  const gp = t.kill_policy?.grace_period?.nanoseconds;
  if (gp !== undefined && gp < 0n) return "Task's 'kill_policy.grace_period' must be non-negative";
  const mct = (t['max_completion_time'] as { nanoseconds?: bigint } | undefined)?.nanoseconds;
  if (mct !== undefined && mct < 0n) return "Task's `max_completion_time` must be non-negative";
  if ((t.resources ?? []).length === 0) return 'Task uses no resources';
  const parsed = fromMesos(t.resources);
  if (parsed.invalid) return 'Task uses invalid resources: ' + parsed.invalid;
  const roles = parsed.roles;
  if (roles.includes('')) return 'Invalid task resources: The resources are not allocated to a role';
  if (roles.length > 1) {
    return `Invalid task resources: The resources have multiple allocation roles ('${roles[1]}' and '${roles[0]}') but only one allocation role is allowed`;
  }
  return undefined;
}

/** validation::task::group::validate (+ the executor checks of validation::executor). */
export function validateGroup(
  tasks: TaskInfo[],
  ex: ExecutorInfoLike | undefined,
  fw: Framework,
  a: Agent,
  available: Res,
  role: string,
): string | undefined {
  for (const t of tasks) {
    const e = validateTaskCommon(t, fw, a) ?? (t.executor === undefined ? "'TaskInfo.executor' must be set" : undefined);
    if (e) return `Task '${t.task_id.value}' is invalid: ${e}`;
  }
  if (!ex) return "'ExecutorInfo.type' must be set";
  const eid = ex.executor_id?.value ?? '';
  const idErr = validateId(eid);
  if (idErr) return idErr;
  if (ex.type === undefined) return "'ExecutorInfo.type' must be set";
  if (ex.type === 'UNKNOWN') return 'Unknown executor type';
  const pe = fromMesos(ex.resources);
  if (pe.res.cpus < 10) return `Executor '${eid}' uses less CPUs (${pe.res.cpus ? cppDouble(pe.res.cpus / 1000) : 'None'}) than the minimum required (0.01)`;
  if (pe.res.mem < 32000) return `Executor '${eid}' uses less memory (${pe.res.mem ? cppDouble(pe.res.mem / 1000) + 'MB' : 'None'}) than the minimum required (32MB)`;
  if (!(ex.resources ?? []).some((r) => r.name === 'disk')) return `Executor '${eid}' uses no disk`;
  let total = emptyRes();
  let foreign = false;
  const texts: string[] = [];
  if (!executorKnown(a, fw, eid)) {
    total = addRes(total, pe.res);
    foreign = pe.foreign || pe.roles.some((r) => r !== role);
    if (pe.text) texts.push(pe.text);
  }
  for (const t of tasks) {
    const p = fromMesos(t.resources);
    total = addRes(total, p.res);
    foreign = foreign || p.foreign || p.roles.some((r) => r !== role);
    if (p.text) texts.push(p.text);
  }
  if (foreign || !containsRes(available, total)) {
    const avail = resourcesText(toMesos(available, { allocationRole: role, legacyRole: false }));
    return `Total resources ${texts.join('; ')} required by task group and its executor are more than available ${avail}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Maintenance

export function machineJson(m: MachineID): string {
  return encodeJsonText('mesos.v1.MachineID', m);
}

/** maintenance::validation::machine */
export function validateMachine(m: MachineID): string | undefined {
  if (!m.hostname && !m.ip) return "Both 'hostname' and 'ip' for a machine are empty";
  if (m.ip && !isIPv4(m.ip)) return `Failed to parse IPv4: ${m.ip}`;
  return undefined;
}

/** maintenance::validation::machines (for /machine/down and /machine/up) */
export function validateMachines(ids: MachineID[]): string | undefined {
  if (ids.length === 0) return 'List of machines is empty';
  const seen = new Set<string>();
  for (const m of ids) {
    const e = validateOnce(m, seen);
    if (e) return e;
  }
  return undefined;
}

/** A valid machine not seen before in the same list (recorded in `seen`). */
function validateOnce(m: MachineID, seen: Set<string>): string | undefined {
  const e = validateMachine(m);
  if (e) return e;
  const k = machineKey(m);
  if (seen.has(k)) return `Machine '${machineJson(m)}' appears more than once in the schedule`;
  seen.add(k);
  return undefined;
}

/** maintenance::validation::schedule, then: a DOWN machine may not leave the schedule. */
export function validateSchedule(s: Schedule, machines: Iterable<Machine>): string | undefined {
  const updated = new Set<string>();
  for (const w of s.windows ?? []) {
    const ids = w.machine_ids ?? [];
    if (ids.length === 0) return 'List of machines in the maintenance window is empty';
    const d = w.unavailability.duration?.nanoseconds ?? 0n;
    if (d < 0n) return "Unavailability 'duration' is negative";
    for (const mid of ids) {
      const e = validateOnce(mid, updated);
      if (e) return e;
    }
  }
  for (const mach of machines) {
    if (mach.info.mode === 'DOWN' && !updated.has(mach.key)) {
      return `Machine '${machineJson(mach.id)}' is deactivated and cannot be removed from the schedule`;
    }
  }
  return undefined;
}
