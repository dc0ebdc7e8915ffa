/**
 * Compiled writers of the Mesos object form (the hot path of every call Sluice sends):
 *  - toJsonText: object form -> Mesos JSON text;
 *  - toProtobufObject: object form -> the plain object protobufjs's Type.encode takes.
 *
 * Same idea as the compiled decoders in stout.ts: one function per message type, generated once
 * with `new Function`, reading each field by its literal name (monomorphic property loads instead
 * of a keyed load per field), one specialised check per field kind, constant JSON keys and default
 * texts, error paths built only when something is thrown. Semantics, bytes and error messages are
 * those of the interpretive writers in stout.ts (toJsonTextInterpreted / toProtobufObjectInterpreted),
 * compared against them in test/mesos/writer-compiled.test.ts.
 */
import type { protobuf } from './proto.js';
import { formatDouble } from './json.js';
import { FILLED_DEFAULTS, PathError, planFor, prefixed, shown, toCodecError, writeScalar, type FieldPlan, type TypePlan } from './stout.js';

type Writer = (v: unknown) => string;
type PbConv = (v: unknown) => unknown;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Characters JSON.stringify escapes in a string: controls, quote, backslash, (lone) surrogates. */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** Runtime shared by the generated code (checks that are not worth inlining). */
const W = {
  PathError,
  prefixed,
  FILLED: FILLED_DEFAULTS as symbol,
  notObject(v: unknown): boolean {
    return typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array;
  },
  str(v: unknown): string {
    if (typeof v !== 'string') throw new PathError('Expecting a string', '');
    // most strings need no escaping: quoting them is ~1.6x cheaper than JSON.stringify
    return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : '"' + v + '"';
  },
  dbl(v: unknown): string {
    if (typeof v !== 'number') throw new PathError('Expecting a number', '');
    return formatDouble(v);
  },
  i32(v: unknown): string {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new PathError('Expecting an integer', '');
    return String(v);
  },
  i64(v: unknown): string {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    throw new PathError('Expecting a bigint', '');
  },
  bool(v: unknown): string {
    if (typeof v !== 'boolean') throw new PathError('Expecting a boolean', '');
    return v ? 'true' : 'false';
  },
  bytes(v: unknown): string {
    if (!(v instanceof Uint8Array)) throw new PathError('Expecting bytes (Uint8Array)', '');
    return '"' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') + '"';
  },
  badEnum(prefix: string, v: unknown): never {
    throw new PathError(prefix + shown(v), '');
  },
  /** Path segment of the element being written when an error was thrown. */
  seg(fp: FieldPlan, o: Record<string, unknown>, j: number): string {
    if (j < 0) return fp.name;
    return fp.isMap ? `${fp.name}[${Object.keys(o[fp.name] as object)[j]}]` : `${fp.name}[${j}]`;
  },
  // protobuf object form
  pbLong(v: unknown, signed: boolean): unknown {
    let b: bigint;
    if (typeof v === 'bigint') {
      // a safe integer is written by protobufjs exactly as the {low, high} pair would be
      if (v <= MAX_SAFE && v >= -MAX_SAFE) return Number(v);
      b = v;
    } else if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    else throw new PathError('Expecting a bigint', '');
    const u = BigInt.asUintN(64, b);
    return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: !signed };
  },
  pbNum(v: unknown): unknown {
    if (typeof v !== 'number') throw new PathError('Expecting a number', '');
    return v;
  },
  pbStr(v: unknown): unknown {
    if (typeof v !== 'string') throw new PathError('Expecting a string', '');
    return v;
  },
  pbBool(v: unknown): unknown {
    if (typeof v !== 'boolean') throw new PathError('Expecting a boolean', '');
    return v;
  },
  pbBadEnum(prefix: string, v: unknown): never {
    if (typeof v !== 'string') throw new PathError('Expecting an enum name', '');
    throw new PathError(prefix + shown(v), '');
  },
  pbBytes(v: unknown): unknown {
    if (!(v instanceof Uint8Array)) throw new PathError('Expecting bytes (Uint8Array)', '');
    return v;
  },
};

interface Slots {
  json?: Writer;
  pb?: PbConv;
}
const cache = new Map<protobuf.Type, Slots>();

