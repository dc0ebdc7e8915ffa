import { expect } from 'chai';
import {
  HOST_STATES,
  HISTORY_LIMIT,
  abortMaintenance,
  admissions,
  blockedHosts,
  canTransition,
  completeMaintenance,
  startMaintenance,
  transition,
  transitionLogFields,
  type HostRecord,
  type HostState,
} from '../../src/maintenance/core/host-state.js';
import { IllegalTransitionError, MaintenanceRequestError } from '../../src/maintenance/core/errors.js';
import { enterFromUnavailability } from '../../src/maintenance/core/inverse-offers.js';
import { HOUR, MIN, T0, hostMap, inventory } from './helpers.js';

const LEAD = { lead_ms: HOUR };

function catchErr(fn: () => unknown): MaintenanceRequestError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(MaintenanceRequestError);
    return e as MaintenanceRequestError;
  }
  throw new Error('expected an error');
}

describe('maintenance host state machine', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = new Set([
      'UP>SCHEDULED', 'UP>DRAINING',
      'SCHEDULED>DRAINING', 'SCHEDULED>UP', 'SCHEDULED>DOWN',
      'DRAINING>DRAINED', 'DRAINING>UP', 'DRAINING>DOWN',
      'DRAINED>DRAINING', 'DRAINED>SCHEDULED', 'DRAINED>DOWN', 'DRAINED>UP',
      'DOWN>UP',
    ]);
    for (const a of HOST_STATES) for (const b of HOST_STATES) expect(canTransition(a, b), `${a}>${b}`).to.equal(allowed.has(`${a}>${b}`));
  });

  it('throws a typed error naming the host and states for an illegal transition', () => {
    const rec = startMaintenance(new Map(), { hosts: ['h1'] }, inventory(3), T0, 'r').records[0]!;
    expect(rec.state).to.equal('DRAINING');
    const e = (() => {
      try {
        transition(rec, 'SCHEDULED', T0, 'x');
      } catch (err) {
        return err;
      }
      return undefined;
    })() as IllegalTransitionError;
    expect(e).to.be.instanceOf(IllegalTransitionError);
    expect(e.hostname).to.equal('h1');
    expect(e.from).to.equal('DRAINING');
    expect(e.to).to.equal('SCHEDULED');
    expect(e.message).to.match(/h1: DRAINING → SCHEDULED/);
    expect(e.outcome).to.equal('conflict');
    const up = transition(transition(rec, 'DRAINED', T0 + 1, 'empty'), 'DOWN', T0 + 2, 'down');
    expect(() => transition(up, 'DRAINING', T0 + 3, '')).to.throw(IllegalTransitionError, /DOWN → DRAINING/);
    expect(() => transition(up, 'DOWN', T0 + 3, '')).to.throw(IllegalTransitionError);
  });

  it('records history, since and drain start, and resets drain fields on UP', () => {
    let rec = startMaintenance(new Map(), { hosts: ['h1'] }, inventory(3), T0, 'r').records[0]!;
    expect(rec.history.map((h) => `${h.from}>${h.to}`)).to.deep.equal(['UP>SCHEDULED', 'SCHEDULED>DRAINING']);
    expect(rec.drain_started_ms).to.equal(T0);
    rec = transition(rec, 'DRAINED', T0 + MIN, 'empty');
    rec = transition(rec, 'DRAINING', T0 + 2 * MIN, 'task came back');
    expect(rec.drain_started_ms).to.equal(T0); // the timeout keeps counting from the first start
    rec = transition(rec, 'UP', T0 + 3 * MIN, 'abort');
    expect(rec.drain_started_ms).to.equal(undefined);
    expect(rec.since_ms).to.equal(T0 + 3 * MIN);
    const fields = transitionLogFields(rec, rec.history[rec.history.length - 1]!);
    expect(fields).to.include({ event: 'host_state', host: 'h1', state_from: 'DRAINING', state_to: 'UP', reason: 'abort', origin: 'sluice' });
  });

  it('caps the history', () => {
    let rec = startMaintenance(new Map(), { hosts: ['h1'] }, inventory(3), T0, 'r').records[0]!;
    for (let i = 0; i < HISTORY_LIMIT + 20; i++) rec = transition(rec, rec.state === 'DRAINING' ? 'DRAINED' : 'DRAINING', T0 + i, 'flip');
    expect(rec.history).to.have.length(HISTORY_LIMIT);
  });

  it('blocks placement on every state but UP', () => {
    const recs = ['UP', 'SCHEDULED', 'DRAINING', 'DRAINED', 'DOWN'].map((s, i) => ({ hostname: `h${i}`, state: s as HostState }) as HostRecord);
    expect([...blockedHosts(recs)]).to.deep.equal(['h1', 'h2', 'h3', 'h4']);
  });
});

