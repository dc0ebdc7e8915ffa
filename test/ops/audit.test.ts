/**
 * The audit read side over real HTTP against a real Sluice and the simulator: filters, pages by
 * seq (through the journal's backlog and the store's older entries alike), bounded retention by
 * count and by age (kept across a restart), hostile stored entries, and the CLI (`sluice audit`,
 * `sluice host history`).
 */
import { expect } from 'chai';
import type { FlagValues } from '../../src/config.js';
import { FileStore } from '../../src/store/index.js';
import { AUDIT_COLLECTION, auditKey, type AuditEntry } from '../../src/audit/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import type { Logger } from '../../src/util/logger.js';
import { startEnv, tmpDir, type Env } from '../e2e/workload-helpers.js';
import { job } from '../e2e/maintenance-helpers.js';
import { call, cli, people, recordingLogger, writeTokensFile, type Identity } from './helpers.js';

type Rig = Env;

/** A real Sluice and simulator (6 agents); `journalCapacity`: entries the runtime keeps in memory. */
function rig(flags: FlagValues, o: { journalCapacity?: number; storeDir?: string; logger?: Logger } = {}): Promise<Env> {
  return startEnv({
    sim: { agents: 6, racks: 2, seed: 11, taskStartupDelayMs: 200 },
    flags,
    ...(o.storeDir ? { storeDir: o.storeDir } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.journalCapacity ? { runtime: { journalCapacity: o.journalCapacity } } : {}),
  });
}

/** Advances virtual time until `cond` holds, letting the loop finish what each tick queued. */
async function settle(r: Env, what: string, cond: () => boolean): Promise<void> {
  await r.until(what, async () => {
    await r.app.runtime.whenIdle();
    return cond();
  }, 60_000, 500);
}

const seqs = (es: AuditEntry[]) => es.map((e) => e.seq);

