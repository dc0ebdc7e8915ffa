/**
 * The maintenance console in a real headless Chromium, against a real Sluice on the simulator
 * (VirtualClock): start a rack drain from the page (dry-run preview first), watch its tiles go
 * DRAINING → DRAINED → DOWN as the simulator moves, checking the page against the API at each step,
 * complete it from the page; then abort a drain with the page's abort button and check that the
 * master no longer has the window. Screenshots of the key states go to test-artifacts/console/.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer-core';
import { api, startEnv, type Env } from '../e2e/workload-helpers.js';
import { hostStates, masterJson, startWebOnTwelveAgents } from '../e2e/maintenance-helpers.js';
import { launchBrowser, openConsole, recordTileStates, screenshot, shownStates, tileStates, waitFor } from './browser.js';

function rackHosts(env: Env, rack: string): string[] {
  return env.sim.agents().filter((a) => a.rack === rack).map((a) => a.hostname).sort();
}

/** Host names in the master's maintenance schedule. */
async function scheduled(env: Env): Promise<string[]> {
  const s = await masterJson(env, '/master/maintenance/schedule');
  return (s.windows ?? []).flatMap((w: { machine_ids?: Array<{ hostname?: string }> }) => (w.machine_ids ?? []).map((m) => m.hostname ?? ''));
}

/** Every agent's state as the API says (UP when it has no maintenance record). */
async function apiStates(env: Env): Promise<Map<string, string>> {
  const m = await hostStates(env);
  return new Map(env.sim.agents().map((a) => [a.hostname, m.get(a.hostname)?.state ?? 'UP']));
}

