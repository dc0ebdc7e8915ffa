/**
 * Validation of job specs submitted by operators (API, CLI). Pure. Every problem is reported with
 * the path of the offending field (`resources.cpus`, `environment.FOO`, `sla.percentage`), all at
 * once, so a bad job.json is fixed in one round trip. Unknown fields are errors: a typo such as
 * `"instance": 3` must not silently become a default.
 */
import { JOB_NAME_RE, type JobSpec, type SlaPolicy } from './job-spec.js';

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
  maxEnvVars: 512,
  maxKillGraceSeconds: 3600,
  maxHorizonSeconds: 365 * 24 * 3600,
};

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
        const p = path ? `${path}.${k}` : k;
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

  string(o: Obj, key: string, path: string, opts: { required?: boolean; nonEmpty?: boolean; maxBytes?: number }): string | undefined {
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
    'unavailability_horizon_seconds',
    'kill_grace_period_seconds',
    'role',
    'update_batch_size',
  ]);

  const name = c.string(input, 'name', '', { required: true, nonEmpty: true });
  if (name !== undefined && !JOB_NAME_RE.test(name)) {
    c.err('name', `must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit; got ${JSON.stringify(name)}`);
  }
  const instances = c.number(input, 'instances', '', { required: true, min: 0, max: LIMITS.maxInstances, integer: true });

  // resources
  const res = c.object(input, 'resources', '', true);
  let resources: JobSpec['resources'] | undefined;
  if (res) {
    c.known(res, 'resources', ['cpus', 'mem', 'disk', 'ports']);
    const cpus = c.number(res, 'cpus', 'resources', { required: true, min: 0, exclusiveMin: true, max: LIMITS.maxCpus });
    const mem = c.number(res, 'mem', 'resources', { required: true, min: 0, exclusiveMin: true, max: LIMITS.maxMemMb });
    const disk = c.number(res, 'disk', 'resources', { min: 0, max: LIMITS.maxDiskMb });
    const ports = c.number(res, 'ports', 'resources', { min: 0, max: LIMITS.maxPorts, integer: true });
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
    else command = { value: rawCmd, shell: true };
  } else if (isObj(rawCmd)) {
    c.known(rawCmd, 'command', ['value', 'shell', 'arguments']);
    const value = c.string(rawCmd, 'value', 'command', { required: true, nonEmpty: true, maxBytes: LIMITS.maxCommandBytes });
    const shell = c.bool(rawCmd, 'shell', 'command');
    let args: string[] | undefined;
    const rawArgs = rawCmd['arguments'];
    if (rawArgs !== undefined) {
      if (!Array.isArray(rawArgs)) c.err('command.arguments', `must be an array of strings, got ${typeName(rawArgs)}`);
      else {
        rawArgs.forEach((a, i) => {
          if (typeof a !== 'string') c.err(`command.arguments[${i}]`, `must be a string, got ${typeName(a)}`);
        });
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
  let environment: Record<string, string> | undefined;
  const env = c.object(input, 'environment', '');
  if (env) {
    const keys = Object.keys(env);
    if (keys.length > LIMITS.maxEnvVars) c.err('environment', `at most ${LIMITS.maxEnvVars} variables`);
    environment = {};
    for (const k of keys) {
      const v = env[k];
      if (!ENV_NAME_RE.test(k)) c.err(`environment.${k}`, 'variable names must match [A-Za-z_][A-Za-z0-9_]*');
      else if (RESERVED_ENV.test(k)) c.err(`environment.${k}`, 'is set by Sluice (SLUICE_*, HOST, PORT, PORTn are reserved)');
      if (typeof v !== 'string') c.err(`environment.${k}`, `must be a string, got ${typeName(v)}`);
      else environment[k] = v;
    }
  }

  // constraints
  let constraints: JobSpec['constraints'] | undefined;
  const cons = c.object(input, 'constraints', '');
  if (cons) {
    c.known(cons, 'constraints', ['host_unique', 'rack_spread', 'rack_attribute']);
    const hostUnique = c.bool(cons, 'host_unique', 'constraints');
    const rackSpread = c.bool(cons, 'rack_spread', 'constraints');
    const rackAttr = c.string(cons, 'rack_attribute', 'constraints', { nonEmpty: true });
    constraints = {};
    if (hostUnique !== undefined) constraints.host_unique = hostUnique;
    if (rackSpread !== undefined) constraints.rack_spread = rackSpread;
    if (rackAttr !== undefined) constraints.rack_attribute = rackAttr;
  }

  // sla
  let sla: SlaPolicy | undefined;
  const s = c.object(input, 'sla', '');
  if (s) {
    const kind = s['kind'];
    if (kind === 'percentage') {
      c.known(s, 'sla', ['kind', 'percentage', 'duration_seconds']);
      const pct = c.number(s, 'percentage', 'sla', { required: true, min: 0, exclusiveMin: true, max: 100 });
      const dur = c.number(s, 'duration_seconds', 'sla', { required: true, min: 0 });
      if (pct !== undefined && dur !== undefined) sla = { kind, percentage: pct, duration_seconds: dur };
    } else if (kind === 'count') {
      c.known(s, 'sla', ['kind', 'count', 'duration_seconds']);
      const count = c.number(s, 'count', 'sla', { required: true, min: 0, integer: true });
      const dur = c.number(s, 'duration_seconds', 'sla', { required: true, min: 0 });
      if (count !== undefined && instances !== undefined && count > instances) {
        c.err('sla.count', `asks for ${count} instances up but the job has only ${instances}`);
      } else if (count !== undefined && dur !== undefined) sla = { kind, count, duration_seconds: dur };
    } else {
      c.err('sla.kind', `must be "percentage" or "count", got ${JSON.stringify(kind)}`);
    }
  }

  const horizon = c.number(input, 'unavailability_horizon_seconds', '', { min: 0, max: LIMITS.maxHorizonSeconds });
  const grace = c.number(input, 'kill_grace_period_seconds', '', { min: 0, max: LIMITS.maxKillGraceSeconds });
  const role = c.string(input, 'role', '', { nonEmpty: true });
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
  if (horizon !== undefined) spec.unavailability_horizon_seconds = horizon;
  if (grace !== undefined) spec.kill_grace_period_seconds = grace;
  if (role !== undefined) spec.role = role;
  if (batch !== undefined) spec.update_batch_size = batch;
  return { ok: true, spec };
}

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
    ]);
  return pick(a) !== pick(b);
}
