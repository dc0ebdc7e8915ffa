/**
 * The console's brakes in a real headless Chromium, against a real Sluice (tokens file: the page
 * acts with the token the user entered) on the simulator (VirtualClock): pause a request with its
 * card's button (confirmation, reason), and the drain stops — no kill of ours on its hosts after the
 * pause was acknowledged but the ones decided before (simulator ground truth), the API shows the
 * hosts paused by the token's person with the reason typed; resume from the page; then "Pause all
 * drains" and "Resume all" from the page.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer-core';
import type { AuditEntry } from '../../src/audit/types.js';
import { startEnv, type Env } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';
import { call, people, writeTokensFile, type Identity } from '../ops/helpers.js';
import { launchBrowser, openConsole, screenshot, waitFor } from './browser.js';

async function clickButton(page: Page, selector: string): Promise<void> {
  // the panels re-render as events arrive: find and click again if the button was just replaced
  await waitFor(`button ${selector}`, async () => {
    const b = await page.$(selector);
    if (!b) return false;
    await b.click();
    return true;
  });
}

async function confirmWithReason(page: Page, reason: string): Promise<void> {
  await waitFor('the confirmation with a reason field', async () => (await page.$('.confirm .pause-reason')) !== null);
  await page.type('.confirm .pause-reason', reason);
  await page.click('.confirm .confirm-yes');
}

describe('console: pause and resume from the browser', function () {
  this.timeout(240_000);
  let env: Env;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let otto: Identity;

  before(async () => {
    const ids = people();
    otto = ids.find((i) => i.role === 'operator')!;
    const tokensFile = writeTokensFile(ids);
    [env, browser] = await Promise.all([startEnv({ sim: { agents: 12, racks: 3 }, flags: { 'api-tokens-file': tokensFile } }), launchBrowser()]);
    const web = job('web', 8, { sla: { kind: 'percentage', percentage: 75, duration_seconds: 300 }, constraints: { host_unique: true } });
    expect((await call(env.url, 'POST', '/api/v1/jobs', { token: otto.token, body: web })).status).to.equal(201);
    await env.until('web RUNNING', async () => {
      const r = await call(env.url, 'GET', '/api/v1/jobs/web', { token: otto.token });
      return r.status === 200 && r.body.instances.filter((i: { state: string }) => i.state === 'TASK_RUNNING').length === 8;
    }, 120_000, 1000);
    await env.advance(6 * 60_000, 5000);
    ({ page, errors } = await openConsole(browser, env.url));
  });
  after(async () => {
    await browser?.close();
    await env?.stop();
  });

  it('Pause on a request card stops its drain (API: paused by the token\'s person, with the reason); Resume goes on; Pause all / Resume all', async () => {
    await page.type('#token', otto.token);
    await page.click('#token-use');
    await waitFor('feed live', async () => (await page.$eval('#conn', (e) => e.textContent)) === 'live');
    const fw = env.frameworkId();
    const hosts = [...new Set(env.sim.groundTruth().filter((t) => t.frameworkId === fw).map((t) => t.hostname))].sort().slice(0, 4);
    const kills: Array<{ taskId: string; host: string }> = [];
    const sub = env.sim.events$.subscribe((e) => {
      if (e.kind === 'task' && e.frameworkId === fw && e.cause === 'kill' && !kills.some((k) => k.taskId === e.taskId)) kills.push({ taskId: e.taskId, host: e.hostname });
    });
    const start = await call(env.url, 'POST', '/api/v1/hosts/maintenance/start', { token: otto.token, body: { hosts, reason: 'kernel' } });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    const id = start.body.request_id as string;
    await env.advance(2000, 1000);

    await clickButton(page, `.req[data-request="${id}"] button.pause`);
    await confirmWithReason(page, 'incident 42');
    await waitFor('paused (alert)', async () => new RegExp(`${id} paused`).test(await page.$eval('#alert', (e) => e.textContent ?? '')));
    const audit = (await call(env.url, 'GET', '/api/v1/audit?kind=request&limit=1000', { token: otto.token })).body.entries as AuditEntry[];
    const pauses = audit.filter((x) => x.action === 'pause' && x.request_id === id);
    expect(pauses.map((x) => x.host).sort(), 'one pause entry per host still in maintenance').to.not.deep.equal([]);
    for (const p of pauses) expect(p).to.include({ actor: 'otto', reason: 'incident 42' });
    const pauseSeq = Math.min(...pauses.map((x) => x.seq));
    let view = (await call(env.url, 'GET', '/api/v1/hosts', { token: otto.token })).body.hosts as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const h of view.filter((x) => hosts.includes(x['hostname']) && x['state'] !== 'DOWN' && x['state'] !== 'UP')) {
      expect(h['paused'], h['hostname']).to.include({ actor: 'otto', reason: 'incident 42' });
    }
    // the drain stops: kills decided before the pause may finish, nothing new for ten minutes
    const before = new Set(((await call(env.url, 'GET', '/api/v1/audit?kind=drain_kill&limit=1000', { token: otto.token })).body.entries as AuditEntry[]).filter((x) => x.seq < pauseSeq).map((x) => x.task_id));
    const killedAtPause = kills.length;
    await env.advance(10 * 60_000, 2000);
    const after = kills.slice(killedAtPause).filter((k) => hosts.includes(k.host) && !before.has(k.taskId));
    expect(after, 'a kill of a paused host, not decided before the pause').to.deep.equal([]);
    const decided = ((await call(env.url, 'GET', '/api/v1/audit?kind=drain_kill&limit=1000', { token: otto.token })).body.entries as AuditEntry[]).filter((x) => x.seq > pauseSeq && hosts.includes(x.host ?? ''));
    expect(decided, 'no kill decided while paused').to.deep.equal([]);
    await waitFor('the card says paused and offers Resume', async () => (await page.$(`.req[data-request="${id}"] button.resume`)) !== null);
    await screenshot(page, '10-request-paused');

    // Resume from the page: the drain goes on
    await clickButton(page, `.req[data-request="${id}"] button.resume`);
    await confirmWithReason(page, 'incident over');
    await waitFor('resumed (alert)', async () => new RegExp(`${id} resumed`).test(await page.$eval('#alert', (e) => e.textContent ?? '')));
    view = (await call(env.url, 'GET', '/api/v1/hosts', { token: otto.token })).body.hosts;
    for (const h of view.filter((x) => hosts.includes(x['hostname']))) expect(h['paused'], h['hostname']).to.equal(undefined);
    await env.until('all DOWN after resume', async () => {
      const v = (await call(env.url, 'GET', '/api/v1/hosts', { token: otto.token })).body.hosts as Array<{ hostname: string; state: string }>;
      return hosts.every((h) => v.find((x) => x.hostname === h)?.state === 'DOWN');
    }, 60 * 60_000, 5000);

    // Pause all drains / Resume all
    await clickButton(page, '#cluster-controls button.pause-all');
    await confirmWithReason(page, 'change freeze');
    await waitFor('all paused (API)', async () => {
      const v = (await call(env.url, 'GET', '/api/v1/hosts', { token: otto.token })).body;
      return v.paused_all?.actor === 'otto' && v.paused_all?.reason === 'change freeze';
    });
    await waitFor('the page says all drains are paused', async () => /ALL DRAINS PAUSED by otto — change freeze/.test(await page.$eval('#cluster-controls', (e) => e.textContent ?? '')));
    await screenshot(page, '11-all-paused');
    await clickButton(page, '#cluster-controls button.resume-all');
    await confirmWithReason(page, 'freeze over');
    await waitFor('all resumed (API)', async () => (await call(env.url, 'GET', '/api/v1/hosts', { token: otto.token })).body.paused_all === null);
    sub.unsubscribe();
    expect(errors).to.deep.equal([]);
  });
});
