/**
 * The operator API's tokens file (`api_tokens_file`, README "Roles and the tokens file"): one
 * identity per line, `NAME ROLE sha256:HEX` — the SHA-256 of the token in hex, never the token —
 * `#` starts a comment. Parsed here (below the API and the configuration, which both check it: the
 * configuration at startup for a clear error before anything starts, the API server on every reload).
 * Every problem is reported with its line; no message ever contains a token or a token field.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';

/** Who may do what on the operator API: viewer reads; operator also runs maintenance verbs and changes jobs; admin also forces and overrides. */
export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Largest tokens file read. */
export const MAX_TOKENS_FILE_BYTES = 1024 * 1024;

/** Names Sluice uses itself in the audit (a token holder may not take them). */
const RESERVED_NAMES = ['local', 'token', 'sluice'];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const HASH_RE = /^sha256:([0-9a-fA-F]{64})$/;

/** Tokens nobody should use: refused when the file holds their hash. */
const WEAK_TOKENS = ['', 'token', 'secret', 'password', 'passw0rd', 'changeme', 'admin', 'root', 'test', 'sluice', 'letmein', 'qwerty', '1234', '123456', '12345678', 'default'];

export class TokensFileError extends Error {
  override readonly name = 'TokensFileError';
}

export interface TokenEntry {
  name: string;
  role: Role;
  /** SHA-256 of the token (32 bytes). */
  hash: Buffer;
  line: number;
}

export const sha256 = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();

/**
 * Parses the tokens file text. Every problem is reported (with its line), none echoes a token.
 * `where` names the file in messages.
 */
export function parseTokensFile(text: string, where: string): TokenEntry[] {
  const problems: string[] = [];
  const entries: TokenEntry[] = [];
  if (text.includes('\0')) throw new TokensFileError(`${where}: not a text file (contains NUL bytes)`);
  const weak = new Map(WEAK_TOKENS.map((t) => [sha256(t).toString('hex'), t === '' ? 'the empty token' : 'a well-known weak token']));
  const byName = new Map<string, number>();
  const byHash = new Map<string, TokenEntry>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const t = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!t) return;
    const f = t.split(/\s+/);
    if (f.length !== 3) {
      problems.push(`line ${line}: expected 3 fields "NAME ROLE sha256:HEX", got ${f.length}`);
      return;
    }
    const [name, role, secret] = f as [string, string, string];
    let ok = true;
    if (!NAME_RE.test(name)) {
      problems.push(`line ${line}: name must be 1-64 letters, digits, . _ @ - (starting with a letter or digit), got ${JSON.stringify(name.slice(0, 70))}`);
      ok = false;
    } else if (RESERVED_NAMES.includes(name.toLowerCase())) {
      problems.push(`line ${line}: the name "${name}" is reserved (${RESERVED_NAMES.join(', ')} are used by Sluice itself)`);
      ok = false;
    }
    if (!(ROLES as readonly string[]).includes(role)) {
      problems.push(`line ${line}: role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role.slice(0, 30))}`);
      ok = false;
    }
    const m = HASH_RE.exec(secret);
    if (!m) {
      // never echo this field: it may be a plaintext token
      problems.push(
        `line ${line}: the third field must be sha256:<64 hex digits>, the SHA-256 of the token (printf %s "$TOKEN" | sha256sum); ` +
          `plaintext tokens are not accepted`,
      );
      return;
    }
    const hex = m[1]!.toLowerCase();
    const w = weak.get(hex);
    if (w) {
      problems.push(`line ${line}: ${name} has ${w}; generate one with: openssl rand -base64 32`);
      ok = false;
    } else if (hex === sha256(name).toString('hex') || hex === sha256(name.toLowerCase()).toString('hex')) {
      problems.push(`line ${line}: ${name}'s token is its own name; generate one with: openssl rand -base64 32`);
      ok = false;
    }
    const key = name.toLowerCase();
    const prevLine = byName.get(key);
    if (prevLine !== undefined) {
      problems.push(`line ${line}: the name "${name}" is already used on line ${prevLine} (one name, one token)`);
      ok = false;
    } else byName.set(key, line);
    const same = byHash.get(hex);
    if (same) {
      problems.push(`line ${line}: ${name} has the same token as ${same.name} (line ${same.line}): each person or system needs its own token`);
      ok = false;
    }
    if (!ok) return;
    const e: TokenEntry = { name, role: role as Role, hash: Buffer.from(hex, 'hex'), line };
    byHash.set(hex, e);
    entries.push(e);
  });
  if (problems.length) throw new TokensFileError(`${where}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  if (!entries.length) throw new TokensFileError(`${where}: no tokens in it (lines "NAME ROLE sha256:HEX"; # starts a comment)`);
  return entries;
}

export interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** Reads and checks the tokens file: a regular file, bounded, not writable by others. Warnings go to `warn`. */
export function readTokensFile(file: string, warn: (msg: string) => void): { entries: TokenEntry[]; stamp: FileStamp } {
  let fd: number | undefined;
  try {
    try {
      // O_NONBLOCK: a FIFO (or device) put in its place must not block the process on open; it is refused below
      fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TokensFileError(`api tokens file ${file}: ${code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new TokensFileError(`api tokens file ${file}: not a regular file`);
    if (st.size > MAX_TOKENS_FILE_BYTES) throw new TokensFileError(`api tokens file ${file}: larger than ${MAX_TOKENS_FILE_BYTES} bytes`);
    if (process.platform !== 'win32') {
      if (st.mode & 0o002) throw new TokensFileError(`api tokens file ${file}: writable by every user (mode ${(st.mode & 0o777).toString(8)}): anyone could make themselves admin; chmod 600 it`);
      if (st.mode & 0o020) warn(`api tokens file ${file} is writable by its group (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
      else if (st.mode & 0o004) warn(`api tokens file ${file} is readable by every user (mode ${(st.mode & 0o777).toString(8)}); it holds only hashes, but chmod 600 it`);
    }
    const buf = Buffer.alloc(Math.min(st.size, MAX_TOKENS_FILE_BYTES) + 1);
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_TOKENS_FILE_BYTES) throw new TokensFileError(`api tokens file ${file}: larger than ${MAX_TOKENS_FILE_BYTES} bytes`);
      if (n === buf.length) break; // grew while reading: the next check sees the new stamp
    }
    const entries = parseTokensFile(buf.subarray(0, n).toString('utf8'), `api tokens file ${file}`);
    return { entries, stamp: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
