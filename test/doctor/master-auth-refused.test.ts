/**
 * Sluice against a master with HTTP framework authentication and a wrong secret: every refused
 * SUBSCRIBE is an error-level `master_auth_refused` line naming the principal (never the secret)
 * and counts sluice_master_auth_failures_total, while the client keeps retrying with capped
 * backoff (never a tight loop). With the right secret it subscribes. Simulator on a VirtualClock.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import winston from 'winston';
import { loadConfig } from '../../src/config.js';
import { startSluice, type SluiceApp } from '../../src/app/app.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';
import { metric } from '../e2e/maintenance-helpers.js';
import { realDelay, tmpDir } from '../e2e/workload-helpers.js';

const SECRET = 'wrong-but-long-secret';

function capture(clock: VirtualClock): { logger: winston.Logger; lines: Array<{ at: number; line: Record<string, unknown> }>; raw: string[] } {
  const lines: Array<{ at: number; line: Record<string, unknown> }> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(l);
        lines.push({ at: clock.now(), line: JSON.parse(l) as Record<string, unknown> });
      }
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines, raw };
}

describe('Sluice against a master refusing its credentials', function () {
  this.timeout(60_000);
  let sim: Sim | undefined;
  let app: SluiceApp | undefined;
  afterEach(async () => {
    await app?.stop();
    await sim?.close();
    app = sim = undefined;
  });

  async function start(secret: string): Promise<{ clock: VirtualClock; log: ReturnType<typeof capture> }> {
    const clock = new VirtualClock();
    sim = await startSim({ agents: 2, clock, seed: 3, credentials: [{ principal: 'sluice', secret: 'the-right-secret' }] });
    const log = capture(clock);
    const cfg = loadConfig({ master: [sim.url], store: tmpDir('sluice-auth-'), 'api-listen': '127.0.0.1:0', 'no-demo': true, principal: 'sluice', secret }, {});
    app = await startSluice(cfg, { clock, logger: log.logger, runtime: { tickMs: 1000, client: { random: () => 0.5 } } });
    return { clock, log };
  }

  async function advance(clock: VirtualClock, ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 250) {
      await clock.advance(250);
      await realDelay(2);
    }
  }

  it('logs master_auth_refused at error level, counts it, and retries with capped backoff', async () => {
    const { clock, log } = await start(SECRET);
    const t0 = clock.now();
    await advance(clock, 120_000);
    const refused = log.lines.filter((l) => l.line['event'] === 'master_auth_refused');
    expect(refused.length, 'refusals are logged').to.be.at.least(5);
    // 500 ms doubling, capped at 15 s (× 0.75 with this jitter): about 14 attempts in 120 s, never a tight loop
    expect(refused.length, 'retries bounded in rate').to.be.at.most(20);
    const first = refused[0]!.line;
    expect(first).to.include({ level: 'error', call: 'SUBSCRIBE', status: 401, principal: 'sluice', credentials: 'refused' });
    expect(String(first['reason'])).to.contain('principal "sluice"');
    expect(String(first['master'])).to.equal(sim!.url);
    const gaps = refused.slice(1).map((r, i) => r.at - refused[i]!.at);
    expect(Math.min(...gaps.slice(5)), 'capped backoff between late attempts').to.be.at.least(11_000);
    expect(refused[refused.length - 1]!.at - t0).to.be.at.least(100_000);
    for (const l of log.raw) expect(l).to.not.contain(SECRET);

    const text = await (await fetch(app!.api.url + '/metrics')).text();
    expect(metric(text, 'sluice_master_auth_failures_total', { call: 'SUBSCRIBE' })).to.equal(refused.length);
    expect(metric(text, 'sluice_subscribed', {})).to.equal(0);
  });

  it('with the right secret it subscribes and nothing is refused', async () => {
    const { clock, log } = await start('the-right-secret');
    for (let i = 0; i < 200 && app!.runtime.state.frameworkId === undefined; i++) await advance(clock, 250);
    expect(app!.runtime.state.frameworkId).to.be.a('string');
    expect(log.lines.filter((l) => l.line['event'] === 'master_auth_refused')).to.have.length(0);
    const text = await (await fetch(app!.api.url + '/metrics')).text();
    expect(metric(text, 'sluice_master_auth_failures_total', { call: 'SUBSCRIBE' }) ?? 0).to.equal(0);
  });
});
