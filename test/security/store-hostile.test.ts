/**
 * Hostile store files: a real store written by a real Sluice, then its snapshot and log replaced by
 * garbage, JSON of the wrong shape, prototype keys, absurd nesting and lengths, a directory, a FIFO.
 * `sluice store copy` (a child process) and Store.open must each give a clear error — a StoreError
 * naming the problem, exit status ≠ 0, no stack trace, no hang — or open what is really there.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Store, StoreError } from '../../src/store/index.js';
import { job } from '../e2e/maintenance-helpers.js';
import { api, startEnv, tmpDir } from '../e2e/workload-helpers.js';

const CLI = path.resolve('dist/src/cli/main.js');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function run(args: string[], ms: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), ms);
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('security: hostile store files (Store.open and sluice store copy)', function () {
  this.timeout(180_000);
  let good: string;

  before(async () => {
    const env = await startEnv({ sim: { agents: 2, racks: 1 } });
    expect((await api(env.url, 'POST', '/api/v1/jobs', job('web', 1))).status).to.equal(201);
    await env.advance(5000, 500);
    await env.stop();
    good = env.storeDir;
    // a snapshot too: compact once through the store itself
    const s = await Store.open(good, { logger: quiet });
    await s.compact();
    await s.close();
    expect(fs.existsSync(path.join(good, 'snapshot.json')), 'snapshot written').to.equal(true);
    expect(fs.existsSync(path.join(good, 'wal.log')), 'log written').to.equal(true);
  });

  const snap = (t: string | Buffer) => (dir: string) => fs.writeFileSync(path.join(dir, 'snapshot.json'), t);
  const wal = (f: (b: Buffer) => Buffer) => (dir: string) => fs.writeFileSync(path.join(dir, 'wal.log'), f(fs.readFileSync(path.join(dir, 'wal.log'))));
  const snapshotJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'snapshot.json'), 'utf8')) as Record<string, unknown>;
  const cases: Array<{ what: string; damage: (dir: string) => void }> = [
    { what: 'snapshot: random bytes', damage: snap(crypto.randomBytes(4096)) },
    { what: 'snapshot: empty file', damage: snap('') },
    { what: 'snapshot: JSON null', damage: snap('null') },
    { what: 'snapshot: an array', damage: snap('[1,2,3]') },
    { what: 'snapshot: cut in half', damage: (d) => snap(fs.readFileSync(path.join(d, 'snapshot.json')).subarray(0, 40))(d) },
    { what: 'snapshot: deep nesting', damage: snap('{"format":"sluice-store-snapshot","version":1,"x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}') },
    { what: 'snapshot: wrong types', damage: (d) => snap(JSON.stringify({ ...snapshotJson(d), generation: 'one', seq: -5, data: 'x' }))(d) },
    { what: 'snapshot: absurd numbers', damage: (d) => snap(JSON.stringify({ ...snapshotJson(d), generation: 1e308, seq: Number.MAX_SAFE_INTEGER * 4 }))(d) },
    { what: 'snapshot: prototype keys', damage: (d) => snap(JSON.stringify({ ...snapshotJson(d) }).replace(/^\{/, '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},'))(d) },
    { what: 'snapshot: a directory', damage: (d) => { fs.rmSync(path.join(d, 'snapshot.json')); fs.mkdirSync(path.join(d, 'snapshot.json')); } },
    { what: 'wal: random bytes', damage: wal((b) => crypto.randomBytes(b.length)) },
    { what: 'wal: only 7 bytes', damage: wal((b) => b.subarray(0, 7)) },
    { what: 'wal: zeros', damage: wal((b) => Buffer.alloc(b.length)) },
    { what: 'wal: a record length of 4 GiB', damage: wal((b) => { const c = Buffer.from(b); if (c.length > 132) c.writeUInt32LE(0xffffffff, 128); c.writeUInt32BE(0xffffffff, Math.min(c.length - 4, 64)); return c; }) },
    { what: 'wal: a directory', damage: (d) => { fs.rmSync(path.join(d, 'wal.log')); fs.mkdirSync(path.join(d, 'wal.log')); } },
    { what: 'wal: a FIFO', damage: (d) => { fs.rmSync(path.join(d, 'wal.log')); spawnSync('mkfifo', [path.join(d, 'wal.log')]); } },
    { what: 'snapshot: a FIFO', damage: (d) => { fs.rmSync(path.join(d, 'snapshot.json')); spawnSync('mkfifo', [path.join(d, 'snapshot.json')]); } },
  ];

  for (const c of cases) {
    it(c.what, async () => {
      const dir = tmpDir('sluice-hostile-store-');
      fs.cpSync(good, dir, { recursive: true });
      fs.rmSync(path.join(dir, 'LOCK'), { force: true });
      c.damage(dir);
      // the CLI, a child process that must end by itself
      const dest = tmpDir('sluice-hostile-dest-');
      const r = await run(['store', 'copy', '--from', `file:${dir}`, '--to', `file:${path.join(dest, 'copy')}`], 20_000);
      expect(r.signal, `store copy hung (${c.what})`).to.equal(null);
      expect(r.stderr, 'no stack trace').not.to.match(/\n\s+at .+:\d+:\d+/);
      if (r.code !== 0) expect(r.stderr.trim(), 'a clear error').to.match(/store|snapshot|wal|log|record|damaged|corrupt|not a/i);
      // in this process: a StoreError, never a TypeError/RangeError out of the parser
      let err: unknown;
      try {
        const s = await Promise.race([Store.open(dir, { logger: quiet }), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('Store.open hung')), 15_000))]);
        await s.close();
      } catch (e) {
        err = e;
      }
      if (err !== undefined) expect(err, String((err as Error)?.stack)).to.be.instanceOf(StoreError);
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
      expect(err !== undefined || r.code === 0, 'either refused or really opened').to.equal(true);
    });
  }
});
