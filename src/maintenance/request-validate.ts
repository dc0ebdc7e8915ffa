/**
 * Field-level validation of the operator's maintenance requests (pure), with the strictness of job
 * specs (src/scheduler/validate.ts): every problem carries the path of its field (`dry_run`,
 * `window.start`, `hosts[3]`), all problems of a request are reported at once, unknown fields are
 * refused (with "did you mean" when one is close), wrong types are refused — `"dry_run": "yes"` is
 * an error, never a real drain — and strings and lists are bounded (MAINTENANCE_LIMITS).
 *
 *   start     {hosts, window?{start?, duration?}, group_by?, max_parallel?, timeout?, force?,
 *              post_drain?, dry_run?}
 *   complete, abort, probe   {hosts}
 *   GET /api/v1/hosts        ?states=S1,S2
 *
 * `hosts` is an array of names or a comma-separated string. Times: `window.start` is ISO-8601,
 * `now`, `+10m` (relative to the scheduler's clock) or ms since the epoch; durations
 * (`window.duration`, `timeout`) are `30m`, `2h`, `1800s` or a number of seconds.
 *
 * Host names are checked for type and length here; their charset, duplicates and whether an agent
 * has them are checked by resolveHosts (host-state.ts), which reports all of those together. When a
 * request has other field errors, the name checks are reported with them so one answer lists all.
 */
import { MaintenanceError, type HostProblem } from './errors.js';
import { parseDuration, suggest } from './format.js';
import {
  HOST_STATES,
  MAINTENANCE_LIMITS,
  resolveHosts,
  shortText,
  utf8Length,
  windowProblems,
  type GroupBy,
  type HostState,
  type StartRequest,
} from './host-state.js';

/** A refused request: `problems` has one entry per bad field, each with its `path`. */
export class MaintenanceFieldError extends MaintenanceError {
  override readonly name = 'MaintenanceFieldError';
  constructor(verb: string, problems: readonly HostProblem[]) {
    const shown = problems.slice(0, 10).map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    if (problems.length > shown.length) shown.push(`and ${problems.length - shown.length} more (see details)`);
    const text = shown.join('; ');
    super(`${verb} rejected: ${text}`, 'invalid-option', problems);
  }
}

type Obj = Record<string, unknown>;

const START_FIELDS = ['hosts', 'window', 'group_by', 'max_parallel', 'timeout', 'force', 'post_drain', 'dry_run'] as const;
const WINDOW_FIELDS = ['start', 'duration'] as const;
const GROUPS: readonly GroupBy[] = ['rack', 'host'];

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own property only (a `__proto__` key of a JSON body is an own property, never the prototype). */
function own(o: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

class Problems {
  readonly fields: HostProblem[] = [];
  /** Host name problems (charset, duplicates), reported only together with field problems. */
  readonly names: HostProblem[] = [];

  bad(path: string, message: string): void {
    this.fields.push({ hostname: '', code: 'invalid-option', path, message });
  }

  /** Refuses keys not in `allowed`, suggesting the closest allowed one. */
  known(o: Obj, prefix: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k)) continue;
      const near = suggest(k.replace(/-/g, '_'), allowed, 1)[0] ?? allowed.find((a) => a.startsWith(k) || k.startsWith(a));
      this.bad(`${prefix}${shortText(k, 60)}`, `unknown field${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}`);
    }
  }

  throwIfAny(verb: string): void {
    if (this.fields.length) throw new MaintenanceFieldError(verb, [...this.fields, ...this.names]);
  }
}

function body(b: unknown, p: Problems, shape: string): Obj | undefined {
  if (isObj(b)) return b;
  p.bad('', `send a JSON object ${shape}, got ${b === undefined ? 'an empty body' : typeName(b)}`);
  return undefined;
}

