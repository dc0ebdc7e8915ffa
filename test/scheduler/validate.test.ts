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
});