/** Waits until every tile on the page shows the state the API reports; returns it. */
async function pageMatchesApi(page: Page, env: Env): Promise<Map<string, string>> {
  let want = new Map<string, string>();
  let got = new Map<string, string>();
  try {
    return await waitFor('the page to show the API\'s host states', async () => {
      want = await apiStates(env);
      got = await tileStates(page);
      return [...want].every(([h, s]) => got.get(h) === s) && got.size === want.size ? got : undefined;
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n  api:  ${JSON.stringify([...want])}\n  page: ${JSON.stringify([...got])}`);
  }
}

async function clickText(page: Page, selector: string, text: RegExp): Promise<void> {
  // the panels re-render as events arrive: find and click again if the button was just replaced
  await waitFor(`${selector} with text ${text}`, async () => {
    for (const h of await page.$$(selector)) {
      if (!text.test(await h.evaluate((e) => e.textContent ?? ''))) continue;
      await h.click();
      return true;
    }
    return false;
  });
}

describe('console: a rack drain from the browser', function () {
  this.timeout(240_000);
  let env: Env;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  before(async () => {
    [env, browser] = await Promise.all([startWebOnTwelveAgents(), launchBrowser()]);
    ({ page, errors } = await openConsole(browser, env.url));
  });
  after(async () => {
    await browser?.close();
    await env?.stop();
  });

  it('shows every host by rack, starts a rack drain after a dry run, follows it to DOWN and completes it', async () => {
    const rack = rackHosts(env, 'rack-1');
    expect(rack.length).to.be.greaterThan(1);
    await waitFor('12 tiles', async () => (await tileStates(page)).size === 12);
    const racks = await page.$$eval('.rack', (els) => els.map((e) => e.getAttribute('data-rack')));
    expect(racks).to.deep.equal(['rack-1', 'rack-2', 'rack-3']);
    // the racks scroll inside a box no taller than the window: columns far below are not built
    const box = (await page.evaluate(`({ h: document.getElementById('racks').clientHeight, w: window.innerHeight })`)) as { h: number; w: number };
    expect(box.h).to.be.greaterThan(0).and.lessThan(box.w);
    await pageMatchesApi(page, env);
    await waitFor('SLA table', async () => (await page.$$eval('#sla-body tr', (r) => r.map((x) => x.textContent))).some((t) => /^web8 \/ 6/.test(t ?? '')));
    await waitFor('feed live', async () => (await page.$eval('#conn', (e) => e.textContent)) === 'live');
    await screenshot(page, '01-all-up');

    // dry run first: nothing changes, the page shows the estimate
    await page.type('#start-racks', 'rack-1');
    await page.type('#start-reason', 'kernel upgrade');
    await page.click('#start-preview');
    const summary = await waitFor('dry-run preview', async () => page.$eval('#preview', (e) => (e.hidden ? '' : e.textContent ?? '')).then((t) => (/Dry run: /.test(t) ? t : undefined)));
    expect(summary).to.match(new RegExp(`Dry run: ${rack.length} host\\(s\\) in 1 group`));
    expect(summary).to.match(/Estimated time to drain everything: /);
    expect((await apiStates(env)).get(rack[0]!), 'a dry run changes nothing').to.equal('UP');
    await screenshot(page, '02-dry-run-preview');
    await recordTileStates(page);
    await page.click('#start-confirm');
    await waitFor('started', async () => /Started mnt-/.test(await page.$eval('#alert', (e) => e.textContent ?? '')));

    // follow the drain: the page must match the API at every step
    const seen = new Map<string, string[]>(rack.map((h) => [h, []]));
    const note = (states: Map<string, string>) => {
      for (const h of rack) {
        const l = seen.get(h)!;
        const s = states.get(h)!;
        if (l[l.length - 1] !== s) l.push(s);
      }
    };
    let shotDraining = false;
    for (let i = 0; i < 400; i++) {
      const states = await pageMatchesApi(page, env);
      note(states);
      if (!shotDraining && rack.some((h) => states.get(h) === 'DRAINING')) {
        shotDraining = true;
        // who asked and why, from the audit trail
        await waitFor('request card', async () => /by \S+ — kernel upgrade/.test(await page.$eval('#requests', (e) => e.textContent ?? '')));
        await screenshot(page, '03-draining');
      }
      if (rack.every((h) => states.get(h) === 'DOWN')) break;
      await env.advance(5000, 1000);
    }
    const shown = await shownStates(page);
    const ORDER = ['UP', 'SCHEDULED', 'DRAINING', 'DRAINED', 'DOWN'];
    for (const h of rack) {
      const l = seen.get(h)!;
      expect(l[l.length - 1], `${h}: ${l.join(' → ')}`).to.equal('DOWN');
      // what the tile showed, frame by frame: forward only, through DRAINING (or straight to
      // DRAINED when the host had nothing to drain), ending DOWN
      const tile = shown[h] ?? [];
      expect(tile[tile.length - 1], `${h} tile: ${tile.join(' → ')}`).to.equal('DOWN');
      for (let i = 1; i < tile.length; i++) expect(ORDER.indexOf(tile[i]!), `${h} tile: ${tile.join(' → ')}`).to.be.greaterThan(ORDER.indexOf(tile[i - 1]!));
    }
    expect(rack.some((h) => shown[h]?.includes('DRAINING')), `some tile showed DRAINING: ${JSON.stringify(shown)}`).to.equal(true);
    // DRAINED can last less than a frame on the simulator (machine down follows at once): the
    // page's timeline shows both steps for every host
    const transitions = (h: string) => page.$$eval('#timeline li', (els, host) => els.map((e) => e.textContent ?? '').filter((t) => t.includes(`host transition ${host} `)), h);
    for (const h of rack) {
      await waitFor(`${h}: DRAINED then DOWN in the page's timeline`, async () => {
        const lines = await transitions(h);
        return lines.some((t) => / (DRAINING|SCHEDULED) → DRAINED /.test(t)) && lines.some((t) => / DRAINED → DOWN /.test(t));
      });
    }
    await waitFor('the request drained', async () => new RegExp(`${rack.length}/${rack.length} hosts drained`).test(await page.$eval('#requests', (e) => e.textContent ?? '')));
    await screenshot(page, '04-rack-down');

    // complete it from the page
    await clickText(page, '#requests .req button', /^Complete \(\d+\)$/);
    await clickText(page, '#requests .confirm button', /^Yes, complete$/);
    await waitFor('completed', async () => /Completed: /.test(await page.$eval('#alert', (e) => e.textContent ?? '')));
    const after = await pageMatchesApi(page, env);
    for (const h of rack) expect(after.get(h), h).to.equal('UP');
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });

  it('host detail shows the host\'s history; the abort button really aborts a drain', async () => {
    const rack = rackHosts(env, 'rack-2');
    await page.$eval('#start-racks', (e) => ((e as unknown as { value: string }).value = ''));
    await page.type('#start-racks', 'rack-2');
    await page.click('#start-preview');
    await waitFor('preview', async () => (await page.$('#start-confirm')) !== null);
    await page.click('#start-confirm');
    await waitFor('started', async () => /Started mnt-/.test(await page.$eval('#alert', (e) => e.textContent ?? '')));
    await env.until('a rack-2 host DRAINING', async () => [...(await apiStates(env))].some(([h, s]) => rack.includes(h) && s === 'DRAINING'), 120_000, 1000);
    const states = await pageMatchesApi(page, env);
    const draining = rack.find((h) => states.get(h) === 'DRAINING')!;

    // the host's detail: state, request, history of its transitions
    await page.click(`.tile[data-host="${draining}"]`);
    const detail = await waitFor('detail', async () => page.$eval('#detail', (e) => e.textContent ?? '').then((t) => (/History:/.test(t) && /Our tasks/.test(t) ? t : undefined)));
    expect(detail).to.match(/DRAINING/);
    expect(detail).to.match(/UP → SCHEDULED|SCHEDULED → DRAINING/);
    await screenshot(page, '05-host-detail');

    expect(await scheduled(env), 'the window is on the master').to.include.members(rack);
    await clickText(page, '#requests .req button', /^Abort \(\d+\)$/);
    await clickText(page, '#requests .confirm button', /^Yes, abort$/);
    await waitFor('aborted', async () => /Aborted: /.test(await page.$eval('#alert', (e) => e.textContent ?? '')));
    const after = await pageMatchesApi(page, env);
    for (const h of rack) expect(after.get(h), h).to.equal('UP');
    const q = await api(env.url, 'GET', '/api/v1/hosts?states=SCHEDULED,DRAINING,DRAINED,DOWN');
    expect(q.body.hosts, 'no host left in maintenance').to.deep.equal([]);
    const left = await scheduled(env);
    for (const h of rack) expect(left, 'the master no longer has the window').not.to.include(h);
    // and the drain really stopped: time passes, nothing on rack-2 moves again
    await env.advance(60_000, 5000);
    for (const [h, s] of await apiStates(env)) if (rack.includes(h)) expect(s, h).to.equal('UP');
    await screenshot(page, '06-aborted');
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });
});