/** `hosts`: an array of names or "h1,h2"; bounded; names of the right type and length. */
function hostList(o: Obj, p: Problems): string[] {
  const v = own(o, 'hosts');
  const L = MAINTENANCE_LIMITS;
  let list: unknown[];
  if (v === undefined) {
    p.fields.push({ hostname: '', code: 'empty-request', path: 'hosts', message: 'is required (an array of host names, or "h1,h2")' });
    return [];
  }
  if (typeof v === 'string') {
    if (v.length > L.maxHosts * (L.maxHostnameLength + 1)) {
      p.bad('hosts', `is too long (at most ${L.maxHosts} names)`);
      return [];
    }
    list = v.split(',').map((h) => h.trim()).filter(Boolean);
  } else if (Array.isArray(v)) list = v;
  else {
    p.bad('hosts', `must be an array of host names or a comma-separated string, got ${typeName(v)}`);
    return [];
  }
  if (list.length === 0) {
    p.fields.push({ hostname: '', code: 'empty-request', path: 'hosts', message: 'no hosts given' });
    return [];
  }
  if (list.length > L.maxHosts) {
    p.bad('hosts', `at most ${L.maxHosts} hosts per request, got ${list.length}`);
    return [];
  }
  const typed = new Set<string>();
  list.forEach((h, i) => {
    const path = `hosts[${i}]`;
    if (typeof h !== 'string') p.bad(path, `must be a host name (string), got ${typeName(h)}`);
    else if (h.length > L.maxHostnameLength) p.bad(path, `'${shortText(h, 40)}' is longer than ${L.maxHostnameLength} characters`);
    else return;
    typed.add(path);
  });
  // charset and duplicates (unknown names need the inventory: resolveHosts does it again later)
  const names: HostProblem[] = [];
  resolveHosts(list.map((h) => (typeof h === 'string' ? h : '')), [], names, false);
  p.names.push(...names.filter((n) => n.code !== 'unknown-host' && !typed.has(n.path ?? '')));
  return list.filter((h): h is string => typeof h === 'string');
}

/** A duration field in ms: "30m", "2h", "1800s", "1h30m" or a number of seconds. */
function duration(v: unknown, path: string, p: Problems): number | undefined {
  let ms: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) {
      p.bad(path, 'must be a finite duration');
      return undefined;
    }
    ms = Math.round(v * 1000);
  } else if (typeof v === 'string') {
    if (v.length > 64) {
      p.bad(path, `'${shortText(v, 40)}' is not a duration (expected e.g. 90s, 15m, 2h, 1h30m, 1d)`);
      return undefined;
    }
    try {
      ms = parseDuration(v);
    } catch (e) {
      p.bad(path, (e as Error).message);
      return undefined;
    }
  } else {
    p.bad(path, `must be a duration like 30m, 2h, 1800s or a number of seconds, got ${typeName(v)}`);
    return undefined;
  }
  if (!Number.isFinite(ms)) {
    p.bad(path, 'must be a finite duration');
    return undefined;
  }
  return ms;
}

/** `window.start`: ISO-8601, `now`, `+10m`, or ms since the epoch → ms since the epoch. */
function startTime(v: unknown, now: number, p: Problems): number | undefined {
  const path = 'window.start';
  const expected = 'an ISO-8601 time (2026-05-01T10:00:00Z), "now", "+10m" or ms since the epoch';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) p.bad(path, `must be ${expected}`);
    return Number.isFinite(v) ? v : undefined;
  }
  if (typeof v !== 'string' || !v.trim() || v.length > 64) {
    p.bad(path, `must be ${expected}, got ${typeof v === 'string' ? `'${shortText(v, 40)}'` : typeName(v)}`);
    return undefined;
  }
  const t = v.trim();
  if (t === 'now') return now;
  if (t.startsWith('+')) {
    const d = duration(t.slice(1), path, p);
    return d === undefined ? undefined : now + d;
  }
  if (/^\d+$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}/.test(t)) {
    p.bad(path, `'${t}' is not a valid time; expected ${expected}`);
    return undefined;
  }
  return ms;
}

function bool(o: Obj, key: string, p: Problems): boolean | undefined {
  const v = own(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') {
    p.bad(key, `must be true or false, got ${typeName(v)}${typeof v === 'string' ? ` '${shortText(v, 20)}'` : ''}`);
    return undefined;
  }
  return v;
}

/**
 * Checks a `host maintenance start` body and builds the StartRequest. Throws MaintenanceFieldError
 * (HTTP 400) listing every bad field. `now` is the scheduler's clock.
 */
