import { expect } from 'chai';
import { taskDefinitionChanged, validateJobSpec } from '../../src/scheduler/validate.js';
import { spec } from './helpers.js';

function errors(input: unknown, roles?: string[]) {
  const r = validateJobSpec(input, { roles });
  expect(r.ok).to.equal(false);
  return (r as { errors: Array<{ path: string; message: string }> }).errors;
}

describe('scheduler/validate', () => {
  it('accepts a full spec and normalises it', () => {
    const r = validateJobSpec({
      name: 'web-1',
      instances: 3,
      resources: { cpus: 0.5, mem: 256, disk: 10, ports: 1 },
      command: 'python -m http.server $PORT',
      environment: { MODE: 'prod' },
      constraints: { host_unique: true, rack_spread: true },
      sla: { kind: 'percentage', percentage: 66, duration_seconds: 60 },
      unavailability_horizon_seconds: 3600,
      kill_grace_period_seconds: 5,
    });
    expect(r.ok).to.equal(true);
    if (r.ok) expect(r.spec.command).to.deep.equal({ value: 'python -m http.server $PORT', shell: true });
  });

  it('reports every problem with its field path', () => {
    const errs = errors({
      name: 'Bad_Name',
      instance: 3,
      resources: { cpus: -1, mem: 'lots' },
      command: { value: '' },
      environment: { 'BAD-NAME': 'x', PORT: '1', OK: 3 },
      sla: { kind: 'percentage', percentage: 150, duration_seconds: 10 },
    });
    const paths = errs.map((e) => e.path);
    expect(paths).to.include.members([
      'name',
      'instance',
      'instances',
      'resources.cpus',
      'resources.mem',
      'command.value',
      'environment.BAD-NAME',
      'environment.PORT',
      'environment.OK',
      'sla.percentage',
    ]);
    expect(errs.find((e) => e.path === 'instance')!.message).to.match(/did you mean "instances"/);
  });

  it('rejects non-objects, impossible SLAs and unknown roles', () => {
    expect(errors('nope')[0]!.path).to.equal('');
    expect(errors({ ...spec('a', 2), sla: { kind: 'count', count: 3, duration_seconds: 0 } })[0]!.path).to.equal('sla.count');
    expect(errors({ ...spec('a', 2), sla: { kind: 'median' } })[0]!.path).to.equal('sla.kind');
    expect(errors({ ...spec('a', 2), role: 'prod' }, ['*'])[0]!.path).to.equal('role');
    expect(errors({ ...spec('a', 2), instances: 1.5 })[0]!.path).to.equal('instances');
  });

  it('refuses prototype keys as environment names and never lets parsing touch a prototype', () => {
    const body = '{"name":"a","instances":1,"resources":{"cpus":1,"mem":64},"command":"x",' +
      '"environment":{"__proto__":"1","constructor":"2","prototype":"3","OK":"4"}}';
    const errs = errors(JSON.parse(body));
    expect(errs.map((e) => e.path)).to.have.members(['environment.__proto__', 'environment.constructor', 'environment.prototype']);
    expect(errs[0]!.message).to.match(/refused/);
    // nested prototype keys are unknown fields, never merged into anything
    const nested = errors(JSON.parse('{"__proto__":{"instances":5},"name":"a","instances":1,"resources":{"cpus":1,"mem":64,"__proto__":{"disk":1}},"command":{"value":"x","__proto__":{"shell":false}}}'));
    expect(nested.map((e) => e.path)).to.have.members(['__proto__', 'resources.__proto__', 'command.__proto__']);
    expect(({} as Record<string, unknown>)['instances']).to.equal(undefined);
    // a valid spec's environment is a plain record of own properties
    const ok = validateJobSpec({ ...spec('a', 1), environment: { HELLO: 'x' } });
    expect(ok.ok && Object.getPrototypeOf(ok.spec.environment)).to.equal(Object.prototype);
  });

  it("refuses resources below Mesos's 0.001 precision and stores them rounded to it", () => {
    for (const [field, v] of [['cpus', 1e-300], ['cpus', 0.0004], ['mem', 1e-9], ['disk', 0.0001]] as const) {
      const errs = errors({ ...spec('a', 1), resources: { cpus: 1, mem: 64, [field]: v } });
      expect(errs.map((e) => e.path), `${field}=${v}`).to.deep.equal([`resources.${field}`]);
      expect(errs[0]!.message).to.match(/precision of 0\.001/);
    }
    const r = validateJobSpec({ ...spec('a', 1), resources: { cpus: 0.0015, mem: 32.00049, disk: 0 } });
    expect(r.ok && r.spec.resources).to.deep.equal({ cpus: 0.002, mem: 32, disk: 0 });
  });

  it('bounds every number and string: SLA duration, instances, ports, grace, horizon, env, arguments', () => {
    const base = spec('a', 2);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ sla: { kind: 'percentage', percentage: 50, duration_seconds: 1e308 } }, 'sla.duration_seconds'],
      [{ sla: { kind: 'count', count: 1, duration_seconds: 8 * 24 * 3600 } }, 'sla.duration_seconds'],
      [{ instances: 1e308 }, 'instances'],
      [{ instances: 2 ** 53 + 2 }, 'instances'],
      [{ resources: { cpus: 1, mem: 64, ports: 1e9 } }, 'resources.ports'],
      [{ resources: { cpus: 1e308, mem: 64 } }, 'resources.cpus'],
      [{ kill_grace_period_seconds: 1e308 }, 'kill_grace_period_seconds'],
      [{ unavailability_horizon_seconds: -1 }, 'unavailability_horizon_seconds'],
      [{ update_batch_size: 0 }, 'update_batch_size'],
      [{ role: 'r'.repeat(300) }, 'role'],
      [{ environment: { BIG: 'x'.repeat(33 * 1024) } }, 'environment.BIG'],
      [{ environment: { NUL: 'a\u0000b' } }, 'environment.NUL'],
      [{ command: 'echo \u0000 hi' }, 'command'],
      [{ command: { value: 'x', shell: false, arguments: Array(2000).fill('a') } }, 'command.arguments'],
      [{ command: { value: 'x', shell: false, arguments: ['ok', 'a\u0000'] } }, 'command.arguments[1]'],
    ];
    for (const [extra, path] of cases) {
      const errs = errors({ ...base, ...extra });
      expect(errs.map((e) => e.path), JSON.stringify(extra).slice(0, 80)).to.deep.equal([path]);
    }
    // an over-long unknown key is echoed shortened
    const long = errors({ ...base, ['k'.repeat(5000)]: 1 });
    expect(long[0]!.path.length).to.be.below(80);
  });

  it('knows which changes need a rolling replace', () => {
    const a = spec('a', 2, { environment: { X: '1', Y: '2' } });
    expect(taskDefinitionChanged(a, { ...a, instances: 5, sla: { kind: 'count', count: 1, duration_seconds: 1 } })).to.equal(false);
    expect(taskDefinitionChanged(a, { ...a, environment: { Y: '2', X: '1' } })).to.equal(false);
    expect(taskDefinitionChanged(a, { ...a, command: { value: 'other', shell: true } })).to.equal(true);
  });

  it('validates health_check strictly: one kind, bounded times, ports, paths and statuses, all errors with paths', () => {
    const ok = validateJobSpec({
      ...spec('a', 2),
      health_check: { http: { port: 8080, path: '/health', scheme: 'https', statuses: [200, 204] }, delay_seconds: 0, interval_seconds: 2.5, timeout_seconds: 0, grace_period_seconds: 30, consecutive_failures: 3 },
    });
    expect(ok.ok && ok.spec.health_check).to.deep.equal({
      http: { port: 8080, path: '/health', scheme: 'https', statuses: [200, 204] },
      delay_seconds: 0,
      interval_seconds: 2.5,
      timeout_seconds: 0,
      grace_period_seconds: 30,
      consecutive_failures: 3,
    });
    const cmd = validateJobSpec({ ...spec('a', 1), health_check: { command: 'curl -f localhost:$PORT/h' } });
    expect(cmd.ok && cmd.spec.health_check).to.deep.equal({ command: { value: 'curl -f localhost:$PORT/h', shell: true } });
    const tcp = validateJobSpec({ ...spec('a', 1), health_check: { tcp: { port: 1 } } });
    expect(tcp.ok && tcp.spec.health_check).to.deep.equal({ tcp: { port: 1 } });
    const cases: Array<[unknown, string[]]> = [
      [[], ['health_check']],
      [{}, ['health_check']],
      [{ tcp: { port: 1 }, http: { port: 2 } }, ['health_check']],
      [{ tcp: { port: 0 } }, ['health_check.tcp.port']],
      [{ tcp: { port: 65536, extra: 1 } }, ['health_check.tcp.extra', 'health_check.tcp.port']],
      [{ http: { port: '80' } }, ['health_check.http.port']],
      [{ http: { port: 80, path: 'health' } }, ['health_check.http.path']],
      [{ http: { port: 80, path: '/a b' } }, ['health_check.http.path']],
      [{ http: { port: 80, path: '/\u0000' } }, ['health_check.http.path']],
      [{ http: { port: 80, scheme: 'gopher' } }, ['health_check.http.scheme']],
      [{ http: { port: 80, statuses: [] } }, ['health_check.http.statuses']],
      [{ http: { port: 80, statuses: [200, 99, '200', 600] } }, ['health_check.http.statuses[1]', 'health_check.http.statuses[2]', 'health_check.http.statuses[3]']],
      [{ tcp: { port: 1 }, interval_seconds: 0 }, ['health_check.interval_seconds']],
      [{ tcp: { port: 1 }, delay_seconds: -1, timeout_seconds: 1e9, grace_period_seconds: Infinity }, ['health_check.delay_seconds', 'health_check.timeout_seconds', 'health_check.grace_period_seconds']],
      [{ tcp: { port: 1 }, consecutive_failures: 0.5 }, ['health_check.consecutive_failures']],
      [{ tcp: { port: 1 }, consecutive_failures: 0 }, ['health_check.consecutive_failures']],
      [{ command: '' }, ['health_check.command']],
      [{ command: { value: 'x', arguments: ['a'] } }, ['health_check.command.arguments']],
      [{ command: 42 }, ['health_check.command']],
      [{ tcp: { port: 1 }, intervall_seconds: 3 }, ['health_check.intervall_seconds']],
    ];
    for (const [hc, paths] of cases) {
      const errs = errors({ ...spec('a', 1), health_check: hc });
      expect(errs.map((e) => e.path), JSON.stringify(hc)).to.deep.equal(paths);
      for (const e of errs) expect(e.message).to.be.a('string').and.not.equal('');
    }
  });

  it('validates labels: strings, bounded, no sluice.* keys, no prototype keys', () => {
    const ok = validateJobSpec({ ...spec('a', 1), labels: { 'sim.health': 'recover-after:30', team: 'db' } });
    expect(ok.ok && ok.spec.labels).to.deep.equal({ 'sim.health': 'recover-after:30', team: 'db' });
    const proto = JSON.parse('{"__proto__": "x"}');
    expect(errors({ ...spec('a', 1), labels: proto }).map((e) => e.path)).to.deep.equal(['labels.__proto__']);
    expect(errors({ ...spec('a', 1), labels: { 'sluice.job': 'b', 'a b': 'c', n: 1, big: 'x'.repeat(5000) } }).map((e) => e.path)).to.deep.equal([
      'labels.sluice.job',
      'labels.a b',
      'labels.n',
      'labels.big',
    ]);
    expect(errors({ ...spec('a', 1), labels: ['x'] })[0]!.path).to.equal('labels');
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(errors({ ...spec('a', 1), labels: many })[0]!.path).to.equal('labels');
  });

  it('SLA policies come from src/sla: domains and coordinators accepted, bad ones with paths; health and labels restart tasks', () => {
    const dom = validateJobSpec({ ...spec('a', 4), sla: { kind: 'count', count: 4, duration_seconds: 60, max_unavailable_domains: 1 } });
    expect(dom.ok && dom.spec.sla).to.deep.equal({ kind: 'count', count: 4, duration_seconds: 60, max_unavailable_domains: 1, domain: 'rack' });
    const co = validateJobSpec({ ...spec('a', 4), sla: { kind: 'coordinator', url: 'http://127.0.0.1:9/may-i' } });
    expect(co.ok && co.spec.sla).to.deep.equal({ kind: 'coordinator', url: 'http://127.0.0.1:9/may-i', timeout_seconds: 5 });
    expect(errors({ ...spec('a', 4), sla: { kind: 'coordinator', url: 'ftp://x' } }).map((e) => e.path)).to.deep.equal(['sla.url']);
    expect(errors({ ...spec('a', 4), sla: { kind: 'count', count: 1, duration_seconds: 1, domain: 'rack' } }).map((e) => e.path)).to.deep.equal(['sla.domain']);
    const a = spec('a', 2);
    expect(taskDefinitionChanged(a, { ...a, health_check: { tcp: { port: 1 } } })).to.equal(true);
    expect(taskDefinitionChanged(a, { ...a, labels: { x: 'y' } })).to.equal(true);
    expect(taskDefinitionChanged({ ...a, labels: { x: 'y', z: 'w' } }, { ...a, labels: { z: 'w', x: 'y' } })).to.equal(false);
  });
});