describe('console: with an API token', function () {
  this.timeout(120_000);
  const TOKEN = 'console-test-token-93b1c';
  let env: Env;
  let browser: Browser;

  before(async () => {
    [env, browser] = await Promise.all([startEnv({ sim: { agents: 6, racks: 2 }, flags: { 'api-token': TOKEN } }), launchBrowser()]);
    await env.until('agents offered', async () => env.app.runtime.state.agents.size === 6, 60_000, 1000);
  });
  after(async () => {
    await browser?.close();
    await env?.stop();
  });

  it('serves the page without the token but with a strict CSP; shows nothing and refuses actions until the token is given', async () => {
    // the page and its scripts carry no data: they are served without the token, under a CSP
    const res = await fetch(env.url + '/');
    expect(res.status).to.equal(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).to.include("default-src 'self'");
    expect(csp).to.include("script-src 'self'");
    expect(csp).to.include("style-src 'self'");
    expect(csp).to.include("frame-ancestors 'none'");
    expect(csp).not.to.include('unsafe-inline');
    const html = await res.text();
    expect(html).not.to.include(TOKEN);
    expect(html, 'no inline script').not.to.match(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html, 'no inline style').not.to.match(/<style|\sstyle=/);
    expect((await fetch(env.url + '/console/main.js')).status).to.equal(200);
    // ...the data does need it
    for (const p of ['/api/v1/agents', '/api/v1/hosts', '/api/v1/events', '/api/v1/sla/jobs']) expect((await fetch(env.url + p)).status, p).to.equal(401);

    const { page, errors } = await openConsole(browser, env.url);
    await waitFor('token asked', async () => (await page.$eval('#conn', (e) => e.textContent)) === 'token needed');
    expect(await page.$eval('#alert', (e) => e.textContent ?? '')).to.match(/token is required/);
    expect((await tileStates(page)).size, 'no host shown without the token').to.equal(0);
    // an action without the token is refused by the API, and nothing changes
    await page.type('#start-hosts', 'agent-1');
    await page.click('#start-preview');
    await waitFor('refused', async () => /dry run refused/.test(await page.$eval('#preview', (e) => e.textContent ?? '')));
    await screenshot(page, '07-token-needed');

    // a wrong token is refused too
    await page.type('#token', 'not-the-token');
    await page.click('#token-use');
    await waitFor('still refused', async () => (await page.$eval('#conn', (e) => e.textContent)) === 'token needed');
    expect((await tileStates(page)).size).to.equal(0);

    await page.type('#token', TOKEN);
    await page.click('#token-use');
    await waitFor('6 tiles', async () => (await tileStates(page)).size === 6);
    await waitFor('feed live', async () => (await page.$eval('#conn', (e) => e.textContent)) === 'live');
    expect(await page.evaluate(`sessionStorage.getItem('sluice.api-token')`)).to.equal(TOKEN);
    expect(await page.$eval('#token', (e) => (e as unknown as { value: string }).value), 'the field is cleared').to.equal('');

    // a dry run with the token works; a reload keeps the token for this tab
    await page.click('#start-preview');
    await waitFor('preview', async () => /Dry run: 1 host/.test(await page.$eval('#preview', (e) => e.textContent ?? '')));
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitFor('6 tiles after reload', async () => (await tileStates(page)).size === 6);
    expect(await page.content(), 'the token is never in the page').not.to.include(TOKEN);
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });
});
