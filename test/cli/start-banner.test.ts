/**
 * `sluice start` as a newcomer runs it (embedded simulator, ephemeral API port, temp store): the
 * banner shows how to drain a host, not only the job commands. A real child process.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

describe('sluice start: the banner', function () {
  this.timeout(60_000);

  it('lists the host-maintenance verbs with the API it listens on', async () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-banner-'));
    const proc = spawn(process.execPath, [MAIN, 'start', '--api-listen', '127.0.0.1:0', '--store', store, '--no-demo', '--sim-agents', '3', '--sim-racks', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
    });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ctrl-C stops Sluice')) resolve();
        });
        proc.on('exit', (code) => reject(new Error(`sluice start exited ${code} before its banner:\n${out}\n${err}`)));
      });
      const api = /operator API:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      expect(api, out).to.be.a('string');
      const drain = out.slice(out.indexOf('Drain a host'));
      expect(out).to.contain('Drain a host');
      for (const verb of [
        'host query',
        'sla probe <host>',
        'host maintenance start <host> --dry-run',
        'host maintenance start <host>',
        'host maintenance complete <host>',
        'host maintenance abort <host>',
      ]) {
        expect(drain, verb).to.contain(`  sluice ${verb} --api ${api}`);
      }
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
      fs.rmSync(store, { recursive: true, force: true });
    }
  });
});
