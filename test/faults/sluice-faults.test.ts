/**
 * Fault suite, whole Sluice: startSluice (store on disk, runtime, client, operator API) registered
 * with `--master` pointing at a misbehaving fake master in a child process, with the production
 * client defaults (backoff 500 ms doubling to 15 s). What an SRE would see on /metrics and
 * /api/v1/status must show a bounded reconnect rate and a clear reason, and Sluice stays up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { startSluice, type SluiceApp } from '../../src/app/app.js';
import { metric } from '../e2e/maintenance-helpers.js';
import { sleep, startFakeMaster, stopChildren, type FakeMaster } from './helpers.js';
import type { FakeMasterConfig } from './fake-master.js';

describe('faults: a whole Sluice against a misbehaving master (child process)', function () {
  this.timeout(60_000);
  let app: SluiceApp | undefined;
  let master: FakeMaster | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await master?.stop();
    master = undefined;
    await stopChildren();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function start(config: FakeMasterConfig): Promise<SluiceApp> {
    master = await startFakeMaster(config);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-faults-'));
    const cfg = loadConfig({ master: [master.url], store: path.join(dir, 'store'), 'api-listen': '127.0.0.1:0', 'no-demo': true }, {});
    app = await startSluice(cfg);
    return app;
  }

  async function reconnects(a: SluiceApp): Promise<number> {
    const text = await (await fetch(a.api.url + '/metrics')).text();
    return metric(text, 'sluice_reconnects_total', {}) ?? 0;
  }

  it('drop after SUBSCRIBED: reconnects grow apart (≤ 7 attempts in 6 s with the production backoff), the API stays up', async () => {
    const a = await start({ mode: 'drop-after-subscribed', heartbeatSeconds: 1 });
    await sleep(6000);
    const attempts = (await master!.stats()).subscribes.length;
    // 500 ms doubling (50 % jitter): at most 0, .5, 1.5, 3.5 s (+ jitter) → ≤ 5 attempts; a storm makes 12–24
    expect(attempts, 'SUBSCRIBE attempts in 6 s').to.be.within(2, 7);
    expect(await reconnects(a)).to.be.within(1, 7);
    const status = await (await fetch(a.api.url + '/api/v1/status')).json();
    expect(status, 'the operator API answers').to.be.an('object');
  });

  it('slow drip: Sluice is not wedged on its first attempt (default subscribedTimeoutMs 30 s) — abandoned, retried, visible', async function () {
    this.timeout(90_000);
    const a = await start({ mode: 'slow-drip', dripMs: 1000 });
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000 && (await master!.stats()).subscribes.length < 2) await sleep(500);
    const elapsed = Date.now() - t0;
    expect((await master!.stats()).subscribes.length, 'a second attempt').to.be.at.least(2);
    expect(elapsed, 'within the 30 s bound plus the first backoff and a wide margin').to.be.below(45_000);
    expect(await reconnects(a)).to.be.at.least(1);
  });
});