describe('ops: the audit endpoint (filters, pages, journal + store)', function () {
  this.timeout(120_000);
  let r: Rig;
  let ids: Identity[];
  let all: AuditEntry[];

  before(async () => {
    ids = people();
    // a journal of 4 entries: most of the trail is read from the store
    r = await rig({ 'api-tokens-file': writeTokensFile(ids) }, { journalCapacity: 4 });
    const [, otto, ada] = ids as [Identity, Identity, Identity];
    for (let i = 0; i < 6; i++) expect((await call(r.url, 'POST', '/api/v1/jobs', { token: otto.token, body: job(`o${i}`, 1) })).status).to.equal(201);
    await r.advance(3_600_000, 60_000); // an hour later
    for (let i = 0; i < 6; i++) expect((await call(r.url, 'POST', '/api/v1/jobs', { token: ada.token, body: job(`a${i}`, 1) })).status).to.equal(201);
    const s = await call(r.url, 'POST', '/api/v1/hosts/maintenance/start', { token: ada.token, body: { hosts: ['agent-1'], reason: 'firmware' } });
    expect(s.status, JSON.stringify(s.body)).to.equal(202);
    await r.advance(20_000);
    await r.app.runtime.whenIdle();
    const page = await call(r.url, 'GET', '/api/v1/audit?after=0&limit=1000', { token: ids[0]!.token });
    expect(page.status).to.equal(200);
    all = page.body.entries;
  });
  after(async () => r?.stop());

  it('reads the whole retained trail in seq order, exactly what the store holds', () => {
    const stored = r.app.store.list<AuditEntry>(AUDIT_COLLECTION).map(([, e]) => e).sort((a, b) => a.seq - b.seq);
    expect(stored.length).to.be.greaterThan(12);
    expect(all).to.deep.equal(stored);
    for (let i = 1; i < all.length; i++) expect(all[i]!.seq).to.equal(all[i - 1]!.seq + 1);
    expect(all.filter((e) => e.kind === 'host_transition' && e.host === 'agent-1').length).to.be.at.least(1);
  });

  it('pages forward (after) and back (before) give the same entries, none twice', async () => {
    const token = ids[0]!.token;
    const fwd: AuditEntry[] = [];
    let after = 0;
    for (;;) {
      const p = (await call(r.url, 'GET', `/api/v1/audit?after=${after}&limit=5`, { token })).body;
      fwd.push(...p.entries);
      if (!p.more) break;
      expect(p.entries).to.have.length(5);
      after = p.next_after;
    }
    expect(seqs(fwd)).to.deep.equal(seqs(all));
    const back: AuditEntry[][] = [];
    let q = '/api/v1/audit?limit=5';
    for (;;) {
      const p = (await call(r.url, 'GET', q, { token })).body;
      back.unshift(p.entries);
      if (!p.more) break;
      q = `/api/v1/audit?limit=5&before=${p.prev_before}`;
    }
    expect(seqs(back.flat())).to.deep.equal(seqs(all));
    const newest = (await call(r.url, 'GET', '/api/v1/audit?limit=3', { token })).body;
    expect(seqs(newest.entries)).to.deep.equal(seqs(all.slice(-3)));
    expect(newest).to.include({ last_seq: all[all.length - 1]!.seq, first_seq: all[0]!.seq });
  });

  it('filters by actor, kind, host and time (since/until on Sluice\'s clock)', async () => {
    const token = ids[0]!.token;
    const get = async (q: string) => (await call(r.url, 'GET', `/api/v1/audit?limit=1000&${q}`, { token })).body.entries as AuditEntry[];
    const otto = await get('actor=otto');
    expect(otto.map((e) => `${e.action}:${e.job}`)).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => `job_create:o${i}`));
    // (ada's maintenance start is a request too, once the maintenance module records requests)
    const ada = (await get('actor=ada&kind=request')).filter((e) => e.action?.startsWith('job_'));
    expect(ada.map((e) => e.job)).to.deep.equal(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
    const host = await get('host=AGENT-1&kind=host_transition,machine_down');
    expect(host.length).to.be.at.least(1);
    for (const e of host) expect(e.host).to.equal('agent-1');
    const recent = await get('since=30m');
    expect(recent.some((e) => e.actor === 'otto')).to.equal(false);
    expect(recent.filter((e) => e.actor === 'ada' && e.action?.startsWith('job_'))).to.have.length(6);
    const early = await get(`until=${new Date(otto[5]!.ts_ms).toISOString()}`);
    expect(early.every((e) => e.ts_ms <= otto[5]!.ts_ms)).to.equal(true);
    expect(early.filter((e) => e.actor === 'otto')).to.have.length(6);
  });

  it('a bad query is a 400 listing every problem', async () => {
    const r1 = await call(r.url, 'GET', '/api/v1/audit?kind=drain_kill,nope&limit=0&since=yesterday&after=1&before=9&color=red', { token: ids[0]!.token });
    expect(r1.status).to.equal(400);
    const paths = r1.body.details.map((d: { path: string }) => d.path).sort();
    expect(paths).to.deep.equal(['before', 'color', 'kind', 'limit', 'since']);
    expect((await call(r.url, 'GET', '/api/v1/audit?host=a%0Ab', { token: ids[0]!.token })).status).to.equal(400);
  });

  it('the CLI: sluice audit (table and --json), sluice host history, bad flags', async () => {
    const env = { SLUICE_API: r.url, SLUICE_API_TOKEN: ids[0]!.token };
    const j = await cli(['audit', '--actor', 'otto', '--json'], env);
    expect(j.code, j.err).to.equal(0);
    expect(JSON.parse(j.out).entries.map((e: AuditEntry) => e.job)).to.deep.equal(['o0', 'o1', 'o2', 'o3', 'o4', 'o5']);
    const t = await cli(['audit', '--limit', '3'], env);
    expect(t.code, t.err).to.equal(0);
    expect(t.out).to.match(/SEQ\s+TIME\s+ACTOR\s+KIND\s+HOST\s+WHAT\s+REASON/);
    expect(t.out.trim().split('\n')).to.have.length(5); // header, 3 entries, "older entries" hint
    expect(t.out).to.contain(`sluice audit --before ${all[all.length - 3]!.seq}`);
    const h = await cli(['host', 'history', 'agent-1'], env);
    expect(h.code, h.err).to.equal(0);
    expect(h.out).to.contain('history of agent-1');
    expect(h.out).to.match(/→ (DRAINING|SCHEDULED|DRAINED|DOWN)/);
    const hj = JSON.parse((await cli(['host', 'history', 'agent-1', '--json'], env)).out);
    expect(hj.entries.length).to.equal(all.filter((e) => e.host === 'agent-1' || (Array.isArray(e.detail?.['hosts']) && (e.detail!['hosts'] as string[]).includes('agent-1'))).length);
    const none = await cli(['host', 'history', 'agent-6'], env);
    expect(none.out).to.contain('no audit entries for agent-6');
    expect((await cli(['audit', '--limit', '0'], env)).code).to.equal(2);
    const bad = await cli(['audit', '--since', 'yesterday'], env);
    expect(bad.code).to.equal(3);
    expect(bad.err).to.contain('since');
    const noToken = await cli(['audit'], { SLUICE_API: r.url });
    expect(noToken.code).to.equal(3);
  });
});

