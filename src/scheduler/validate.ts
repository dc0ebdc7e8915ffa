/**
 * Validation of job specs submitted by operators (API, CLI). Pure. Every problem is reported with
 * the path of the offending field (`resources.cpus`, `environment.FOO`, `sla.percentage`), all at
 * once, so a bad job.json is fixed in one round trip. Unknown fields are errors: a typo such as
 * `"instance": 3` must not silently become a default.
 */
import { validateSlaPolicy } from '../sla/index.js';
import { JOB_NAME_RE, type AnySlaPolicy, type JobHealthCheck, type JobSpec } from './job-spec.js';
import { LABEL_PREFIX } from './task-id.js';

export interface FieldError {
  /** Dotted path of the field, '' for the document itself. */
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; spec: JobSpec } | { ok: false; errors: FieldError[] };

export interface ValidationOptions {
  /** Roles the framework subscribed with; a job's `role` must be one of them. */
  roles?: readonly string[];
}

export const LIMITS = {
  maxInstances: 10_000,
  maxCpus: 1024,
  maxMemMb: 16 * 1024 * 1024,
  maxDiskMb: 1024 * 1024 * 1024,
  maxPorts: 64,
  maxCommandBytes: 64 * 1024,
  maxArguments: 1024,
  maxEnvVars: 512,
  maxEnvValueBytes: 32 * 1024,
  maxEnvBytes: 256 * 1024,
  /** role, rack_attribute */
  maxNameBytes: 255,
  maxKillGraceSeconds: 3600,
  maxHorizonSeconds: 365 * 24 * 3600,
  /** An SLA asking instances to have run longer than this could block every drain for ever. */
  maxSlaDurationSeconds: 7 * 24 * 3600,
  /** Any health check time (delay, interval, timeout, grace period). */
  maxHealthSeconds: 24 * 3600,
  maxHealthFailures: 1000,
  maxHealthPathBytes: 2048,
  maxLabels: 64,
  maxLabelValueBytes: 4096,
};

/**
 * Mesos keeps scalar resources in fixed point with 3 decimals (Value::Scalar, common/values.cpp:
 * llround(value × 1000)) and refuses a non-zero scalar that would be represented as zero ("Invalid
 * scalar resource: value <= 0", Resources::validate) — a task asking for it ends in TASK_ERROR on
 * every launch. Sluice launches command tasks (no executor of its own), to which the master applies
 * no other minimum (MIN_CPUS 0.01 / MIN_MEM 32 MB apply to executors only), so that is the rule here:
 * cpus and mem must round to at least 0.001, disk to 0 or at least 0.001; values are stored rounded.
 */
export const MESOS_SCALAR_PRECISION = 0.001;

