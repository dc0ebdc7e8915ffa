/**
 * Connection metrics as an SRE's alerts read them, from a running Sluice on the simulator: a silent
 * master (no heartbeats) trips the watchdog, which shows in sluice_heartbeats_missed_total,
 * sluice_reconnects_total and sluice_subscribed, and recovery shows too.
 */
import { expect } from 'chai';
import { startEnv, type Env } from './workload-helpers.js';
import { metric } from './maintenance-helpers.js';

/** One scrape of GET /metrics; `get(name, labels)` reads a series. */
async function scrape(env: Env): Promise<{ get(name: string, labels?: Record<string, string>): number | undefined }> {
  const text = await (await fetch(env.url + '/metrics')).text();
  return { get: (name, labels = {}) => metric(text, name, labels) };
}

describe('e2e: connection metrics', function () {
  this.timeout(60_000);
  let env: Env;
  afterEach(async () => env?.stop());

  it('heartbeat loss and the reconnect that follows move the connection metrics', async () => {
    env = await startEnv();
    await env.until('subscribed', async () => (await scrape(env)).get('sluice_subscribed') === 1);
    let m = await scrape(env);
    expect(m.get('sluice_heartbeats_missed_total')).to.equal(0);
    expect(m.get('sluice_reconnects_total')).to.equal(0);
    expect(m.get('sluice_events_total', { type: 'SUBSCRIBED' })).to.equal(1);
    await env.advance(31_000, 1000);
    m = await scrape(env);
    expect(m.get('sluice_heartbeats_received_total'), 'heartbeats every 15 s').to.be.at.least(3);
    expect(m.get('sluice_subscription_age_seconds')).to.be.within(30, 32);
    expect(m.get('sluice_last_event_age_seconds')).to.be.below(16);

    env.sim.faults.stopHeartbeats();
    await env.advance(50_000, 1000);
    m = await scrape(env);
    expect(m.get('sluice_last_event_age_seconds'), 'silence is visible before the watchdog fires').to.be.above(45);
    expect(m.get('sluice_heartbeats_missed_total')).to.equal(0);

    await env.until('watchdog fired', async () => ((await scrape(env)).get('sluice_heartbeats_missed_total') ?? 0) >= 1, 60_000, 1000);
    env.sim.faults.resumeHeartbeats();
    await env.until('re-subscribed', async () => (await scrape(env)).get('sluice_subscribed') === 1, 60_000, 500);
    m = await scrape(env);
    expect(m.get('sluice_reconnects_total')).to.be.at.least(1);
    expect(m.get('sluice_events_total', { type: 'SUBSCRIBED' })).to.be.at.least(2);
    expect(m.get('sluice_connection_state', { state: 'subscribed' })).to.equal(1);
    expect(m.get('sluice_connection_state', { state: 'backing_off' })).to.equal(0);
  });
});
