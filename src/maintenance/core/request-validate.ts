/**
 * Field-level validation of the operator's maintenance requests (pure), with the strictness of job
 * specs (src/scheduler/validate.ts): every problem carries the path of its field (`dry_run`,
 * `window.start`, `hosts[3]`), all problems of a request are reported at once, unknown fields are
 * refused (with "did you mean" when one is close), wrong types are refused — `"dry_run": "yes"` is
 * an error, never a real drain — and strings and lists are bounded (MAINTENANCE_LIMITS).
 *
 *   start     {hosts?, racks?, attributes?, window?{start?, duration?}, group_by?, max_parallel?,
 *              timeout?, force?, post_drain?, dry_run?, reason?, override_sla?}
 *   (`override_sla` "80%/10m" or "3/10m": its text is checked here; the API asks admin and a reason
 *   like for `force`, then sets the reason — dry runs show its effect without one)
 *   probe     {hosts?, racks?, attributes?}
 *   complete, abort   {hosts}
 *   GET /api/v1/sla/safe     ?rack=R (repeatable)&group_by=host|rack
 *
 * `racks` (["rack-7"]) and `attributes` ({"zone": "a"}) select agents as the master reports them
 * (select.ts: (hosts ∪ racks) ∩ attributes); `hosts` may then be left out.
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
import type { HostSelector } from './select.js';
import { parseOverride } from '../../sla/validate.js';

/** Bounds of the selector fields. */
export const SELECTOR_LIMITS = { maxRacks: 1000, maxAttributes: 32, maxNameLength: 128, maxValueLength: 253 } as const;

/** A request that may name hosts by selector; `select` is absent when none was given. */
export type SelectingRequest = { hosts: string[]; select?: HostSelector };

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