/** Cached generation; a forwarding stub is in place meanwhile, so recursive types work. */
function compiled<K extends keyof Slots>(type: protobuf.Type, slot: K, generate: (t: protobuf.Type) => NonNullable<Slots[K]>): NonNullable<Slots[K]> {
  let c = cache.get(type);
  if (!c) cache.set(type, (c = {}));
  const existing = c[slot];
  if (existing) return existing as NonNullable<Slots[K]>;
  let impl: NonNullable<Slots[K]> | undefined;
  const stub = ((x: unknown) => (impl ??= generate(type))(x as never)) as NonNullable<Slots[K]>;
  c[slot] = stub;
  impl = generate(type);
  c[slot] = impl;
  return impl;
}

function jsonWriter(type: protobuf.Type): Writer {
  return compiled(type, 'json', generateJsonWriter);
}

function pbConverter(type: protobuf.Type): PbConv {
  return compiled(type, 'pb', generatePbConverter);
}

interface Gen {
  L: string[];
  dep(x: unknown): string;
  deps: unknown[];
}

function gen(): Gen {
  const deps: unknown[] = [];
  return {
    L: [],
    deps,
    dep(x) {
      deps.push(x);
      return `D[${deps.length - 1}]`;
    },
  };
}

/** JS expression writing value `x` of field `fp` as JSON text. */
function jsonValueExpr(g: Gen, fp: FieldPlan, x: string): string {
  switch (fp.kind) {
    case 'string':
      return `W.str(${x})`;
    case 'double':
      return `W.dbl(${x})`;
    case 'int32':
    case 'uint32':
      return `W.i32(${x})`;
    case 'int64':
    case 'uint64':
      return `W.i64(${x})`;
    case 'bool':
      return `W.bool(${x})`;
    case 'bytes':
      return `W.bytes(${x})`;
    case 'enum': {
      const names = g.dep(new Set(Object.keys(fp.enumType!.values)));
      const err = g.dep(`Unknown ${fp.enumType!.name} value `);
      return `(typeof ${x} === 'string' && ${names}.has(${x}) ? '"' + ${x} + '"' : W.badEnum(${err}, ${x}))`;
    }
    case 'message':
      return `${g.dep(jsonWriter(fp.messageType!))}(${x})`;
  }
}

/** Emits the head/tail shared by both generated writers: object check, try, error prefixing. */
function emitBody(g: Gen, plan: TypePlan, prelude: string, fieldCode: (fp: FieldPlan, i: number) => void): void {
  const { L } = g;
  L.push(`if (W.notObject(o)) throw new W.PathError(${JSON.stringify(`Expecting an object for ${plan.type.name}`)}, '');`);
  L.push(prelude);
  L.push('let x, t, f = -1, j = -1;');
  L.push('try {');
  plan.fields.forEach((fp, i) => fieldCode(fp, i));
  L.push('} catch (e) {');
  L.push(`if (!(e instanceof W.PathError) || f < 0) throw e;`);
  L.push(`throw W.prefixed(e, W.seg(${g.dep(plan.fields)}[f], o, j));`);
  L.push('}');
}

function generateJsonWriter(type: protobuf.Type): Writer {
  const plan = planFor(type);
  const g = gen();
  const { L } = g;
  emitBody(g, plan, "let s = '';", (fp, i) => {
    const A = `o[${JSON.stringify(fp.name)}]`;
    const K = JSON.stringify(fp.jsonKey);
    const CK = JSON.stringify(',' + fp.jsonKey);
    const sep = `(s === '' ? ${K} : ${CK})`;
    L.push(`x = ${A};`);
    let absent: string;
    if (fp.hasFill) absent = `s += ${sep} + ${JSON.stringify(writeScalar(fp, fp.fill))};`;
    else if (fp.required) absent = `f = -1; throw new W.PathError('', '', [${JSON.stringify(fp.name)}]);`;
    else absent = '';
    L.push(`if (x === undefined || x === null) { ${absent} } else {`);
    L.push(`f = ${i};`);
    if (fp.isMap) {
      L.push('const ks = Object.keys(x);');
      L.push('if (ks.length !== 0) {');
      L.push("t = '{';");
      L.push(`for (j = 0; j < ks.length; j++) t += (j ? ',' : '') + JSON.stringify(ks[j]) + ':' + ${jsonValueExpr(g, fp, 'x[ks[j]]')};`);
      L.push("j = -1; s += " + sep + " + t + '}';");
      L.push('}');
    } else if (fp.repeated) {
      L.push(`if (!Array.isArray(x)) throw new W.PathError('Expecting an array', '');`);
      L.push('if (x.length !== 0) {');
      L.push(`t = '[' + ${jsonValueExpr(g, fp, 'x[j = 0]')};`);
      L.push(`for (j = 1; j < x.length; j++) t += ',' + ${jsonValueExpr(g, fp, 'x[j]')};`);
      L.push("j = -1; s += " + sep + " + t + ']';");
      L.push('}');
    } else {
      L.push(`s += ${sep} + ${jsonValueExpr(g, fp, 'x')};`);
    }
    L.push('}');
  });
  L.push("return '{' + s + '}';");
  const factory = new Function('W', 'D', `return function write_${type.name}(o) {\n${g.L.join('\n')}\n};`) as (w: typeof W, d: unknown[]) => Writer;
  return factory(W, g.deps);
}

