/**
 * `sluice --help` and `sluice <command> --help` load no part of the server: the command registry
 * imports a command's module only when it runs (src/cli/commands/index.ts). Checked on the real
 * binary in a child process whose every loaded module is recorded (test/helpers/load-recorder.ts).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COMMANDS } from '../../src/cli/commands/index.js';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(DIST, 'src/cli/main.js');
const RECORDER = pathToFileURL(path.join(DIST, 'test/helpers/load-recorder.js')).href;
const SERVER = /\/dist\/src\/(runtime|api|sim|store|client|app|maintenance\/runtime-plugin)[/.]|\/node_modules\/(undici|winston|rxjs|prom-client|node-zookeeper-client)\//;

/** Runs `sluice argv` and returns the exit code, stdout and the URLs of every module it loaded. */
async function loaded(argv: string[], dir: string): Promise<{ code: number; out: string; urls: string[] }> {
  const log = path.join(dir, `loaded-${argv.join('_').replace(/[^\w-]/g, '')}.txt`);
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: dir, SLUICE_LOADED_LOG: log };
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', RECORDER, CLI, ...argv], { env, cwd: dir, timeout: 60_000 }, (e, stdout) => {
      if (e && typeof e.code !== 'number') return reject(e);
      const urls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      resolve({ code: e ? (e.code as number) : 0, out: stdout, urls });
    });
  });
}

describe('sluice --help loads no part of the server', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-lazy-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the recorder sees what a command loads (`sluice job example` loads src/scheduler/demo.js, nothing of the server)', async () => {
    const r = await loaded(['job', 'example'], dir);
    expect(r.code).to.equal(0);
    expect(r.out).to.contain('"name"');
    expect(r.urls.some((u) => u.endsWith('/dist/src/cli/main.js'))).to.equal(true);
    expect(r.urls).to.include(pathToFileURL(path.join(DIST, 'src/scheduler/demo.js')).href);
    expect(r.urls.filter((u) => SERVER.test(u))).to.deep.equal([]);
  });

  const cases = [['--help'], ['help'], ['help', 'start'], ...COMMANDS.map((c) => [c.name, '--help'])];
  for (const argv of cases) {
    it(`sluice ${argv.join(' ')}`, async () => {
      const r = await loaded(argv, dir);
      expect(r.code).to.equal(0);
      expect(r.out).to.match(/Usage/);
      expect(r.urls.length, 'nothing recorded: the recorder is not working').to.be.greaterThan(3);
      // `sluice sim --help` reads its text from src/sim/usage.ts, a string and nothing of the simulator
      const server = r.urls.filter((u) => SERVER.test(u) && !u.endsWith('/dist/src/sim/usage.js'));
      expect(server, `sluice ${argv.join(' ')} loaded the server`).to.deep.equal([]);
    });
  }
});
