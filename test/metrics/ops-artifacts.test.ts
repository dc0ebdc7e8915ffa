/**
 * The shipped alert rules and dashboard: valid for Prometheus's own tooling, and built only on
 * metrics a running Sluice actually exports.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceMetrics } from '../../src/metrics/metrics.js';
import { projectRoot } from '../helpers/fixtures.js';

const opsDir = path.join(projectRoot(), 'ops');
const promtoolAvailable = spawnSync('promtool', ['--version']).status === 0;

/** Metric names used in PromQL expressions (identifiers followed by {, [, space, ) or end). */
function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b((?:sluice|nodejs|process)_[a-z0-9_]+)\b/g)) names.add(m[1]!);
  return [...names];
}

async function exportedNames(): Promise<Set<string>> {
  const metrics = new SluiceMetrics();
  const text = await metrics.text();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m) continue;
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s);
  }
  return names;
}

describe('ops artifacts (alerts, dashboard)', function () {
  this.timeout(60_000);

  it('promtool accepts the alert rules and their unit tests pass', function () {
    if (!promtoolAvailable) {
      if (process.env.CI) throw new Error('promtool is required in CI (.ci/run installs Debian package prometheus)');
      this.skip();
    }
    const check = execFileSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: path.join(opsDir, 'prometheus'), encoding: 'utf8' });
    expect(check).to.match(/SUCCESS: \d+ rules found/);
    const test = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: path.join(opsDir, 'prometheus'), encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).to.equal(0);
    expect(test.stdout).to.contain('SUCCESS');
  });

  it('alert rules use only metrics Sluice exports', async () => {
    const exported = await exportedNames();
    const rules = fs.readFileSync(path.join(opsDir, 'prometheus', 'alerts.yml'), 'utf8');
    const exprs = [...rules.matchAll(/expr:\s*(.+)/g)].map((m) => m[1]!);
    expect(exprs.length).to.be.greaterThan(5);
    for (const e of exprs) for (const n of metricNames(e)) expect(exported.has(n), `${n} in alert expr ${e}`).to.equal(true);
  });

  it('the Grafana dashboard is valid JSON built on exported metrics, covering every section', async () => {
    const exported = await exportedNames();
    const dash = JSON.parse(fs.readFileSync(path.join(opsDir, 'grafana', 'sluice-dashboard.json'), 'utf8')) as {
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    const rows = dash.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows.join('|')).to.match(/Connection/).and.match(/Workload/).and.match(/Maintenance/).and.match(/SLA/);
    const used = new Set<string>();
    for (const p of dash.panels) for (const t of p.targets ?? []) for (const n of metricNames(t.expr)) used.add(n);
    for (const n of used) expect(exported.has(n), `dashboard uses ${n}`).to.equal(true);
    // every Sluice-specific metric is on the dashboard
    for (const n of exported) {
      if (!n.startsWith('sluice_') || /_(sum|count)$/.test(n) || (n.startsWith('sluice_store_write_seconds') && n !== 'sluice_store_write_seconds_bucket')) continue;
      expect(used.has(n), `exported metric ${n} has a dashboard panel`).to.equal(true);
    }
  });

  it('state gauges follow the state provider at scrape time', async () => {
    let now = 1_000_000;
    const m = new SluiceMetrics(() => now, { defaultMetrics: false });
    let draining = 3;
    m.setStateProvider(() => ({
      tasksByState: { TASK_RUNNING: 10 - draining },
      hosts: [{ hostname: 'h1', state: draining > 0 ? 'DRAINING' : 'DRAINED', tasks_left: draining, draining_seconds: 30, drain_timeout_seconds: 600 }],
      jobs: [{ job: 'web', instances: 10, up: 10 - draining, required: 8 }],
      offersHeld: 0,
      oldestHeldOfferSeconds: 0,
    }));
    m.setConnectionState('subscribed');
    now += 5000;
    let text = await m.text();
    expect(text).to.contain('sluice_subscribed 1');
    expect(text).to.contain('sluice_subscription_age_seconds 5');
    expect(text).to.contain('sluice_drain_tasks_left{host="h1"} 3');
    expect(text).to.contain('sluice_job_sla_budget{job="web"} -1');
    expect(text).to.contain('sluice_hosts{state="DRAINING"} 1');
    draining = 0;
    text = await m.text();
    expect(text).to.contain('sluice_drain_tasks_left{host="h1"} 0');
    expect(text).to.contain('sluice_hosts{state="DRAINED"} 1');
    expect(text).to.contain('sluice_job_sla_budget{job="web"} 2');
    expect(text).not.to.contain('sluice_drain_seconds{host="h1"}');
  });
});
