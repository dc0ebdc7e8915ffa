/** `sluice audit`: who did what, when and why, and every host transition (GET /api/v1/audit). */
import type { AuditEntry } from '../../audit/types.js';
import { ApiClient, apiOptions } from '../api-client.js';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CommandModule } from '../command.js';
import { json, table } from '../output.js';
import { API_FLAGS } from './job.js';

const FLAGS: FlagSpecs = {
  host: { type: 'string', description: 'Only entries about this host' },
  actor: { type: 'string', description: 'Only entries by this name (a tokens-file name, token, local, sluice)' },
  kind: { type: 'string', description: 'Only these kinds (comma list: request, host_transition, drain_kill, inverse_offer, machine_down, hook, ...)' },
  since: { type: 'string', description: 'From this time: ISO-8601 or a duration ago (30m, 2h, 7d)' },
  until: { type: 'string', description: 'Up to this time: ISO-8601 or a duration ago' },
  limit: { type: 'string', description: 'At most N entries (default 50, at most 1000)' },
  before: { type: 'string', description: 'Entries older than this seq (page back)' },
  after: { type: 'string', description: 'Entries newer than this seq, oldest first (page forward)' },
  ...API_FLAGS,
};

const USAGE = `Usage: sluice audit [--host H] [--actor A] [--kind K1,K2] [--since 2h|ISO] [--until ISO]
                    [--limit N] [--before SEQ | --after SEQ] [--json]

The newest matching entries of the audit trail, oldest first: operator requests (who, why, request
id), host transitions, kills, inverse-offer answers, machine down/up, hook results. Entries are
durable: each was written with the change it describes. See also: sluice host history HOST.

Options:
${flagHelp(FLAGS)}`;

/** Printable on one terminal line: control characters (escape sequences too) become '?'. */
export function clean(v: unknown): string {
  const s = typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?');
}

const time = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '?');

/** What an entry says, in a few words (any kind, known or not). */
export function describeEntry(e: AuditEntry): string {
  const d = (e.detail ?? {}) as Record<string, unknown>;
  const job = e.job ? ` (job ${clean(e.job)})` : '';
  switch (e.kind) {
    case 'request':
      return `${clean(e.action ?? 'request')}${e.job ? ` ${clean(e.job)}` : ''}${e.request_id ? ` [${clean(e.request_id)}]` : ''}${
        d['hosts'] !== undefined ? ` hosts ${clean(d['hosts'])}` : ''
      }${d['instances'] !== undefined ? ` instances ${clean(d['instances'])}` : ''}${d['force'] ? ' FORCE' : ''}`;
    case 'host_transition':
      return `${clean(e.from ?? '?')} → ${clean(e.to ?? '?')}`;
    case 'drain_kill':
      return `killed ${clean(e.task_id ?? 'a task')}${job}`;
    case 'drain_surge':
      return `surge (make-before-break) for ${clean(e.task_id ?? 'a task')}${job}`;
    case 'inverse_offer':
      return `inverse offer answered ${clean(d['answer'] ?? '?')}${d['framework'] ? ` by ${clean(d['framework'])}` : ''}`;
    case 'machine_down':
      return 'machine down posted to the master';
    case 'machine_up':
      return 'machine up posted to the master';
    case 'hook':
      return `post_drain hook: ${clean(d['outcome'] ?? '?')}${d['exit_code'] !== undefined ? ` (exit ${clean(d['exit_code'])})` : ''}`;
    case 'leadership':
      return `leadership ${clean(e.to ?? d['state'] ?? '?')}`;
    case 'sla_override':
      return `SLA override ${clean(d['override'] ?? '')}`.trim();
    case 'drain_agent':
      return `agent drain: ${clean(d['step'] ?? '?')}`;
    default: {
      const extra = [e.action, e.from && e.to ? `${e.from} → ${e.to}` : undefined, e.task_id, e.detail ? JSON.stringify(e.detail).slice(0, 80) : undefined].filter(Boolean);
      return clean(extra.join(' '));
    }
  }
}

