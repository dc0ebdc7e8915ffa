/**
 * /api/v1/scheduler status codes, bodies and check order (contract §1.2, §1.4, gotchas 2, 3, 20).
 */
import { expect } from 'chai';
import { protobufCodec } from '../../src/mesos/codec.js';
import type { Sim } from '../../src/sim/index.js';
import { startSim } from '../../src/sim/index.js';
import { VirtualClock } from '../../src/util/clock.js';
import { CALL, Stream, call, frameworkInfo, request, subscribeCall, subscribed } from './helpers.js';

const TEXT = 'text/plain; charset=utf-8';

describe('sim /api/v1/scheduler: status codes and check order', () => {
  let sim: Sim;
  let clock: VirtualClock;
  before(async () => {
    clock = new VirtualClock();
    sim = await startSim({ agents: 2, clock, seed: 7 });
  });
  after(async () => {
    await sim.close();
  });

  it('405 with Allow: POST and the libprocess body for other methods', async () => {
    const r = await request(sim.url, { method: 'GET', path: '/api/v1/scheduler' });
    expect(r.status).to.equal(405);
    expect(r.headers['allow']).to.equal('POST');
    expect(r.headers['content-type']).to.equal(TEXT);
    expect(r.text).to.equal("405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.");
  });

  it('method is checked before Content-Type', async () => {
    const r = await request(sim.url, { method: 'PUT', path: '/api/v1/scheduler', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expect(r.status).to.equal(405);
  });

  it('400 when Content-Type is missing', async () => {
    const r = await call(sim.url, subscribeCall(), { contentType: null });
    expect(r.status).to.equal(400);
    expect(r.text).to.equal("Expecting 'Content-Type' to be present");
    expect(r.headers['content-type']).to.equal(TEXT);
  });

  it('415 for a Content-Type that is not exactly one of the two (gotcha 2)', async () => {
    const r = await call(sim.url, JSON.stringify({ type: 'SUBSCRIBE' }), { contentType: 'application/json; charset=utf-8' });
    expect(r.status).to.equal(415);
    expect(r.text).to.equal("Expecting 'Content-Type' of application/json or application/x-protobuf");
  });

  it('400 for unparsable JSON, and for JSON that does not convert (missing required fields)', async () => {
    const bad = await call(sim.url, '{"type":', {});
    expect(bad.status).to.equal(400);
    expect(bad.text).to.match(/^Failed to parse body into JSON: /);
    const conv = await call(sim.url, JSON.stringify({ type: 'SUBSCRIBE', subscribe: { framework_info: { name: 'x' } } }));
    expect(conv.status).to.equal(400);
    expect(conv.text).to.equal('Failed to convert JSON into Call protobuf: Missing required fields: subscribe.framework_info.user');
  });

  it('400 for an unparsable protobuf body', async () => {
    const r = await call(sim.url, Buffer.from([0xff, 0xff, 0xff]), { contentType: 'application/x-protobuf' });
    expect(r.status).to.equal(400);
    expect(r.text).to.equal('Failed to parse body into Call protobuf');
  });

  it("a typo in \"type\" is 400 Expecting 'type' to be present (gotcha 20)", async () => {
    const r = await call(sim.url, JSON.stringify({ type: 'SUBSCRIBEE', subscribe: { framework_info: frameworkInfo() } }));
    expect(r.status).to.equal(400);
    expect(r.text).to.equal("Failed to validate scheduler::Call: Expecting 'type' to be present");
  });

  it('400 for a missing sub-message, a missing framework_id and mismatched ids (gotcha 23)', async () => {
    const a = await call(sim.url, JSON.stringify({ type: 'SUBSCRIBE' }));
    expect(a.text).to.equal("Failed to validate scheduler::Call: Expecting 'subscribe' to be present");
    const b = await call(sim.url, JSON.stringify({ type: 'DECLINE', decline: {} }));
    expect(b.text).to.equal("Failed to validate scheduler::Call: Expecting 'framework_id' to be present");
    const c = await call(sim.url, JSON.stringify({ type: 'ACCEPT', framework_id: { value: 'x' } }));
    expect(c.text).to.equal("Failed to validate scheduler::Call: Expecting 'accept' to be present");
    const d = await call(sim.url, JSON.stringify({ type: 'SUBSCRIBE', framework_id: { value: 'a' }, subscribe: { framework_info: frameworkInfo({ id: { value: 'b' } }) } }));
    expect(d.status).to.equal(400);
    expect(d.text).to.equal("Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'");
    for (const r of [a, b, c]) expect(r.status).to.equal(400);
  });

  it('406 when Accept allows neither JSON nor protobuf (SUBSCRIBE only)', async () => {
    const r = await call(sim.url, subscribeCall(), { accept: 'text/html' });
    expect(r.status).to.equal(406);
    expect(r.text).to.equal("Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
    const q0 = await call(sim.url, subscribeCall(), { accept: 'application/json;q=0, text/plain' });
    expect(q0.status).to.equal(406);
  });

  it('Accept negotiation: wildcards and q=0 pick the stream encoding', async () => {
    const cases: Array<[string, string]> = [
      ['application/*', 'application/json'],
      ['*/*', 'application/json'],
      ['application/x-protobuf', 'application/x-protobuf'],
      ['application/json;q=0,application/x-protobuf', 'application/x-protobuf'],
    ];
    for (const [accept, expected] of cases) {
      const s = await Stream.open(sim.url, subscribeCall(), { accept });
      expect(s.status, accept).to.equal(200);
      expect(s.headers['content-type'], accept).to.equal(expected);
      s.destroy();
    }
  });

  it('400 when SUBSCRIBE carries a Mesos-Stream-Id', async () => {
    const r = await Stream.open(sim.url, subscribeCall(), { headers: { 'Mesos-Stream-Id': 'abc' } });
    await r.waitEnd();
    expect(r.status).to.equal(400);
    expect(r.body.toString()).to.equal("Subscribe calls should not include the 'Mesos-Stream-Id' header");
  });

  it('400 Framework cannot be found for an unknown framework id', async () => {
    const r = await call(sim.url, { framework_id: { value: 'nope' }, type: 'REVIVE' });
    expect(r.status).to.equal(400);
    expect(r.text).to.equal('Framework cannot be found');
  });

  it('400 for a missing or stale Mesos-Stream-Id, 202 with the right one (gotcha 3)', async () => {
    const s = await subscribed(sim.url);
    const fid = s.frameworkId;
    const missing = await call(sim.url, { framework_id: { value: fid }, type: 'REVIVE' });
    expect(missing.status).to.equal(400);
    expect(missing.text).to.equal("All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    const stale = await call(sim.url, { framework_id: { value: fid }, type: 'REVIVE' }, { streamId: 'stale' });
    expect(stale.status).to.equal(400);
    expect(stale.text).to.equal(
      `The stream ID 'stale' included in this request didn't match the stream ID currently associated with framework ID ${fid}`,
    );
    const ok = await call(sim.url, { framework_id: { value: fid }, type: 'REVIVE' }, { streamId: s.streamId, accept: 'text/html' });
    expect(ok.status, 'Accept is not consulted for ordinary calls').to.equal(202);
    expect(ok.body.length).to.equal(0);
    expect(ok.headers['content-type']).to.equal(undefined);
    s.destroy();
  });

  it('403 Framework is not subscribed once the stream broke (failover_timeout keeps it), checked before the stream id', async () => {
    const s = await subscribed(sim.url, frameworkInfo({ failover_timeout: 3600 }));
    const fid = s.frameworkId;
    s.destroy();
    for (let i = 0; i < 50 && sim.master!.frameworks.get(fid)!.connected; i++) await new Promise((r) => setTimeout(r, 5));
    const r = await call(sim.url, { framework_id: { value: fid }, type: 'REVIVE' });
    expect(r.status).to.equal(403);
    expect(r.text).to.equal('Framework is not subscribed');
  });

  it('ACKNOWLEDGE with a uuid that is not 16 bytes (or no UUID version) is 400 (gotcha 6)', async () => {
    const s = await subscribed(sim.url);
    const ack = (uuid: string): Promise<{ status: number; text: string }> =>
      call(
        sim.url,
        JSON.stringify({
          framework_id: { value: s.frameworkId },
          type: 'ACKNOWLEDGE',
          acknowledge: { agent_id: { value: 'a' }, task_id: { value: 't' }, uuid },
        }),
        { streamId: s.streamId },
      );
    const short = await ack(Buffer.from('0123456789').toString('base64'));
    expect(short.status).to.equal(400);
    expect(short.text).to.equal('Failed to validate scheduler::Call: Not a valid UUID');
    const v0 = await ack(Buffer.alloc(16).toString('base64'));
    expect(v0.status).to.equal(400);
    const v4 = Buffer.alloc(16);
    v4[6] = 0x40;
    expect((await ack(v4.toString('base64'))).status).to.equal(202);
    s.destroy();
  });

  it('501 for type UNKNOWN', async () => {
    const s = await subscribed(sim.url);
    const r = await call(sim.url, { framework_id: { value: s.frameworkId }, type: 'UNKNOWN' } as never, { streamId: s.streamId });
    expect(r.status).to.equal(501);
    s.destroy();
  });

  it('/master/api/v1/scheduler is the same route, protobuf calls work too', async () => {
    const s = await Stream.open(sim.url, protobufCodec.encode(CALL, subscribeCall()), {
      path: '/master/api/v1/scheduler',
      contentType: 'application/x-protobuf',
      accept: 'application/x-protobuf',
    });
    await s.next('SUBSCRIBED');
    const r = await call(
      sim.url,
      { framework_id: { value: s.frameworkId }, type: 'SUPPRESS' },
      { streamId: s.streamId, contentType: 'application/x-protobuf', path: '/master/api/v1/scheduler' },
    );
    expect(r.status).to.equal(202);
    s.destroy();
  });

  it('unknown paths are 404; paths below a route reach that route', async () => {
    const r = await request(sim.url, { path: '/nope' });
    expect(r.status).to.equal(404);
    const below = await request(sim.url, { method: 'GET', path: '/api/v1/scheduler/extra' });
    expect(below.status).to.equal(405);
  });
});
