/**
 * Strict validation of SLA policies, guardrail settings and per-request overrides. Every input is
 * hostile: each problem is reported with the path of the offending field (`sla.percentage`,
 * `sla.coordinator.url`), all at once; unknown fields are errors; nothing here throws.
 *
 * Accepted policies (README "SLA policies"):
 *   {"kind": "percentage", "percentage": 95, "duration_seconds": 1800}
 *   {"kind": "count", "count": 3, "duration_seconds": 600}
 *   … either with "max_unavailable_domains": 1, "domain": "rack" (domain defaults to "rack")
 *   … either with "coordinator": {"url": "http://…", "timeout_seconds": 5}
 *   {"kind": "coordinator", "url": "https://…", "timeout_seconds": 5}
 * `timeout_seconds` defaults to 5 and may not exceed 60; URLs are http(s), at most 2048 bytes,
 * without a fragment; user info is allowed (and redacted wherever the URL is shown).
 */
import type { AnySlaPolicy, CoordinatorRef, SlaPolicy } from './policy.js';
import { requiredFor } from './policy.js';

export interface SlaFieldError {
  /** Dotted path of the field. */
  path: string;
  message: string;
}

export type SlaValidation<T> = { ok: true; value: T } | { ok: false; errors: SlaFieldError[] };

export const SLA_LIMITS = {
  /** An SLA asking instances to have run longer than this could block every drain for ever. */
  maxDurationSeconds: 7 * 24 * 3600,
  maxCount: 10_000,
  maxDomains: 1000,
  maxUrlBytes: 2048,
  maxTimeoutSeconds: 60,
  defaultTimeoutSeconds: 5,
  maxReasonBytes: 500,
};

/** A Mesos attribute name (the failure-domain attribute): letters, digits, '_', '-', '.'. */
const ATTRIBUTE_RE = /^[A-Za-z0-9_.-]{1,128}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
function typeName(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}
const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);
const shown = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

class Check {
  readonly errors: SlaFieldError[] = [];
  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  known(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.err(join(path, k.length > 64 ? `${k.slice(0, 64)}…` : k), `unknown field; allowed: ${allowed.join(', ')}`);
    }
  }
  number(o: Obj, key: string, path: string, opts: { required?: boolean; min?: number; exclusiveMin?: boolean; max?: number; integer?: boolean }): number | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined) {
      if (opts.required) this.err(p, 'is required');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) return void this.err(p, `must be a ${opts.integer ? 'whole ' : ''}number, got ${typeName(v)}`);
    if (opts.integer && !Number.isInteger(v)) return void this.err(p, `must be a whole number, got ${v}`);
    if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) {
      return void this.err(p, `must be ${opts.exclusiveMin ? 'greater than' : 'at least'} ${opts.min}, got ${v}`);
    }
    if (opts.max !== undefined && v > opts.max) return void this.err(p, `must be at most ${opts.max}, got ${v}`);
    return v;
  }
}

