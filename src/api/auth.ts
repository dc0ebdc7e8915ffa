/**
 * Who is calling the operator API, and what they may do (README "Roles and the tokens file").
 *
 * Identities:
 * - a tokens file (`api_tokens_file`): one token per line, `NAME ROLE sha256:HEX`, the SHA-256 of the
 *   token in hex (never the token itself), `#` comments;
 * - the single `api_token`: the operator named "token";
 * - no credential configured at all (loopback only, see util/api-address.ts): the local user, "local", admin.
 * Once any credential is configured, every request needs `Authorization: Bearer <token>` (401
 * otherwise). The presented token is hashed and compared with EVERY known hash in constant time.
 *
 * Roles (router.ts): viewer < operator < admin. A route declares the least role it needs (the
 * server answers 403 naming the missing role); a route may ask for more for some requests with
 * `requireRole` (e.g. `force` needs admin).
 *
 * The file is re-read when it changes (checked at most once a second, on a request) and on SIGHUP.
 * A reload that fails keeps the previous tokens and logs `api_tokens_reload_failed` (a typo must not
 * lock every operator out in the middle of a maintenance). At startup a bad file is a clear error.
 *
 * Tokens never reach a log line, an answer or an audit entry: only names and roles do.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { nullLogger, type Logger } from '../util/logger.js';
import { CONTROL_CHARS } from '../util/text.js';
import { readTokensFile, sha256, TokensFileError, type FileStamp } from '../util/tokens-file.js';
import { ApiError, roleAllows, type ApiRequest, type Principal, type Role } from './router.js';

export { parseTokensFile, readTokensFile, TokensFileError } from '../util/tokens-file.js';

export const WWW_AUTHENTICATE_BEARER = 'Bearer realm="sluice"';

/** Longest reason accepted (characters). */
export const MAX_REASON_CHARS = 500;

export interface AuthOptions {
  /** The single token (name "token", role operator). */
  token?: string;
  /** Path of the tokens file. */
  tokensFile?: string;
  logger?: Logger;
  /** How often (ms) a request may look at the file for changes (default 1000). */
  recheckMs?: number;
}

interface Known {
  name: string;
  role: Role;
  hash: Buffer;
}

export class Authenticator {
  private known: Known[] = [];
  private stamp: FileStamp | undefined;
  private lastCheck = 0;
  private readonly log: Logger;
  private readonly recheckMs: number;
  private readonly onHup = () => this.reload('SIGHUP');

  /** Throws TokensFileError (clear message, no secret) when the tokens file is unusable. */
  constructor(private readonly opts: AuthOptions) {
    this.log = opts.logger ?? nullLogger();
    this.recheckMs = opts.recheckMs ?? 1000;
    if (opts.tokensFile !== undefined) {
      this.known = this.load();
      process.on('SIGHUP', this.onHup);
    } else this.known = this.single();
  }

  /** Is any credential configured (then every request needs one)? */
  get required(): boolean {
    return this.opts.token !== undefined || this.opts.tokensFile !== undefined;
  }

  /** Names and roles known now (for the startup log; never tokens). */
  get identities(): Array<{ name: string; role: Role }> {
    return this.known.map((k) => ({ name: k.name, role: k.role }));
  }

