/**
 * Addresses of the operator API: `host:port` listen addresses, loopback, `Host`-style names, and the
 * rule that the API is never exposed beyond loopback without a token. Shared by the configuration
 * (checked before anything starts) and the API's request gate (src/api/guard.ts).
 */

export class ApiConfigError extends Error {
  override readonly name = 'ApiConfigError';
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(listen.trim());
  if (!m) throw new ApiConfigError(`API listen address ${JSON.stringify(listen)} is not host:port (e.g. 127.0.0.1:5070)`);
  const port = Number(m[2]);
  if (port > 65535) throw new ApiConfigError(`API listen port ${port} is out of range`);
  return { host: m[1] || '127.0.0.1', port };
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * Refuses to expose the API beyond loopback without a token. Called where the configuration is
 * resolved and again first thing in startSluice, so nothing (store, simulator, runtime) starts.
 */
export function checkApiExposure(listen: string, token: string | undefined): void {
  const { host, port } = parseListen(listen);
  if (!isLoopback(host) && !token) {
    throw new ApiConfigError(
      `refusing to serve the operator API on ${host}:${port} without a token: it is not a loopback address, and the API ` +
        `can start drains that run shell commands. Set --api-token or SLUICE_API_TOKEN, or listen on 127.0.0.1.`,
    );
  }
}

export interface HostName {
  name: string;
  port?: string;
}

/** `name`, `name:port`, `[v6]`, `[v6]:port`, `v6` → lower-case name (no brackets) and port; undefined when malformed. */
export function splitHost(value: string): HostName | undefined {
  const v = value.trim().toLowerCase();
  if (!v || /[\s/@?#\\]/.test(v)) return undefined;
  const m6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(v);
  if (m6) return { name: m6[1]!, ...(m6[2] !== undefined ? { port: String(Number(m6[2])) } : {}) };
  if ((v.match(/:/g) ?? []).length > 1) return /^[0-9a-f:.]+$/.test(v) ? { name: v } : undefined; // bare IPv6
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return undefined;
  return { name: m[1]!.replace(/\.$/, ''), ...(m[2] !== undefined ? { port: String(Number(m[2])) } : {}) };
}

/** Validates `api_allowed_hosts` entries (`name` or `name:port`); returns them normalised. */
export function parseAllowedHosts(entries: readonly string[]): string[] {
  return entries.map((e) => {
    const h = splitHost(e);
    if (!h || h.name === '*') throw new ApiConfigError(`API allowed host ${JSON.stringify(e)} is not a host name or host:port (wildcards are not accepted)`);
    return h.port ? `${h.name}:${h.port}` : h.name;
  });
}
