/** SLA policies: strict validation, guardrails (cluster default, upper bound) and overrides. */
import { expect } from 'chai';
import {
  applyOverride,
  describeSla,
  effectiveSla,
  parseOverride,
  requiredFor,
  validateGuardrails,
  validateSlaPolicy,
  type AnySlaPolicy,
  type SlaFieldError,
} from '../../src/sla/index.js';

function errors(input: unknown, opts = {}): SlaFieldError[] {
  const r = validateSlaPolicy(input, opts);
  expect(r.ok, JSON.stringify(input)).to.equal(false);
  return r.ok ? [] : r.errors;
}
function ok(input: unknown, opts = {}): AnySlaPolicy {
  const r = validateSlaPolicy(input, opts);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

describe('SLA policy validation', () => {
  it('accepts the documented policies, with defaults filled in', () => {
    expect(ok({ kind: 'percentage', percentage: 95, duration_seconds: 1800 })).to.deep.equal({ kind: 'percentage', percentage: 95, duration_seconds: 1800 });
    expect(ok({ kind: 'count', count: 2, duration_seconds: 60, max_unavailable_domains: 1 })).to.deep.equal({
      kind: 'count',
      count: 2,
      duration_seconds: 60,
      max_unavailable_domains: 1,
      domain: 'rack',
    });
    expect(ok({ kind: 'percentage', percentage: 66, duration_seconds: 0, max_unavailable_domains: 2, domain: 'zone', coordinator: { url: 'https://u:p@kafka.example/sluice?x=1' } })).to.deep.equal({
      kind: 'percentage',
      percentage: 66,
      duration_seconds: 0,
      max_unavailable_domains: 2,
      domain: 'zone',
      coordinator: { url: 'https://u:p@kafka.example/sluice?x=1', timeout_seconds: 5 },
    });
    expect(ok({ kind: 'coordinator', url: 'http://127.0.0.1:8080/may-i', timeout_seconds: 2.5 })).to.deep.equal({ kind: 'coordinator', url: 'http://127.0.0.1:8080/may-i', timeout_seconds: 2.5 });
  });

  it('reports every problem with its path', () => {
    expect(errors({ kind: 'percentage', percentage: 0, duration_seconds: -1, max_unavailable_domains: 0, domain: 'r a c k', extra: 1 })).to.deep.equal([
      { path: 'sla.extra', message: 'unknown field; allowed: percentage, kind, duration_seconds, max_unavailable_domains, domain, coordinator' },
      { path: 'sla.duration_seconds', message: 'must be at least 0, got -1' },
      { path: 'sla.percentage', message: 'must be greater than 0, got 0' },
      { path: 'sla.max_unavailable_domains', message: 'must be at least 1, got 0' },
      { path: 'sla.domain', message: `must be an agent attribute name (letters, digits, '_', '-', '.'; 1–128), got "r a c k"` },
    ]);
    expect(errors({ kind: 'count', count: 5, duration_seconds: 10 }, { instances: 3, path: 'jobs[2].sla' })).to.deep.equal([
      { path: 'jobs[2].sla.count', message: 'asks for 5 instances up but the job has only 3' },
    ]);
    expect(errors({ kind: 'count', count: 1.5, duration_seconds: 8 * 24 * 3600 }).map((e) => e.path)).to.deep.equal(['sla.duration_seconds', 'sla.count']);
    expect(errors({ kind: 'count', count: 1, duration_seconds: 1, domain: 'rack' })).to.deep.equal([{ path: 'sla.domain', message: 'only makes sense with max_unavailable_domains' }]);
  });

  it('refuses hostile kinds, types and URLs without throwing', () => {
    for (const bad of [null, [], 'percentage', 42, { kind: '__proto__' }, { kind: { toString: 1 } }, { kind: 'x'.repeat(10_000) }]) {
      const e = errors(bad);
      expect(e.length).to.be.greaterThan(0);
      expect(JSON.stringify(e).length, 'bounded message').to.be.lessThan(400);
    }
    const url = (u: unknown, extra = {}) => errors({ kind: 'coordinator', url: u, ...extra })[0]!;
    expect(url(undefined)).to.deep.equal({ path: 'sla.url', message: 'is required' });
    expect(url(7).message).to.equal('must be a string, got number');
    expect(url('ftp://x/').message).to.equal('must be an http:// or https:// URL, got "ftp:"');
    expect(url('file:///etc/passwd').message).to.match(/http/);
    expect(url('http://x/a#frag').message).to.match(/fragment/);
    expect(url('http://x/\na').message).to.match(/control/);
    expect(url('not a url').message).to.match(/spaces/);
    expect(url('http//x').message).to.equal('is not a valid URL');
    expect(url(`http://x/${'a'.repeat(3000)}`).message).to.match(/2048 bytes/);
    expect(url('http://x/', { timeout_seconds: 0 })).to.deep.equal({ path: 'sla.timeout_seconds', message: 'must be greater than 0, got 0' });
    expect(url('http://x/', { timeout_seconds: 61 }).message).to.equal('must be at most 60, got 61');
    expect(errors({ kind: 'count', count: 1, duration_seconds: 1, coordinator: 'http://x' })).to.deep.equal([{ path: 'sla.coordinator', message: 'must be an object, got string' }]);
    expect(errors({ kind: 'count', count: 1, duration_seconds: 1, coordinator: { url: 'http://x', user: 'a' } })[0]!.path).to.equal('sla.coordinator.user');
  });

  it('describes policies without ever showing the coordinator URL', () => {
    expect(describeSla(ok({ kind: 'count', count: 2, duration_seconds: 60, max_unavailable_domains: 1, coordinator: { url: 'http://u:pw@c/' } }))).to.equal(
      'SLA 2 up over 60s, or all of 1 rack down, and the service coordinator agrees',
    );
    expect(describeSla(ok({ kind: 'coordinator', url: 'http://u:pw@c/' }))).to.equal('SLA decided by the service coordinator');
    expect(requiredFor(10, ok({ kind: 'coordinator', url: 'http://c/' }))).to.equal(0);
  });
});

describe('SLA guardrails', () => {
  it('validates settings strictly; a coordinator cannot be the cluster default', () => {
    expect(validateGuardrails({ max_percentage: 90, max_duration_seconds: 3600, default_sla: { kind: 'percentage', percentage: 50, duration_seconds: 60 } })).to.deep.equal({
      ok: true,
      value: { max_percentage: 90, max_duration_seconds: 3600, default_sla: { kind: 'percentage', percentage: 50, duration_seconds: 60 } },
    });
    expect(validateGuardrails({})).to.deep.equal({ ok: true, value: {} });
    const bad = validateGuardrails({ max_percentage: 0, default_sla: { kind: 'coordinator', url: 'http://c/' }, typo: 1 });
    expect(bad.ok).to.equal(false);
    expect(bad.ok ? [] : bad.errors.map((e) => e.path)).to.deep.equal(['sla_guardrails.typo', 'sla_guardrails.default_sla.kind', 'sla_guardrails.max_percentage']);
    expect(validateGuardrails('x')).to.deep.equal({ ok: false, errors: [{ path: 'sla_guardrails', message: 'must be an object, got string' }] });
  });

  it('the cluster default applies only to jobs without an SLA, and is off by default', () => {
    const none = effectiveSla({ name: 'a', instances: 4 });
    expect(none).to.include({ source: 'none', required: 0, capped: false });
    expect(none.policy).to.equal(undefined);
    const g = { default_sla: { kind: 'percentage' as const, percentage: 50, duration_seconds: 60 } };
    const d = effectiveSla({ name: 'a', instances: 4 }, g);
    expect(d).to.include({ source: 'cluster-default', required: 2 });
    expect(d.explanation).to.equal('no SLA of its own: the cluster default applies (SLA 50% over 60s)');
    const own = effectiveSla({ name: 'a', instances: 4, sla: { kind: 'count', count: 1, duration_seconds: 5 } }, g);
    expect(own).to.include({ source: 'job', required: 1 });
  });

  it('the upper bound caps what a job may require (rounding toward the fleet) and says so', () => {
    const g = { max_percentage: 90, max_duration_seconds: 86_400 };
    const e = effectiveSla({ name: 'db', instances: 10, sla: { kind: 'percentage', percentage: 100, duration_seconds: 7 * 86_400, max_unavailable_domains: 1, domain: 'rack' } }, g);
    expect(e.capped).to.equal(true);
    expect(e.required).to.equal(9);
    expect(e.policy).to.deep.equal({ kind: 'count', count: 9, duration_seconds: 86_400, max_unavailable_domains: 1, domain: 'rack' });
    expect(e.explanation).to.equal(
      'SLA 100% over 604800s, or all of 1 rack down; capped: 10 of 10 up is above the cluster bound of 90% (9 of 10) and 604800s is above the cluster bound of 86400s; applied: SLA 9 up over 86400s, or all of 1 rack down',
    );
    // within the bound: untouched (95 % of 10 requires 10 > 9: capped; 90 % of 10 = 9: not)
    expect(effectiveSla({ name: 'w', instances: 10, sla: { kind: 'percentage', percentage: 90, duration_seconds: 60 } }, g).capped).to.equal(false);
    expect(effectiveSla({ name: 'w', instances: 10, sla: { kind: 'percentage', percentage: 95, duration_seconds: 60 } }, g).required).to.equal(9);
    // a coordinator policy has nothing to cap
    expect(effectiveSla({ name: 'k', instances: 3, sla: { kind: 'coordinator', url: 'http://c/', timeout_seconds: 1 } }, g).capped).to.equal(false);
  });
});

describe('--override-sla', () => {
  it('parses percentage and count forms with a required reason', () => {
    expect(parseOverride('80%/10m', 'rack PDU swap')).to.deep.equal({ ok: true, value: { kind: 'percentage', value: 80, duration_seconds: 600, reason: 'rack PDU swap', text: '80%/10m' } });
    expect(parseOverride('2/30s', ' kernel CVE ')).to.deep.equal({ ok: true, value: { kind: 'count', value: 2, duration_seconds: 30, reason: 'kernel CVE', text: '2/30s' } });
    expect(parseOverride('99.5%/1h', 'x').ok).to.equal(true);
  });

  it('refuses malformed overrides and missing, blank or hostile reasons', () => {
    const errs = (t: unknown, r: unknown) => {
      const p = parseOverride(t, r);
      return p.ok ? [] : p.errors;
    };
    expect(errs('80%/10m', undefined)).to.deep.equal([{ path: 'override_sla.reason', message: 'is required: say why the SLAs are lowered (it is logged and counted)' }]);
    expect(errs('80%/10m', '   ')[0]!.message).to.equal('must not be blank');
    expect(errs('80%/10m', 'a\nb')[0]!.message).to.match(/control characters/);
    expect(errs('80%/10m', 'x'.repeat(501))[0]!.message).to.equal('must be at most 500 bytes');
    expect(errs('80%/10m', 42)[0]!.message).to.equal('must be a string, got number');
    for (const t of ['80%', '80/10', '80%/10y', '0%/1m', '101%/1m', '1.5/1m', '-1/1m', '80%/8d', `${'9'.repeat(40)}%/1m`, '']) {
      expect(errs(t, 'r'), t).to.have.length(1);
    }
    expect(errs(null, null)).to.have.length(2);
  });

  it('lowers the requirement for one request only, never raises it, and leaves the coordinator its say', () => {
    const job = { name: 'web', instances: 10, sla: { kind: 'percentage' as const, percentage: 95, duration_seconds: 1800, max_unavailable_domains: 1, domain: 'rack' } };
    const eff = effectiveSla(job);
    const ov = parseOverride('80%/10m', 'urgent firmware');
    if (!ov.ok) throw new Error('parse');
    const low = applyOverride(eff, 10, ov.value);
    expect(low).to.include({ overridden: true, required: 8 });
    expect(low.policy).to.deep.equal({ kind: 'percentage', percentage: 80, duration_seconds: 600, max_unavailable_domains: 1, domain: 'rack' });
    expect(low.notes.at(-1)).to.equal('override 80%/10m (reason: urgent firmware): requires 8 of 10 up over 600s instead of 10 over 1800s');
    expect(eff.required, 'the job itself is unchanged').to.equal(10);
    // a higher percentage with a shorter duration: only the duration is lowered
    const high = parseOverride('100%/10m', 'x');
    if (!high.ok) throw new Error('parse');
    const same = applyOverride(eff, 10, high.value);
    expect(same).to.include({ overridden: true, required: 10 });
    expect(same.policy).to.include({ kind: 'percentage', percentage: 95, duration_seconds: 600 });
    const higher = parseOverride('100%/2h', 'x');
    if (!higher.ok) throw new Error('parse');
    expect(applyOverride(eff, 10, higher.value)).to.include({ overridden: false, required: 10 });
    const co = effectiveSla({ name: 'k', instances: 3, sla: { kind: 'coordinator', url: 'http://c/', timeout_seconds: 1 } });
    expect(applyOverride(co, 3, ov.value).notes.at(-1)).to.equal('override 80%/10m (reason: urgent firmware): nothing to lower (the coordinator still decides)');
  });
});
