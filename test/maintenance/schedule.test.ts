import { expect } from 'chai';
import { decodeJsonText, encodeJsonText } from '../../src/mesos/codec.js';
import type { Schedule } from '../../src/mesos/types.js';
import {
  addWindow,
  machineEquals,
  machineIdOf,
  reconcileSchedule,
  removeMachines,
  toUnavailability,
  validateSchedule,
  windowOf,
} from '../../src/maintenance/core/schedule.js';
import { ScheduleError } from '../../src/maintenance/core/errors.js';
import { startMaintenance, transition } from '../../src/maintenance/core/host-state.js';
import { enterFromUnavailability } from '../../src/maintenance/core/inverse-offers.js';
import { readFixture } from '../helpers/fixtures.js';
import { HOUR, MIN, T0, hostMap, inventory } from './helpers.js';

const SCHEDULE = 'mesos.v1.maintenance.Schedule';
const real = (): Schedule => decodeJsonText<Schedule>(SCHEDULE, readFixture('real-mesos-1.12', 'maintenance-schedule-body.json').toString('utf8'));
const m = (hostname: string, ip: string) => ({ hostname, ip });

function err(fn: () => unknown): ScheduleError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ScheduleError);
    return e as ScheduleError;
  }
  throw new Error('expected ScheduleError');
}

describe('maintenance schedule merge', () => {
  it('MachineID equality follows Mesos: hostname case-insensitive, ip exact, presence must agree', () => {
    expect(machineEquals(m('Node-1', '10.0.0.1'), m('node-1', '10.0.0.1'))).to.equal(true);
    expect(machineEquals(m('node-1', '10.0.0.1'), m('node-1', '10.0.0.2'))).to.equal(false);
    expect(machineEquals({ hostname: 'node-1' }, m('node-1', '10.0.0.1'))).to.equal(false);
    expect(machineEquals({ hostname: 'node-1', ip: '' }, { hostname: 'node-1' })).to.equal(false);
    expect(() => machineIdOf({ hostname: 'x' })).to.throw(ScheduleError, /no ip known for host x/);
  });

  it('appends our window and never alters someone else’s (real Mesos 1.12 schedule body)', () => {
    const theirs = real();
    const before = encodeJsonText(SCHEDULE, theirs);
    const ours = addWindow(theirs, [m('h1', '10.0.0.1'), m('h2', '10.0.0.2')], { start_ms: T0, duration_ms: HOUR });
    expect(encodeJsonText(SCHEDULE, theirs)).to.equal(before); // input untouched
    expect(ours.windows).to.have.length(2);
    expect(ours.windows![0]).to.deep.equal(theirs.windows![0]);
    expect(ours.windows![1]!.unavailability).to.deep.equal({
      start: { nanoseconds: BigInt(T0) * 1_000_000n },
      duration: { nanoseconds: 3_600_000_000_000n },
    });
    expect(encodeJsonText(SCHEDULE, ours)).to.equal(
      `{"windows":[${before.slice('{"windows":['.length, -2)},{"machine_ids":[{"hostname":"h1","ip":"10.0.0.1"},{"hostname":"h2","ip":"10.0.0.2"}],"unavailability":{"start":{"nanoseconds":${BigInt(T0) * 1_000_000n}},"duration":{"nanoseconds":3600000000000}}}]}`,
    );
    validateSchedule(ours);
  });

  it('a machine already in someone else’s window is a clear conflict', () => {
    const e = err(() => addWindow(real(), [m('h1', '10.0.0.1'), m('AGENT-1', '127.0.0.1')], { start_ms: T0 }));
    expect(e.code).to.equal('window-conflict');
    expect(e.problems).to.have.length(1);
    expect(e.problems[0]!.hostname).to.equal('AGENT-1');
    expect(e.problems[0]!.message).to.match(/already in a maintenance window posted by someone else \(window starting .* for 3600s\)/);
    expect(e.outcome).to.equal('conflict');
  });

  it('moves our own machines (idempotent re-post after a restart)', () => {
    const s1 = addWindow(real(), [m('h1', '10.0.0.1'), m('h2', '10.0.0.2')], { start_ms: T0 });
    const s2 = addWindow(s1, [m('h1', '10.0.0.1'), m('h2', '10.0.0.2')], { start_ms: T0 }, [m('h1', '10.0.0.1'), m('h2', '10.0.0.2')]);
    expect(s2).to.deep.equal(s1);
  });

  it('removes only the named machines; drops only windows this removal empties', () => {
    const s = addWindow(real(), [m('h1', '10.0.0.1'), m('h2', '10.0.0.2')], { start_ms: T0 });
    const one = removeMachines(s, [m('H1', '10.0.0.1')]);
    expect(one.windows![1]!.machine_ids).to.deep.equal([m('h2', '10.0.0.2')]);
    expect(one.windows![0]).to.deep.equal(real().windows![0]);
    const none = removeMachines(one, [m('h2', '10.0.0.2'), m('h9', '10.0.0.9')]);
    expect(none).to.deep.equal(real());
    expect(removeMachines(real(), [m('agent-1', '127.0.0.1')])).to.deep.equal({});
  });

  it('refuses to unschedule DOWN machines (they leave through /machine/up)', () => {
    const s = addWindow({}, [m('h1', '10.0.0.1')], { start_ms: T0 });
    const e = err(() => removeMachines(s, [m('h1', '10.0.0.1')], [m('h1', '10.0.0.1')]));
    expect(e.code).to.equal('machine-down');
  });

  it('validates like the master, with the master’s messages', () => {
    const w = (machine_ids: { hostname?: string; ip?: string }[], dur?: bigint) => ({
      windows: [{ machine_ids, unavailability: { start: { nanoseconds: 1n }, ...(dur !== undefined ? { duration: { nanoseconds: dur } } : {}) } }],
    });
    expect(() => validateSchedule(w([]))).to.throw(ScheduleError, 'List of machines in the maintenance window is empty');
    expect(() => validateSchedule(w([m('a', '1.2.3.4')], -1n))).to.throw(ScheduleError, "Unavailability 'duration' is negative");
    expect(() => validateSchedule(w([{}]))).to.throw(ScheduleError, "Both 'hostname' and 'ip' for a machine are empty");
    expect(() => validateSchedule(w([m('a', '1.2.3')]))).to.throw(ScheduleError, "Failed to parse IP '1.2.3'");
    expect(() => validateSchedule(w([m('a', '1.2.3.4'), m('A', '1.2.3.4')]))).to.throw(ScheduleError, `Machine '{"hostname":"A","ip":"1.2.3.4"}' appears more than once in the schedule`);
    expect(() => validateSchedule({}, [m('a', '1.2.3.4')])).to.throw(ScheduleError, 'is deactivated and cannot be removed from the schedule');
    validateSchedule({});
    validateSchedule(w([{ hostname: 'a' }], 0n));
  });

  it('windowOf / toUnavailability round trip in ms', () => {
    const s = addWindow({}, [m('h1', '10.0.0.1')], { start_ms: T0 + 5, duration_ms: 90_000 });
    expect(windowOf(s, m('h1', '10.0.0.1'))).to.deep.equal({ start_ms: T0 + 5, duration_ms: 90_000 });
    expect(toUnavailability({ start_ms: T0 })).to.deep.equal({ start: { nanoseconds: BigInt(T0) * 1_000_000n } });
  });
});