function fixedPoint(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Keys that would reach an object's prototype when assigned; refused wherever names are keys. */
const PROTO_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables Sluice sets itself in every task. */
const RESERVED_ENV = /^(SLUICE_|PORT$|PORT\d+$|HOST$)/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

class Checker {
  readonly errors: FieldError[] = [];

  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  /** Reports keys of `o` not in `allowed`. */
  known(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        const shown = k.length > 64 ? `${k.slice(0, 64)}…` : k;
        const p = path ? `${path}.${shown}` : shown;
        const near = allowed.find((a) => a.startsWith(k) || k.startsWith(a));
        this.err(p, `unknown field${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}`);
      }
    }
  }

  number(o: Obj, key: string, path: string, opts: { required?: boolean; min?: number; max?: number; exclusiveMin?: boolean; integer?: boolean }): number | undefined {
    const v = o[key];
    const p = path ? `${path}.${key}` : key;
    if (v === undefined) {
      if (opts.required) this.err(p, 'is required');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.err(p, `must be a ${opts.integer ? 'whole ' : ''}number, got ${typeName(v)}`);
      return undefined;
    }
    if (opts.integer && !Number.isInteger(v)) {
      this.err(p, `must be a whole number, got ${v}`);
      return undefined;
    }
    if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) {
      this.err(p, `must be ${opts.exclusiveMin ? 'greater than' : 'at least'} ${opts.min}, got ${v}`);
      return undefined;
    }
    if (opts.max !== undefined && v > opts.max) {
      this.err(p, `must be at most ${opts.max}, got ${v}`);
      return undefined;
    }
    return v;
  }

  string(o: Obj, key: string, path: string, opts: { required?: boolean; nonEmpty?: boolean; maxBytes?: number; noNul?: boolean }): string | undefined {
    const v = o[key];
    const p = path ? `${path}.${key}` : key;
    if (v === undefined) {
      if (opts.required) this.err(p, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.err(p, `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    if (opts.nonEmpty && v.trim() === '') {
      this.err(p, 'must not be empty');
      return undefined;
    }
    if (opts.maxBytes !== undefined && Buffer.byteLength(v) > opts.maxBytes) {
      this.err(p, `must be at most ${opts.maxBytes} bytes`);
      return undefined;
    }
    if (opts.noNul && v.includes('\0')) {
      this.err(p, 'must not contain NUL characters');
      return undefined;
    }
    return v;
  }

  bool(o: Obj, key: string, path: string): boolean | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.err(path ? `${path}.${key}` : key, `must be true or false, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  /** A Mesos scalar resource (see MESOS_SCALAR_PRECISION), returned rounded to 3 decimals. */
  scalar(o: Obj, key: string, opts: { required?: boolean; zeroOk?: boolean; max: number }): number | undefined {
    const v = this.number(o, key, 'resources', { required: opts.required, min: 0, exclusiveMin: !opts.zeroOk, max: opts.max });
    if (v === undefined) return undefined;
    const fixed = fixedPoint(v);
    if (v !== 0 && fixed <= 0) {
      this.err(`resources.${key}`, `${v} is below Mesos's resource precision of ${MESOS_SCALAR_PRECISION} (it would be 0${opts.zeroOk ? '; use 0 or at least 0.001' : ''})`);
      return undefined;
    }
    return fixed;
  }

  object(o: Obj, key: string, path: string, required = false): Obj | undefined {
    const v = o[key];
    const p = path ? `${path}.${key}` : key;
    if (v === undefined) {
      if (required) this.err(p, 'is required');
      return undefined;
    }
    if (!isObj(v)) {
      this.err(p, `must be an object, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }
}

/**
 * Checks an operator-supplied document and returns a normalised JobSpec (only known fields, in a
 * canonical order) or every error found.
 */
export function validateJobSpec(input: unknown, opts: ValidationOptions = {}): ValidationResult {
  const c = new Checker();
  if (!isObj(input)) {
    return { ok: false, errors: [{ path: '', message: `a job spec must be a JSON object, got ${typeName(input)}` }] };
  }
  c.known(input, '', [
    'name',
    'instances',
    'resources',
    'command',
    'environment',
    'constraints',
    'sla',
    'health_check',
    'labels',
    'unavailability_horizon_seconds',
    'kill_grace_period_seconds',
    'role',
    'update_batch_size',
  ]);

  const name = c.string(input, 'name', '', { required: true, nonEmpty: true });
  if (name !== undefined && !JOB_NAME_RE.test(name)) {
    c.err('name', `must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit; got ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)}`);
  }
  const instances = c.number(input, 'instances', '', { required: true, min: 0, max: LIMITS.maxInstances, integer: true });

  // resources
  const res = c.object(input, 'resources', '', true);
  let resources: JobSpec['resources'] | undefined;
  /** Ports the task gets (resources.ports); undefined when that field is itself invalid. */
  let portCount: number | undefined;
  if (res) {
    c.known(res, 'resources', ['cpus', 'mem', 'disk', 'ports']);
    const cpus = c.scalar(res, 'cpus', { required: true, max: LIMITS.maxCpus });
    const mem = c.scalar(res, 'mem', { required: true, max: LIMITS.maxMemMb });
    const disk = c.scalar(res, 'disk', { zeroOk: true, max: LIMITS.maxDiskMb });
    const ports = c.number(res, 'ports', 'resources', { min: 0, max: LIMITS.maxPorts, integer: true });
    portCount = res['ports'] === undefined ? 0 : ports;
    if (cpus !== undefined && mem !== undefined) {
      resources = { cpus, mem };
      if (disk !== undefined) resources.disk = disk;
      if (ports !== undefined) resources.ports = ports;
    }
  }

  // command: an object, or a plain string as a shorthand for { value, shell: true }
  let command: JobSpec['command'] | undefined;
  const rawCmd = input['command'];
  if (rawCmd === undefined) c.err('command', 'is required');
  else if (typeof rawCmd === 'string') {
    if (rawCmd.trim() === '') c.err('command', 'must not be empty');
    else if (Buffer.byteLength(rawCmd) > LIMITS.maxCommandBytes) c.err('command', `must be at most ${LIMITS.maxCommandBytes} bytes`);
    else if (rawCmd.includes('\0')) c.err('command', 'must not contain NUL characters');
    else command = { value: rawCmd, shell: true };
  } else if (isObj(rawCmd)) {
    c.known(rawCmd, 'command', ['value', 'shell', 'arguments']);
    const value = c.string(rawCmd, 'value', 'command', { required: true, nonEmpty: true, maxBytes: LIMITS.maxCommandBytes, noNul: true });
    const shell = c.bool(rawCmd, 'shell', 'command');
    let args: string[] | undefined;
    const rawArgs = rawCmd['arguments'];
    if (rawArgs !== undefined) {
      if (!Array.isArray(rawArgs)) c.err('command.arguments', `must be an array of strings, got ${typeName(rawArgs)}`);
      else if (rawArgs.length > LIMITS.maxArguments) c.err('command.arguments', `at most ${LIMITS.maxArguments} arguments, got ${rawArgs.length}`);
      else {
        let bytes = 0;
        rawArgs.forEach((a, i) => {
          if (typeof a !== 'string') c.err(`command.arguments[${i}]`, `must be a string, got ${typeName(a)}`);
          else if (a.includes('\0')) c.err(`command.arguments[${i}]`, 'must not contain NUL characters');
          else bytes += Buffer.byteLength(a);
        });
        if (bytes > LIMITS.maxCommandBytes) c.err('command.arguments', `must be at most ${LIMITS.maxCommandBytes} bytes in all`);
        args = rawArgs.filter((a): a is string => typeof a === 'string');
      }
      if (shell !== false && rawArgs !== undefined) c.err('command.arguments', 'is only used with "shell": false');
    }
    if (value !== undefined) {
      command = { value, shell: shell ?? true };
      if (args) command.arguments = args;
    }
  } else c.err('command', `must be a string or an object {value, shell?, arguments?}, got ${typeName(rawCmd)}`);

  // environment
  // Built with Object.fromEntries (own data properties only): no key can reach a prototype.
  let environment: Record<string, string> | undefined;
  const env = c.object(input, 'environment', '');
  if (env) {
    const keys = Object.keys(env);
    const entries: Array<[string, string]> = [];
    let bytes = 0;
    if (keys.length > LIMITS.maxEnvVars) c.err('environment', `at most ${LIMITS.maxEnvVars} variables, got ${keys.length}`);
    else {
      for (const k of keys) {
        const v = env[k];
        const p = `environment.${k.length > 64 ? `${k.slice(0, 64)}…` : k}`;
        if (!ENV_NAME_RE.test(k) || k.length > 255) c.err(p, 'variable names must match [A-Za-z_][A-Za-z0-9_]* (at most 255 characters)');
        else if (PROTO_KEYS.has(k)) c.err(p, 'is not accepted as a variable name (__proto__, constructor and prototype are refused)');
        else if (RESERVED_ENV.test(k)) c.err(p, 'is set by Sluice (SLUICE_*, HOST, PORT, PORTn are reserved)');
        else if (typeof v !== 'string') c.err(p, `must be a string, got ${typeName(v)}`);
        else if (v.includes('\0')) c.err(p, 'must not contain NUL characters');
        else if (Buffer.byteLength(v) > LIMITS.maxEnvValueBytes) c.err(p, `must be at most ${LIMITS.maxEnvValueBytes} bytes`);
        else {
          bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
          entries.push([k, v]);
        }
      }
      if (bytes > LIMITS.maxEnvBytes) c.err('environment', `must be at most ${LIMITS.maxEnvBytes} bytes in all`);
    }
    environment = Object.fromEntries(entries);
  }

  // constraints
  let constraints: JobSpec['constraints'] | undefined;
  const cons = c.object(input, 'constraints', '');
  if (cons) {
    c.known(cons, 'constraints', ['host_unique', 'rack_spread', 'rack_attribute']);
    const hostUnique = c.bool(cons, 'host_unique', 'constraints');
    const rackSpread = c.bool(cons, 'rack_spread', 'constraints');
    const rackAttr = c.string(cons, 'rack_attribute', 'constraints', { nonEmpty: true, maxBytes: LIMITS.maxNameBytes, noNul: true });
    constraints = {};
    if (hostUnique !== undefined) constraints.host_unique = hostUnique;
    if (rackSpread !== undefined) constraints.rack_spread = rackSpread;
    if (rackAttr !== undefined) constraints.rack_attribute = rackAttr;
  }

  // sla: the one validator of src/sla (counting, domain and coordinator policies)
  let sla: AnySlaPolicy | undefined;
  if (input['sla'] !== undefined) {
    const r = validateSlaPolicy(input['sla'], { path: 'sla', ...(instances !== undefined ? { instances } : {}) });
    if (r.ok) sla = r.value;
    else for (const e of r.errors) c.err(e.path, e.message);
  }

  const healthCheck = input['health_check'] !== undefined ? checkHealth(c, input['health_check'], portCount) : undefined;
  const labels = input['labels'] !== undefined ? checkLabels(c, input['labels']) : undefined;

  const horizon = c.number(input, 'unavailability_horizon_seconds', '', { min: 0, max: LIMITS.maxHorizonSeconds });
  const grace = c.number(input, 'kill_grace_period_seconds', '', { min: 0, max: LIMITS.maxKillGraceSeconds });
  const role = c.string(input, 'role', '', { nonEmpty: true, maxBytes: LIMITS.maxNameBytes, noNul: true });
  if (role !== undefined && opts.roles && !opts.roles.includes(role)) {
    c.err('role', `${JSON.stringify(role)} is not a role of this framework (roles: ${opts.roles.join(', ')})`);
  }
  const batch = c.number(input, 'update_batch_size', '', { min: 1, max: LIMITS.maxInstances, integer: true });

  if (c.errors.length || name === undefined || instances === undefined || !resources || !command) {
    return { ok: false, errors: c.errors.length ? c.errors : [{ path: '', message: 'invalid job spec' }] };
  }
  const spec: JobSpec = { name, instances, resources, command };
  if (environment && Object.keys(environment).length) spec.environment = environment;
  if (constraints && Object.keys(constraints).length) spec.constraints = constraints;
  if (sla) spec.sla = sla;
  if (healthCheck) spec.health_check = healthCheck;
  if (labels && Object.keys(labels).length) spec.labels = labels;
  if (horizon !== undefined) spec.unavailability_horizon_seconds = horizon;
  if (grace !== undefined) spec.kill_grace_period_seconds = grace;
  if (role !== undefined) spec.role = role;
  if (batch !== undefined) spec.update_batch_size = batch;
  return { ok: true, spec };
}

/**
 * The port an HTTP or TCP check looks at: exactly one of `port` (fixed, 1-65535) or `port_index`
 * (whole, below `ports`, the number of ports the task gets: `resources.ports`; undefined when the
 * resources are themselves invalid, so only the index's own form is checked).
 */
function checkPort(c: Checker, o: Obj, p: string, ports: number | undefined): { port: number } | { port_index: number } | undefined {
  if ((o['port'] === undefined) === (o['port_index'] === undefined)) {
    c.err(p, `must have exactly one of port (a fixed port) or port_index (a port allocated to the task from resources.ports); got ${o['port'] === undefined ? 'neither' : 'both'}`);
    return undefined;
  }
  if (o['port'] !== undefined) {
    const port = c.number(o, 'port', p, { min: 1, max: 65535, integer: true });
    return port === undefined ? undefined : { port };
  }
  const index = c.number(o, 'port_index', p, { min: 0, max: LIMITS.maxPorts, integer: true });
  if (index === undefined) return undefined;
  if (ports !== undefined && index >= ports) {
    c.err(`${p}.port_index`, ports === 0 ? `is ${index}, but the task gets no ports: set resources.ports (port_index 0 is the first port allocated)` : `is ${index}, but the task gets ${ports} port${ports === 1 ? '' : 's'} (resources.ports): port_index must be 0 to ${ports - 1}`);
    return undefined;
  }
  return { port_index: index };
}

/** Checks `health_check` (see JobHealthCheck): exactly one of http, tcp, command; times bounded; ports (`ports`: resources.ports). */
function checkHealth(c: Checker, raw: unknown, ports: number | undefined): JobHealthCheck | undefined {
  const P = 'health_check';
  if (!isObj(raw)) {
    c.err(P, `must be an object, got ${typeName(raw)}`);
    return undefined;
  }
  c.known(raw, P, ['http', 'tcp', 'command', 'delay_seconds', 'interval_seconds', 'timeout_seconds', 'grace_period_seconds', 'consecutive_failures']);
  const kinds = (['http', 'tcp', 'command'] as const).filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1) c.err(P, `must have exactly one of http, tcp, command; got ${kinds.length ? kinds.join(', ') : 'none'}`);
  const out: JobHealthCheck = {};
  const seconds = (key: 'delay_seconds' | 'interval_seconds' | 'timeout_seconds' | 'grace_period_seconds', positive: boolean) => {
    const v = c.number(raw, key, P, { min: 0, exclusiveMin: positive, max: LIMITS.maxHealthSeconds });
    if (v !== undefined) out[key] = v;
  };
  seconds('delay_seconds', false);
  seconds('interval_seconds', true);
  seconds('timeout_seconds', false); // 0 = no limit (mesos.proto)
  seconds('grace_period_seconds', false);
  const fails = c.number(raw, 'consecutive_failures', P, { min: 1, max: LIMITS.maxHealthFailures, integer: true });
  if (fails !== undefined) out.consecutive_failures = fails;
  const http = c.object(raw, 'http', P);
  if (http) {
    const p = `${P}.http`;
    c.known(http, p, ['port', 'port_index', 'path', 'scheme', 'statuses']);
    const port = checkPort(c, http, p, ports);
    const path = c.string(http, 'path', p, { nonEmpty: true, maxBytes: LIMITS.maxHealthPathBytes, noNul: true });
    if (path !== undefined && (!path.startsWith('/') || /[\s\u0000-\u001f\u007f]/.test(path))) c.err(`${p}.path`, 'must start with "/" and contain no spaces or control characters');
    const scheme = http['scheme'];
    if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') c.err(`${p}.scheme`, `must be "http" or "https", got ${typeof scheme === 'string' ? JSON.stringify(scheme.slice(0, 40)) : typeName(scheme)}`);
    const rawSt = http['statuses'];
    let statuses: number[] | undefined;
    if (rawSt !== undefined) {
      if (!Array.isArray(rawSt) || rawSt.length === 0 || rawSt.length > 100) c.err(`${p}.statuses`, `must be an array of 1 to 100 HTTP status codes, got ${Array.isArray(rawSt) ? `${rawSt.length} entries` : typeName(rawSt)}`);
      else {
        rawSt.forEach((v, i) => {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 599) c.err(`${p}.statuses[${i}]`, `must be an HTTP status code 100-599, got ${typeof v === 'number' ? v : typeName(v)}`);
        });
        statuses = rawSt.filter((v): v is number => typeof v === 'number');
      }
    }
    if (port !== undefined) {
      out.http = { ...port };
      if (path !== undefined) out.http.path = path;
      if (scheme === 'http' || scheme === 'https') out.http.scheme = scheme;
      if (statuses) out.http.statuses = statuses;
    }
  }
  const tcp = c.object(raw, 'tcp', P);
  if (tcp) {
    c.known(tcp, `${P}.tcp`, ['port', 'port_index']);
    const port = checkPort(c, tcp, `${P}.tcp`, ports);
    if (port !== undefined) out.tcp = { ...port };
  }
  const cmd = raw['command'];
  if (cmd !== undefined) {
    const p = `${P}.command`;
    if (typeof cmd === 'string') {
      if (cmd.trim() === '' || cmd.includes('\0') || Buffer.byteLength(cmd) > LIMITS.maxCommandBytes) c.err(p, `must be a non-empty string of at most ${LIMITS.maxCommandBytes} bytes without NUL`);
      else out.command = { value: cmd, shell: true };
    } else if (isObj(cmd)) {
      c.known(cmd, p, ['value', 'shell', 'arguments']);
      const value = c.string(cmd, 'value', p, { required: true, nonEmpty: true, maxBytes: LIMITS.maxCommandBytes, noNul: true });
      const shell = c.bool(cmd, 'shell', p);
      const args = cmd['arguments'];
      let list: string[] | undefined;
      if (args !== undefined) {
        if (shell !== false) c.err(`${p}.arguments`, 'is only used with "shell": false');
        else if (!Array.isArray(args) || args.length > LIMITS.maxArguments) c.err(`${p}.arguments`, `must be an array of at most ${LIMITS.maxArguments} strings`);
        else {
          args.forEach((a, i) => {
            if (typeof a !== 'string' || a.includes('\0')) c.err(`${p}.arguments[${i}]`, 'must be a string without NUL characters');
          });
          list = args.filter((a): a is string => typeof a === 'string');
        }
      }
      if (value !== undefined) {
        out.command = { value, shell: shell ?? true };
        if (list) out.command.arguments = list;
      }
    } else c.err(p, `must be a string or an object {value, shell?, arguments?}, got ${typeName(cmd)}`);
  }
  return out.http || out.tcp || out.command ? out : undefined;
}

/** Checks `labels`: extra TaskInfo labels; `sluice.*` keys are Sluice's own. */
function checkLabels(c: Checker, raw: unknown): Record<string, string> | undefined {
  if (!isObj(raw)) {
    c.err('labels', `must be an object of strings, got ${typeName(raw)}`);
    return undefined;
  }
  const keys = Object.keys(raw);
  if (keys.length > LIMITS.maxLabels) {
    c.err('labels', `at most ${LIMITS.maxLabels} labels, got ${keys.length}`);
    return undefined;
  }
  const entries: Array<[string, string]> = [];
  for (const k of keys) {
    const v = raw[k];
    const p = `labels.${k.length > 64 ? `${k.slice(0, 64)}…` : k}`;
    if (!LABEL_KEY_RE.test(k)) c.err(p, "label keys must be 1-128 characters of letters, digits, '.', '_', '-'");
    else if (PROTO_KEYS.has(k)) c.err(p, 'is not accepted as a label key');
    else if (k.startsWith(LABEL_PREFIX)) c.err(p, `keys starting "${LABEL_PREFIX}" are set by Sluice`);
    else if (typeof v !== 'string') c.err(p, `must be a string, got ${typeName(v)}`);
    else if (v.includes('\0') || Buffer.byteLength(v) > LIMITS.maxLabelValueBytes) c.err(p, `must be at most ${LIMITS.maxLabelValueBytes} bytes without NUL`);
    else entries.push([k, v]);
  }
  return Object.fromEntries(entries);
}

const LABEL_KEY_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** Do two specs launch different tasks? (Anything but instances/sla/horizon/batch size.) */
export function taskDefinitionChanged(a: JobSpec, b: JobSpec): boolean {
  const pick = (s: JobSpec) =>
    JSON.stringify([
      s.resources,
      s.command,
      Object.entries(s.environment ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
      s.constraints ?? {},
      s.role ?? null,
      s.kill_grace_period_seconds ?? null,
      s.health_check ?? null,
      Object.entries(s.labels ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    ]);
  return pick(a) !== pick(b);
}