export function validateStartBody(input: unknown, now: number): StartRequest {
  const verb = 'host maintenance start';
  const p = new Problems();
  const b = body(input, p, `{${START_FIELDS.join(', ')}}`);
  if (!b) return p.throwIfAny(verb) as never;
  p.known(b, '', START_FIELDS);
  const req: StartRequest = { hosts: hostList(b, p) };
  const L = MAINTENANCE_LIMITS;

  const w = own(b, 'window');
  if (w !== undefined) {
    if (!isObj(w)) p.bad('window', `must be an object {start?, duration?}, got ${typeName(w)}`);
    else {
      p.known(w, 'window.', WINDOW_FIELDS);
      const window: NonNullable<StartRequest['window']> = {};
      const s = own(w, 'start');
      const d = own(w, 'duration');
      const start = s === undefined ? undefined : startTime(s, now, p);
      const dur = d === undefined ? undefined : duration(d, 'window.duration', p);
      if (start !== undefined) window.start_ms = start;
      if (dur !== undefined) window.duration_ms = dur;
      const failed = (s !== undefined && start === undefined) || (d !== undefined && dur === undefined);
      if (!failed) for (const e of windowProblems(window, now)) p.bad(e.path, e.message);
      req.window = window;
    }
  }

  const g = own(b, 'group_by');
  if (g !== undefined) {
    if (typeof g !== 'string' || !GROUPS.includes(g as GroupBy)) {
      const near = typeof g === 'string' ? suggest(g, GROUPS, 1)[0] : undefined;
      p.bad('group_by', `must be "rack" or "host", got ${typeof g === 'string' ? `'${shortText(g, 20)}'` : typeName(g)}${near ? ` (did you mean "${near}"?)` : ''}`);
    } else req.group_by = g as GroupBy;
  }

  const mp = own(b, 'max_parallel');
  if (mp !== undefined) {
    if (typeof mp !== 'number' || !Number.isInteger(mp) || mp < 1 || mp > L.maxHosts) {
      p.bad('max_parallel', `must be a whole number from 1 to ${L.maxHosts}, got ${typeof mp === 'number' ? mp : typeName(mp)}`);
    } else req.max_parallel = mp;
  }

  const t = own(b, 'timeout');
  if (t !== undefined) {
    const ms = duration(t, 'timeout', p);
    if (ms !== undefined) {
      if (!(ms > 0) || ms > L.maxTimeoutMs) p.bad('timeout', `must be more than 0 and at most ${L.maxTimeoutMs / 86_400_000} days`);
      else req.timeout_ms = ms;
    }
  }

  const force = bool(b, 'force', p);
  if (force !== undefined) req.force = force;
  if (force === true && t === undefined) p.bad('force', '--force needs --timeout (force kills what is left once the drain timeout has passed)');
  const dry = bool(b, 'dry_run', p);
  if (dry !== undefined) req.dry_run = dry;

  const pd = own(b, 'post_drain');
  if (pd !== undefined) {
    if (typeof pd !== 'string') p.bad('post_drain', `must be a shell command (string), got ${typeName(pd)}`);
    else if (pd.trim() === '') p.bad('post_drain', 'must not be empty');
    else if (pd.includes('\0')) p.bad('post_drain', 'must not contain NUL characters');
    else if (utf8Length(pd) > L.maxPostDrainBytes) p.bad('post_drain', `must be at most ${L.maxPostDrainBytes} bytes`);
    else req.post_drain = pd;
  }

  p.throwIfAny(verb);
  return req;
}

/** Checks a `{hosts}` body (complete, abort, sla probe) and returns the names. */
export function validateHostsBody(input: unknown, verb: string): string[] {
  const p = new Problems();
  const b = body(input, p, '{hosts}');
  if (!b) return p.throwIfAny(verb) as never;
  p.known(b, '', ['hosts']);
  const hosts = hostList(b, p);
  p.throwIfAny(verb);
  return hosts;
}

/** Checks the query string of GET /api/v1/hosts (`states` only, once). */
export function validateHostsQuery(query: URLSearchParams): HostState[] | undefined {
  const verb = 'host query';
  const p = new Problems();
  const keys = [...new Set(query.keys())];
  for (const k of keys) {
    if (k === 'states') continue;
    const near = suggest(k, ['states'], 1)[0];
    p.bad(shortText(k, 60), `unknown query parameter${near ? ` (did you mean "${near}"?)` : ''}; allowed: states`);
  }
  const all = query.getAll('states');
  if (all.length > 1) p.bad('states', 'give it once, as a comma-separated list (states=DRAINING,DRAINED)');
  const raw = all[0];
  let states: HostState[] | undefined;
  if (raw && raw.length > 256) p.bad('states', 'is too long');
  else if (raw) {
    const list = [...new Set(raw.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean))];
    const wrong = list.filter((s) => !HOST_STATES.includes(s as HostState));
    if (wrong.length) p.bad('states', `unknown state(s) ${wrong.map((w) => shortText(w, 20)).join(', ')} (known: ${HOST_STATES.join(', ')})`);
    else states = list as HostState[];
  }
  p.throwIfAny(verb);
  return states;
}
