/**
 * Differential tests of the compiled writers (src/mesos/stout-writer.ts, added for the placement
 * burst, scripts/bench/offers.ts) against the interpretive reference writers in src/mesos/stout.ts:
 * the same JSON text, the same protobuf bytes (proto2 presence of decoded defaults kept), the same
 * CodecError messages — on the real recordings, generated events, the scheduler's own calls and
 * random objects of every message type reachable from the scheduler and operator APIs.
 */
import { expect } from 'chai';
import { jsonCodec, protobufCodec, MESSAGE } from '../../src/mesos/codec.js';
import { lookupType, type protobuf } from '../../src/mesos/proto.js';
import { planFor, toJsonTextInterpreted, toProtobufObjectInterpreted } from '../../src/mesos/stout.js';
import { toJsonText, toProtobufObject } from '../../src/mesos/stout-writer.js';
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

function outcome(f: () => unknown): { ok: unknown } | { error: string; type: string } {
  try {
    const v = f();
    return { ok: v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v };
  } catch (e) {
    return { error: (e as Error).message, type: (e as Error).constructor.name };
  }
}

function pbBytes(type: protobuf.Type, plain: Record<string, unknown>): string {
  return Buffer.from(type.encode(plain as unknown as protobuf.Message).finish()).toString('hex');
}

/** Both writers, both encodings, compared; returns the compiled JSON text (or undefined on error). */
function same(type: protobuf.Type, obj: unknown, what: string): string | undefined {
  const json = outcome(() => toJsonText(type, obj));
  expect(json, `${what} (JSON)`).to.deep.equal(outcome(() => toJsonTextInterpreted(type, obj)));
  if ('error' in json) expect(json.type, `${what}: ${json.error}`).to.equal(CodecError.name);
  const pb = outcome(() => pbBytes(type, toProtobufObject(type, obj)));
  expect(pb, `${what} (protobuf)`).to.deep.equal(outcome(() => pbBytes(type, toProtobufObjectInterpreted(type, obj))));
  return 'ok' in json ? (json.ok as string) : undefined;
}

