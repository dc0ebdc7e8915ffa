import { expect } from 'chai';
import { dryRunStart, probeText, slaProbe } from '../../src/maintenance/core/probe.js';
import { MaintenanceRequestError } from '../../src/maintenance/core/errors.js';
import { startMaintenance } from '../../src/maintenance/core/host-state.js';
import type { DrainView } from '../../src/maintenance/core/drainer.js';
import { HOUR, T0, hostMap, inventory, pct, runningRows } from './helpers.js';

const inv = inventory(10);
// web: 20 instances, 90% over 600 s → budget 2. One instance per host h0..h9, two per host.
function v(): DrainView {
  const rows = runningRows('web', 20, inv.map((h) => h.hostname));
  return { hosts: [], jobs: [pct('web', 20, 90, 600)], instances: rows };
}

describe('sla probe', () => {
  it('says which hosts could be drained now, sharing the budget in the given order, and why not', () => {
    const p = slaProbe(['h0', 'h1', 'h2'], v(), inv, T0);
    expect(p.drainable).to.deep.equal(['h0']);
    expect(p.blocked).to.deep.equal(['h1', 'h2']);
    const h1 = p.hosts[1]!;
    expect(h1).to.include({ tasks: 2, tasks_up: 2, drainable_now: false, drainable_alone: true });
    expect(h1.reasons).to.deep.equal(['job web: 2 instance(s) up here, SLA 90% over 600s allows 0 more down after the hosts before this one (after replacements start)']);
    expect(probeText(p)).to.match(/^h0: drainable now \(2 task\(s\), 2 up; full drain ≈ /);
  });

  it('reports when the budget refills', () => {
    const view = v();
    view.instances[19]!.running_since_ms = T0 - 60_000; // h9's second instance is young: up at T0+9min
    const p = slaProbe(['h0', 'h1'], view, inv, T0);
    expect(p.hosts[0]!.drainable_now).to.equal(false); // budget 1 < 2
    expect(p.hosts[0]!.reasons[0]).to.match(/allows 1 more down \(enough at 12:09:00Z\)/);
  });

  it('reports hosts already in maintenance and estimates the drain', () => {
    const recs = startMaintenance(new Map(), { hosts: ['h3'] }, inv, T0, 'r').records;
    const p = slaProbe(['h3', 'h4'], { ...v(), hosts: recs }, inv, T0, { make_before_break: false });
    expect(p.hosts[0]!.reasons[0]).to.equal('already in maintenance (DRAINING)');
    expect(p.hosts[0]!.drainable_now).to.equal(false);
    expect(p.hosts[1]!.estimated_drain_ms).to.be.greaterThan(600_000); // 4 up tasks, budget 2: two waves
  });

  it('rejects bad host names with clear errors', () => {
    try {
      slaProbe(['h0', 'nope', 'h0'], v(), inv, T0);
      expect.fail('should throw');
    } catch (e) {
      expect(e).to.be.instanceOf(MaintenanceRequestError);
      const err = e as MaintenanceRequestError;
      expect(err.message).to.match(/^sla probe rejected: nope: unknown host/);
      expect(err.problems.map((p) => p.code)).to.deep.equal(['unknown-host', 'duplicate-host']);
    }
  });
});

describe('host maintenance start --dry-run', () => {
  it('validates like the real thing and reports states, groups and estimates without changing anything', () => {
    const view = v();
    const table = hostMap([]);
    const d = dryRunStart(table, { hosts: ['h0', 'h1'], max_parallel: 1 }, inv, view, T0, 'dry-1', { make_before_break: false });
    expect(d.dry_run).to.equal(true);
    expect(d.hosts.map((h) => `${h.hostname}:${h.state}`)).to.deep.equal(['h0:DRAINING', 'h1:SCHEDULED']);
    expect(d.probe.drainable).to.deep.equal(['h0']);
    expect(d.estimated_makespan_ms).to.be.greaterThan(0);
    expect(d.notes[0]).to.match(/--max-parallel 1: up to 2 rounds/);
    expect(table.size).to.equal(0);
    expect(() => dryRunStart(table, { hosts: ['h0', 'bogus'] }, inv, view, T0, 'x')).to.throw(MaintenanceRequestError, /bogus: unknown host/);
    const far = dryRunStart(table, { hosts: ['h0'], window: { start_ms: T0 + 5 * HOUR } }, inv, view, T0, 'x');
    expect(far.hosts[0]!.state).to.equal('SCHEDULED');
  });
});