describe('host maintenance start (validation)', () => {
  const inv = inventory(10, 2);

  it('rejects bad host names all at once, with suggestions', () => {
    const e = catchErr(() => startMaintenance(new Map(), { hosts: ['h1', 'h77', 'H1', 'bad name', 'hx1'] }, inv, T0, 'r'));
    const codes = e.problems.map((p) => `${p.hostname}:${p.code}`);
    expect(codes).to.include.members(['h77:unknown-host', 'H1:duplicate-host', 'bad name:invalid-host-name', 'hx1:unknown-host']);
    expect(e.problems.find((p) => p.hostname === 'hx1')!.message).to.match(/did you mean h1/);
    expect(e.outcome).to.equal('invalid');
    expect(e.message).to.match(/^host maintenance start rejected: /);
  });

  it('matches host names case-insensitively and keeps the agent spelling', () => {
    const r = startMaintenance(new Map(), { hosts: ['H3'] }, inv, T0, 'r');
    expect(r.records[0]!.hostname).to.equal('h3');
    expect(r.records[0]!.ip).to.equal('10.0.0.3');
  });

  it('rejects an empty list, and hosts whose ip is unknown', () => {
    expect(catchErr(() => startMaintenance(new Map(), { hosts: [] }, inv, T0, 'r')).code).to.equal('empty-request');
    const e = catchErr(() => startMaintenance(new Map(), { hosts: ['x1'] }, [{ hostname: 'x1' }], T0, 'r'));
    expect(e.problems[0]!.code).to.equal('missing-ip');
  });

  it('rejects overlapping requests (host already in maintenance) with 409', () => {
    const first = startMaintenance(new Map(), { hosts: ['h1', 'h2'] }, inv, T0, 'req-a');
    const table = hostMap(first.records);
    const e = catchErr(() => startMaintenance(table, { hosts: ['h2', 'h3'] }, inv, T0 + MIN, 'req-b'));
    expect(e.problems).to.have.length(1);
    expect(e.problems[0]).to.include({ hostname: 'h2', code: 'already-in-maintenance' });
    expect(e.problems[0]!.message).to.match(/DRAINING since .* \(request req-a\)/);
    expect(e.outcome).to.equal('conflict');
    // an external window is called out as such
    const ext = enterFromUnavailability(undefined, inv[5]!, { start_ms: T0 }, T0).record;
    const e2 = catchErr(() => startMaintenance(hostMap([ext]), { hosts: ['h5'] }, inv, T0, 'req-c'));
    expect(e2.problems[0]!.message).to.match(/outside Sluice/);
  });

  it('validates options', () => {
    const bad = [
      { max_parallel: 0 },
      { max_parallel: 1.5 },
      { timeout_ms: -1 },
      { force: true },
      { post_drain: '  ' },
      { window: { duration_ms: -5 } },
      { group_by: 'zone' as 'rack' },
    ];
    for (const o of bad) {
      const e = catchErr(() => startMaintenance(new Map(), { hosts: ['h1'], ...o }, inv, T0, 'r'));
      expect(e.problems[0]!.code, JSON.stringify(o)).to.equal('invalid-option');
    }
    expect(catchErr(() => startMaintenance(new Map(), { hosts: ['h1'], force: true }, inv, T0, 'r')).message).to.match(/--force needs --timeout/);
  });

  it('refuses windows out of range and unbounded options in the core too (every caller, not just the API)', () => {
    const bad: Array<[Parameters<typeof startMaintenance>[1], string]> = [
      [{ hosts: ['h1'], window: { duration_ms: Infinity } }, 'window.duration'],
      [{ hosts: ['h1'], window: { duration_ms: 1e303 } }, 'window.duration'],
      [{ hosts: ['h1'], window: { start_ms: 1e20 } }, 'window.start'],
      [{ hosts: ['h1'], window: { start_ms: Date.UTC(2263, 0, 1) } }, 'window.start'],
      [{ hosts: ['h1'], window: { start_ms: -1 } }, 'window.start'],
      [{ hosts: ['h1'], window: { start_ms: T0 - 2 * HOUR, duration_ms: HOUR } }, 'window.start'],
      [{ hosts: ['h1'], window: { start_ms: T0 - 3 * MIN, duration_ms: MIN } }, 'window.duration'],
      [{ hosts: ['h1'], timeout_ms: 1e300 }, 'timeout'],
      [{ hosts: ['h1'], max_parallel: 1e9 }, 'max_parallel'],
      [{ hosts: ['h1'], post_drain: 'a\u0000b' }, 'post_drain'],
      [{ hosts: ['h1'], post_drain: 'x'.repeat(5000) }, 'post_drain'],
      [{ hosts: ['h1'], dry_run: 'yes' as unknown as boolean }, 'dry_run'],
    ];
    for (const [req, path] of bad) {
      const e = catchErr(() => startMaintenance(new Map(), req, inv, T0, 'r'));
      expect(e.problems.map((p) => p.path), JSON.stringify(req)).to.deep.equal([path]);
      expect(e.outcome).to.equal('invalid');
    }
  });

  it('a future window beyond the lead time leaves hosts SCHEDULED; a near one drains', () => {
    const far = startMaintenance(new Map(), { hosts: ['h1'], window: { start_ms: T0 + 3 * HOUR, duration_ms: HOUR } }, inv, T0, 'r', LEAD);
    expect(far.records[0]!.state).to.equal('SCHEDULED');
    expect(far.records[0]!.window).to.deep.equal({ start_ms: T0 + 3 * HOUR, duration_ms: HOUR });
    const near = startMaintenance(new Map(), { hosts: ['h1'], window: { start_ms: T0 + 30 * MIN } }, inv, T0, 'r', LEAD);
    expect(near.records[0]!.state).to.equal('DRAINING');
    // a drain estimate longer than the lead starts the drain earlier
    const est = startMaintenance(new Map(), { hosts: ['h1'], window: { start_ms: T0 + 3 * HOUR } }, inv, T0, 'r', {
      lead_ms: HOUR,
      estimates_ms: new Map([['h1', 4 * HOUR]]),
    });
    expect(est.records[0]!.state).to.equal('DRAINING');
  });
});

