/**
 * What the CLI prints for the API's answers, against a real Sluice over the simulator: each SLA
 * blocker says its job once, and an error's details are not printed twice.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { hostStates, startWebOnTwelveAgents } from '../e2e/maintenance-helpers.js';
import { api, type Env } from '../e2e/workload-helpers.js';

async function cli(env: Env, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const code = await main([...argv, '--api', env.url], { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), env: {}, cwd: process.cwd() });
  return { code, out, err };
}

describe('CLI: rendering API answers', function () {
  this.timeout(120_000);
  let env: Env;
  before(async () => {
    env = await startWebOnTwelveAgents();
  });
  after(() => env?.stop());

  it('an error with details prints each detail once (no repeated "did you mean")', async () => {
    const r = await cli(env, 'host', 'maintenance', 'start', 'agent-1,agnet-2');
    expect(r.code).to.equal(3);
    expect(r.err).to.match(/^error \(HTTP 400\): /);
    expect(r.err.match(/did you mean agent-2/g), r.err).to.have.length(1);
    expect(r.err.split('\n').filter((l) => l.trim()).length, r.err).to.equal(1);
  });

  it('SLA blockers name their job once', async () => {
    const web = await api(env.url, 'GET', '/api/v1/jobs/web');
    const hosts = [...new Set<string>(web.body.instances.map((i: { host: string }) => i.host))].slice(0, 5);
    expect(hosts).to.have.length(5);
    const start = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts });
    expect(start.status, JSON.stringify(start.body)).to.equal(202);
    await env.until(
      'a host blocked by the SLA of web',
      async () => [...(await hostStates(env)).values()].some((h) => (h['blockers'] as unknown[] | undefined)?.length),
      120_000,
      1000,
    );
    const q = await cli(env, 'host', 'query');
    expect(q.code, q.err).to.equal(0);
    const lines = q.out.split('\n');
    const blockers = lines.slice(lines.indexOf('SLA blockers:') + 1).filter((l) => l.startsWith('  '));
    expect(blockers.length, q.out).to.be.greaterThan(0);
    for (const l of blockers) {
      expect(l, q.out).to.match(/^ {2}agent-\d+: job web: /);
      expect(l, q.out).not.to.match(/job web: job web:/);
    }
  });
});
