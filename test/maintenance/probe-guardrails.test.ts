/**
 * `sla probe` under the cluster guardrails: the default SLA applies to jobs without one and shows
 * in the probe, the upper bound caps a 100%-over-7-days job, and each blocking job gets its budget
 * explanation (what consumes it, when it refills).
 */
import { expect } from 'chai';
import { probeText, slaProbe } from '../../src/maintenance/core/probe.js';
import type { DrainView } from '../../src/maintenance/core/drainer.js';
import { HOUR, T0, inventory, pct, runningRows } from './helpers.js';

const inv = inventory(10);
const HOSTS = inv.map((h) => h.hostname);

describe('sla probe: guardrails and budget explanations', () => {
  it('a job without an SLA is drained freely, unless the cluster default applies: then it blocks and says why', () => {
    const rows = runningRows('batch', 10, HOSTS);
    const view: DrainView = { hosts: [], jobs: [{ name: 'batch', instances: 10 }], instances: rows };
    const free = slaProbe(['h0'], view, inv, T0);
    expect(free.drainable).to.deep.equal(['h0']);
    expect(free.jobs).to.deep.equal([]);
    expect(probeText(free)).to.contain('cluster SLA guardrails: none');
    const g = { default_sla: { kind: 'count' as const, count: 10, duration_seconds: 60 } };
    const p = slaProbe(['h0'], { ...view, guardrails: g }, inv, T0);
    expect(p.blocked).to.deep.equal(['h0']);
    expect(p.guardrails).to.deep.equal(g);
    expect(p.jobs.map((j) => [j.job, j.source, j.capped, j.blocking])).to.deep.equal([['batch', 'cluster-default', false, true]]);
    expect(p.jobs[0]!.sla).to.match(/no SLA of its own: the cluster default applies/);
    expect(p.jobs[0]!.budget.text).to.match(/^job batch: /);
    const text = probeText(p);
    expect(text).to.contain('cluster SLA guardrails: default for jobs without one: SLA 10 up over 60s');
    expect(text).to.contain('job batch: no SLA of its own');
  });

  it('a 100%-over-7-days job is capped by max_percentage: the host becomes drainable, and the probe says so', () => {
    const rows = runningRows('db', 10, HOSTS, T0 - 8 * 24 * HOUR);
    const view: DrainView = { hosts: [], jobs: [pct('db', 10, 100, 7 * 24 * 3600)], instances: rows };
    const strict = slaProbe(['h0'], view, inv, T0);
    expect(strict.blocked).to.deep.equal(['h0']);
    expect(strict.jobs[0]!.capped).to.equal(false);
    const capped = slaProbe(['h0', 'h1'], { ...view, guardrails: { max_percentage: 90 } }, inv, T0);
    expect(capped.drainable).to.deep.equal(['h0']);
    expect(capped.blocked).to.deep.equal(['h1']); // the budget of 1 went to h0
    expect(capped.jobs.map((j) => [j.job, j.capped, j.blocking])).to.deep.equal([['db', true, true]]);
    expect(slaProbe(['h0'], { ...view, guardrails: { max_percentage: 90 } }, inv, T0).jobs.map((j) => [j.job, j.capped, j.blocking])).to.deep.equal([['db', true, false]]);
    expect(capped.jobs[0]!.sla).to.match(/capped: 10 of 10 up is above the cluster bound of 90% \(9 of 10\)/);
    expect(probeText(capped)).to.contain('a job may require at most 90% of its instances up');
  });

  it('the explanation names what consumes the budget (a kill in flight) and when it refills', () => {
    const rows = runningRows('web', 10, HOSTS);
    rows[5]!.kill_requested_ms = T0 - 1000;
    rows[5]!.kill_cause = 'drain';
    const view: DrainView = { hosts: [], jobs: [pct('web', 10, 90, 600)], instances: rows };
    const p = slaProbe(['h0'], view, inv, T0);
    expect(p.blocked).to.deep.equal(['h0']);
    const b = p.jobs[0]!.budget;
    expect(b.consumers.drain).to.equal(1);
    expect(b.text).to.contain('drain');
  });
});
