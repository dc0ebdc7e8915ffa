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

  it('knows which changes need a rolling replace', () => {
    const a = spec('a', 2, { environment: { X: '1', Y: '2' } });
    expect(taskDefinitionChanged(a, { ...a, instances: 5, sla: { kind: 'count', count: 1, duration_seconds: 1 } })).to.equal(false);
    expect(taskDefinitionChanged(a, { ...a, environment: { Y: '2', X: '1' } })).to.equal(false);
    expect(taskDefinitionChanged(a, { ...a, command: { value: 'other', shell: true } })).to.equal(true);
  });
});