function checkUrl(c: Check, v: unknown, p: string): string | undefined {
  if (v === undefined) return void c.err(p, 'is required');
  if (typeof v !== 'string') return void c.err(p, `must be a string, got ${typeName(v)}`);
  if (utf8Bytes(v) > SLA_LIMITS.maxUrlBytes) return void c.err(p, `must be at most ${SLA_LIMITS.maxUrlBytes} bytes`);
  if (CONTROL_RE.test(v) || /\s/.test(v)) return void c.err(p, 'must not contain spaces or control characters');
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return void c.err(p, 'is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return void c.err(p, `must be an http:// or https:// URL, got ${shown(u.protocol)}`);
  if (!u.hostname) return void c.err(p, 'has no host');
  if (u.hash || v.includes('#')) return void c.err(p, 'must not have a fragment (#…)');
  return v;
}

/** UTF-8 length without node:buffer (this module stays pure). */
function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function checkCoordinator(c: Check, o: Obj, path: string, extra: readonly string[]): CoordinatorRef | undefined {
  c.known(o, path, ['url', 'timeout_seconds', ...extra]);
  const url = checkUrl(c, o['url'], join(path, 'url'));
  const t = c.number(o, 'timeout_seconds', path, { min: 0, exclusiveMin: true, max: SLA_LIMITS.maxTimeoutSeconds });
  if (url === undefined) return undefined;
  return { url, timeout_seconds: t ?? SLA_LIMITS.defaultTimeoutSeconds };
}

export interface PolicyValidationOptions {
  /** Field path of the policy (default "sla"). */
  path?: string;
  /** The job's instances: a count above it is refused (it could never be met). */
  instances?: number;
  /** Refuse coordinator policies (e.g. for the cluster default SLA). */
  noCoordinator?: boolean;
  maxDurationSeconds?: number;
}

/** Validate one SLA policy. */
export function validateSlaPolicy(input: unknown, opts: PolicyValidationOptions = {}): SlaValidation<AnySlaPolicy> {
  const c = new Check();
  const path = opts.path ?? 'sla';
  const policy = checkPolicy(c, input, path, opts);
  return c.errors.length || !policy ? { ok: false, errors: c.errors.length ? c.errors : [{ path, message: 'invalid SLA policy' }] } : { ok: true, value: policy };
}

function checkPolicy(c: Check, input: unknown, path: string, opts: PolicyValidationOptions): AnySlaPolicy | undefined {
  if (!isObj(input)) return void c.err(path, `must be an object, got ${typeName(input)}`);
  const kind = input['kind'];
  const maxDur = opts.maxDurationSeconds ?? SLA_LIMITS.maxDurationSeconds;
  if (kind === 'coordinator') {
    if (opts.noCoordinator) return void c.err(join(path, 'kind'), 'a coordinator policy is not allowed here');
    const ref = checkCoordinator(c, input, path, ['kind']);
    return ref ? { kind, ...ref } : undefined;
  }
  if (kind !== 'percentage' && kind !== 'count') {
    return void c.err(join(path, 'kind'), `must be "percentage", "count" or "coordinator", got ${typeof kind === 'string' ? shown(kind) : typeName(kind)}`);
  }
  const common = ['kind', 'duration_seconds', 'max_unavailable_domains', 'domain', 'coordinator'];
  c.known(input, path, kind === 'percentage' ? ['percentage', ...common] : ['count', ...common]);
  const dur = c.number(input, 'duration_seconds', path, { required: true, min: 0, max: maxDur });
  let policy: SlaPolicy | undefined;
  if (kind === 'percentage') {
    const pct = c.number(input, 'percentage', path, { required: true, min: 0, exclusiveMin: true, max: 100 });
    if (pct !== undefined && dur !== undefined) policy = { kind, percentage: pct, duration_seconds: dur };
  } else {
    const count = c.number(input, 'count', path, { required: true, min: 0, max: SLA_LIMITS.maxCount, integer: true });
    if (count !== undefined && opts.instances !== undefined && count > opts.instances) {
      c.err(join(path, 'count'), `asks for ${count} instances up but the job has only ${opts.instances}`);
    } else if (count !== undefined && dur !== undefined) policy = { kind, count, duration_seconds: dur };
  }
  const maxDomains = c.number(input, 'max_unavailable_domains', path, { min: 1, max: SLA_LIMITS.maxDomains, integer: true });
  const domain = input['domain'];
  if (domain !== undefined) {
    if (typeof domain !== 'string' || !ATTRIBUTE_RE.test(domain)) {
      c.err(join(path, 'domain'), `must be an agent attribute name (letters, digits, '_', '-', '.'; 1–128), got ${typeof domain === 'string' ? shown(domain) : typeName(domain)}`);
    } else if (maxDomains === undefined && input['max_unavailable_domains'] === undefined) {
      c.err(join(path, 'domain'), 'only makes sense with max_unavailable_domains');
    }
  }
  let coordinator: CoordinatorRef | undefined;
  const co = input['coordinator'];
  if (co !== undefined) {
    if (opts.noCoordinator) c.err(join(path, 'coordinator'), 'a coordinator is not allowed here');
    else if (!isObj(co)) c.err(join(path, 'coordinator'), `must be an object, got ${typeName(co)}`);
    else coordinator = checkCoordinator(c, co, join(path, 'coordinator'), []);
  }
  if (!policy) return undefined;
  if (maxDomains !== undefined) {
    policy.max_unavailable_domains = maxDomains;
    policy.domain = typeof domain === 'string' ? domain : 'rack';
  }
  if (coordinator) policy.coordinator = coordinator;
  return policy;
}

/** Cluster guardrails on SLAs (settings; README "SLA guardrails"). Everything off by default. */
export interface SlaGuardrails {
  /** The SLA of jobs that declare none (percentage or count; no coordinator). */
  default_sla?: SlaPolicy;
  /** A job may require at most this share of its instances up (0 < p ≤ 100). */
  max_percentage?: number;
  /** A job may require instances to have run at most this long. */
  max_duration_seconds?: number;
}

/** Validate guardrail settings (a config file section, flags or environment, parsed to an object). */
export function validateGuardrails(input: unknown, path = 'sla_guardrails'): SlaValidation<SlaGuardrails> {
  const c = new Check();
  if (!isObj(input)) return { ok: false, errors: [{ path, message: `must be an object, got ${typeName(input)}` }] };
  c.known(input, path, ['default_sla', 'max_percentage', 'max_duration_seconds']);
  const out: SlaGuardrails = {};
  if (input['default_sla'] !== undefined && input['default_sla'] !== null) {
    const p = checkPolicy(c, input['default_sla'], join(path, 'default_sla'), { noCoordinator: true });
    if (p && p.kind !== 'coordinator') out.default_sla = p;
  }
  const mp = c.number(input, 'max_percentage', path, { min: 0, exclusiveMin: true, max: 100 });
  if (mp !== undefined) out.max_percentage = mp;
  const md = c.number(input, 'max_duration_seconds', path, { min: 0, max: SLA_LIMITS.maxDurationSeconds });
  if (md !== undefined) out.max_duration_seconds = md;
  return c.errors.length ? { ok: false, errors: c.errors } : { ok: true, value: out };
}

/** A per-request lowering of SLAs (`--override-sla 80%/10m --reason "…"`). */
export interface SlaOverride {
  kind: 'percentage' | 'count';
  /** The percentage (0 < p ≤ 100) or the count (whole, ≥ 0). */
  value: number;
  duration_seconds: number;
  reason: string;
  /** The text as given, for logs and answers. */
  text: string;
}

const OVERRIDE_RE = /^(\d{1,5}(?:\.\d{1,3})?)(%?)\/(\d{1,7})(s|m|h|d)$/;
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parse `--override-sla` and its reason: `<percentage>%/<duration>` or `<count>/<duration>`, the
 * duration a whole number with a unit s, m, h or d (e.g. `80%/10m`, `2/30s`). The reason is
 * required: 1–500 bytes of text without control characters.
 */
export function parseOverride(text: unknown, reason: unknown, path = 'override_sla'): SlaValidation<SlaOverride> {
  const errors: SlaFieldError[] = [];
  let ov: Omit<SlaOverride, 'reason'> | undefined;
  if (typeof text !== 'string') errors.push({ path, message: `must be a string such as "80%/10m", got ${typeName(text)}` });
  else {
    const m = text.length <= 32 ? OVERRIDE_RE.exec(text.trim()) : null;
    if (!m) errors.push({ path, message: `must look like "80%/10m" (percentage) or "3/10m" (count), with a duration in s, m, h or d; got ${shown(text)}` });
    else {
      const value = Number(m[1]);
      const pct = m[2] === '%';
      const dur = Number(m[3]) * UNIT_S[m[4]!]!;
      if (pct && (value <= 0 || value > 100)) errors.push({ path, message: `percentage must be greater than 0 and at most 100, got ${value}` });
      else if (!pct && !Number.isInteger(value)) errors.push({ path, message: `a count must be a whole number, got ${value}` });
      else if (dur > SLA_LIMITS.maxDurationSeconds) errors.push({ path, message: `duration must be at most ${SLA_LIMITS.maxDurationSeconds}s, got ${dur}s` });
      else ov = { kind: pct ? 'percentage' : 'count', value, duration_seconds: dur, text: text.trim() };
    }
  }
  const rp = `${path}.reason`;
  let why: string | undefined;
  if (reason === undefined || reason === null || reason === '') errors.push({ path: rp, message: 'is required: say why the SLAs are lowered (it is logged and counted)' });
  else if (typeof reason !== 'string') errors.push({ path: rp, message: `must be a string, got ${typeName(reason)}` });
  else if (!reason.trim()) errors.push({ path: rp, message: 'must not be blank' });
  else if (utf8Bytes(reason) > SLA_LIMITS.maxReasonBytes) errors.push({ path: rp, message: `must be at most ${SLA_LIMITS.maxReasonBytes} bytes` });
  else if (CONTROL_RE.test(reason)) errors.push({ path: rp, message: 'must not contain control characters (newlines included)' });
  else why = reason.trim();
  if (errors.length || !ov || why === undefined) return { ok: false, errors };
  return { ok: true, value: { ...ov, reason: why } };
}

/** The override as a policy (for `requiredFor`). */
export function overridePolicy(ov: SlaOverride): SlaPolicy {
  return ov.kind === 'percentage'
    ? { kind: 'percentage', percentage: ov.value, duration_seconds: ov.duration_seconds }
    : { kind: 'count', count: ov.value, duration_seconds: ov.duration_seconds };
}

/** Instances an override requires up of a job with `instances` instances. */
export function overrideRequired(ov: SlaOverride, instances: number): number {
  return requiredFor(instances, overridePolicy(ov));
}
