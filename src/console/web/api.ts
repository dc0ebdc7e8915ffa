/**
 * The console's link to the operator API (browser side): JSON calls with the operator's token, and
 * the live feed read over fetch (EventSource cannot send an Authorization header).
 *
 * The token is entered once and kept in sessionStorage (this tab only, gone when it closes), never
 * in the URL, a cookie or the page. Same-origin requests only; mutating calls say application/json
 * (the API's CSRF guard requires it).
 */

const TOKEN_KEY = 'sluice.api-token';

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives as long as the page */
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json', ...extra };
  const t = getToken();
  if (t) h['authorization'] = `Bearer ${t}`;
  return h;
}

export async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: headers(method === 'GET' ? {} : { 'content-type': 'application/json' }), credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') init.body = JSON.stringify(body ?? {});
  const res = await fetch(path, init);
  const text = await res.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!res.ok) throw new HttpError(res.status, data);
  return data as T;
}

/** An API error in plain words: its message and each problem's host and reason. */
export function errorText(e: unknown): string {
  if (e instanceof HttpError) {
    if (e.status === 401) return 'The API refused: a token is required (or the one given is wrong). Enter it above.';
    const b = e.body as { error?: unknown; details?: unknown } | undefined;
    const lines = [`${e.status}: ${typeof b?.error === 'string' ? b.error : typeof e.body === 'string' ? e.body : 'request failed'}`];
    if (Array.isArray(b?.details)) {
      for (const d of b!.details as Array<Record<string, unknown>>) {
        const who = d['hostname'] ?? d['path'];
        lines.push(`  ${who ? `${String(who)}: ` : ''}${String(d['message'] ?? JSON.stringify(d))}`);
      }
    } else if (typeof b?.details === 'string') lines.push(`  ${b.details}`);
    return lines.join('\n');
  }
  return `cannot reach Sluice: ${(e as Error)?.message ?? String(e)}`;
}

export interface Frame {
  event: string;
  data: string;
  id?: string;
}

/** Incremental parser of a text/event-stream (WHATWG HTML "server-sent events"). */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  push(chunk: string): Frame[] {
    this.buf += chunk;
    const out: Frame[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // a lone \r at the very end may be the first half of \r\n: wait for more
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      if (line === '') {
        if (this.data.length) out.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) });
        this.event = '';
        this.data = [];
        this.id = undefined;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id' && !value.includes('\0')) this.id = value;
    }
    return out;
  }
}

export type FeedState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

/**
 * Follows GET /api/v1/events until `signal` aborts, reconnecting with Last-Event-ID after a drop
 * (so no durable event is missed; the server says `resync` when it cannot replay them).
 */
export async function followEvents(o: { first: string; onFrame: (f: Frame) => void; onState: (s: FeedState, why?: string) => void; signal: AbortSignal }): Promise<void> {
  let lastId: string | undefined;
  while (!o.signal.aborted) {
    o.onState(lastId === undefined ? 'connecting' : 'reconnecting');
    try {
      const h = headers({ accept: 'text/event-stream' });
      if (lastId !== undefined) h['last-event-id'] = lastId;
      const res = await fetch(`/api/v1/events${lastId === undefined ? o.first : ''}`, { headers: h, credentials: 'same-origin', cache: 'no-store', signal: o.signal });
      if (res.status === 401) {
        o.onState('unauthorized');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      o.onState('live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const f of parser.push(value)) {
          if (f.id !== undefined) lastId = f.id;
          o.onFrame(f);
        }
      }
      o.onState('reconnecting', 'the feed ended');
    } catch (e) {
      if (o.signal.aborted) return;
      o.onState('reconnecting', (e as Error).message);
    }
    await new Promise((r) => setTimeout(r, 1500));
  }
}