describe('admission: groups and --max-parallel', () => {
  // 12 hosts in 3 racks: h0,h3,h6,h9 in r0; h1,h4,h7,h10 in r1; h2,h5,h8,h11 in r2
  const inv = inventory(12, 3);
  const all = inv.map((h) => h.hostname);

  it('group_by host: at most N DRAINING, in the operator order; DRAINED hosts free their slot', () => {
    const r = startMaintenance(new Map(), { hosts: all, max_parallel: 3 }, inv, T0, 'r');
    expect(r.records.filter((x) => x.state === 'DRAINING').map((x) => x.hostname)).to.deep.equal(['h0', 'h1', 'h2']);
    let recs = r.records;
    expect(admissions(recs, T0, LEAD)).to.deep.equal([]);
    recs = recs.map((x) => (x.hostname === 'h1' ? transition(x, 'DRAINED', T0 + 1, 'empty') : x));
    expect(admissions(recs, T0 + 1, LEAD).map((a) => a.hostname)).to.deep.equal(['h3']);
  });

  it('group_by rack: whole racks, in the order first mentioned, never two partial racks', () => {
    const r = startMaintenance(new Map(), { hosts: all, max_parallel: 4, group_by: 'rack' }, inv, T0, 'r');
    const draining = r.records.filter((x) => x.state === 'DRAINING').map((x) => x.hostname);
    expect(draining).to.deep.equal(['h0', 'h3', 'h6', 'h9']); // rack r0 (mentioned first via h0)
    expect(r.records.find((x) => x.hostname === 'h1')!.group).to.equal('r1');
    // free two slots: rack r1 (4 hosts) does not fit yet, and nothing jumps the queue
    let recs = r.records.map((x) => (x.hostname === 'h0' || x.hostname === 'h3' ? transition(x, 'DRAINED', T0 + 1, 'empty') : x));
    expect(admissions(recs, T0 + 1, LEAD)).to.deep.equal([]);
    recs = recs.map((x) => (x.hostname === 'h6' || x.hostname === 'h9' ? transition(x, 'DRAINED', T0 + 2, 'empty') : x));
    expect(admissions(recs, T0 + 2, LEAD).map((a) => a.hostname)).to.deep.equal(['h1', 'h4', 'h7', 'h10']);
  });

  it('group_by rack: a rack larger than max_parallel goes max_parallel hosts at a time', () => {
    const r = startMaintenance(new Map(), { hosts: all, max_parallel: 2, group_by: 'rack' }, inv, T0, 'r');
    expect(r.records.filter((x) => x.state === 'DRAINING').map((x) => x.hostname)).to.deep.equal(['h0', 'h3']);
  });

  it('without max_parallel everything drains at once; requests have separate slots', () => {
    const a = startMaintenance(new Map(), { hosts: ['h0', 'h1'], max_parallel: 1 }, inv, T0, 'a');
    const b = startMaintenance(hostMap(a.records), { hosts: ['h2', 'h3'] }, inv, T0, 'b');
    expect(a.records.map((x) => x.state)).to.deep.equal(['DRAINING', 'SCHEDULED']);
    expect(b.records.map((x) => x.state)).to.deep.equal(['DRAINING', 'DRAINING']);
  });

  it('admits a SCHEDULED host when its window comes within the lead time', () => {
    const r = startMaintenance(new Map(), { hosts: ['h0'], window: { start_ms: T0 + 5 * HOUR } }, inv, T0, 'r', LEAD);
    expect(admissions(r.records, T0 + 3 * HOUR, LEAD)).to.deep.equal([]);
    expect(admissions(r.records, T0 + 4 * HOUR, LEAD).map((a) => a.hostname)).to.deep.equal(['h0']);
  });
});

