/**
 * The LOCK file: one Sluice process per store directory. Created with O_EXCL ('wx'); holds
 * "<pid>\n<hostname>\n". A lock whose pid is not alive on this host is stale (the holder crashed) and
 * is taken over with a warning. Within one process a registry of open directories catches a second
 * open (the pid check alone cannot, and a restarted container may reuse the crashed holder's pid).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreLockedError } from './errors.js';
import type { StoreLogger } from './logger.js';

export const LOCK_FILE = 'LOCK';

const openInThisProcess = new Set<string>();

export interface LockHandle {
  readonly file: string;
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function parseLock(text: string): { pid?: number; host?: string } {
  const [pidLine, hostLine] = text.split('\n');
  const pid = Number(pidLine);
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, host: hostLine || undefined };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function acquireLock(dir: string, logger: StoreLogger): Promise<LockHandle> {
  const key = fs.realpathSync(dir);
  const file = path.join(dir, LOCK_FILE);
  if (openInThisProcess.has(key)) {
    throw new StoreLockedError(`store ${dir} is already open in this process (pid ${process.pid}); close it first`, file, process.pid);
  }
  const host = os.hostname();
  for (let attempt = 0; attempt < 50; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let text: string;
      let mtimeMs: number;
      try {
        text = fs.readFileSync(file, 'utf8');
        mtimeMs = fs.statSync(file).mtimeMs;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: retry
        throw e;
      }
      const held = parseLock(text);
      if (held.pid === undefined) {
        // Empty or garbled: a holder crashed between create and write, or is writing right now.
        if (Date.now() - mtimeMs < 2000) {
          await sleep(50);
          continue;
        }
        logger.warn(`store lock ${file} is unreadable (${JSON.stringify(text.slice(0, 40))}); taking it over`, {
          event: 'store_lock_stale',
          file,
        });
      } else if (held.host !== undefined && held.host !== host) {
        throw new StoreLockedError(
          `store ${dir} is locked by pid ${held.pid} on host ${held.host} (this is ${host}); cannot check whether it is alive. ` +
            `If no Sluice is using this directory, remove ${file}`,
          file,
          held.pid,
        );
      } else if (held.pid !== process.pid && pidAlive(held.pid)) {
        throw new StoreLockedError(
          `store ${dir} is locked by running process ${held.pid} (${file}); is another Sluice using it? ` +
            `If that pid is not a Sluice process, remove ${file}`,
          file,
          held.pid,
        );
      } else {
        logger.warn(`store lock ${file} is held by pid ${held.pid}, which is not running; taking over the stale lock`, {
          event: 'store_lock_stale',
          file,
          pid: held.pid,
        });
      }
      try {
        fs.unlinkSync(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      continue;
    }
    try {
      fs.writeSync(fd, `${process.pid}\n${host}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    openInThisProcess.add(key);
    let released = false;
    return {
      file,
      release() {
        if (released) return;
        released = true;
        openInThisProcess.delete(key);
        try {
          // Remove only our own lock (never one another process took over).
          if (parseLock(fs.readFileSync(file, 'utf8')).pid === process.pid) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      },
    };
  }
  throw new StoreLockedError(`could not acquire ${file}: it keeps changing (another process is opening this store)`, file);
}
