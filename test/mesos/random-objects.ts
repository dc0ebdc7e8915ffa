/**
 * Random objects in Mesos object form for differential tests of the writers (test/mesos): every
 * field kind, maps, odd strings, int64 beyond 2^53, and (with `bad` > 0) values of the wrong type.
 */
import { planFor, type FieldPlan } from '../../src/mesos/stout.js';

export { prng } from '../../src/util/prng.js';

export const ODD_STRINGS = ['', 'plain', 'a"b', 'back\\slash', 'tab\there', '\u0000\u001f', 'é ü 雪', '\ud83d\ude00', '\ud800 lone', 'x\udc00', '</script>', '\u2028\u2029', 'é'.repeat(45), '\ud800'.repeat(41) + 'x', 'long ascii '.repeat(20)];

/** A random value of one field in object form; `bad` sometimes puts a value of the wrong type. */
function randomValue(fp: FieldPlan, r: () => number, depth: number, bad: number): unknown {
  if (r() < bad) return [42, 'str', true, {}, [], 1.5, 2n ** 70n, new Uint8Array([1])][Math.floor(r() * 8)];
  switch (fp.kind) {
    case 'string':
      return r() < 0.3 ? ODD_STRINGS[Math.floor(r() * ODD_STRINGS.length)] : `s${Math.floor(r() * 1e6)}`;
    case 'double':
      return [0, 1, -2.5, 15, 1e21, 0.1, Infinity, NaN, -0][Math.floor(r() * 9)];
    case 'int32':
      return Math.floor(r() * 2000) - 1000;
    case 'uint32':
      return Math.floor(r() * 4e9);
    case 'int64':
      return [0n, -1n, 5_000_000_000n, 1795422430565157511n, -9223372036854775808n, 12, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 53n - 1n][Math.floor(r() * 9)];
    case 'uint64':
      return [0n, 31000n, 18446744073709551615n, 2n ** 53n + 1n, 7][Math.floor(r() * 5)];
    case 'bool':
      return r() < 0.5;
    case 'bytes':
      return Buffer.from([Math.floor(r() * 256), 0, 255]);
    case 'enum': {
      const names = Object.keys(fp.enumType!.values);
      return r() < 0.05 ? 'NO_SUCH_VALUE' : names[Math.floor(r() * names.length)];
    }
    case 'message':
      return randomMessage(planFor(fp.messageType!), r, depth + 1, bad);
  }
}

export function randomMessage(plan: ReturnType<typeof planFor>, r: () => number, depth: number, bad: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const fp of plan.fields) {
    // required fields nearly always present; optional ones less often the deeper we are
    if (!(fp.required ? r() < 0.97 : r() < 0.6 / (1 + depth))) continue;
    if (fp.kind === 'message' && depth > 4 && !fp.required) continue;
    if (fp.isMap) {
      const m: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 3); i > 0; i--) m[`k${i}${r() < 0.2 ? '"' : ''}`] = randomValue(fp, r, depth, bad);
      o[fp.name] = m;
    } else if (fp.repeated) {
      o[fp.name] = Array.from({ length: Math.floor(r() * 3) }, () => randomValue(fp, r, depth, bad));
    } else {
      o[fp.name] = r() < 0.05 ? null : randomValue(fp, r, depth, bad);
    }
  }
  return o;
}

/** Calls of the wrong shape (top level and nested) that every writer must refuse with the generic path's message. */
export const MALFORMED_CALLS: readonly unknown[] = [
  null,
  [],
  'x',
  new Uint8Array(2),
  { type: 'NOPE' },
  { type: 3 },
  { type: 'ACCEPT', framework_id: 'x' },
  { type: 'ACCEPT', accept: { offer_ids: {} } },
  { type: 'ACCEPT', accept: { offer_ids: [{ value: 'a' }, { value: 3 }] } },
  { type: 'ACCEPT', accept: { offer_ids: [{ value: 'a' }, {}] } },
  { type: 'ACCEPT', accept: { offer_ids: [], filters: { refuse_seconds: '5' } } },
  { type: 'KILL', kill: { task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds: 1.5 } } } },
  { type: 'KILL', kill: { task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds: 2 ** 60 } } } },
  { type: 'KILL', kill: { task_id: { value: 't' }, kill_policy: { grace_period: { nanoseconds: 'x' } } }, framework_id: {} },
  { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', offer_filters: { web: { min_allocatable_resources: 7 } } } } },
  { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', capabilities: [{ type: 'MULTI_ROLE' }, { type: 5 }] } } },
  { type: 'ACKNOWLEDGE', acknowledge: { agent_id: { value: 'a' }, task_id: { value: 't' }, uuid: 'not bytes' } },
];