describe('reconciling records with the master schedule', () => {
  const inv = inventory(6);
  const mid = (i: number) => m(`h${i}`, `10.0.0.${i}`);

  it('finds external windows on our agents, and ignores machines without ip or unknown agents', () => {
    const s: Schedule = addWindow({}, [mid(1), { hostname: 'h2' }, m('zz', '10.9.9.9')], { start_ms: T0 + 5 * HOUR });
    const acts = reconcileSchedule(new Map(), s, undefined, inv, T0, HOUR);
    expect(acts.map((a) => `${a.kind}:${a.hostname}:${a.record?.state}`)).to.deep.equal(['entered-external:h1:SCHEDULED']);
  });

  it('external window changed or removed; our window removed by someone else; repost when never posted', () => {
    const ext = enterFromUnavailability(undefined, inv[1]!, { start_ms: T0 }, T0).record;
    const ours = startMaintenance(new Map(), { hosts: ['h2', 'h3'] }, inv, T0, 'r').records;
    const posted = { ...ours[0]!, schedule_posted_ms: T0 };
    const table = hostMap([ext, posted, ours[1]!]);
    const moved = addWindow({}, [mid(1)], { start_ms: T0 + MIN });
    const acts = reconcileSchedule(table, moved, undefined, inv, T0 + 1, HOUR);
    const by = new Map(acts.map((a) => [a.hostname, a]));
    expect(by.get('h1')!.kind).to.equal('window-updated');
    expect(by.get('h1')!.record!.window).to.deep.equal({ start_ms: T0 + MIN });
    expect(by.get('h2')!.kind).to.equal('window-removed');
    expect(by.get('h2')!.record!.state).to.equal('UP');
    expect(by.get('h2')!.reason).to.match(/removed from the master's schedule by someone else/);
    expect(by.get('h3')!.kind).to.equal('repost');
    const gone = reconcileSchedule(hostMap([ext]), {}, undefined, inv, T0 + 2, HOUR);
    expect(gone.map((a) => `${a.kind}:${a.record!.state}`)).to.deep.equal(['window-removed:UP']);
  });

  it('observes machines brought DOWN and UP outside Sluice', () => {
    const ext = transition(enterFromUnavailability(undefined, inv[1]!, { start_ms: T0 }, T0).record, 'DRAINED', T0, 'empty');
    const s = addWindow({}, [mid(1)], { start_ms: T0 });
    const down = reconcileSchedule(hostMap([ext]), s, { down_machines: [mid(1)] }, inv, T0 + 1);
    expect(down.map((a) => `${a.kind}:${a.record!.state}`)).to.deep.equal(['observed-down:DOWN']);
    const up = reconcileSchedule(hostMap([down[0]!.record!]), {}, {}, inv, T0 + 2);
    expect(up.map((a) => `${a.kind}:${a.record!.state}`)).to.deep.equal(['observed-up:UP']);
  });
});