export function renderAudit(entries: AuditEntry[]): string {
  if (!entries.length) return 'no audit entries match';
  return table(
    ['SEQ', 'TIME', 'ACTOR', 'KIND', 'HOST', 'WHAT', 'REASON'],
    entries.map((e) => [e.seq, time(e.ts_ms), clean(e.actor), clean(e.kind), e.host ? clean(e.host) : '-', describeEntry(e), e.reason ? clean(e.reason) : '']),
  );
}

interface AuditAnswer {
  entries: AuditEntry[];
  more: boolean;
  next_after?: number;
  prev_before?: number;
}

function seqFlag(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw new CliError(`--${name}: expected an audit seq (a whole number)`, 2);
  return v;
}

/** Query string of GET /api/v1/audit from the flags (checked locally for clear usage errors). */
export function auditParams(flags: Record<string, unknown>): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of ['host', 'actor', 'kind', 'since', 'until']) {
    const v = flags[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !v.trim() || /[\u0000-\u001f\u007f]/.test(v)) throw new CliError(`--${k}: expected a value without control characters`, 2);
    q.set(k, v.trim());
  }
  if (flags['limit'] !== undefined) {
    const n = Number(flags['limit']);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new CliError('--limit: a whole number from 1 to 1000', 2);
    q.set('limit', String(n));
  }
  const before = seqFlag(flags['before'], 'before');
  const after = seqFlag(flags['after'], 'after');
  if (before && after) throw new CliError('--before and --after: give one (page back, or page forward)', 2);
  if (before) q.set('before', before);
  if (after) q.set('after', after);
  return q;
}

/** Every matching entry, oldest first, following `next_after` (at most `maxPages` pages of 1000). */
export async function readAll(api: ApiClient, q: URLSearchParams, maxPages = 100): Promise<{ entries: AuditEntry[]; truncated: boolean }> {
  const out: AuditEntry[] = [];
  let after = q.get('after') ?? '0';
  for (let i = 0; i < maxPages; i++) {
    const p = new URLSearchParams(q);
    p.set('after', after);
    p.set('limit', '1000');
    const r = await api.get<AuditAnswer>(`/api/v1/audit?${p}`);
    out.push(...r.body.entries);
    if (!r.body.more || r.body.next_after === undefined) return { entries: out, truncated: false };
    after = String(r.body.next_after);
  }
  return { entries: out, truncated: true };
}

export const auditCommand: CommandModule = {
  name: 'audit',
  summary: 'the audit trail: who did what, when, why; host transitions, kills, hooks',
  usage: USAGE,
  async run(argv, ctx) {
    const { flags, positionals } = parseFlags(argv, FLAGS, 'sluice audit');
    if (flags['help']) {
      write(ctx.stdout, USAGE);
      return 0;
    }
    if (positionals.length) throw new CliError(`sluice audit: unexpected argument ${JSON.stringify(positionals[0]!.slice(0, 40))} (filters are flags: --host, --actor, --kind, --since)`, 2);
    const q = auditParams(flags);
    if (!q.has('limit')) q.set('limit', '50');
    const api = new ApiClient(apiOptions(flags, ctx.env));
    const r = await api.get<AuditAnswer>(`/api/v1/audit?${q}`);
    if (flags['json'] === true) {
      write(ctx.stdout, json(r.body));
      return 0;
    }
    write(ctx.stdout, renderAudit(r.body.entries));
    if (r.body.more && r.body.prev_before !== undefined) write(ctx.stdout, `(older entries: sluice audit --before ${r.body.prev_before} ...)`);
    if (r.body.more && r.body.next_after !== undefined) write(ctx.stdout, `(more: sluice audit --after ${r.body.next_after} ...)`);
    return 0;
  },
};
