/**
 * SUBSCRIBE semantics: stream headers and framing, heartbeats, ids, ERROR-on-200, re-subscribe
 * (failover), disconnect and failover_timeout, TEARDOWN (contract §1.3, §1.5, §1.7, §1.8;
 * gotchas 1, 4, 5, 21, 22, 23, 36).
 */
import { expect } from 'chai';
import { decodeAll } from '../../src/mesos/recordio.js';
import { protobufCodec, jsonCodec } from '../../src/mesos/codec.js';
import { EVENT, Stream, call, frameworkInfo, subscribeCall, subscribed, tick, withSim } from './helpers.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MASTER_ID = '40f70b3c-4931-4bd5-9732-f311965457d3';

describe('sim SUBSCRIBE', () => {
  it('200, chunked, negotiated Content-Type, fresh Mesos-Stream-Id per subscription', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const a = await subscribed(sim.url);
      const b = await subscribed(sim.url);
      expect(a.status).to.equal(200);
      expect(a.headers['transfer-encoding']).to.equal('chunked');
      expect(a.headers['content-length']).to.equal(undefined);
      expect(a.headers['content-type']).to.equal('application/json');
      expect(a.streamId).to.match(UUID_RE);
      expect(b.streamId).to.match(UUID_RE);
      expect(a.streamId).to.not.equal(b.streamId);
      a.destroy();
      b.destroy();
    });
  });

  it('SUBSCRIBED (15.0 s heartbeat, master_info as recorded), then an immediate HEARTBEAT, then OFFERS; ids follow the master id', async () => {
    await withSim({ agents: 3, masterId: MASTER_ID }, async (sim) => {
      const s = await Stream.open(sim.url, subscribeCall());
      const first = await s.next('SUBSCRIBED');
      expect(s.events[0]!.type).to.equal('SUBSCRIBED');
      await s.next('OFFERS');
      expect(s.events.map((e) => e.type).slice(0, 3)).to.deep.equal(['SUBSCRIBED', 'HEARTBEAT', 'OFFERS']);
      const text = s.raw[0]!.toString('utf8');
      expect(text).to.contain('"heartbeat_interval_seconds":15.0');
      expect(first.subscribed!.framework_id.value).to.equal(`${MASTER_ID}-0000`);
      const mi = first.subscribed!.master_info!;
      expect(mi.id).to.equal(MASTER_ID);
      expect(mi.ip).to.equal(16777343);
      expect(mi.hostname).to.equal('127.0.0.1');
      expect(mi.version).to.equal('1.12.0');
      expect(mi.pid).to.equal(`master@127.0.0.1:${mi.port}`);
      expect(mi.capabilities!.map((c) => c.type)).to.deep.equal(['AGENT_UPDATE', 'AGENT_DRAINING', 'QUOTA_V2']);
      const offers = s.events[2]!.offers!.offers!;
      expect(offers.map((o) => o.id.value)).to.deep.equal([`${MASTER_ID}-O0`, `${MASTER_ID}-O1`, `${MASTER_ID}-O2`]);
      expect(offers.map((o) => o.agent_id.value).sort()).to.deep.equal([`${MASTER_ID}-S0`, `${MASTER_ID}-S1`, `${MASTER_ID}-S2`]);
      // The second framework gets -0001.
      const t = await subscribed(sim.url);
      expect(t.frameworkId).to.equal(`${MASTER_ID}-0001`);
      s.destroy();
      t.destroy();
    });
  });

  it('RecordIO framing: every record is "<byte length>\\n<bytes>" (UTF-8 byte count)', async () => {
    await withSim({ agents: 2 }, async (sim) => {
      const s = await subscribed(sim.url, frameworkInfo({ name: 'é-framework' }));
      await s.next('OFFERS');
      const all = s.body;
      const recs = decodeAll(all);
      expect(recs.length).to.equal(s.raw.length);
      let off = 0;
      for (const r of recs) {
        const prefix = `${r.length}\n`;
        expect(all.subarray(off, off + prefix.length).toString('latin1')).to.equal(prefix);
        off += prefix.length + r.length;
      }
      expect(off).to.equal(all.length);
      expect(all.subarray(0, 0).length).to.equal(0);
      const hb = recs.find((r) => r.toString() === '{"type":"HEARTBEAT"}');
      expect(hb, 'HEARTBEAT record').to.not.equal(undefined);
      s.destroy();
    });
  });

  it('heartbeats every 15 s of clock time, and only then', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const s = await subscribed(sim.url);
      s.drain();
      await clock.advance(14_999);
      await tick();
      expect(s.drain().filter((e) => e.type === 'HEARTBEAT')).to.have.length(0);
      await clock.advance(1);
      await s.next('HEARTBEAT');
      await clock.advance(45_000);
      await tick(5);
      const hb = s.drain().filter((e) => e.type === 'HEARTBEAT').length;
      expect(hb).to.be.greaterThanOrEqual(2);
      // give the socket a moment for the third one
      for (let i = 0; i < 20 && s.events.filter((e) => e.type === 'HEARTBEAT').length < 5; i++) await tick();
      expect(s.events.filter((e) => e.type === 'HEARTBEAT').length).to.equal(5);
      s.destroy();
    });
  });

  it('a protobuf stream carries the same events (Accept: application/x-protobuf)', async () => {
    await withSim({ agents: 2, masterId: MASTER_ID }, async (sim) => {
      const s = await subscribed(sim.url, frameworkInfo(), { accept: 'application/x-protobuf' });
      const offers = await s.next('OFFERS');
      expect(s.headers['content-type']).to.equal('application/x-protobuf');
      // Raw record decodes with the protobuf codec and re-encodes identically.
      const rec = s.raw[2]!;
      expect(Buffer.compare(protobufCodec.encode(EVENT, protobufCodec.decode(EVENT, rec)), rec)).to.equal(0);
      expect(offers.offers!.offers!).to.have.length(2);
      expect(() => jsonCodec.decode(EVENT, rec)).to.throw();
      s.destroy();
    });
  });

  describe('ERROR on 200 for framework validation failures (gotcha 1)', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['invalid role', frameworkInfo({ role: '-bad' }), "'FrameworkInfo.role' is not a valid role: Role component '-bad' is invalid because it starts with a dash"],
      [
        'roles without MULTI_ROLE',
        frameworkInfo({ roles: ['a'] }),
        "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable",
      ],
      [
        'duplicate roles',
        frameworkInfo({ roles: ['a', 'a'], capabilities: [{ type: 'MULTI_ROLE' }] }),
        "'FrameworkInfo.roles' contains duplicate items: { a }",
      ],
      ['invalid failover_timeout', frameworkInfo({ failover_timeout: 1e20 }), 'The framework failover_timeout (1e+20) is invalid'],
    ];
    for (const [name, info, message] of cases) {
      it(name, async () => {
        await withSim({ agents: 1 }, async (sim) => {
          const s = await Stream.open(sim.url, subscribeCall(info));
          const e = await s.next('ERROR');
          await s.waitEnd();
          expect(s.status).to.equal(200);
          expect(e.error!.message).to.equal(message);
          expect(s.events.map((x) => x.type)).to.deep.equal(['ERROR']);
        });
      });
    }

    it('suppressed roles not in the framework roles', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const body = { type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo(), suppressed_roles: ['other'] } };
        const s = await Stream.open(sim.url, body);
        const e = await s.next('ERROR');
        expect(e.error!.message).to.equal('Suppressed roles { other } are not contained in the set of roles');
        await s.waitEnd();
      });
    });

    it('principal change on re-subscribe', async () => {
      await withSim({ agents: 1 }, async (sim) => {
        const a = await subscribed(sim.url, frameworkInfo({ principal: 'p1', failover_timeout: 60 }));
        const b = await Stream.open(sim.url, subscribeCall(frameworkInfo({ principal: 'p2', failover_timeout: 60 }), a.frameworkId));
        const e = await b.next('ERROR');
        expect(e.error!.message).to.equal("Changing framework's principal is not allowed.");
        await b.waitEnd();
        expect(b.status).to.equal(200);
        // The original subscription is untouched.
        expect(a.ended).to.equal(false);
        a.destroy();
      });
    });
  });

  it('re-subscribe: old stream gets ERROR "Framework failed over" and is closed; offers vanish without RESCIND (gotcha 21)', async () => {
    await withSim({ agents: 2 }, async (sim) => {
      const info = frameworkInfo({ failover_timeout: 600 });
      const a = await subscribed(sim.url, info);
      const offers = (await a.next('OFFERS')).offers!.offers!;
      const b = await Stream.open(sim.url, subscribeCall(info, a.frameworkId));
      await b.next('SUBSCRIBED');
      const err = await a.next('ERROR');
      expect(err.error!.message).to.equal('Framework failed over');
      await a.waitEnd();
      expect(a.events.some((e) => e.type === 'RESCIND')).to.equal(false);
      expect(b.streamId).to.not.equal(a.streamId);
      // Fresh offers arrive on the new stream, with new ids.
      const fresh = (await b.next('OFFERS')).offers!.offers!;
      expect(fresh.map((o) => o.id.value)).to.not.have.members(offers.map((o) => o.id.value));
      expect(b.events.some((e) => e.type === 'RESCIND')).to.equal(false);
      // The old stream id is now stale (400), the old offers invalid.
      const stale = await call(sim.url, { framework_id: { value: a.frameworkId }, type: 'REVIVE' }, { streamId: a.streamId });
      expect(stale.status).to.equal(400);
      const acc = await call(
        sim.url,
        {
          framework_id: { value: a.frameworkId },
          type: 'ACCEPT',
          accept: {
            offer_ids: [offers[0]!.id],
            operations: [
              {
                type: 'LAUNCH',
                launch: {
                  task_infos: [
                    {
                      name: 't',
                      task_id: { value: 't' },
                      agent_id: offers[0]!.agent_id,
                      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }],
                      command: { value: 'x' },
                    },
                  ],
                },
              },
            ],
          },
        },
        { streamId: b.streamId },
      );
      expect(acc.status).to.equal(202);
      const lost = await b.next('UPDATE');
      expect(lost.update!.status.state).to.equal('TASK_LOST');
      expect(lost.update!.status.reason).to.equal('REASON_INVALID_OFFERS');
      b.destroy();
    });
  });

  it('failover_timeout: a broken stream leaves the framework disconnected; re-subscribing in time keeps it', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const info = frameworkInfo({ failover_timeout: 100 });
      const a = await subscribed(sim.url, info);
      const fid = a.frameworkId;
      a.destroy();
      await tick(10);
      await clock.advance(99_000);
      const b = await Stream.open(sim.url, subscribeCall(info, fid));
      const sub = await b.next('SUBSCRIBED');
      expect(sub.subscribed!.framework_id.value).to.equal(fid);
      await clock.advance(10_000);
      expect(sim.master!.frameworks.has(fid)).to.equal(true);
      b.destroy();
    });
  });

  it('failover_timeout expiry removes the framework; its id then yields ERROR "Framework has been removed"', async () => {
    await withSim({ agents: 1 }, async (sim, clock) => {
      const info = frameworkInfo({ failover_timeout: 30 });
      const a = await subscribed(sim.url, info);
      const fid = a.frameworkId;
      a.destroy();
      for (let i = 0; i < 50 && sim.master!.frameworks.get(fid)?.connected; i++) await tick();
      await clock.advance(30_000);
      expect(sim.master!.frameworks.has(fid)).to.equal(false);
      const r = await call(sim.url, { framework_id: { value: fid }, type: 'REVIVE' });
      expect(r.status).to.equal(400);
      expect(r.text).to.equal('Framework cannot be found');
      const b = await Stream.open(sim.url, subscribeCall(info, fid));
      expect((await b.next('ERROR')).error!.message).to.equal('Framework has been removed');
      await b.waitEnd();
    });
  });

  it('failover_timeout 0 (default): a dropped connection removes the framework at once and kills its tasks (gotcha 22)', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const a = await subscribed(sim.url);
      const fid = a.frameworkId;
      const offer = (await a.next('OFFERS')).offers!.offers![0]!;
      await call(
        sim.url,
        {
          framework_id: { value: fid },
          type: 'ACCEPT',
          accept: {
            offer_ids: [offer.id],
            operations: [
              {
                type: 'LAUNCH',
                launch: {
                  task_infos: [
                    {
                      name: 't',
                      task_id: { value: 't' },
                      agent_id: offer.agent_id,
                      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }],
                      command: { value: 'x' },
                    },
                  ],
                },
              },
            ],
          },
        },
        { streamId: a.streamId },
      );
      await a.next('UPDATE');
      expect(sim.groundTruth()).to.have.length(1);
      a.destroy();
      for (let i = 0; i < 100 && sim.master!.frameworks.has(fid); i++) await tick();
      expect(sim.master!.frameworks.has(fid)).to.equal(false);
      expect(sim.groundTruth()).to.have.length(0);
      const b = await Stream.open(sim.url, subscribeCall(frameworkInfo(), fid));
      expect((await b.next('ERROR')).error!.message).to.equal('Framework has been removed');
    });
  });

  it('an id the master never issued is accepted when re-subscribing (master failover case)', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const s = await Stream.open(sim.url, subscribeCall(frameworkInfo(), 'some-other-master-0007'));
      const sub = await s.next('SUBSCRIBED');
      expect(sub.subscribed!.framework_id.value).to.equal('some-other-master-0007');
      await s.next('OFFERS');
      s.destroy();
    });
  });

  it('TEARDOWN: 202, the stream closes with no final event, the id is unusable', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const s = await subscribed(sim.url);
      await s.next('OFFERS');
      const r = await call(sim.url, { framework_id: { value: s.frameworkId }, type: 'TEARDOWN' }, { streamId: s.streamId });
      expect(r.status).to.equal(202);
      await s.waitEnd();
      expect(s.drain().filter((e) => e.type !== 'HEARTBEAT')).to.deep.equal([]);
      const again = await call(sim.url, { framework_id: { value: s.frameworkId }, type: 'REVIVE' }, { streamId: s.streamId });
      expect(again.status).to.equal(400);
    });
  });

  it('UPDATE_FRAMEWORK: 200 on success, 400 for id mismatch, user or checkpoint changes', async () => {
    await withSim({ agents: 1 }, async (sim) => {
      const info = frameworkInfo({ roles: ['a'], capabilities: [{ type: 'MULTI_ROLE' }] });
      const s = await subscribed(sim.url, info);
      const fid = s.frameworkId;
      const upd = (fi: Record<string, unknown>): Promise<{ status: number; text: string }> =>
        call(sim.url, { framework_id: { value: fid }, type: 'UPDATE_FRAMEWORK', update_framework: { framework_info: fi } }, { streamId: s.streamId });
      const ok = await upd({ ...info, id: { value: fid }, name: 'renamed', roles: ['a', 'b'] });
      expect(ok.status).to.equal(200);
      expect(sim.master!.frameworks.get(fid)!.info.name).to.equal('renamed');
      const bad = await upd({ ...info, id: { value: 'x' } });
      expect(bad.status).to.equal(400);
      expect(bad.text).to.equal("Failed to validate scheduler::Call: 'framework_id' differs from 'update_framework.framework_info.id'");
      const user = await upd({ ...info, id: { value: fid }, user: 'root' });
      expect(user.status).to.equal(400);
      expect(user.text).to.equal(
        "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; attempted to update from 'test' to 'root'",
      );
      const cp = await upd({ ...info, id: { value: fid }, checkpoint: true });
      expect(cp.text).to.equal(
        "FrameworkInfo update is not valid: Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from 'false' to 'true'",
      );
      s.destroy();
    });
  });
});
