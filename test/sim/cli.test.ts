/** `sluice sim` entry point (src/sim/cli.ts). */
import { expect } from 'chai';
import { parseSimArgs, runSimCli } from '../../src/sim/cli.js';
import type { Sim } from '../../src/sim/index.js';
import { nullLogger } from '../../src/util/logger.js';
import { request } from './helpers.js';

describe('sim CLI', () => {
  it('parses flags (both --flag v and --flag=v) and rejects bad ones', () => {
    expect(parseSimArgs(['--agents', '12', '--racks=3', '--port', '0', '--masters', '2', '--seed', '9'])).to.include({
      agents: 12,
      racks: 3,
      port: 0,
      masters: 2,
      seed: 9,
    });
    expect(parseSimArgs(['--help'])).to.equal('help');
    expect(() => parseSimArgs(['--agents', 'x'])).to.throw('--agents needs a whole number');
    expect(() => parseSimArgs(['--racks', '0'])).to.throw('--racks must be at least 1');
    expect(() => parseSimArgs(['--bogus'])).to.throw('unknown argument --bogus');
  });

  it('starts a real-time simulator, prints the URLs, serves them, and stops when asked', async () => {
    const out: string[] = [];
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    let sim: Sim | undefined;
    const done = runSimCli(['--agents', '4', '--racks', '2', '--port', '0', '--masters', '2'], undefined, {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      until,
      logger: nullLogger(),
      onStarted: (s) => (sim = s),
    });
    for (let i = 0; i < 200 && !sim; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sim).to.not.equal(undefined);
    expect(out.join('\n')).to.contain(`leader: ${sim!.url}`);
    expect(out.join('\n')).to.contain(`masters: ${sim!.urls.join(' ')}`);
    const state = JSON.parse((await request(sim!.url, { path: '/master/state' })).text) as { slaves: Array<{ attributes: { rack: string } }> };
    expect(state.slaves).to.have.length(4);
    expect(new Set(state.slaves.map((s) => s.attributes.rack))).to.deep.equal(new Set(['rack-1', 'rack-2']));
    stop();
    expect(await done).to.equal(0);
    expect(out[out.length - 1]).to.equal('simulator stopped');
  });

  it('exit code 2 and usage on bad arguments; 0 and usage for --help', async () => {
    const lines: string[] = [];
    expect(await runSimCli(['--nope'], undefined, { out: (l) => lines.push(l), err: (l) => lines.push(l), until: Promise.resolve() })).to.equal(2);
    expect(lines[0]).to.equal('sluice sim: unknown argument --nope');
    expect(await runSimCli(['-h'], undefined, { out: (l) => lines.push(l), err: (l) => lines.push(l) })).to.equal(0);
    expect(lines[lines.length - 1]).to.match(/^Usage: sluice sim/);
  });
});
