import { expect } from 'chai';
import { MaintenanceFieldError, validateHostsBody, validateHostsQuery, validateStartBody } from '../../src/maintenance/core/request-validate.js';
import { MAINTENANCE_LIMITS } from '../../src/maintenance/core/host-state.js';
import { HOUR, MIN, T0 } from './helpers.js';

const DAY = 24 * HOUR;

function refused(fn: () => unknown): MaintenanceFieldError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(MaintenanceFieldError);
    return e as MaintenanceFieldError;
  }
  throw new Error('expected a MaintenanceFieldError');
}

const paths = (e: MaintenanceFieldError) => e.problems.map((p) => p.path);

describe('maintenance request validation (field level)', () => {
  it('builds a StartRequest from a valid body', () => {
    const r = validateStartBody(
      { hosts: 'a, b', window: { start: '+10m', duration: '2h' }, group_by: 'rack', max_parallel: 2, timeout: 90, force: true, post_drain: 'echo done', dry_run: false },
      T0,
    );
    expect(r).to.deep.equal({
      hosts: ['a', 'b'],
      window: { start_ms: T0 + 10 * MIN, duration_ms: 2 * HOUR },
      group_by: 'rack',
      max_parallel: 2,
      timeout_ms: 90_000,
      force: true,
      post_drain: 'echo done',
      dry_run: false,
    });
  });

  it('booleans must be booleans: "dry_run": "yes" is an error, not a real drain', () => {
    for (const v of ['yes', 'true', 1, 0, null, [], {}]) {
      const e = refused(() => validateStartBody({ hosts: ['a'], dry_run: v }, T0));
      expect(paths(e)).to.deep.equal(['dry_run']);
      expect(e.outcome).to.equal('invalid');
      expect(e.message).to.match(/dry_run: must be true or false/);
      expect(paths(refused(() => validateStartBody({ hosts: ['a'], force: v, timeout: '1h' }, T0)))).to.deep.equal(['force']);
    }
  });

  it('reports every bad field at once, with paths and "did you mean"', () => {
    const e = refused(() =>
      validateStartBody(
        { hosts: ['ok', 7, 'bad name', 'ok'], dryrun: true, 'max-parallel': 2, window: { start: 'yesterday', length: '1h' }, group_by: 'zone', timeout: 'forever', post_drain: 5 },
        T0,
      ),
    );
    expect(paths(e)).to.have.members(['hosts[1]', 'hosts[2]', 'hosts[3]', 'dryrun', 'max-parallel', 'window.start', 'window.length', 'group_by', 'timeout', 'post_drain']);
    const by = (p: string) => e.problems.find((x) => x.path === p)!.message;
    expect(by('dryrun')).to.match(/did you mean "dry_run"/);
    expect(by('max-parallel')).to.match(/did you mean "max_parallel"/);
    expect(by('window.length')).to.match(/allowed: start, duration/);
    expect(by('hosts[3]')).to.match(/more than once \(also hosts\[0\]\)/);
    expect(e.problems.find((x) => x.path === 'hosts[2]')!.code).to.equal('invalid-host-name');
  });

  it('refuses wrong types for every field', () => {
    const fields: Record<string, unknown[]> = {
      hosts: [5, true, null, {}, [], ''],
      window: ['now', 5, true, null, []],
      group_by: [5, true, null, [], {}],
      max_parallel: ['2', true, null, [], {}, 1.5, 0, -1, 1e308, MAINTENANCE_LIMITS.maxHosts + 1],
      timeout: [true, null, [], {}, -1, 0, 1e308, '1e300', 'x'],
      post_drain: [5, true, null, [], {}, '', '   ', 'a\u0000b', 'x'.repeat(MAINTENANCE_LIMITS.maxPostDrainBytes + 1)],
    };
    for (const [field, values] of Object.entries(fields)) {
      for (const v of values) {
        const body: Record<string, unknown> = { hosts: ['a'], [field]: v };
        const e = refused(() => validateStartBody(body, T0));
        expect(paths(e), `${field}=${JSON.stringify(v)?.slice(0, 30)}`).to.deep.equal([field]);
      }
    }
    for (const [key, v] of [['start', true], ['start', null], ['start', {}], ['duration', true], ['duration', null], ['duration', []]] as const) {
      expect(paths(refused(() => validateStartBody({ hosts: ['a'], window: { [key]: v } }, T0)))).to.deep.equal([`window.${key}`]);
    }
    for (const b of [undefined, null, 'x', 5, [], true]) expect(paths(refused(() => validateStartBody(b, T0)))).to.deep.equal(['']);
  });

  it('windows out of range are refused with a clear message (item 8)', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ duration: 1e300 }, 'window.duration', /longer than the maximum of 365 days/],
      [{ duration: 1e308 }, 'window.duration', /finite/],
      [{ duration: '9999999999999d' }, 'window.duration', /longer than the maximum/],
      [{ duration: 0 }, 'window.duration', /positive/],
      [{ duration: -5 }, 'window.duration', /positive/],
      [{ start: 1e20 }, 'window.start', /more than 365 days ahead/],
      [{ start: '2262-04-12T00:00:00Z' }, 'window.start', /more than 365 days ahead/],
      [{ start: '+400d' }, 'window.start', /more than 365 days ahead/],
      [{ start: -1 }, 'window.start', /in the past/],
      [{ start: '1969-12-31T23:00:00Z', duration: '1h' }, 'window.start', /in the past/],
      [{ start: T0 - HOUR, duration: '30m' }, 'window.start', /in the past/],
      [{ start: T0 - 4 * MIN, duration: '1m' }, 'window.duration', /already ended/],
    ];
    for (const [window, path, re] of cases) {
      const e = refused(() => validateStartBody({ hosts: ['a'], window }, T0));
      expect(paths(e), JSON.stringify(window)).to.deep.equal([path]);
      expect(e.problems[0]!.message, JSON.stringify(window)).to.match(re);
    }
    // within the bounds: a start a little in the past (clock skew), a year ahead, a year long
    expect(validateStartBody({ hosts: ['a'], window: { start: T0 - 4 * MIN, duration: '1h' } }, T0).window!.start_ms).to.equal(T0 - 4 * MIN);
    expect(validateStartBody({ hosts: ['a'], window: { start: '+365d', duration: '365d' } }, T0).window).to.deep.equal({ start_ms: T0 + 365 * DAY, duration_ms: 365 * DAY });
  });

  it('bounds host lists and names; leaves unknown names to the inventory check', () => {
    const many = Array.from({ length: MAINTENANCE_LIMITS.maxHosts + 1 }, (_, i) => `h${i}`);
    expect(paths(refused(() => validateHostsBody({ hosts: many }, 'sla probe')))).to.deep.equal(['hosts']);
    expect(paths(refused(() => validateHostsBody({ hosts: ['x'.repeat(300)] }, 'sla probe')))).to.deep.equal(['hosts[0]']);
    expect(refused(() => validateHostsBody({ hosts: ['x'.repeat(300)] }, 'sla probe')).message.length).to.be.below(200);
    expect(paths(refused(() => validateHostsBody({}, 'host maintenance abort')))).to.deep.equal(['hosts']);
    expect(paths(refused(() => validateHostsBody({ hosts: ['a'], host: 'b' }, 'host maintenance abort')))).to.deep.equal(['host']);
    expect(validateHostsBody({ hosts: 'a,b' }, 'x')).to.deep.equal(['a', 'b']);
    // many bad entries: every one in the details, the summary stays short
    const bad = refused(() => validateHostsBody({ hosts: Array.from({ length: 500 }, () => 7) }, 'x'));
    expect(bad.problems).to.have.length(500);
    expect(bad.message).to.match(/and 490 more/);
    expect(bad.message.length).to.be.below(1000);
    // only name problems: left to resolveHosts, which reports them with the unknown names
    expect(validateHostsBody({ hosts: ['bad name', 'a', 'A'] }, 'x')).to.deep.equal(['bad name', 'a', 'A']);
  });

  it('prototype keys are unknown fields, and never read through the prototype', () => {
    const e = refused(() => validateStartBody(JSON.parse('{"hosts":["a"],"__proto__":{"dry_run":"yes"},"constructor":1}'), T0));
    expect(paths(e)).to.have.members(['__proto__', 'constructor']);
    const w = refused(() => validateStartBody(JSON.parse('{"hosts":["a"],"window":{"__proto__":{"start":"now"}}}'), T0));
    expect(paths(w)).to.deep.equal(['window.__proto__']);
    expect(paths(refused(() => validateHostsBody(JSON.parse('{"__proto__":{"hosts":["a"]}}'), 'x')))).to.have.members(['__proto__', 'hosts']);
  });

  it('checks the host query string', () => {
    expect(validateHostsQuery(new URLSearchParams(''))).to.equal(undefined);
    expect(validateHostsQuery(new URLSearchParams('states=draining,DRAINED,draining'))).to.deep.equal(['DRAINING', 'DRAINED']);
    expect(paths(refused(() => validateHostsQuery(new URLSearchParams('states=BOGUS'))))).to.deep.equal(['states']);
    expect(paths(refused(() => validateHostsQuery(new URLSearchParams('state=UP'))))).to.deep.equal(['state']);
    expect(refused(() => validateHostsQuery(new URLSearchParams('state=UP'))).message).to.match(/did you mean "states"/);
    expect(paths(refused(() => validateHostsQuery(new URLSearchParams('states=UP&states=DOWN'))))).to.deep.equal(['states']);
    expect(paths(refused(() => validateHostsQuery(new URLSearchParams(`states=${'X'.repeat(1000)}`))))).to.deep.equal(['states']);
  });
});
