/**
 * libprocess' response conventions as the simulated master answers: plain-text bodies with
 * `text/plain; charset=utf-8`, `Allow` on 405, the Accept header negotiation
 * (Request::acceptsMediaType) and the Date header.
 */

export interface Reply {
  status: number;
  body?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export const text = (status: number, body: string): Reply => ({ status, body, contentType: 'text/plain; charset=utf-8' });
export const empty = (status: number, headers?: Record<string, string>): Reply => ({ status, headers });

export function methodNotAllowed(allowed: string[], method: string): Reply {
  const r = text(405, `405 Method Not Allowed. Expecting one of { '${allowed.join("', '")}' }, but received '${method}'.`);
  r.headers = { Allow: allowed.join(', ') };
  return r;
}

/** libprocess Request::acceptsMediaType */
export function acceptsMediaType(header: string | undefined, mediaType: string): boolean {
  const parts = mediaType.split('/').filter((p) => p.length > 0);
  if (parts.length !== 2) return false;
  if (header === undefined) return true;
  const h = header.replace(/[ \t\n]/g, '');
  const candidates = [mediaType, parts[0] + '/*', '*/*'];
  for (const cand of candidates) {
    for (const type of h.split(',').filter((t) => t.length > 0)) {
      const tokens = type.split(';').filter((t) => t.length > 0);
      if (tokens.length === 0) continue;
      if (tokens[0]!.toLowerCase() === cand.toLowerCase()) {
        const qs: string[] = [];
        for (const tok of tokens.slice(1)) {
          const kv = tok.split('=');
          if (kv[0] === 'q' && kv.length === 2) qs.push(kv[1]!);
          else if (kv[0] === 'q') qs.push('', '');
        }
        if (qs.length !== 1) return true;
        const q = Number(qs[0]);
        return Number.isFinite(q) && q > 0;
      }
    }
  }
  return false;
}

export const APPLICATION_JSON = 'application/json';
export const APPLICATION_PROTOBUF = 'application/x-protobuf';

/** libprocess's Date header (`%a, %d %b %Y %H:%M:%S GMT`), from the master's clock. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
