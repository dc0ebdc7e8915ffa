/**
 * The console in a real headless Chromium against a real Sluice whose master (the simulator) reports
 * hostile names: agent host names, racks and attributes with HTML and control characters, another
 * framework named like a script; and an operator reason that is HTML. Nothing of it may run as code
 * or become markup (stored XSS), under the page's CSP. And a page of another origin in the same
 * browser can neither read the API (no CORS) nor its event stream.
 */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { job } from '../e2e/maintenance-helpers.js';
import { allRunning } from '../e2e/maintenance-helpers.js';
import { api, startEnv, type Env } from '../e2e/workload-helpers.js';
import { launchBrowser, openConsole, tileStates, waitFor } from '../console/browser.js';
import { request } from './http-helpers.js';

const PAYLOAD = (n: number) => `<img src=x onerror="window.__xss=${n}"><script>window.__xss=${n}</script>`;
const EVIL_HOST = `evil-${PAYLOAD(1)}\n\x1b[2J`;
const EVIL_RACK = `rack-${PAYLOAD(2)}`;
const EVIL_FRAMEWORK = `fw-${PAYLOAD(3)}`;
const EVIL_REASON = `disk ${PAYLOAD(4)} & "quotes" 'too'`;

describe('security: the console renders hostile names and reasons as text (Chromium)', function () {
  this.timeout(180_000);
  let env: Env;
  let browser: Browser;

  before(async () => {
    [env, browser] = await Promise.all([
      startEnv({
        sim: {
          agents: [
            { hostname: 'agent-1', rack: 'rack-1' },
            { hostname: 'agent-2', rack: 'rack-1' },
            { hostname: 'agent-3', rack: EVIL_RACK, attributes: { [`k${PAYLOAD(5)}`]: PAYLOAD(6) } },
            { hostname: EVIL_HOST, rack: EVIL_RACK },
          ],
          otherFrameworks: [{ name: EVIL_FRAMEWORK, behaviour: 'never', tasksPerAgent: 1 }],
        },
      }),
      launchBrowser(),
    ]);
    await env.until('agents offered', async () => env.app.runtime.state.agents.size === 4, 60_000, 1000);
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('web', 2, { constraints: { host_unique: true } }))).status).to.equal(201);
    await env.until('web RUNNING', () => allRunning(env, 'web', 2), 120_000, 1000);
  });
  after(async () => {
    await browser?.close();
    await env?.stop();
  });

  it('no markup or script from the master or an operator runs; it is all shown as text', async () => {
    const res = await request(env.url, { path: '/' });
    const csp = String(res.headers['content-security-policy'] ?? '');
    expect(csp).to.include("script-src 'self'");
    expect(csp).not.to.include('unsafe-inline');

    const { page, errors } = await openConsole(browser, env.url);
    await waitFor('4 tiles', async () => (await tileStates(page)).size === 4);
    // a drain with an HTML reason, started from outside, followed live by the page
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: ['agent-3'], reason: EVIL_REASON });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.advance(5000, 500);
    await waitFor('the reason shown', async () => ((await page.evaluate('document.body.innerText')) as string).includes('onerror="window.__xss=4"'));
    // open the detail of the hostile host and of the drained one
    for (const host of [EVIL_HOST, 'agent-3']) {
      const tiles = await page.$$('.tile');
      for (const t of tiles) if ((await t.evaluate((e) => e.getAttribute('data-host'))) === host) await t.click();
      await waitFor(`detail of ${host.slice(0, 10)}`, async () => ((await page.evaluate('document.body.innerText')) as string).includes(host.split('\n')[0]!));
    }
    const text = (await page.evaluate('document.body.innerText')) as string;
    expect(text, 'the hostile host name is shown as text').to.include('evil-<img src=x onerror="window.__xss=1">');
    expect(text, 'the hostile rack is shown as text').to.include('rack-<img src=x');
    expect(await page.evaluate('window.__xss'), 'a payload ran').to.equal(undefined);
    const injected = (await page.evaluate(`[...document.querySelectorAll('img, iframe, object, embed, svg script, body script:not([src])')].length`)) as number;
    expect(injected, 'markup injected into the page').to.equal(0);
    const scripts = (await page.evaluate(`[...document.scripts].map((s) => s.src)`)) as string[];
    expect(scripts.every((s) => s.startsWith(env.url + '/console/')), scripts.join(',')).to.equal(true);
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });

  it('a page of another origin in the same browser can read neither the API nor the event stream', async () => {
    const served: string[] = [];
    const evil = http.createServer((req, res) => {
      served.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>evil</title><p>hi</p>');
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (evil.address() as AddressInfo).port;
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'domcontentloaded' });
      const outcome = (await page.evaluate(`(async () => {
        const out = {};
        for (const p of ['/api/v1/hosts', '/api/v1/events', '/api/v1/audit', '/metrics']) {
          try {
            const r = await fetch(${JSON.stringify(env.url)} + p, { mode: 'cors' });
            out[p] = 'read ' + r.status + ' ' + (await r.text()).slice(0, 50);
          } catch (e) { out[p] = 'blocked'; }
        }
        out.post = await fetch(${JSON.stringify(env.url)} + '/api/v1/hosts/maintenance/start', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ hosts: ['agent-1'] }) }).then((r) => r.type, () => 'blocked');
        out.es = await new Promise((resolve) => {
          const es = new EventSource(${JSON.stringify(env.url)} + '/api/v1/events');
          es.onmessage = () => { es.close(); resolve('read'); };
          es.onerror = () => { es.close(); resolve('blocked'); };
          setTimeout(() => { es.close(); resolve('timeout'); }, 5000);
        });
        return out;
      })()`)) as Record<string, string>;
      for (const p of ['/api/v1/hosts', '/api/v1/events', '/api/v1/audit', '/metrics']) expect(outcome[p], p).to.equal('blocked');
      expect(outcome['es']).to.equal('blocked');
      // the no-cors POST is opaque to the page, and Sluice refused it: agent-1 is not in maintenance
      const hosts = await api(env.url, 'GET', '/api/v1/hosts');
      expect(hosts.body.hosts.map((h: { hostname: string }) => h.hostname)).to.deep.equal(['agent-3']);
      await page.close();
    } finally {
      evil.close();
    }
  });
});
