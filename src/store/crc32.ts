/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the same function as zlib's crc32.
 * Uses node:zlib's native `crc32` when the running Node has it (added in 20.15) and a
 * table-driven implementation otherwise. Both are exported so tests can check they agree.
 */
import zlib from 'node:zlib';

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Table-driven CRC-32. `prev` continues a running checksum (the result of an earlier call). */
export function crc32Table(data: Uint8Array, prev = 0): number {
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

type NativeCrc32 = (data: Uint8Array | string, value?: number) => number;
const native: NativeCrc32 | undefined =
  typeof (zlib as unknown as { crc32?: unknown }).crc32 === 'function'
    ? ((zlib as unknown as { crc32: NativeCrc32 }).crc32)
    : undefined;

/** True when the native zlib.crc32 is used. */
export const nativeCrc32Available = native !== undefined;

/** CRC-32 of `data`, continuing from `prev` (0 to start). Always an unsigned 32-bit number. */
export function crc32(data: Uint8Array, prev = 0): number {
  return native ? native(data, prev) >>> 0 : crc32Table(data, prev);
}
