/**
 * Differential tests of the compiled protobuf writer (src/mesos/pb-writer.ts, added for the
 * placement burst, scripts/bench/offers.ts) against the generic path it replaces on the hot path
 * (toProtobufObject + protobufjs's Type.encode, codec.ts protobufEncodeGeneric): byte for byte on the
 * real recordings, generated events, the scheduler's own calls (frozen shared parts written again
 * and again) and random objects of every message type; where the generic path refuses an object
 * with a CodecError, the compiled writer refuses it too (the codec then reports the generic error).
 */
import { expect } from 'chai';
import { MESSAGE, jsonCodec, protobufCodec, protobufEncodeGeneric } from '../../src/mesos/codec.js';
import { lookupType, type protobuf } from '../../src/mesos/proto.js';
import { toProtobufBytes } from '../../src/mesos/pb-writer.js';
import { planFor } from '../../src/mesos/stout.js';
import { decodeAll } from '../../src/mesos/recordio.js';
import { CodecError } from '../../src/mesos/errors.js';
import type { Event, Offer } from '../../src/mesos/types.js';
import { generateEvents } from '../../scripts/bench/decode.js';
import { applyCommand, onEvent } from '../../src/scheduler/reducer.js';
import { createState } from '../../src/scheduler/state.js';
import { readFixture } from '../helpers/fixtures.js';
import { MALFORMED_CALLS, prng, randomMessage } from './random-objects.js';

const EVENT = lookupType(MESSAGE.Event);
const CALL = lookupType(MESSAGE.Call);

/** Bytes handed out so far, with their hex when handed out (the slab must never rewrite them). */
const handedOut: Array<[Buffer, string]> = [];

/** Both writers on one object: the same bytes, or both refuse (the generic one with a CodecError). */
function same(type: protobuf.Type, obj: unknown, what: string): 'ok' | 'refused' {
  let ref: Buffer | undefined;
  let refError: unknown;
  try {
    ref = Buffer.from(protobufEncodeGeneric(type, obj)); // a copy
  } catch (e) {
    refError = e;
  }
  let got: Buffer | undefined;
  let gotError: unknown;
  try {
    got = toProtobufBytes(type, obj);
  } catch (e) {
    gotError = e;
  }
  if (ref === undefined) {
    expect(refError, what).to.be.instanceOf(CodecError);
    expect(got, `${what}: the compiled writer accepted what the generic path refuses (${(refError as Error).message})`).to.equal(undefined);
    return 'refused';
  }
  expect(gotError, `${what}: refused by the compiled writer`).to.equal(undefined);
  expect(got!.toString('hex'), what).to.equal(ref.toString('hex'));
  handedOut.push([got!, ref.toString('hex')]);
  return 'ok';
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !(o instanceof Uint8Array)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const show = (o: unknown) => JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v));

