/**
 * The audit trail of a drain, end to end (real Sluice, real simulator over loopback HTTP): the
 * operator's request with its actor and reason, each drain kill (job, task id), each inverse-offer
 * answer, machine down and up — durable in the store before they reach `app.journal` — and the
 * reason recorded on the host and shown by the read views (hosts, requests).
 */
import { expect } from 'chai';
import { AUDIT_COLLECTION, type AuditEntry } from '../../src/audit/types.js';
import { api } from '../e2e/workload-helpers.js';
import { hostStates, startWebOnTwelveAgents } from '../e2e/maintenance-helpers.js';

describe('audit trail of a drain (runtime, over real HTTP against the simulator)', function () {
  this.timeout(120_000);

  it('request, kills, inverse-offer answers, machine down and up: with actor and reason, durable, on app.journal', async () => {
    const env = await startWebOnTwelveAgents();
    try {
      expect(env.app.journal, 'the app exposes the runtime\'s journal').to.equal(env.app.runtime.journal);
      const seen: AuditEntry[] = [];
      env.app.journal.subscribe((e) => seen.push(e));
      const fw = env.frameworkId();
      const host = env.sim.groundTruth().find((t) => t.frameworkId === fw && t.taskId.startsWith('web.'))!.hostname;
      const tasksThere = env.sim.groundTruth().filter((t) => t.frameworkId === fw && t.hostname === host).map((t) => t.taskId);

      const bad = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], reason: 'line\u0007bell' });
      expect(bad.status).to.equal(400);
      expect(bad.body.details[0].path).to.equal('reason');

      const r = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], reason: 'firmware upgrade (TICKET-7)' });
      expect(r.status, JSON.stringify(r.body)).to.equal(202);
      const requestId = r.body.request_id as string;
      await env.until(`${host} DOWN`, async () => (await hostStates(env)).get(host)?.state === 'DOWN', 600_000, 2000);

      const start = seen.filter((e) => e.kind === 'request' && e.action === 'start');
      expect(start).to.have.length(1);
      expect(start[0]).to.include({ actor: 'local', reason: 'firmware upgrade (TICKET-7)', request_id: requestId });
      const kills = seen.filter((e) => e.kind === 'drain_kill' && e.host === host);
      expect(kills.map((e) => e.task_id).sort()).to.deep.equal([...tasksThere].sort());
      for (const k of kills) expect(k.job).to.equal('web');
      const answers = seen.filter((e) => e.kind === 'inverse_offer' && e.host === host);
      expect(answers.map((e) => e.detail?.['answer'])).to.include('ACCEPT');
      expect(seen.filter((e) => e.kind === 'machine_down').map((e) => e.host)).to.deep.equal([host]);

      // the host and the requests view carry who and why
      const h = (await hostStates(env)).get(host)!;
      expect(h).to.include({ actor: 'local', reason: 'firmware upgrade (TICKET-7)' });
      const reqs = await api(env.url, 'GET', '/api/v1/hosts/requests');
      expect(reqs.status).to.equal(200);
      expect(reqs.body.requests).to.deep.equal([{ request_id: requestId, actor: 'local', reason: 'firmware upgrade (TICKET-7)', hosts: [{ hostname: host, state: 'DOWN' }], states: { DOWN: 1 }, pending: false, paused_hosts: 0, paused: false, max_parallel: null, timeout_ms: null }]);

      const c = await api(env.url, 'POST', '/api/v1/hosts/maintenance/complete', { hosts: [host], reason: 'done' });
      expect(c.status, JSON.stringify(c.body)).to.equal(200);
      const end = seen.filter((e) => e.kind === 'request' && e.action === 'complete');
      expect(end).to.have.length(1);
      expect(end[0]).to.include({ actor: 'local', reason: 'done' });
      expect(seen.filter((e) => e.kind === 'machine_up').map((e) => e.host)).to.deep.equal([host]);
      expect((await hostStates(env)).get(host)!['ended']).to.include({ verb: 'complete', actor: 'local', reason: 'done' });

      // every entry published is in the store (written in the batch of the change it describes)
      const stored = new Set(env.app.store.list<AuditEntry>(AUDIT_COLLECTION).map(([, e]) => e.seq));
      expect(seen.filter((e) => !stored.has(e.seq)).map((e) => e.seq)).to.deep.equal([]);
    } finally {
      await env.stop();
    }
  });
});
