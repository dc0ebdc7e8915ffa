/**
 * Small helpers of the simulator: a seeded PRNG, UUIDs, IPv4 packing, number formatting as the
 * Mesos C++ code prints it, and a tiny JSON writer for the hand-written (non-protobuf) endpoints
 * such as /master/state, where doubles must be written like stout does (`4.0`, not `4`).
 */
import { randomBytes } from 'node:crypto';
import { formatDouble } from '../mesos/json.js';

/** mulberry32: small, fast, deterministic PRNG. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** 16 random bytes shaped as an RFC 4122 version 4 UUID (what stout's UUID::random() produces). */
export function uuidBytes(rng?: Rng): Buffer {
  const b = rng ? rng.bytes(16) : randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b;
}

export function uuidString(bytes: Uint8Array): string {
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function newUuid(rng?: Rng): string {
  return uuidString(uuidBytes(rng));
}

/**
 * stout `UUID::fromBytes` acceptance: exactly 16 bytes and a known version (1..5 in the high
 * nibble of byte 6), otherwise "Not a valid UUID".
 */
export function isValidUuidBytes(b: Uint8Array | undefined): boolean {
  if (!b || b.byteLength !== 16) return false;
  const v = b[6]! >> 4;
  return v >= 1 && v <= 5;
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `MasterInfo.ip`: the IPv4 address as the uint32 of its network-order bytes read in host (LE) order. */
export function packIp(ip: string): number {
  const p = ip.split('.').map((x) => Number(x));
  return ((p[3]! << 24) | (p[2]! << 16) | (p[1]! << 8) | p[0]!) >>> 0;
}

/** glibc inet_pton(AF_INET) acceptance: four decimal octets 0..255, no leading zeros, nothing else. */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return false;
    if (p.length > 1 && p[0] === '0') return false;
    if (Number(p) > 255) return false;
  }
  return true;
}

/** C++ `ostream << double` with default precision (6 significant digits, %g style). */
export function cppDouble(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -5 || exp >= 6) {
    const s = v.toExponential(5); // d.ddddde+x
    let [mant, e] = s.split('e') as [string, string];
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '').padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  let s = v.toPrecision(6);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** Seconds (double) of a millisecond timestamp, as Mesos writes `TaskStatus.timestamp`. */
export function secs(ms: number): number {
  return ms / 1000;
}

/** Nanoseconds (bigint) of a millisecond timestamp. */
export function nanos(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

// ---------------------------------------------------------------------------------------------
// A minimal JSON writer for hand-built documents: doubles are wrapped in `Dbl` so they are written
// like stout's writer (`4.0`); `RawJson` embeds text produced by the protobuf JSON encoder.

export class Dbl {
  constructor(readonly v: number) {}
}
export class RawJson {
  constructor(readonly text: string) {}
}
export const dbl = (v: number): Dbl => new Dbl(v);

export function writeJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Dbl) return formatDouble(v.v);
  if (v instanceof RawJson) return v.text;
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isInteger(v) ? String(v) : formatDouble(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      break;
  }
  if (Array.isArray(v)) return '[' + v.map(writeJson).join(',') + ']';
  const o = v as Record<string, unknown>;
  let s = '{';
  let first = true;
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (x === undefined) continue;
    s += (first ? '' : ',') + JSON.stringify(k) + ':' + writeJson(x);
    first = false;
  }
  return s + '}';
}