  /** The caller; 401 ApiError for a missing or unknown token when credentials are configured. */
  authenticate(headers: IncomingHttpHeaders): Principal {
    if (!this.required) return { name: 'local', role: 'admin' };
    this.maybeReload();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization?.trim() ?? '');
    const presented = m ? sha256(m[1]!) : undefined;
    let found: Known | undefined;
    // every entry compared, in constant time each: which one matched does not show in the timing
    for (const k of this.known) {
      const eq = crypto.timingSafeEqual(presented ?? Buffer.alloc(32), k.hash);
      if (eq && presented && !found) found = k;
    }
    if (!found) {
      throw new ApiError(
        401,
        'unauthorized',
        `this API requires "Authorization: Bearer <token>" (${this.opts.tokensFile !== undefined ? 'a token of the tokens file' : 'see --api-token / SLUICE_API_TOKEN'})`,
        { 'www-authenticate': WWW_AUTHENTICATE_BEARER },
      );
    }
    return { name: found.name, role: found.role };
  }

  /** Re-reads the tokens file; on failure keeps the current tokens. Returns whether it took the new file. */
  reload(why: string): boolean {
    if (this.opts.tokensFile === undefined) return false;
    try {
      this.known = this.load();
      this.log.info('api_tokens_reloaded', { event: 'api_tokens_reloaded', file: this.opts.tokensFile, trigger: why, identities: this.known.length });
      return true;
    } catch (e) {
      this.log.error('api_tokens_reload_failed', {
        event: 'api_tokens_reload_failed',
        file: this.opts.tokensFile,
        trigger: why,
        error: (e as Error).message,
        kept: `${this.known.length} identities of the last good file`,
      });
      return false;
    }
  }

  close(): void {
    process.off('SIGHUP', this.onHup);
  }

  private single(): Known[] {
    return this.opts.token !== undefined ? [{ name: 'token', role: 'operator', hash: sha256(this.opts.token) }] : [];
  }

  private load(): Known[] {
    const file = this.opts.tokensFile!;
    const { entries, stamp } = readTokensFile(file, (msg) => this.log.warn('api_tokens_file_permissions', { event: 'api_tokens_file_permissions', file, warning: msg }));
    const single = this.single();
    for (const s of single) {
      const dup = entries.find((e) => crypto.timingSafeEqual(e.hash, s.hash));
      if (dup) throw new TokensFileError(`api tokens file ${file}: line ${dup.line} (${dup.name}) has the same token as --api-token (SLUICE_API_TOKEN): each needs its own`);
    }
    this.stamp = stamp;
    this.lastCheck = Date.now();
    return [...entries.map((e) => ({ name: e.name, role: e.role, hash: e.hash })), ...single];
  }

  private maybeReload(): void {
    if (this.opts.tokensFile === undefined) return;
    const now = Date.now();
    if (now - this.lastCheck < this.recheckMs) return;
    this.lastCheck = now;
    let st: fs.Stats;
    try {
      st = fs.statSync(this.opts.tokensFile);
    } catch (e) {
      if (this.stamp) this.log.error('api_tokens_reload_failed', { event: 'api_tokens_reload_failed', file: this.opts.tokensFile, trigger: 'change', error: (e as Error).message, kept: `${this.known.length} identities of the last good file` });
      this.stamp = undefined;
      return;
    }
    const s = this.stamp;
    if (s && s.ino === st.ino && s.size === st.size && s.mtimeMs === st.mtimeMs && s.ctimeMs === st.ctimeMs) return;
    if (!this.reload('change')) this.stamp = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs }; // log a bad file once
  }
}

/** 403 unless the caller has `role`. `what` says what needed it (e.g. "--force"). */
export function requireRole(req: Pick<ApiRequest, 'principal'>, role: Role, what: string): void {
  if (roleAllows(req.principal.role, role)) return;
  throw new ApiError(403, `forbidden: ${what} needs the ${role} role`, {
    actor: req.principal.name,
    role: req.principal.role,
    missing_role: role,
    message: `${req.principal.name} has the ${req.principal.role} role; ${what} needs ${role}`,
  });
}

/**
 * A reason as given by an operator: a string of 1..MAX_REASON_CHARS characters, no control
 * characters (newlines included: one line in every log and table). Undefined when absent.
 */
export function checkReason(v: unknown, path = 'reason'): string | undefined {
  if (v === undefined) return undefined;
  const bad = (message: string): never => {
    throw new ApiError(400, `invalid ${path}`, [{ path, message }]);
  };
  if (typeof v !== 'string') return bad(`must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  const t = v.trim();
  if (!t) return bad('must not be empty');
  if ([...t].length > MAX_REASON_CHARS) return bad(`must be at most ${MAX_REASON_CHARS} characters`);
  // C0, DEL, C1, and the Unicode line/paragraph separators and bidi overrides (they reorder terminal text)
  if (CONTROL_CHARS.test(t)) return bad('must be one line of text without control characters');
  return t;
}

/**
 * Takes `reason` out of a request body (so the verb's own field checks never see it) and returns it
 * unchecked; `attribution` checks it once the verb's fields are known to be good.
 */
export function takeReason(body: Record<string, unknown> | undefined): unknown {
  if (!body || !Object.prototype.hasOwnProperty.call(body, 'reason')) return undefined;
  const raw = body['reason'];
  delete body['reason'];
  return raw;
}

/**
 * Who does a mutating request, and why: checks the reason (from `takeReason`) and enforces the
 * policy: `force` needs admin and a reason; an action listed in `require_reason` needs a reason.
 * 400 / 403 ApiErrors.
 */
export function attribution(
  req: Pick<ApiRequest, 'principal' | 'reasonRequired'>,
  action: string,
  rawReason: unknown,
  opts: { force?: boolean } = {},
): { actor: string; reason?: string } {
  if (opts.force) requireRole(req, 'admin', '--force');
  const reason = checkReason(rawReason);
  if (reason === undefined && (opts.force || req.reasonRequired(action))) {
    throw new ApiError(400, `a reason is required for ${opts.force ? '--force' : action}`, [
      { path: 'reason', message: opts.force ? 'forcing needs a reason (--reason TEXT): it is recorded in the audit' : `this Sluice requires a reason for ${action} (require_reason setting): pass --reason TEXT` },
    ]);
  }
  return reason === undefined ? { actor: req.principal.name } : { actor: req.principal.name, reason };
}
