/**
 * HTTP Basic authentication of the simulated master, as a real master started with
 * `--credentials`, `--authenticate_http_frameworks` (+ `--http_framework_authenticators=basic`),
 * `--authenticate_http_readonly` and/or `--authenticate_http_readwrite` (+ `--http_authenticators=basic`).
 *
 * Sources (apache/mesos):
 * - src/master/constants.hpp: the realms `mesos-master-scheduler` (/api/v1/scheduler),
 *   `mesos-master-readonly`, `mesos-master-readwrite`.
 * - src/master/master.cpp (Master::initialize): which route is in which realm; an authenticator is
 *   installed for a realm only when its --authenticate_http_* flag is set, otherwise requests of that
 *   realm pass unauthenticated (no principal). /redirect and /health have no realm.
 * - 3rdparty/libprocess/src/process.cpp: authentication runs before the route's handler, so a
 *   refused request gets 401 even from a non-leading master (no 307 first).
 * - 3rdparty/libprocess/src/authenticator.cpp (BasicAuthenticatorProcess::authenticate): no
 *   `Authorization` header, not exactly two space-separated parts with the first `Basic`, bad
 *   base64, not exactly two `:`-separated parts (so a secret containing `:` never matches), unknown
 *   principal or wrong secret → `Unauthorized({"Basic realm=\"<realm>\""})`.
 * - 3rdparty/libprocess/include/process/http.hpp (Unauthorized): 401, header
 *   `WWW-Authenticate: Basic realm="<realm>"`, body `401 Unauthorized.` (text/plain; charset=utf-8).
 */

export type AuthRealm = 'mesos-master-scheduler' | 'mesos-master-readonly' | 'mesos-master-readwrite';

export interface SimCredential {
  principal: string;
  secret: string;
}

/** Which realms require authentication (the master's --authenticate_http_* flags). */
export interface SimAuthenticate {
  /** --authenticate_http_frameworks: /api/v1/scheduler. */
  frameworks?: boolean;
  /** --authenticate_http_readonly: /state, /roles, /maintenance/status, ... */
  readonly?: boolean;
  /** --authenticate_http_readwrite: /api/v1, /maintenance/schedule, /machine/down|up, ... */
  readwrite?: boolean;
}

export class SimAuth {
  private readonly secrets = new Map<string, string>();
  readonly realms: ReadonlySet<AuthRealm>;

  constructor(credentials: readonly SimCredential[], authenticate: SimAuthenticate) {
    for (const c of credentials) this.secrets.set(c.principal, c.secret);
    const realms = new Set<AuthRealm>();
    if (authenticate.frameworks) realms.add('mesos-master-scheduler');
    if (authenticate.readonly) realms.add('mesos-master-readonly');
    if (authenticate.readwrite) realms.add('mesos-master-readwrite');
    // Master::initialize exits when a basic authenticator has no credentials to check against.
    if (realms.size && !this.secrets.size) throw new Error('sim: HTTP authentication enabled without --credentials');
    this.realms = realms;
  }

  /** The options as SimOptions would give them: credentials enable framework authentication by default. */
  static from(credentials: readonly SimCredential[] | undefined, authenticate: SimAuthenticate | undefined): SimAuth | undefined {
    if (!credentials?.length && !authenticate) return undefined;
    return new SimAuth(credentials ?? [], authenticate ?? { frameworks: true });
  }

  /**
   * Authenticates a request of `realm`: `{principal}` (undefined when the realm is open), or the
   * 401 challenge to send.
   */
  check(realm: AuthRealm | undefined, authorization: string | undefined): { principal?: string; challenge?: string } {
    if (!realm || !this.realms.has(realm)) return {};
    const challenge = `Basic realm="${realm}"`;
    if (authorization === undefined) return { challenge };
    const parts = authorization.split(' ');
    if (parts.length !== 2 || parts[0] !== 'Basic') return { challenge };
    const decoded = decodeBase64Strict(parts[1]!);
    if (decoded === undefined) return { challenge };
    const cred = decoded.split(':');
    if (cred.length !== 2 || !this.secrets.has(cred[0]!) || this.secrets.get(cred[0]!) !== cred[1]) return { challenge };
    return { principal: cred[0]! };
  }

  /** Flags as /master/state shows them. */
  flags(): Record<string, string> {
    const f: Record<string, string> = {
      authenticate_http_frameworks: String(this.realms.has('mesos-master-scheduler')),
      authenticate_http_readonly: String(this.realms.has('mesos-master-readonly')),
      authenticate_http_readwrite: String(this.realms.has('mesos-master-readwrite')),
    };
    if (this.realms.has('mesos-master-scheduler')) f['http_framework_authenticators'] = 'basic';
    return f;
  }
}

/** stout's base64::decode accepts only the standard alphabet with optional `=` padding. */
function decodeBase64Strict(s: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || (s.includes('=') && s.length % 4 !== 0)) return undefined;
  return Buffer.from(s, 'base64').toString('utf8');
}

/**
 * Parses credentials the way `sluice sim --credentials` takes them: `principal:secret`, or the
 * contents of a Mesos --credentials file (JSON `{"credentials":[{"principal","secret"}]}` or text
 * lines `principal secret`).
 */
export function parseCredentialsFile(text: string, where: string): SimCredential[] {
  const t = text.trim();
  if (t.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(t);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
    const list = (doc as { credentials?: unknown }).credentials;
    if (!Array.isArray(list) || !list.length) throw new Error(`${where}: expected {"credentials":[{"principal":...,"secret":...}]}`);
    return list.map((c: unknown, i) => {
      const o = c as { principal?: unknown; secret?: unknown };
      if (typeof o?.principal !== 'string' || typeof o.secret !== 'string') throw new Error(`${where}: credentials[${i}] needs string principal and secret`);
      return { principal: o.principal, secret: o.secret };
    });
  }
  const out: SimCredential[] = [];
  for (const line of t.split('\n')) {
    const parts = line.trim().split(/\s+/).filter(Boolean);
    if (!parts.length) continue;
    if (parts.length !== 2) throw new Error(`${where}: each line must be "principal secret"`);
    out.push({ principal: parts[0]!, secret: parts[1]! });
  }
  if (!out.length) throw new Error(`${where}: must contain at least one credential`);
  return out;
}