const START_FIELDS = ['hosts', 'racks', 'attributes', 'window', 'group_by', 'max_parallel', 'timeout', 'force', 'post_drain', 'dry_run', 'reason', 'override_sla'] as const;
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
function hostList(o: Obj, p: Problems, optional = false): string[] {
  const v = own(o, 'hosts');
  const L = MAINTENANCE_LIMITS;
  let list: unknown[];
  if (v === undefined && optional) return [];
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

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function selectorText(v: unknown, path: string, max: number, p: Problems): string | undefined {
  if (typeof v !== 'string') p.bad(path, `must be a string, got ${typeName(v)}`);
  else if (v.trim() === '' || v !== v.trim()) p.bad(path, v.trim() === '' ? 'must not be empty' : `'${shortText(v, 40)}' has leading or trailing spaces`);
  else if (v.length > max) p.bad(path, `'${shortText(v, 40)}' is longer than ${max} characters`);
  else if (CONTROL.test(v)) p.bad(path, 'must not contain control characters');
  else return v;
  return undefined;
}

/** `racks` (array of names) and `attributes` ({name: value}); undefined when neither is given. */
function selector(o: Obj, p: Problems): HostSelector | undefined {
  const S = SELECTOR_LIMITS;
  const out: HostSelector = {};
  const r = own(o, 'racks');
  if (r !== undefined) {
    if (!Array.isArray(r)) p.bad('racks', `must be an array of rack names, got ${typeName(r)}`);
    else if (r.length === 0) p.bad('racks', 'must name at least one rack (or leave the field out)');
    else if (r.length > S.maxRacks) p.bad('racks', `at most ${S.maxRacks} racks, got ${r.length}`);
    else {
      const racks: string[] = [];
      r.forEach((x, i) => {
        const t = selectorText(x, `racks[${i}]`, S.maxValueLength, p);
        if (t === undefined) return;
        if (racks.includes(t)) p.bad(`racks[${i}]`, `'${shortText(t, 40)}' is listed more than once`);
        else racks.push(t);
      });
      out.racks = racks;
    }
  }
  const a = own(o, 'attributes');
  if (a !== undefined) {
    if (!isObj(a)) p.bad('attributes', `must be an object {"name": "value"}, got ${typeName(a)}`);
    else {
      const keys = Object.keys(a);
      if (keys.length === 0) p.bad('attributes', 'must have at least one name (or leave the field out)');
      else if (keys.length > S.maxAttributes) p.bad('attributes', `at most ${S.maxAttributes} attributes, got ${keys.length}`);
      else {
        const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
        for (const k of keys) {
          const path = `attributes.${shortText(k, 60)}`;
          const name = selectorText(k, path, S.maxNameLength, p);
          const value = selectorText(a[k], path, S.maxValueLength, p);
          if (name !== undefined && value !== undefined) attrs[name] = value;
        }
        out.attributes = { ...attrs };
      }
    }
  }
  return r === undefined && a === undefined ? undefined : out;
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
export function validateStartBody(input: unknown, now: number): StartRequest & { select?: HostSelector; reason?: string } {
  const verb = 'host maintenance start';
  const p = new Problems();
  const b = body(input, p, `{${START_FIELDS.join(', ')}}`);
  if (!b) return p.throwIfAny(verb) as never;
  p.known(b, '', START_FIELDS);
  const select = selector(b, p);
  const req: StartRequest & { select?: HostSelector; reason?: string } = { hosts: hostList(b, p, select !== undefined) };
  if (select) req.select = select;
  const why = reasonField(b, p);
  if (why !== undefined) req.reason = why;
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

  const ov = own(b, 'override_sla');
  if (ov !== undefined) {
    // the reason is the request's own (checked above and by the API's attribution)
    const parsed = parseOverride(ov, why ?? '(none)');
    if (!parsed.ok) for (const e of parsed.errors) p.bad(e.path, e.message);
    else req.override_sla = { ...parsed.value, reason: why ?? '' };
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

/** `reason`: the operator's why (optional text, bounded, no control characters). */
function reasonField(o: Obj, p: Problems): string | undefined {
  const v = own(o, 'reason');
  if (v === undefined) return undefined;
  if (typeof v !== 'string') p.bad('reason', `must be a string, got ${typeName(v)}`);
  else if (v.trim() === '') p.bad('reason', 'must not be empty');
  else if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v)) p.bad('reason', 'must not contain control characters');
  else if (utf8Length(v) > MAINTENANCE_LIMITS.maxReasonBytes) p.bad('reason', `must be at most ${MAINTENANCE_LIMITS.maxReasonBytes} bytes`);
  else return v.trim();
  return undefined;
}

/** Checks a `{hosts, reason?}` body (complete, abort) and returns the names and the reason. */
export function validateEndBody(input: unknown, verb: string): { hosts: string[]; reason?: string } {
  const p = new Problems();
  const b = body(input, p, '{hosts, reason?}');
  if (!b) return p.throwIfAny(verb) as never;
  p.known(b, '', ['hosts', 'reason']);
  const out: { hosts: string[]; reason?: string } = { hosts: hostList(b, p) };
  const why = reasonField(b, p);
  if (why !== undefined) out.reason = why;
  p.throwIfAny(verb);
  return out;
}

/** Checks a `{hosts?, racks?, attributes?}` body (sla probe): at least one of them. */
export function validateProbeBody(input: unknown, verb: string): SelectingRequest {
  const p = new Problems();
  const b = body(input, p, '{hosts?, racks?, attributes?}');
  if (!b) return p.throwIfAny(verb) as never;
  p.known(b, '', ['hosts', 'racks', 'attributes']);
  const select = selector(b, p);
  const out: SelectingRequest = { hosts: hostList(b, p, select !== undefined) };
  if (select) out.select = select;
  p.throwIfAny(verb);
  return out;
}

/** Checks the query string of GET /api/v1/sla/safe: `rack` (repeatable) and `group_by`. */
export function validateSafeQuery(query: URLSearchParams): { racks?: string[]; group_by: GroupBy } {
  const verb = 'sla list-safe';
  const p = new Problems();
  for (const k of new Set(query.keys())) {
    if (k === 'rack' || k === 'group_by') continue;
    const near = suggest(k, ['rack', 'group_by'], 1)[0];
    p.bad(shortText(k, 60), `unknown query parameter${near ? ` (did you mean "${near}"?)` : ''}; allowed: rack, group_by`);
  }
  const racks = query.getAll('rack');
  if (racks.length > SELECTOR_LIMITS.maxRacks) p.bad('rack', `at most ${SELECTOR_LIMITS.maxRacks} racks`);
  const out: { racks?: string[]; group_by: GroupBy } = { group_by: 'host' };
  if (racks.length && racks.length <= SELECTOR_LIMITS.maxRacks) {
    const list: string[] = [];
    racks.forEach((r, i) => {
      const t = selectorText(r, `rack[${i}]`, SELECTOR_LIMITS.maxValueLength, p);
      if (t !== undefined && !list.includes(t)) list.push(t);
    });
    out.racks = list;
  }
  const g = query.getAll('group_by');
  if (g.length > 1) p.bad('group_by', 'give it once');
  else if (g.length === 1) {
    if (!GROUPS.includes(g[0] as GroupBy)) p.bad('group_by', `must be "rack" or "host", got '${shortText(g[0]!, 20)}'`);
    else out.group_by = g[0] as GroupBy;
  }
  p.throwIfAny(verb);
  return out;
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

/** Request ids as Sluice makes them (`mnt-1a2b3c4d`); bounded, printable. */
function requestId(o: Obj, p: Problems): string | undefined {
  const v = own(o, 'request_id');
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v)) {
    p.bad('request_id', `must be a request id such as mnt-1a2b3c4d (letters, digits, . _ -; at most 64), got ${typeof v === 'string' ? `'${shortText(v, 40)}'` : typeName(v)}`);
    return undefined;
  }
  return v;
}

export type PauseTarget = { request_id: string } | { hosts: string[] } | { all: true };

/**
 * Checks a pause / resume body: exactly one of `request_id`, `hosts`, `all: true`
 * (`POST /api/v1/maintenance/pause` takes only `{all: true, reason}`), and `reason?`.
 */
export function validatePauseBody(input: unknown, verb: string, onlyAll = false): { target: PauseTarget; reason?: string } {
  const p = new Problems();
  const b = body(input, p, onlyAll ? '{all: true, reason?}' : '{request_id | hosts | all: true, reason?}');
  if (!b) return p.throwIfAny(verb) as never;
  p.known(b, '', onlyAll ? ['all', 'reason'] : ['request_id', 'hosts', 'all', 'reason']);
  const given = ['request_id', 'hosts', 'all'].filter((k) => own(b, k) !== undefined);
  let target: PauseTarget | undefined;
  if (given.length !== 1 || (onlyAll && given[0] !== 'all')) {
    p.bad(given.length > 1 ? given[1]! : onlyAll ? 'all' : '', onlyAll ? 'send {"all": true} (every drain in the cluster)' : 'name exactly one of request_id, hosts or all: true');
  } else if (given[0] === 'all') {
    if (own(b, 'all') !== true) p.bad('all', `must be true, got ${JSON.stringify(own(b, 'all'))?.slice(0, 20)}`);
    else target = { all: true };
  } else if (given[0] === 'request_id') {
    const id = requestId(b, p);
    if (id !== undefined) target = { request_id: id };
  } else target = { hosts: hostList(b, p) };
  const why = reasonField(b, p);
  p.throwIfAny(verb);
  return why !== undefined ? { target: target!, reason: why } : { target: target! };
}

/** Checks an in-flight edit: `{request_id, max_parallel?: n | null, timeout?: duration | null, reason?}`. */
export function validateEditBody(input: unknown, verb: string): { request_id: string; max_parallel?: number | null; timeout_ms?: number | null; dry_run?: boolean; reason?: string } {
  const p = new Problems();
  const L = MAINTENANCE_LIMITS;
  const b = body(input, p, '{request_id, max_parallel?, timeout?, dry_run?, reason?}');
  if (!b) return p.throwIfAny(verb) as never;
  p.known(b, '', ['request_id', 'max_parallel', 'timeout', 'dry_run', 'reason']);
  const id = requestId(b, p);
  if (own(b, 'request_id') === undefined) p.bad('request_id', 'is required (see GET /api/v1/hosts/requests)');
  const out: { request_id: string; max_parallel?: number | null; timeout_ms?: number | null; dry_run?: boolean; reason?: string } = { request_id: id ?? '' };
  const dry = own(b, 'dry_run');
  if (dry !== undefined) {
    if (typeof dry !== 'boolean') p.bad('dry_run', `must be true or false, got ${typeName(dry)}`);
    else if (dry) out.dry_run = true;
  }
  const mp = own(b, 'max_parallel');
  if (mp === null) out.max_parallel = null;
  else if (mp !== undefined) {
    if (typeof mp !== 'number' || !Number.isInteger(mp) || mp < 1 || mp > L.maxHosts) p.bad('max_parallel', `must be a whole number from 1 to ${L.maxHosts} (or null: no limit), got ${typeof mp === 'number' ? mp : typeName(mp)}`);
    else out.max_parallel = mp;
  }
  const t = own(b, 'timeout');
  if (t === null) out.timeout_ms = null;
  else if (t !== undefined) {
    const ms = duration(t, 'timeout', p);
    if (ms !== undefined) {
      if (!(ms > 0) || ms > L.maxTimeoutMs) p.bad('timeout', `must be more than 0 and at most ${L.maxTimeoutMs / 86_400_000} days`);
      else out.timeout_ms = ms;
    }
  }
  if (mp === undefined && t === undefined) p.bad('', 'nothing to change: give max_parallel and/or timeout');
  const why = reasonField(b, p);
  if (why !== undefined) out.reason = why;
  p.throwIfAny(verb);
  return out;
}
