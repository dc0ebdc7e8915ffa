/**
 * `sluice events [--follow] [--json] [--since N]`: the live event feed (GET /api/v1/events, Server-
 * Sent Events) for people and scripts. Also the feed reader behind `sluice host query --watch`.
 *
 * Without --follow: what the backlog holds after N (default: all of it), then exit. With --follow:
 * from N (default: from now) and then live, reconnecting with Last-Event-ID after a drop so no
 * durable event is missed; when the server cannot replay them it says `resync` (printed, and a
 * watcher reloads). --json prints one JSON object per line: the audit entries as stored, and
 * {"event":"resync",...} lines.
 */
import { apiOptions, type ApiClientOptions } from '../api-client.js';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CommandModule } from '../command.js';
import { renderApiError } from '../output.js';
import { redactUrl } from '../../util/redact.js';
import { API_FLAGS } from './job.js';

export interface SseFrame {
  event: string;
  data: string;
  id?: string;
}

/** Splits a text/event-stream into frames (comments and retry lines dropped). */
export async function* sseFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseFrame> {
  const dec = new TextDecoder();
  let buf = '';
  let cur: { event?: string; data: string[]; id?: string } = { data: [] };
  for await (const chunk of body) {
    buf += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      if (buf[nl] === '\r' && nl === buf.length - 1) break; // maybe half of \r\n
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (cur.data.length) yield { event: cur.event ?? 'message', data: cur.data.join('\n'), ...(cur.id !== undefined ? { id: cur.id } : {}) };
        cur = { data: [] };
      } else if (!line.startsWith(':')) {
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') cur.event = value;
        else if (field === 'data') cur.data.push(value);
        else if (field === 'id') cur.id = value;
      }
    }
  }
}

export interface FollowOptions {
  /** Start after this seq (undefined: from now, or the whole backlog without follow). */
  since?: number;
  follow: boolean;
  signal?: AbortSignal;
  onFrame(f: SseFrame): void;
  /** A dropped connection (follow only): the reason; reconnection follows after `retryMs`. */
  onDrop?(why: string): void;
  retryMs?: number;
}

