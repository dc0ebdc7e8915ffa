/**
 * Audit entries of operator actions are on disk before the action is acknowledged: Sluice runs as a
 * child process (`node dist/src/cli/main.js start`, store on disk, tokens file) against the simulator
 * in this process; it is killed with SIGKILL the instant it answers, restarted on the same store, and
 * every entry seen before the kill — and the one of the action just answered — is still there.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import type { AuditEntry } from '../../src/audit/types.js';
import { startSim, type Sim } from '../../src/sim/index.js';
import { quietLogger, tmpDir } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';
import { spawnSluice, type Child } from '../e2e/maintenance-child.js';
import { call, people, writeTokensFile, type Identity } from './helpers.js';

describe('ops: audit entries survive kill -9 of Sluice right after the answer', function () {
  this.timeout(90_000);
  let sim: Sim;
  const children: ChildProcess[] = [];

  before(async () => {
    sim = await startSim({ agents: 6, racks: 2, seed: 9, taskStartupDelayMs: 100, logger: quietLogger() });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await sim.close();
  });

  it('job changes and a maintenance start by named operators, each killed at its answer, are all in the audit after restart', async () => {
    const ids = people();
    const [vera, otto, ada] = ids as [Identity, Identity, Identity];
    const storeDir = tmpDir('sluice-audit-crash-');
    const args = ['--api-tokens-file', writeTokensFile(ids)];
    const start = async (): Promise<Child> => {
      const c = await spawnSluice(sim.url, storeDir, { args });
      children.push(c.proc);
      return c;
    };
    const killed = async (c: Child) => {
      c.proc.kill('SIGKILL');
      await c.exited;
    };
    const audit = async (c: Child, q = '') => (await call(c.url, 'GET', `/api/v1/audit?after=0&limit=1000${q}`, { token: vera.token })).body.entries as AuditEntry[];

    const answered: Array<{ rid: string; actor: string; action: string }> = [];
    const steps: Array<{ who: Identity; method: string; path: string; body?: unknown; status: number[]; action: string }> = [
      { who: otto, method: 'POST', path: '/api/v1/jobs', body: job('web', 2), status: [201], action: 'job_create' },
      { who: ada, method: 'PUT', path: '/api/v1/jobs/web', body: job('web', 3), status: [200, 202], action: 'job_update' },
      { who: otto, method: 'DELETE', path: '/api/v1/jobs/web', status: [202], action: 'job_delete' },
    ];
    let c = await start();
    for (const s of steps) {
      const before = await audit(c);
      const r = await call(c.url, s.method, s.path, { token: s.who.token, body: s.body });
      await killed(c); // the instant the answer is in
      expect(r.status, JSON.stringify(r.body)).to.be.oneOf(s.status);
      answered.push({ rid: r.headers.get('x-request-id')!, actor: s.who.name, action: s.action });
      c = await start();
      const after = await audit(c);
      expect(after.slice(0, before.length), 'nothing seen before the kill is lost').to.deep.equal(before);
      for (const a of answered) {
        const e = after.find((x) => x.request_id === a.rid);
        expect(e, `${a.action} by ${a.actor} (${a.rid}) after kill -9`).to.include({ kind: 'request', actor: a.actor, action: a.action, job: 'web' });
      }
    }

    // a maintenance start: its host transitions, answered 202, are durable too
    const m = await call(c.url, 'POST', '/api/v1/hosts/maintenance/start', { token: ada.token, body: { hosts: ['agent-2'], reason: 'RAID controller' } });
    expect(m.status, JSON.stringify(m.body)).to.equal(202);
    const seen = await audit(c, '&host=agent-2');
    expect(seen.length, 'transitions of agent-2 at the answer').to.be.at.least(1);
    await killed(c);
    c = await start();
    const kept = await audit(c, '&host=agent-2');
    expect(kept.slice(0, seen.length)).to.deep.equal(seen);
    // numbering goes on after the restarts: strictly increasing, no seq reused
    const all = await audit(c);
    for (let i = 1; i < all.length; i++) expect(all[i]!.seq).to.equal(all[i - 1]!.seq + 1);
    await killed(c);
  });
});