describe('compiled writers (src/mesos/stout-writer.ts) agree with the interpretive reference', () => {
  it('real recordings and 800 generated events, as decoded from JSON and from protobuf (defaults left out again)', () => {
    const objs: Array<[string, unknown]> = [];
    for (const f of ['subscribe-json.recordio', 'maint-json.recordio']) {
      for (const rec of decodeAll(readFixture('real-mesos-1.12', f))) objs.push([f, jsonCodec.decode(MESSAGE.Event, rec)]);
    }
    for (const rec of decodeAll(readFixture('real-mesos-1.12', 'pb-stream.recordio'))) {
      const o = protobufCodec.decode(MESSAGE.Event, rec);
      objs.push(['pb-stream', o]);
      // the compiled protobuf writer leaves decoded-only defaults out: the record's bytes again
      expect(protobufCodec.encode(MESSAGE.Event, o).equals(rec)).to.equal(true);
    }
    for (const e of generateEvents(800, 11)) objs.push(['generated', e]);
    for (const [what, o] of objs) expect(same(EVENT, o, what)).to.be.a('string');
    expect(objs.length).to.be.greaterThan(800);
  });

  it("the scheduler's own ACCEPT/DECLINE/SUPPRESS calls of a placement burst", () => {
    const s = createState();
    const now = Date.UTC(2026, 10, 23);
    onEvent(s, { type: 'SUBSCRIBED', subscribed: { framework_id: { value: 'fw-0000' }, heartbeat_interval_seconds: 15 } }, now);
    applyCommand(s, { type: 'create_job', spec: { name: 'web', instances: 30, resources: { cpus: 1, mem: 128, ports: 3 }, command: { value: 'echo "hi"\n' }, constraints: { rack_spread: true }, environment: { Q: 'a"b' } } }, now);
    const offers: Offer[] = Array.from({ length: 12 }, (_, i) => ({
      id: { value: `o${i}` },
      framework_id: { value: 'fw-0000' },
      agent_id: { value: `a${i}` },
      hostname: `h${i}`,
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 4.5 }, allocation_info: { role: '*' } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 1024 }, allocation_info: { role: '*' } },
        { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000n, end: 31001n }, { begin: 31005n, end: 31010n }] }, allocation_info: { role: '*' } },
      ],
      attributes: [{ name: 'rack', type: 'TEXT', text: { value: `r${i % 3}` } }],
      ...(i === 3 ? { unavailability: { start: { nanoseconds: BigInt(now) * 1_000_000n } } } : {}),
    }));
    const calls = onEvent(s, { type: 'OFFERS', offers: { offers } } as Event, now).calls;
    expect(calls.map((c) => c.type)).to.include.members(['ACCEPT', 'DECLINE']);
    for (const c of calls) same(CALL, { ...c, framework_id: { value: 'fw-0000' } }, c.type);
  });

  it('random objects of every scheduler, operator and maintenance message (valid and broken ones, maps, odd strings)', () => {
    const types = [MESSAGE.Call, MESSAGE.Event, MESSAGE.MasterCall, MESSAGE.MasterResponse, MESSAGE.Schedule, MESSAGE.ClusterStatus].map((n) => lookupType(n));
    const r = prng(20261123);
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < 1500; i++) {
      const type = types[i % types.length]!;
      const bad = i % 3 === 0 ? 0.02 : 0;
      const obj = randomMessage(planFor(type), r, 0, bad);
      if (same(type, obj, `${type.name} #${i}: ${JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`) === undefined) failed++;
      else ok++;
    }
    // both outcomes are exercised
    expect(ok).to.be.greaterThan(300);
    expect(failed).to.be.greaterThan(100);
  });

  it('top-level and nested shape errors give the same messages and paths', () => {
    for (const c of MALFORMED_CALLS) {
      const text = same(CALL, c, JSON.stringify(c));
      expect(text, JSON.stringify(c)).to.equal(undefined);
    }
  });

  it('int64 values at and beyond 2^53 keep every bit in both encodings', () => {
    for (const ns of [2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 9_007_199_254_740_993n]) {
      const call = { type: 'KILL', kill: { task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds: ns } } } };
      expect(same(CALL, call, String(ns))).to.contain(`"nanoseconds":${ns}}`);
      const back = protobufCodec.decode<{ kill: { kill_policy: { grace_period: { nanoseconds: bigint } } } }>(MESSAGE.Call, protobufCodec.encode(MESSAGE.Call, call));
      expect(back.kill.kill_policy.grace_period.nanoseconds).to.equal(ns);
    }
  });

  it('bytes handed out by jsonCodec.encode are never rewritten by the encodes that follow (shared slab)', () => {
    const r = prng(7);
    const kept: Array<[Buffer, string]> = [];
    for (let i = 0; i < 3000; i++) {
      const obj = randomMessage(planFor(CALL), r, 0, 0);
      let text: string;
      try {
        text = toJsonTextInterpreted(CALL, obj);
      } catch {
        continue;
      }
      kept.push([jsonCodec.encode(MESSAGE.Call, obj), text]);
      // a large one now and then: a buffer of its own, then a fresh slab
      if (i % 500 === 0) kept.push([jsonCodec.encode(MESSAGE.Call, { type: 'TEARDOWN', framework_id: { value: 'x'.repeat(400_000) } }), `{"framework_id":{"value":"${'x'.repeat(400_000)}"},"type":"TEARDOWN"}`]);
    }
    expect(kept.length).to.be.greaterThan(500);
    for (const [b, text] of kept) expect(b.toString('utf8')).to.equal(text);
  });

  it('reuses the bytes of deeply frozen objects only: a mutable child, a getter or a prototype is written afresh', () => {
    const label = (v: string) => ({ type: 'KILL', kill: { task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds: 5n } } }, framework_id: { value: v } });
    // deeply frozen: same bytes every time, equal to the reference
    const frozen = Object.freeze({ value: 'fw' });
    const a = same(CALL, { ...label('x'), framework_id: frozen }, 'frozen');
    expect(same(CALL, { ...label('x'), framework_id: frozen }, 'frozen again')).to.equal(a);
    // frozen, with a mutable child: the child's change shows
    const child = { nanoseconds: 5n };
    const policy = Object.freeze({ grace_period: child });
    const call = (p: object) => ({ type: 'KILL', kill: { task_id: { value: 't' }, kill_policy: p } });
    expect(same(CALL, call(policy), 'mutable child')).to.contain('"nanoseconds":5}');
    child.nanoseconds = 7n;
    expect(same(CALL, call(policy), 'mutable child changed')).to.contain('"nanoseconds":7}');
    // frozen, with a getter
    let n = 1n;
    const getter = Object.freeze({
      get nanoseconds() {
        return n;
      },
    });
    expect(same(CALL, call(Object.freeze({ grace_period: getter })), 'getter')).to.contain('"nanoseconds":1}');
    n = 2n;
    expect(same(CALL, call(Object.freeze({ grace_period: getter })), 'getter changed')).to.contain('"nanoseconds":2}');
    // frozen, reading through a prototype
    const proto = { value: 'p1' };
    const viaProto = Object.freeze(Object.create(proto) as { value: string });
    const k = (id: object) => ({ type: 'KILL', kill: { task_id: id } });
    expect(same(CALL, k(viaProto), 'prototype')).to.contain('"value":"p1"');
    proto.value = 'p2';
    expect(same(CALL, k(viaProto), 'prototype changed')).to.contain('"value":"p2"');
  });
});
