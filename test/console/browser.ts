/**
 * Helpers of the console's browser tests: Debian's Chromium driven by puppeteer-core (no browser
 * download; scripts/test-deps.sh installs the `chromium` package), and the page's view of the hosts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { realDelay } from '../e2e/workload-helpers.js';

export const CHROMIUM = process.env['SLUICE_CHROMIUM'] || '/usr/bin/chromium';

/** Where screenshots go (gitignored): test-artifacts/console/ at the repository root. */
export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts/console');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (bash scripts/test-deps.sh) or set SLUICE_CHROMIUM`);
  const args = ['--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'];
  if (process.getuid?.() === 0) args.push('--no-sandbox'); // a CI container as root: Chromium's sandbox needs a user namespace
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args, defaultViewport: { width: 1400, height: 900 } });
}

/** Opens the console; page errors and CSP violations fail the test that reads `errors`. */
export async function openConsole(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${(e as Error).message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[19]/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png` });
  return file;
}

/** host → state word shown on its tile (text, not colour). */
export async function tileStates(page: Page): Promise<Map<string, string>> {
  const list = await page.$$eval('.tile', (els) => els.map((e) => [e.getAttribute('data-host') ?? '', (e.querySelector('.st')?.textContent ?? '').split(' ').pop() ?? '']));
  return new Map(list as Array<[string, string]>);
}

/**
 * Records, in the page, every state word each tile shows (a MutationObserver on the tiles' text):
 * what an operator watching the page saw. Read it with `shownStates`.
 */
export async function recordTileStates(page: Page): Promise<void> {
  // (page code as a string: the test build has no DOM types)
  await page.evaluate(`(() => {
    window.shown = {};
    const note = (tile) => {
      const host = tile && tile.getAttribute('data-host');
      const st = ((tile && tile.querySelector('.st') && tile.querySelector('.st').textContent) || '').split(' ').pop();
      if (!host || !st) return;
      const l = (window.shown[host] = window.shown[host] || []);
      if (l[l.length - 1] !== st) l.push(st);
    };
    document.querySelectorAll('.tile').forEach(note);
    new MutationObserver((muts) => {
      for (const m of muts) {
        const n = m.target.nodeType === 1 ? m.target : m.target.parentElement;
        note(n && n.closest('.tile'));
      }
    }).observe(document.getElementById('racks'), { subtree: true, childList: true, characterData: true });
  })()`);
}

export async function shownStates(page: Page): Promise<Record<string, string[]>> {
  return (await page.evaluate('window.shown')) as Record<string, string[]>;
}

/** Waits (real time, the virtual clock standing still) until `cond` holds. */
export async function waitFor<T>(what: string, cond: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await realDelay(50);
  }
}
