/**
 * Which boot of this machine we are running in, as a 32-bit tag stored in the WAL commit block.
 *
 * A process crash (kill -9, OOM, an exception) keeps the kernel's page cache: everything the store
 * wrote before the crash is still there, in the order it was written. Only a machine crash (power
 * loss, kernel panic, a VM reset) can leave the latest group commit half on disk while its commit
 * block already claims it. Comparing the tag in the block with the current one tells the two apart.
 *
 * Linux: the kernel's random boot_id (new at every boot, shared by containers on the host).
 * Elsewhere: the boot time derived from os.uptime(), to the minute; a clock step can make it differ
 * within one boot, which only makes recovery of the latest group commit more lenient (as after a
 * reboot), never stricter.
 */
import fs from 'node:fs';
import os from 'node:os';
import { crc32 } from './crc32.js';

let cached: number | undefined;

export function bootTag(): number {
  if (cached === undefined) {
    let id: string;
    try {
      id = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      id = `boot-minute-${Math.round((Date.now() / 1000 - os.uptime()) / 60)}`;
    }
    cached = crc32(Buffer.from(id, 'utf8'));
  }
  return cached;
}
