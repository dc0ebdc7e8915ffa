/**
 * The store directory: created if missing (with its parents), and checked before anything else so
 * that a wrong --store path gets a sentence saying what is wrong instead of a bare errno.
 */
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StoreError } from './errors.js';

const EXPECTED = 'the store path must name a directory (created if missing) that this process can write';

/** Creates `dir` if needed and checks it is a writable directory; throws StoreError otherwise. */
export async function prepareStoreDir(dir: string, sync: boolean): Promise<void> {
  let created: string | undefined;
  try {
    created = await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    throw describe(dir, err as NodeJS.ErrnoException, 'create');
  }
  if (created !== undefined && sync) await fsyncDir(path.dirname(created));
  let st: fs.Stats;
  try {
    st = await fsp.stat(dir);
  } catch (err) {
    throw describe(dir, err as NodeJS.ErrnoException, 'read');
  }
  if (!st.isDirectory()) throw notADirectory(dir);
  try {
    await fsp.access(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    throw describe(dir, err as NodeJS.ErrnoException, 'write to');
  }
}

function notADirectory(dir: string): StoreError {
  return new StoreError(`store path ${dir} is an existing file, not a directory; ${EXPECTED}`, dir);
}

function describe(dir: string, err: NodeJS.ErrnoException, verb: string): StoreError {
  switch (err.code) {
    case 'EEXIST':
      return notADirectory(dir);
    case 'ENOTDIR': {
      const file = firstFileOnPath(dir);
      return new StoreError(
        `store path ${dir} goes through ${file ?? 'a path component'}, which is a file, not a directory; ${EXPECTED}`,
        file ?? dir,
      );
    }
    case 'EACCES':
    case 'EPERM':
      return new StoreError(
        `cannot ${verb} the store directory ${dir}: permission denied for ${userName()}; ${EXPECTED}`,
        dir,
      );
    case 'EROFS':
      return new StoreError(`cannot ${verb} the store directory ${dir}: the file system is read-only; ${EXPECTED}`, dir);
    case 'ENOSPC':
      return new StoreError(`cannot ${verb} the store directory ${dir}: no space left on the device`, dir);
    default:
      return new StoreError(`cannot ${verb} the store directory ${dir}: ${err.message}`, dir);
  }
}

/** The first existing non-directory among the ancestors of `p` (nearest the root first). */
function firstFileOnPath(p: string): string | undefined {
  const parts: string[] = [];
  for (let q = p; ; q = path.dirname(q)) {
    parts.unshift(q);
    if (path.dirname(q) === q) break;
  }
  for (const q of parts) {
    try {
      if (!fs.statSync(q).isDirectory()) return q;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function userName(): string {
  const uid = process.getuid?.();
  return uid === undefined ? 'this user' : `uid ${uid}`;
}

/** fsync a directory so renames/creations in it are durable (a no-op where unsupported). */
export async function fsyncDir(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await h?.close();
  }
}