describe('host maintenance complete / abort', () => {
  const inv = inventory(6);
  const base = (): Map<string, HostRecord> => {
    const r = startMaintenance(new Map(), { hosts: ['h0', 'h1', 'h2', 'h3'], max_parallel: 3 }, inv, T0, 'r').records;
    const m = hostMap(r);
    m.set('h1', transition(m.get('h1')!, 'DRAINED', T0 + 1, 'empty'));
    m.set('h2', transition(transition(m.get('h2')!, 'DRAINED', T0 + 1, 'empty'), 'DOWN', T0 + 2, 'down'));
    return m; // h0 DRAINING, h1 DRAINED, h2 DOWN, h3 SCHEDULED
  };

  it('complete brings DRAINED and DOWN hosts UP and says which need /machine/up', () => {
    const r = completeMaintenance(base(), ['h1', 'h2'], T0 + 5);
    expect(r.records.map((x) => x.state)).to.deep.equal(['UP', 'UP']);
    expect(r.machines_up.map((x) => x.hostname)).to.deep.equal(['h2']);
    expect(r.machines_unscheduled.map((x) => x.hostname)).to.deep.equal(['h1']);
    expect(r.transitions.map((t) => `${t.hostname}:${t.from}>${t.to}`)).to.deep.equal(['h1:DRAINED>UP', 'h2:DOWN>UP']);
  });

  it('complete refuses drains in progress, hosts not in maintenance, unknown names', () => {
    const e = catchErr(() => completeMaintenance(base(), ['h0', 'h3', 'h5', 'nope'], T0));
    expect(e.problems.map((p) => `${p.hostname}:${p.code}`)).to.have.members(['nope:not-in-maintenance', 'h0:wrong-state', 'h3:wrong-state', 'h5:not-in-maintenance']);
    expect(e.problems.find((p) => p.hostname === 'h0')!.message).to.match(/use 'host maintenance abort'/);
  });

  it('abort brings SCHEDULED, DRAINING and DRAINED hosts UP; DOWN needs complete', () => {
    const r = abortMaintenance(base(), ['h0', 'h1', 'h3'], T0 + 5);
    expect(r.records.every((x) => x.state === 'UP')).to.equal(true);
    expect(r.machines_up).to.deep.equal([]);
    const e = catchErr(() => abortMaintenance(base(), ['h2'], T0));
    expect(e.problems[0]!.message).to.match(/use 'host maintenance complete'/);
  });

  it('refuses to end maintenance of a window posted outside Sluice', () => {
    const ext = enterFromUnavailability(undefined, inv[4]!, { start_ms: T0 }, T0).record;
    const e = catchErr(() => abortMaintenance(hostMap([ext]), ['h4'], T0));
    expect(e.problems[0]!.code).to.equal('external-window');
    expect(catchErr(() => completeMaintenance(hostMap([ext]), ['h4'], T0)).problems[0]!.code).to.equal('external-window');
  });
});
