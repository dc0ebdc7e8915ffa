import { expect } from 'chai';
import { decideInverseOffer, downDecision, enterFromUnavailability, windowFromUnavailability } from '../../src/maintenance/core/inverse-offers.js';
import { startMaintenance, transition } from '../../src/maintenance/core/host-state.js';
import { HOUR, MIN, T0, inventory } from './helpers.js';

const inv = inventory(4);

describe('inverse offers: answer policy', () => {
  it('accepts only when no task of ours is left on the agent', () => {
    const d = decideInverseOffer({ start_ms: T0 + HOUR }, { tasks_on_agent: 0 }, T0);
    expect(d).to.deep.equal({ action: 'accept', refuse_seconds: 60, reason: 'no task of ours left on the agent' });
    for (const n of [1, 2, 50]) {
      expect(decideInverseOffer({ start_ms: T0 + HOUR }, { tasks_on_agent: n, estimated_empty_ms: T0 }, T0).action).to.not.equal('accept');
    }
  });

  it('declines, with the reason, when the SLAs cannot empty the agent before the window starts', () => {
    const d = decideInverseOffer({ start_ms: T0 + 10 * MIN }, { tasks_on_agent: 3, estimated_empty_ms: T0 + 40 * MIN }, T0);
    expect(d.action).to.equal('decline');
    if (d.action !== 'decline') return;
    expect(d.refuse_seconds).to.equal(60);
    expect(d.reason).to.equal('3 task(s) of ours remain and the window starts 12:10:00Z; the SLAs let us empty it by 12:40:00Z at the earliest (+40m)');
    const never = decideInverseOffer({ start_ms: T0 + 10 * MIN }, { tasks_on_agent: 1, estimated_empty_ms: Infinity }, T0);
    expect(never.action).to.equal('decline');
    expect(never.reason).to.match(/do not allow emptying it at all/);
  });

  it('holds the inverse offer while the drain can finish in time, or once the window has started', () => {
    const ok = decideInverseOffer({ start_ms: T0 + HOUR }, { tasks_on_agent: 3, estimated_empty_ms: T0 + 30 * MIN }, T0);
    expect(ok.action).to.equal('hold');
    expect(ok.reason).to.match(/holding the inverse offer until the agent is empty, expected by 12:30:00Z/);
    const started = decideInverseOffer({ start_ms: T0 - MIN }, { tasks_on_agent: 3, estimated_empty_ms: T0 + 30 * MIN }, T0);
    expect(started.action).to.equal('hold');
    expect(started.reason).to.match(/window already started/);
  });

  it('reads the window from Mesos unavailability (bigint nanoseconds)', () => {
    expect(windowFromUnavailability({ start: { nanoseconds: 1795422430565157510n }, duration: { nanoseconds: 3600000000000n } })).to.deep.equal({
      start_ms: 1795422430565,
      duration_ms: 3600000,
    });
    expect(windowFromUnavailability({ start: { nanoseconds: 0n } })).to.deep.equal({ start_ms: 0 });
  });
});

describe('announced unavailability for hosts outside Sluice maintenance', () => {
  it('enters the drain flow as external: DRAINING within the lead time, SCHEDULED beyond', () => {
    const now = enterFromUnavailability(undefined, inv[1]!, { start_ms: T0 + 10 * MIN }, T0, HOUR);
    expect(now.changed).to.equal('entered');
    expect(now.record).to.include({ hostname: 'h1', state: 'DRAINING', origin: 'external', ip: '10.0.0.1', agent_id: 'S1' });
    expect(now.transitions[0]!.reason).to.match(/posted to the master outside Sluice: 12:10:00Z/);
    const later = enterFromUnavailability(undefined, inv[1]!, { start_ms: T0 + 3 * HOUR, duration_ms: HOUR }, T0, HOUR);
    expect(later.record.state).to.equal('SCHEDULED');
    expect(later.transitions[0]!.reason).to.match(/drain begins 14:00:00Z/);
  });

  it('follows a changed external window, leaves Sluice-held hosts alone, re-enters a host that is UP again', () => {
    const ext = enterFromUnavailability(undefined, inv[1]!, { start_ms: T0 }, T0).record;
    expect(enterFromUnavailability(ext, inv[1]!, { start_ms: T0 }, T0 + 1).changed).to.equal('none');
    const moved = enterFromUnavailability(ext, inv[1]!, { start_ms: T0 + MIN }, T0 + 1);
    expect(moved.changed).to.equal('window-updated');
    expect(moved.record.window).to.deep.equal({ start_ms: T0 + MIN });
    const ours = startMaintenance(new Map(), { hosts: ['h2'] }, inv, T0, 'r').records[0]!;
    expect(enterFromUnavailability(ours, inv[2]!, { start_ms: T0 + 5 * MIN }, T0).changed).to.equal('none');
    const back = transition(ext, 'UP', T0 + 2, 'window removed');
    const again = enterFromUnavailability(back, inv[1]!, { start_ms: T0 }, T0 + 3);
    expect(again.changed).to.equal('entered');
    expect(again.record.history.length).to.equal(3);
  });
});

describe('machine down decision', () => {
  const drained = (start: number, origin: 'sluice' | 'external' = 'sluice') => {
    const rec = origin === 'sluice'
      ? startMaintenance(new Map(), { hosts: ['h1'], window: { start_ms: start } }, inv, T0, 'r', { lead_ms: 10 * HOUR }).records[0]!
      : enterFromUnavailability(undefined, inv[1]!, { start_ms: start }, T0).record;
    return transition(rec, 'DRAINED', T0 + 1, 'empty');
  };
  const fw = (id: string, status: 'ACCEPT' | 'DECLINE') => ({ framework_id: { value: id }, status });

  it('downs a drained Sluice host once the window has started', () => {
    expect(downDecision(drained(T0 + HOUR), {}, T0 + HOUR)).to.deep.include({ down: true });
    expect(downDecision(drained(T0 + HOUR), {}, T0 + 2).down).to.equal(false);
  });

  it('downs early only when every framework on the agent accepted', () => {
    const rec = drained(T0 + HOUR);
    expect(downDecision(rec, { frameworks_on_agent: ['a', 'b'], statuses: [fw('a', 'ACCEPT'), fw('b', 'ACCEPT')] }, T0 + 2).down).to.equal(true);
    const wait = downDecision(rec, { frameworks_on_agent: ['a', 'b', 'c'], statuses: [fw('a', 'ACCEPT'), fw('b', 'DECLINE')] }, T0 + 2);
    expect(wait.down).to.equal(false);
    expect(wait.reason).to.match(/1 framework\(s\) declined \(b\), 1 framework\(s\) have not answered/);
    expect(downDecision(rec, { frameworks_on_agent: [] }, T0 + 2).down).to.equal(true);
  });

  it('never downs external windows, hosts not DRAINED, or twice', () => {
    expect(downDecision(drained(T0, 'external'), {}, T0 + HOUR).down).to.equal(false);
    const draining = startMaintenance(new Map(), { hosts: ['h1'] }, inv, T0, 'r').records[0]!;
    expect(downDecision(draining, {}, T0 + HOUR).reason).to.equal('host is DRAINING');
    expect(downDecision({ ...drained(T0), down_posted_ms: T0 + 5 }, {}, T0 + HOUR).down).to.equal(false);
  });
});
