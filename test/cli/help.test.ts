/** Every command answers --help with its usage on stdout and exit code 0 (operators reach for it first). */
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { COMMANDS } from '../../src/cli/commands/index.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(argv, { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, out, err };
}

describe('sluice --help', () => {
  it('sluice help <command> prints that command\'s usage', async () => {
    const r = await run(['help', 'job']);
    expect(r.code).to.equal(0);
    expect(r.out).to.contain('sluice job create');
  });

  it('lists every command', async () => {
    const r = await run(['--help']);
    expect(r.code).to.equal(0);
    for (const c of COMMANDS) expect(r.out).to.contain(c.name);
  });

  for (const c of COMMANDS) {
    it(`the registry's line for ${c.name} is the command module's own`, async () => {
      const m = await c.load();
      expect(m.name).to.equal(c.name);
      expect(m.summary).to.equal(c.summary);
    });
    for (const flag of ['--help', '-h']) {
      it(`sluice ${c.name} ${flag} prints its usage and exits 0`, async () => {
        const r = await run([c.name, flag]);
        expect(r.code, r.err).to.equal(0);
        expect(r.out).to.match(/Usage/i);
        expect(r.err).to.equal('');
      });
    }
  }

  it('an unknown command is a usage error on stderr', async () => {
    const r = await run(['nosuch']);
    expect(r.code).to.equal(2);
    expect(r.err).to.contain('unknown command');
  });
});
