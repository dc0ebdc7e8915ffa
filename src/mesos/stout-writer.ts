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

type Writer = (v: unknown) => void;
type PbConv = (v: unknown) => unknown;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Size of the slabs the JSON bytes of calls are written into (see toJsonBytes). */
const SLAB = 64 * 1024;
/**
 * The output of the JSON writer (one encode at a time: writers never call back out). The document
 * being written is B.buf[B.start, B.pos). toJsonBytes writes each document after the previous one
 * in a shared slab and hands out views of it, never rewriting a byte already handed out: no copy
 * and no allocation per call. A slab lives as long as any view of it: a call kept (queued) pins at most
 * one 64 KiB slab, as Node's own 8 KiB Buffer pool does for small buffers.
 */
const B = { buf: Buffer.allocUnsafeSlow(SLAB), start: 0, pos: 0 };

/** Room for n more bytes: the document so far moves to the start of a new buffer. */
function grow(n: number): void {
  const len = B.pos - B.start;
  const nb = Buffer.allocUnsafeSlow(Math.max(SLAB, 2 * len + n));
  B.buf.copy(nb, 0, B.start, B.pos);
  B.buf = nb;
  B.start = 0;
  B.pos = len;
}

function ascii(s: string): Uint8Array {
  const b = Buffer.from(s, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
function utf8(s: string): Uint8Array {
  const b = Buffer.from(s, 'utf8');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Is every object reachable from `v` frozen? Such a value cannot change any more, so its JSON bytes
 * can be kept and reused (the scheduler freezes the parts of TaskInfos shared by a job's tasks).
 */
export function deeplyFrozen(v: object, depth: number): boolean {
  if (!Object.isFrozen(v) || depth > 32) return false;
  // plain objects and arrays only: a prototype's properties or a getter could still change
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return false;
  for (const k of Object.getOwnPropertyNames(v)) {
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    if (!('value' in d)) return false;
    const x = d.value as unknown;
    if (typeof x === 'object' && x !== null && !deeplyFrozen(x, depth + 1)) return false;
  }
  return true;
}

const TRUE = ascii('true');
const FALSE = ascii('false');

/** Runtime shared by the generated code (byte output, checks that are not worth inlining). */
const W = {
  PathError,
  prefixed,
  FILLED: FILLED_DEFAULTS as symbol,
  notObject(v: unknown): boolean {
    return typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array;
  },
  /** Position in the current document (stable when the buffer grows). */
  pos(): number {
    return B.pos - B.start;
  },
  byte(c: number): void {
    if (B.pos >= B.buf.length) grow(1);
    B.buf[B.pos++] = c;
  },
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    if (B.pos + n > B.buf.length) grow(n);
    const b = B.buf;
    let p = B.pos;
    for (let i = 0; i < n; i++) b[p++] = bytes[i]!;
    B.pos = p;
  },
  /** A string known to be ASCII (numbers, base64). */
  ascii(s: string): void {
    const n = s.length;
    if (B.pos + n > B.buf.length) grow(n);
    const b = B.buf;
    let p = B.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    B.pos = p;
  },
  utf8(s: string): void {
    if (B.pos + s.length * 3 > B.buf.length) grow(s.length * 3);
    B.pos += B.buf.write(s, B.pos, 'utf8');
  },
  str(v: unknown): void {
    if (typeof v !== 'string') throw new PathError('Expecting a string', '');
    const n = v.length;
    if (B.pos + n + 2 > B.buf.length) grow(n + 2);
    const b = B.buf;
    const start = B.pos;
    let p = start;
    b[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
        // escapes or non-ASCII (lone surrogates included): JSON.stringify's text, as UTF-8
        B.pos = start;
        W.utf8(JSON.stringify(v));
        return;
      }
      b[p++] = c;
    }
    b[p++] = 0x22;
    B.pos = p;
  },
  dbl(v: unknown): void {
    if (typeof v !== 'number') throw new PathError('Expecting a number', '');
    W.ascii(formatDouble(v));
  },
  i32(v: unknown): void {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new PathError('Expecting an integer', '');
    W.ascii(String(v));
  },
  i64(v: unknown): void {
    if (typeof v === 'bigint') W.ascii(v.toString());
    else if (typeof v === 'number' && Number.isSafeInteger(v)) W.ascii(String(v));
    else throw new PathError('Expecting a bigint', '');
  },
  bool(v: unknown): void {
    if (typeof v !== 'boolean') throw new PathError('Expecting a boolean', '');
    W.raw(v ? TRUE : FALSE);
  },
  bytes(v: unknown): void {
    if (!(v instanceof Uint8Array)) throw new PathError('Expecting bytes (Uint8Array)', '');
    W.byte(0x22);
    W.ascii(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
    W.byte(0x22);
  },
  /**
   * Bytes of a deeply frozen object already written as this type, or undefined (then `memoEnd`
   * records them, when the object is deeply frozen, after it is written).
   */
  memo(m: WeakMap<object, Uint8Array | null>, o: object): Uint8Array | null | undefined {
    return m.get(o);
  },
  memoEnd(m: WeakMap<object, Uint8Array | null>, o: object, start: number): void {
    m.set(o, deeplyFrozen(o, 0) ? new Uint8Array(B.buf.subarray(B.start + start, B.pos)) : null); // a copy
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

/** The converter of one type to protobufjs's plain object (throws PathError: see toCodecError). */
export function protobufConverter(type: protobuf.Type): (o: unknown) => unknown {
  return pbConverter(type);
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

/** JS statement writing value `x` of field `fp` as JSON text into the output buffer. */
function jsonValueStmt(g: Gen, fp: FieldPlan, x: string): string {
  switch (fp.kind) {
    case 'string':
      return `W.str(${x});`;
    case 'double':
      return `W.dbl(${x});`;
    case 'int32':
    case 'uint32':
      return `W.i32(${x});`;
    case 'int64':
    case 'uint64':
      return `W.i64(${x});`;
    case 'bool':
      return `W.bool(${x});`;
    case 'bytes':
      return `W.bytes(${x});`;
    case 'enum': {
      // enum names are ASCII identifiers: their quoted bytes are precomputed
      const quoted = g.dep(new Map(Object.keys(fp.enumType!.values).map((n) => [n, ascii(`"${n}"`)])));
      const err = g.dep(`Unknown ${fp.enumType!.name} value `);
      return `t = typeof ${x} === 'string' ? ${quoted}.get(${x}) : undefined; if (t === undefined) W.badEnum(${err}, ${x}); W.raw(t);`;
    }
    case 'message':
      return `${g.dep(jsonWriter(fp.messageType!))}(${x});`;
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
  const memo = g.dep(new WeakMap<object, Uint8Array | null>());
  // a frozen object: reuse its bytes if it was written before (and found deeply frozen then)
  g.L.push(`let start = -1; if (typeof o === 'object' && o !== null && Object.isFrozen(o)) { const m = W.memo(${memo}, o); if (m) { W.raw(m); return; } if (m === undefined) start = W.pos(); }`);
  emitBody(g, plan, 'let first = true; W.byte(0x7b);', (fp, i) => {
    const A = `o[${JSON.stringify(fp.name)}]`;
    const key = `W.raw(first ? ${g.dep(ascii(fp.jsonKey))} : ${g.dep(ascii(',' + fp.jsonKey))}); first = false;`;
    L.push(`x = ${A};`);
    let absent: string;
    if (fp.hasFill) absent = `${key} W.raw(${g.dep(utf8(writeScalar(fp, fp.fill)))});`;
    else if (fp.required) absent = `f = -1; throw new W.PathError('', '', [${JSON.stringify(fp.name)}]);`;
    else absent = '';
    L.push(`if (x === undefined || x === null) { ${absent} } else {`);
    L.push(`f = ${i};`);
    if (fp.isMap) {
      L.push('const ks = Object.keys(x);');
      L.push('if (ks.length !== 0) {');
      L.push(`${key} W.byte(0x7b);`);
      L.push(`for (j = 0; j < ks.length; j++) { if (j) W.byte(0x2c); W.utf8(JSON.stringify(ks[j])); W.byte(0x3a); ${jsonValueStmt(g, fp, 'x[ks[j]]')} }`);
      L.push('j = -1; W.byte(0x7d);');
      L.push('}');
    } else if (fp.repeated) {
      L.push(`if (!Array.isArray(x)) throw new W.PathError('Expecting an array', '');`);
      L.push('if (x.length !== 0) {');
      L.push(`${key} W.byte(0x5b);`);
      L.push(`for (j = 0; j < x.length; j++) { if (j) W.byte(0x2c); ${jsonValueStmt(g, fp, 'x[j]')} }`);
      L.push('j = -1; W.byte(0x5d);');
      L.push('}');
    } else {
      L.push(`${key} ${jsonValueStmt(g, fp, 'x')}`);
    }
    L.push('}');
  });
  L.push('W.byte(0x7d);');
  L.push(`if (start >= 0) W.memoEnd(${memo}, o, start);`);
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

/** Runs the JSON writer of `type` over `obj`; the text is in B.buf[B.start, B.pos). */
function writeJson(type: protobuf.Type, obj: unknown): void {
  B.start = B.pos;
  try {
    jsonWriter(type)(obj);
  } catch (e) {
    B.pos = B.start;
    throw toCodecError(e);
  }
}

/**
 * Mesos object form -> Mesos JSON text as UTF-8 bytes (byte-compatible with a Mesos master's writer).
 * The bytes are a view of the writer's current slab, never written again.
 */
export function toJsonBytes(type: protobuf.Type, obj: unknown): Buffer {
  writeJson(type, obj);
  const out = B.buf.subarray(B.start, B.pos);
  B.start = B.pos;
  nextDocument();
  return out;
}

/** Mesos object form -> Mesos JSON text. */
export function toJsonText(type: protobuf.Type, obj: unknown): string {
  writeJson(type, obj);
  const s = B.buf.toString('utf8', B.start, B.pos);
  B.pos = B.start; // nothing was handed out: the space is written again
  nextDocument();
  return s;
}

/**
 * A slab nearly full, or grown for an unusually large document, is left to the views of it (the
 * garbage collector frees it with the last one): the next document starts a fresh slab.
 */
function nextDocument(): void {
  if (B.pos > B.buf.length - 1024 || B.buf.length > 4 * SLAB) {
    B.buf = Buffer.allocUnsafeSlow(SLAB);
    B.pos = B.start = 0;
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