describe('ops: audit retention (count, age, restarts, hostile stored entries)', function () {
  this.timeout(120_000);

  it('audit_retention=5: the store keeps the newest 5, across a restart, and numbering goes on', async () => {
    const r = await rig({ 'audit-retention': '5' });
    try {
      for (let i = 0; i < 12; i++) expect((await call(r.url, 'POST', '/api/v1/jobs', { body: job(`j${i}`, 1) })).status).to.equal(201);
      const held = () => r.app.store.list<AuditEntry>(AUDIT_COLLECTION).map(([, e]) => e.seq).sort((a, b) => a - b);
      await settle(r, 'pruned to 5', () => held().length === 5);
      expect(held()).to.deep.equal([8, 9, 10, 11, 12]);
      const page = (await call(r.url, 'GET', '/api/v1/audit?after=0')).body;
      expect(seqs(page.entries), 'readers see only what is retained').to.deep.equal([8, 9, 10, 11, 12]);
      expect(page.first_seq).to.equal(8);
      await r.restartSluice();
      expect(held()).to.deep.equal([8, 9, 10, 11, 12]);
      expect((await call(r.url, 'POST', '/api/v1/jobs', { body: job('after-restart', 1) })).status).to.equal(201);
      await settle(r, 'pruned to 5 again', () => held()[0] === 9);
      expect(held()).to.deep.equal([9, 10, 11, 12, 13]);
      expect(r.app.store.get<AuditEntry>(AUDIT_COLLECTION, auditKey(13))).to.include({ job: 'after-restart', actor: 'local' });
    } finally {
      await r.stop();
    }
  });

  it('audit_retention=1000,1h: entries older than an hour go, younger ones stay', async () => {
    const r = await rig({ 'audit-retention': '1000,1h' });
    try {
      for (let i = 0; i < 3; i++) expect((await call(r.url, 'POST', '/api/v1/jobs', { body: job(`old${i}`, 1) })).status).to.equal(201);
      await r.advance(40 * 60_000, 60_000);
      expect((await call(r.url, 'POST', '/api/v1/jobs', { body: job('young', 1) })).status).to.equal(201);
      await r.advance(30 * 60_000, 60_000); // the first three are 70 min old, the last 30 min
      await settle(r, 'old ones pruned', () => r.app.store.list(AUDIT_COLLECTION).length === 1);
      const left = r.app.store.list<AuditEntry>(AUDIT_COLLECTION).map(([, e]) => e.job);
      expect(left).to.deep.equal(['young']);
      expect((await call(r.url, 'GET', '/api/v1/audit')).body.entries.map((e: AuditEntry) => e.job)).to.deep.equal(['young']);
    } finally {
      await r.stop();
    }
  });

  it('stored entries that are not valid audit entries are removed at start (logged), never served', async () => {
    const storeDir = tmpDir('sluice-audit-bad-');
    const st = await FileStore.open(storeDir);
    const ts = new VirtualClock().now() - 60_000; // the rig's clock starts where every VirtualClock does
    const ok: AuditEntry = { seq: 1, kind: 'request', ts_ms: ts, actor: 'alice', action: 'job_create', job: 'x' };
    await st.batch([
      { op: 'put', collection: AUDIT_COLLECTION, key: auditKey(1), value: ok },
      { op: 'put', collection: AUDIT_COLLECTION, key: 'not-a-seq', value: { seq: 2, kind: 'request', ts_ms: 2, actor: 'mallory' } },
      { op: 'put', collection: AUDIT_COLLECTION, key: auditKey(3), value: 'garbage' },
      { op: 'put', collection: AUDIT_COLLECTION, key: auditKey(4), value: { seq: 9, kind: 'request', ts_ms: 4, actor: 'mallory' } },
    ]);
    await st.close();
    const log = recordingLogger();
    const r = await rig({}, { storeDir, logger: log.logger });
    try {
      await settle(r, 'invalid entries removed', () => r.app.store.list(AUDIT_COLLECTION).length === 1);
      expect(r.app.store.list(AUDIT_COLLECTION).map(([k]) => k)).to.deep.equal([auditKey(1)]);
      expect(log.text()).to.contain('audit_invalid_entries_removed');
      const served = (await call(r.url, 'GET', '/api/v1/audit?after=0')).body.entries;
      expect(served.map((e: AuditEntry) => e.actor)).to.not.include('mallory');
      expect((await call(r.url, 'POST', '/api/v1/jobs', { body: job('next', 1) })).status).to.equal(201);
      const newest = (await call(r.url, 'GET', '/api/v1/audit?limit=1')).body.entries[0];
      expect(newest).to.include({ job: 'next', actor: 'local' });
      expect(newest.seq).to.be.greaterThan(1);
    } finally {
      await r.stop();
    }
  });
});
