/**
 * Issue 12 item 5, `host maintenance start … --override-sla 3/10m --reason …`, end to end: real
 * Sluice + real simulator over loopback HTTP on a VirtualClock. A job whose SLA is "every instance
 * up" (count = instances) blocks every drain; the request with the override drains its host down
 * to the lowered requirement (ground truth from the simulator at every task transition), a host
 * drained without the override in the same cluster stays blocked. The override is refused without
 * a reason, shows in `host query`, survives a restart, and is logged (warn `sla_override`), audited
 * and counted (`sluice_sla_overrides_total`).
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { api, startEnv, type Env } from './workload-helpers.js';
import { deployStrictJob, hostStates, metric, SlaWatch } from './maintenance-helpers.js';

/** A logger that keeps the warn lines (JSON) for the test to read. */
function capturingLogger(lines: Array<Record<string, unknown>>): winston.Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return winston.createLogger({ level: 'warn', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
}

describe('e2e: --override-sla (issue 12)', function () {
  this.timeout(180_000);
  let env: Env;
  afterEach(async () => env?.stop());

  it('lowers the SLA for the request\'s hosts only: its host drains to the lowered requirement, another host stays blocked', async () => {
    const logs: Array<Record<string, unknown>> = [];
    // 5 agents, 4 instances one per host: one free agent takes the replacement, no room for a second
    env = await startEnv({ sim: { agents: 5, racks: 1 }, logger: capturingLogger(logs) });
    const { strict, fw, hostOf, running } = await deployStrictJob(env);
    const [lowered, plain] = [hostOf(0), hostOf(1)];

    // without the override the SLA (4 of 4 up) blocks the drain
    const p = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [plain] });
    expect(p.status, JSON.stringify(p.body)).to.equal(202);
    await env.until(`${plain} blocked`, async () => ((await hostStates(env)).get(plain)?.blockers as unknown[] | undefined)?.length! > 0, 60_000, 1000);

    // refused: no reason; malformed override (nothing written)
    const noReason = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [lowered], override_sla: '3/10m' });
    expect(noReason.status, JSON.stringify(noReason.body)).to.equal(400);
    expect(noReason.body.error).to.contain('reason is required for --override-sla');
    const bad = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [lowered], override_sla: '3 of 4', reason: 'x' });
    expect(bad.status).to.equal(400);
    expect(bad.body.details[0].path).to.equal('override_sla');
    expect((await hostStates(env)).has(lowered)).to.equal(false);

    // a dry run shows the effect (no reason needed), changes nothing
    const dry = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [lowered], override_sla: '3/10m', dry_run: true });
    expect(dry.status, JSON.stringify(dry.body)).to.equal(200);
    expect(dry.body.notes).to.deep.equal(['job strict: override 3/10m (reason: (dry run)): requires 3 of 4 up over 600s instead of 4 over 600s']);
    expect(dry.body.options.sla_override).to.include({ text: '3/10m', value: 3 });
    expect((await hostStates(env)).has(lowered)).to.equal(false);

    const watch = new SlaWatch(env.sim, fw, [{ ...strict, sla: { kind: 'count', count: 3, duration_seconds: 600 } }]);
    const metricsBefore = metric(await (await fetch(env.url + '/metrics')).text(), 'sluice_sla_overrides_total') ?? 0;
    const ok = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [lowered], override_sla: '3/10m', reason: 'kernel CVE, rack reboot tonight' });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(202);
    expect(ok.body.options.sla_override).to.include({ text: '3/10m', kind: 'count', value: 3, duration_seconds: 600, reason: 'kernel CVE, rack reboot tonight' });

    // loud: warn log, audit entry, counter
    const line = logs.find((l) => l['message'] === 'sla_override' || l['event'] === 'sla_override');
    expect(line, JSON.stringify(logs.slice(-5))).to.not.equal(undefined);
    expect(line).to.include({ level: 'warn', actor: 'local', reason: 'kernel CVE, rack reboot tonight', override: '3/10m' });
    expect(line!['hosts']).to.deep.equal([lowered.toLowerCase()]);
    const audit = (await api(env.url, 'GET', '/api/v1/audit?kind=sla_override')).body.entries as Array<{ kind: string; actor: string; reason: string; request_id: string; detail: Record<string, unknown> }>;
    expect(audit).to.have.length(1);
    expect(audit[0]).to.include({ kind: 'sla_override', actor: 'local', reason: 'kernel CVE, rack reboot tonight', request_id: ok.body.request_id });
    expect(audit[0]!.detail).to.include({ override: '3/10m' });
    expect(metric(await (await fetch(env.url + '/metrics')).text(), 'sluice_sla_overrides_total')).to.equal(metricsBefore + 1);

    // stored on the host records: survives a restart, shown in host query for that host only
    await env.restartSluice();
    const hosts = await hostStates(env);
    expect(hosts.get(lowered)?.['sla_override']).to.include({ text: '3/10m', reason: 'kernel CVE, rack reboot tonight' });
    expect(hosts.get(plain)?.['sla_override']).to.equal(undefined);

    await env.until(`${lowered} DRAINED`, async () => ['DRAINED', 'DOWN'].includes((await hostStates(env)).get(lowered)?.state ?? ''), 10 * 60_000, 1000);
    await env.advance(2 * 60_000, 5000);
    watch.stop();
    expect(watch.violations).to.deep.equal([]);
    expect(watch.samples).to.be.greaterThan(1);
    expect(watch.minMargin.get('strict')).to.equal(0); // it did go down to the lowered requirement
    expect(running(lowered)).to.equal(0);
    // the host drained without the override still holds its instance, blocked by the job's own SLA
    const after = (await hostStates(env)).get(plain)!;
    expect(after.state).to.equal('DRAINING');
    expect(running(plain)).to.equal(1);
    expect((after['blockers'] as unknown[]).length).to.be.greaterThan(0);
  });
});