describe('compiled protobuf writer (src/mesos/pb-writer.ts) agrees with the generic path', () => {
  after(() => {
    // every view handed out still holds its bytes after all the encodes that followed it
    expect(handedOut.length).to.be.greaterThan(3000);
    for (const [b, hex] of handedOut) expect(b.toString('hex')).to.equal(hex);
  });

  it('real recordings (the record bytes again) and 800 generated events decoded from both codecs', () => {
    for (const rec of decodeAll(readFixture('real-mesos-1.12', 'pb-stream.recordio'))) {
      const o = protobufCodec.decode(MESSAGE.Event, rec);
      expect(same(EVENT, o, 'pb-stream')).to.equal('ok');
      expect(toProtobufBytes(EVENT, o).equals(rec)).to.equal(true);
    }
    for (const f of ['subscribe-json.recordio', 'maint-json.recordio']) {
      for (const rec of decodeAll(readFixture('real-mesos-1.12', f))) expect(same(EVENT, jsonCodec.decode(MESSAGE.Event, rec), f)).to.equal('ok');
    }
    for (const e of generateEvents(800, 5)) {
      expect(same(EVENT, e, 'generated')).to.equal('ok');
      const pb = protobufCodec.decode(MESSAGE.Event, protobufEncodeGeneric(EVENT, e));
      expect(same(EVENT, pb, 'generated, decoded from protobuf')).to.equal('ok');
    }
  });

  it("the scheduler's calls of placement bursts, its frozen shared parts written many times", () => {
    const s = createState();
    const now = Date.UTC(2026, 10, 23);
    onEvent(s, { type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-0000' }, heartbeat_interval_seconds: 15 } }, now);
    applyCommand(s, { type: 'create_job', spec: { name: 'web', instances: 300, resources: { cpus: 0.5, mem: 128, ports: 3 }, command: { value: 'echo "hi"\n' }, constraints: { rack_spread: true }, environment: { Q: 'a"b', LONG: 'é'.repeat(50) }, labels: { team: 'x' } } }, now);
    applyCommand(s, { type: 'create_job', spec: { name: 'hc', instances: 40, resources: { cpus: 1, mem: 64 }, command: { value: 'run', arguments: ['a', 'b'] }, health_check: { http: { port: 8080, path: '/h', statuses: [200] }, interval_seconds: 3 } } }, now);
    let calls = 0;
    for (let round = 0; round < 8; round++) {
      const offers: Offer[] = Array.from({ length: 25 }, (_, i) => ({
        id: { value: `o${round}-${i}` },
        framework_id: { value: 'fw-0000' },
        agent_id: { value: `a${i}` },
        hostname: `h${i}`,
        resources: [
          { name: 'cpus', type: 'SCALAR', scalar: { value: 4.5 }, role: '*', allocation_info: { role: '*' } },
          { name: 'mem', type: 'SCALAR', scalar: { value: 1024 }, allocation_info: { role: '*' } },
          { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000n, end: 31001n }, { begin: 31005n, end: 31010n }] }, allocation_info: { role: '*' } },
        ],
        attributes: [{ name: 'rack', type: 'TEXT', text: { value: `r${i % 3}` } }],
        ...(i === 3 ? { unavailability: { start: { nanoseconds: BigInt(now) * 1_000_000n } } } : {}),
      }));
      for (const c of onEvent(s, { type: 'OFFERS', offers: { offers } } as Event, now).calls) {
        expect(same(CALL, { ...c, framework_id: { value: 'fw-0000' } }, c.type)).to.equal('ok');
        calls++;
      }
    }
    expect(calls).to.be.greaterThan(30);
  });

  it('3,000 random objects of every scheduler, operator and maintenance message, valid and broken, some deeply frozen and written twice', () => {
    const types = [MESSAGE.Call, MESSAGE.Event, MESSAGE.MasterCall, MESSAGE.MasterResponse, MESSAGE.Schedule, MESSAGE.ClusterStatus].map((n) => lookupType(n));
    const r = prng(20261203);
    const seen = { ok: 0, refused: 0, frozen: 0 };
    for (let i = 0; i < 3000; i++) {
      const type = types[i % types.length]!;
      const obj = randomMessage(planFor(type), r, 0, i % 3 === 0 ? 0.02 : 0);
      const what = `${type.name} #${i}: ${show(obj)}`;
      if (i % 4 === 1) {
        deepFreeze(obj);
        const first = same(type, obj, what);
        expect(same(type, obj, `${what} (again, frozen)`)).to.equal(first);
        seen.frozen++;
        seen[first]++;
      } else seen[same(type, obj, what)]++;
    }
    expect(seen.ok).to.be.greaterThan(600);
    expect(seen.refused).to.be.greaterThan(200);
    expect(seen.frozen).to.equal(750);
  });

  it('refuses what the generic path refuses, and the codec reports the generic error', () => {
    for (const c of MALFORMED_CALLS) {
      expect(same(CALL, c, show(c))).to.equal('refused');
      let generic = '';
      try {
        protobufEncodeGeneric(CALL, c);
      } catch (e) {
        generic = (e as Error).message;
      }
      expect(() => protobufCodec.encode(MESSAGE.Call, c)).to.throw(CodecError, generic);
    }
  });

  it('lengths of 2 to 4 bytes (the value moves after its one reserved byte), and a value larger than a slab', () => {
    const big = { type: 'MESSAGE', message: { agent_id: { value: 'a' }, executor_id: { value: 'e' }, data: new Uint8Array(300_000).fill(7) } };
    expect(same(CALL, big, 'a 300 KB message (3-byte length, a slab of its own)')).to.equal('ok');
    for (const n of [127, 128, 16383, 16384, 2_097_152]) {
      const c = { type: 'MESSAGE', message: { agent_id: { value: 'a' }, executor_id: { value: 'e' }, data: new Uint8Array(n).fill(1) } };
      expect(same(CALL, c, `data of ${n} bytes`)).to.equal('ok');
    }
  });
});
