/**
 * Small HTTP helpers on undici shared by the client and the leader detector: master URL parsing,
 * redirect resolution, dispatchers with TLS options, Basic auth, and error classification.
 */
import fs from 'node:fs';
import { Agent } from 'undici';
import { redactUrl } from '../util/redact.js';
import { UnsupportedMasterUrlError } from './errors.js';

export const SCHEDULER_PATH = '/api/v1/scheduler';
export const REDIRECT_PATH = '/master/redirect';

export interface TlsOptions {
  /** PEM file with the CA certificate(s) to trust (in addition to nothing else: it replaces the default CAs). */
  caFile?: string;
  /** PEM text of the CA certificate(s); alternative to caFile. */
  ca?: string | Buffer;
  /** Default true. Only set false for test clusters with self-signed certificates. */
  rejectUnauthorized?: boolean;
  /** TLS server name to check, when masters are addressed by IP. */
  servername?: string;
}

export interface BasicAuth {
  principal: string;
  secret: string;
}

/**
 * Normalises the configured masters to origins (`scheme://host:port`).
 * `host:port` without a scheme means http. `zk://` is rejected: ZooKeeper detection is not
 * implemented yet. A path after host:port is ignored (the scheduler API lives at a fixed path and
 * a master's redirects name only host:port). User info (`user:pass@`) is never part of the result
 * (see masterCredentials) and never appears in an error message.
 */
export function parseMasterUrls(masters: readonly string[]): string[] {
  if (!Array.isArray(masters) || masters.length === 0) {
    throw new UnsupportedMasterUrlError('No masters given: pass at least one http(s)://host:port URL');
  }
  const out: string[] = [];
  for (const raw of masters) {
    const s = String(raw).trim();
    if (/^zk:\/\//i.test(s)) {
      throw new UnsupportedMasterUrlError(
        `ZooKeeper master detection is not supported yet (${redactUrl(s)}); list the masters as http(s)://host:port URLs instead`,
      );
    }
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw new UnsupportedMasterUrlError(`Malformed master URL ${JSON.stringify(redactUrl(s))}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new UnsupportedMasterUrlError(`Unsupported master URL scheme ${u.protocol} in ${JSON.stringify(redactUrl(s))} (use http or https)`);
    }
    if (!out.includes(u.origin)) out.push(u.origin);
  }
  return out;
}

/**
 * Resolves a redirect `Location` against the URL that answered. Mesos sends protocol-relative
 * locations (`//host:port/path`); WHATWG URL resolution keeps the scheme of the base, as required.
 */
export function resolveLocation(location: string, base: string): URL {
  return new URL(location, base);
}

/**
 * HTTP Basic credentials carried by the master URLs (`http://principal:secret@master:5050`), if any.
 * They are what curl and other frameworks would send, so the client uses them when no explicit
 * `auth` is given. Percent-escapes are decoded. All URLs that carry credentials must carry the
 * same ones (a master list is one cluster); otherwise, and for a user without a secret, this
 * throws an error that names no secret.
 */
export function masterCredentials(masters: readonly string[]): BasicAuth | undefined {
  let found: BasicAuth | undefined;
  for (const raw of masters) {
    const s = String(raw).trim();
    let u: URL;
    try {
      u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`);
    } catch {
      continue; // parseMasterUrls reports it
    }
    if (!u.username && !u.password) continue;
    let auth: BasicAuth;
    try {
      auth = { principal: decodeURIComponent(u.username), secret: decodeURIComponent(u.password) };
    } catch {
      throw new UnsupportedMasterUrlError(`Master URL ${redactUrl(s)} has badly escaped credentials; use --principal/--secret instead`);
    }
    if (!auth.principal || !auth.secret) {
      throw new UnsupportedMasterUrlError(`Master URL ${redactUrl(s)} carries a principal or a secret without the other; use --principal/--secret instead`);
    }
    if (found && (found.principal !== auth.principal || found.secret !== auth.secret)) {
      throw new UnsupportedMasterUrlError('The master URLs carry different credentials; give one principal/secret (--principal/--secret) instead');
    }
    found = auth;
  }
  return found;
}

/**
 * redactUrl for a `Location` header: Mesos sends them protocol-relative (`//host:port/path`),
 * which redactUrl alone does not recognise as a URL with user info.
 */
/** A redirect Location (often protocol-relative, `//host:5050`) without its user info. */
export function redactLocation(location: string): string {
  return redactUrl(location);
}

export function basicAuthHeader(auth: BasicAuth | undefined): string | undefined {
  if (!auth) return undefined;
  return 'Basic ' + Buffer.from(`${auth.principal}:${auth.secret}`, 'utf8').toString('base64');
}

export function createDispatcher(tls: TlsOptions | undefined, opts: { keepAlive: boolean }): Agent {
  const connect: Record<string, unknown> = {};
  if (tls?.caFile) connect['ca'] = fs.readFileSync(tls.caFile);
  else if (tls?.ca) connect['ca'] = tls.ca;
  if (tls?.rejectUnauthorized !== undefined) connect['rejectUnauthorized'] = tls.rejectUnauthorized;
  if (tls?.servername) connect['servername'] = tls.servername;
  return new Agent({
    connect,
    // all timeouts are driven by the client's Clock (so tests can use a VirtualClock)
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: opts.keepAlive ? 4_000 : 1,
    keepAliveMaxTimeout: opts.keepAlive ? 60_000 : 1,
  });
}

/** Error code of a network-level failure (undici or Node), if any. */
export function errorCode(e: unknown): string | undefined {
  const codes: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    cur = (cur as { cause?: unknown }).cause;
  }
  // prefer the OS-level code (ECONNREFUSED) over undici's generic wrappers
  return codes.find((c) => !c.startsWith('UND_ERR_SOCKET') && c !== 'UND_ERR_ABORTED') ?? codes[0];
}

/** Failures where the request certainly never reached a server, so re-sending anything is safe. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function certainlyNotSent(code: string | undefined): boolean {
  return code !== undefined && NOT_SENT.has(code);
}

export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = errorCode(e);
    const cause = (e as { cause?: unknown }).cause;
    const causeMsg = cause instanceof Error && cause.message !== e.message ? ` (${cause.message})` : '';
    return `${e.message}${causeMsg}${code && !e.message.includes(code) ? ` [${code}]` : ''}`;
  }
  return String(e);
}
