/**
 * The audit journal: the pure backlog (seq order, gaps, bounded) and the runtime's side of the
 * contract (src/audit/types.ts) end to end — a drain's host transitions are numbered, on disk in the
 * store before they reach the journal, and numbering continues across a restart.
 */
import { expect } from 'chai';
import { MemoryJournal } from '../../src/audit/journal.js';
import { AUDIT_COLLECTION, auditKey, seqOfKey, type AuditEntry } from '../../src/audit/types.js';
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../e2e/workload-helpers.js';
import { hostStates, startWebOnTwelveAgents } from '../e2e/maintenance-helpers.js';

/** The store's files as text (WAL records carry their JSON payload as is). */
function onDisk(dir: string): string {
  return ['wal.log', 'snapshot.json'].map((f) => {
    try {
      return fs.readFileSync(path.join(dir, f), 'latin1');
    } catch {
      return '';
    }
  }).join('\n');
}

const entry = (seq: number): AuditEntry => ({ seq, kind: 'host_transition', ts_ms: seq * 1000, actor: 'sluice', host: `h${seq}` });

describe('audit journal (pure backlog)', () => {
  it('returns what follows a seq, in order, and says "gap" once it was dropped', () => {
    const j = new MemoryJournal(3);
    const seen: number[] = [];
    const off = j.subscribe((e) => seen.push(e.seq));
    j.publish([entry(1), entry(2), entry(3)]);
    expect(j.since(0)).to.deep.equal([entry(1), entry(2), entry(3)]);
    expect(j.since(2)).to.deep.equal([entry(3)]);
    j.publish([entry(4), entry(5)]);
    expect(j.firstSeq).to.equal(3);
    expect(j.since(1)).to.equal('gap');
    expect(j.since(2)).to.deep.equal([entry(3), entry(4), entry(5)]);
    expect(j.since(5)).to.deep.equal([]);
    expect(j.since(99)).to.deep.equal([]);
    off();
    j.publish([entry(6)]);
    expect(seen).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('refuses entries out of order and survives a throwing subscriber', () => {
    const j = new MemoryJournal(10, [entry(7), entry(5)]);
    expect(j.lastSeq).to.equal(7);
    expect(() => j.publish([entry(7)])).to.throw(RangeError);
    const seen: number[] = [];
    j.subscribe(() => {
      throw new Error('subscriber bug');
    });
    j.subscribe((e) => seen.push(e.seq));
    j.publish([entry(8)]);
    expect(seen).to.deep.equal([8]);
    expect(j.since(4)).to.deep.equal([entry(5), entry(7), entry(8)]);
    expect(j.since(3)).to.equal('gap');
  });

  it('keys sort in seq order', () => {
    expect(auditKey(9) < auditKey(10)).to.equal(true);
    expect(seqOfKey(auditKey(123))).to.equal(123);
    expect(seqOfKey('../x')).to.equal(undefined);
  });
});

describe('audit journal (runtime, over real HTTP against the simulator)', function () {
  this.timeout(120_000);

  it('a drain\'s host transitions are durable, numbered and published; numbering continues after a restart', async () => {
    const env = await startWebOnTwelveAgents();
    try {
      const runtime = () => env.app.runtime;
      const live: AuditEntry[] = [];
      const notOnDisk: number[] = [];
      runtime().journal.subscribe((e) => {
        // published only once durable: the entry is already in the store files
        if (!onDisk(env.storeDir).includes(`"${AUDIT_COLLECTION}","${auditKey(e.seq)}"`)) notOnDisk.push(e.seq);
        live.push(e);
      });
      const host = env.sim.groundTruth().find((t) => t.frameworkId === env.frameworkId())!.hostname;
      const r = await api(env.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] });
      expect(r.status, JSON.stringify(r.body)).to.be.oneOf([200, 201, 202]);
      await env.until(`${host} DOWN`, async () => (await hostStates(env)).get(host)?.state === 'DOWN', 600_000, 2000);
      const moves = live.filter((e) => e.kind === 'host_transition' && e.host === host).map((e) => `${e.from}->${e.to}`);
      expect(moves).to.include('DRAINING->DRAINED');
      expect(moves[moves.length - 1]).to.match(/->DOWN$/);
      expect(notOnDisk, 'entries published before they were in the store files').to.deep.equal([]);
      const seqs = live.map((e) => e.seq);
      expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).to.equal(seqs.length);
      const last = runtime().journal.lastSeq;
      expect(last).to.equal(seqs[seqs.length - 1]);

      await env.restartSluice();
      expect(runtime().journal.lastSeq, 'the backlog is reloaded from the store').to.equal(last);
      expect(runtime().journal.since(0)).to.not.equal('gap');
      const after: AuditEntry[] = [];
      runtime().journal.subscribe((e) => after.push(e));
      expect((await api(env.url, 'POST', '/api/v1/hosts/maintenance/complete', { hosts: [host] })).status).to.be.oneOf([200, 202]);
      await env.until(`${host} UP`, async () => (await hostStates(env)).get(host)?.state === 'UP', 120_000, 1000);
      expect(after.length).to.be.greaterThan(0);
      expect(after[0]!.seq).to.equal(last + 1);
    } finally {
      await env.stop();
    }
  });
});