/** JS expression converting value `x` of field `fp` to what protobufjs encodes. */
function pbValueExpr(g: Gen, fp: FieldPlan, x: string): string {
  switch (fp.kind) {
    case 'int64':
    case 'uint64':
      return `W.pbLong(${x}, ${fp.signed})`;
    case 'enum': {
      const values = g.dep(fp.enumType!.values);
      const err = g.dep(`Unknown ${fp.enumType!.name} value `);
      return `(typeof ${x} === 'string' && Object.prototype.hasOwnProperty.call(${values}, ${x}) ? ${values}[${x}] : W.pbBadEnum(${err}, ${x}))`;
    }
    case 'message':
      return `${g.dep(pbConverter(fp.messageType!))}(${x})`;
    case 'bytes':
      return `W.pbBytes(${x})`;
    case 'string':
      return `(typeof ${x} === 'string' ? ${x} : W.pbStr(${x}))`;
    case 'bool':
      return `W.pbBool(${x})`;
    default:
      return `(typeof ${x} === 'number' ? ${x} : W.pbNum(${x}))`;
  }
}

function generatePbConverter(type: protobuf.Type): PbConv {
  const plan = planFor(type);
  const g = gen();
  const { L } = g;
  emitBody(g, plan, 'const out = {}; const filled = o[W.FILLED];', (fp, i) => {
    const N = JSON.stringify(fp.name);
    const A = `o[${N}]`;
    L.push(`x = ${A};`);
    const absent = fp.required ? `f = -1; throw new W.PathError('', '', [${N}]);` : '';
    L.push(`if (x === undefined || x === null) { ${absent} }`);
    if (fp.hasFill) L.push(`else if (filled !== undefined && x === ${g.dep(fp.fill)} && filled.includes(${N})) {}`);
    L.push(`else { f = ${i};`);
    if (fp.isMap) {
      L.push('const m = {}; const ks = Object.keys(x);');
      L.push(`for (j = 0; j < ks.length; j++) m[ks[j]] = ${pbValueExpr(g, fp, 'x[ks[j]]')};`);
      L.push(`j = -1; out[${N}] = m;`);
    } else if (fp.repeated) {
      L.push(`if (!Array.isArray(x)) throw new W.PathError('Expecting an array', '');`);
      L.push('const arr = new Array(x.length);');
      L.push(`for (j = 0; j < x.length; j++) arr[j] = ${pbValueExpr(g, fp, 'x[j]')};`);
      L.push(`j = -1; out[${N}] = arr;`);
    } else {
      L.push(`out[${N}] = ${pbValueExpr(g, fp, 'x')};`);
    }
    L.push('}');
  });
  L.push('return out;');
  const factory = new Function('W', 'D', `return function pbobj_${type.name}(o) {\n${g.L.join('\n')}\n};`) as (w: typeof W, d: unknown[]) => PbConv;
  return factory(W, g.deps);
}

/** Mesos object form -> Mesos JSON text (byte-compatible with a Mesos master's writer). */
export function toJsonText(type: protobuf.Type, obj: unknown): string {
  try {
    return jsonWriter(type)(obj);
  } catch (e) {
    throw toCodecError(e);
  }
}

/** Mesos object form -> plain object for protobufjs Type.encode (proto2 presence kept, see FILLED_DEFAULTS). */
export function toProtobufObject(type: protobuf.Type, obj: unknown): Record<string, unknown> {
  try {
    return pbConverter(type)(obj) as Record<string, unknown>;
  } catch (e) {
    throw toCodecError(e);
  }
}