/** Reads the feed; resolves when it ends (no follow) or the signal aborts. Errors: CliError. */
export async function followFeed(api: ApiClientOptions, o: FollowOptions): Promise<void> {
  let last = o.since;
  for (;;) {
    if (o.signal?.aborted) return;
    const q = new URLSearchParams();
    if (!o.follow) q.set('follow', 'false');
    if (last !== undefined) q.set('since', String(last));
    else if (!o.follow) q.set('since', '0');
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (api.token) headers['authorization'] = `Bearer ${api.token}`;
    let res: Response;
    try {
      res = await fetch(`${api.url}/api/v1/events${q.size ? `?${q}` : ''}`, { headers, redirect: 'manual', signal: o.signal });
    } catch (e) {
      if (o.signal?.aborted) return;
      const why = `cannot reach the Sluice API at ${redactUrl(api.url)}: ${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message}`;
      if (!o.follow || last === undefined) throw new CliError(`${why}; is \`sluice start\` running?`, 1, { error: why });
      o.onDrop?.(why);
      await delay(o.retryMs ?? 2000, o.signal);
      continue;
    }
    if (res.status === 307 || res.status === 308) {
      await res.body?.cancel();
      throw new CliError(`this replica is a standby: follow the leader's feed with --api ${redactUrl(new URL(res.headers.get('location') ?? '/', api.url).origin)}`, 1);
    }
    if (res.status >= 400) {
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* plain text */
      }
      throw new CliError(renderApiError(res.status, body), res.status < 500 ? 3 : 1, { status: res.status, ...(typeof body === 'object' && body ? body : { error: text }) });
    }
    try {
      for await (const f of sseFrames(res.body as unknown as AsyncIterable<Uint8Array>)) {
        if (f.id !== undefined && /^\d+$/.test(f.id)) last = Number(f.id);
        o.onFrame(f);
      }
    } catch (e) {
      if (o.signal?.aborted) return;
      if (!o.follow) throw new CliError(`the event feed broke off: ${(e as Error).message}`, 1);
      o.onDrop?.((e as Error).message);
    }
    if (!o.follow || o.signal?.aborted) return;
    o.onDrop?.('the feed ended');
    await delay(o.retryMs ?? 2000, o.signal);
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** One audit entry as a line for people. */
export function entryLine(e: Record<string, unknown>): string {
  const s = (k: string) => (typeof e[k] === 'string' || typeof e[k] === 'number' ? String(e[k]) : undefined);
  const ts = typeof e['ts_ms'] === 'number' ? new Date(e['ts_ms']).toISOString() : '?';
  const parts = [ts, `#${s('seq') ?? '?'}`, s('kind') ?? '?'];
  if (s('host')) parts.push(s('host')!);
  if (s('from') || s('to')) parts.push(`${s('from') ?? '?'} → ${s('to') ?? '?'}`);
  if (s('action')) parts.push(s('action')!);
  if (s('job')) parts.push(`job=${s('job')}`);
  if (s('task_id')) parts.push(`task=${s('task_id')}`);
  if (s('request_id')) parts.push(`request=${s('request_id')}`);
  if (s('actor')) parts.push(`by ${s('actor')}`);
  if (s('reason')) parts.push(`— ${s('reason')}`);
  return parts.join('  ');
}

const FLAGS: FlagSpecs = {
  follow: { type: 'boolean', short: 'f', description: 'Keep following live events (reconnects with Last-Event-ID) until Ctrl-C' },
  since: { type: 'string', description: 'Start after event N (its id / seq); default: the whole backlog, or now with --follow' },
  ...API_FLAGS,
};

const USAGE = `Usage:
  sluice events [--since N] [--json]             the events still in the backlog, then exit
  sluice events --follow [--since N] [--json]    follow live events until Ctrl-C

Events: host transitions, drain kills / surges, inverse-offer answers, machine down / up, hook
results, operator requests... (the audit trail, one id per event). --json prints one JSON object per
line. When events cannot be replayed (they fell out of the backlog) a "resync" line says so.

Options:
${flagHelp(FLAGS)}`;

export const eventsCommand: CommandModule = {
  name: 'events',
  summary: 'the live event feed: host transitions, drain steps, requests (--follow, --json)',
  usage: USAGE,
  async run(argv, ctx) {
    const { flags, positionals } = parseFlags(argv, FLAGS, 'sluice events');
    if (flags['help']) {
      write(ctx.stdout, USAGE);
      return 0;
    }
    if (positionals.length) throw new CliError(`sluice events: unexpected argument ${JSON.stringify(positionals[0])}\n${USAGE}`, 2);
    const sinceRaw = flags['since'] as string | undefined;
    if (sinceRaw !== undefined && !/^\d{1,15}$/.test(sinceRaw)) throw new CliError(`--since: expected an event id (a whole number), got ${JSON.stringify(sinceRaw)}`, 2);
    const asJson = flags['json'] === true;
    const follow = flags['follow'] === true;
    const api = apiOptions(flags, ctx.env);
    const ac = new AbortController();
    const onSig = () => ac.abort();
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    try {
      await followFeed(api, {
        since: sinceRaw === undefined ? undefined : Number(sinceRaw),
        follow,
        signal: ac.signal,
        onDrop: (why) => write(ctx.stderr, `events: connection lost (${why}); reconnecting…`),
        onFrame: (f) => {
          let data: Record<string, unknown>;
          try {
            data = JSON.parse(f.data) as Record<string, unknown>;
          } catch {
            return;
          }
          if (f.event === 'resync') {
            write(asJson ? ctx.stdout : ctx.stderr, asJson ? JSON.stringify({ event: 'resync', ...data }) : `events: resync — ${String(data['reason'] ?? '')} (continuing after #${String(data['last_seq'] ?? '?')})`);
            return;
          }
          if (f.id === undefined) return; // views (hello, progress): not printed
          write(ctx.stdout, asJson ? JSON.stringify(data) : entryLine(data));
        },
      });
    } finally {
      process.removeListener('SIGINT', onSig);
      process.removeListener('SIGTERM', onSig);
    }
    return 0;
  },
};
