/** `sluice host maintenance start|complete|abort` and `sluice host query`: host maintenance through the operator API. */
import { ApiClient, apiOptions } from '../api-client.js';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CliContext, type CommandModule } from '../command.js';
import { json, table } from '../output.js';
import { API_FLAGS } from './job.js';
import { parseDuration, fmtDuration, fmtTime } from '../../maintenance/core/format.js';
import { SELECT_FLAGS, SELECT_HELP, selectionBody } from '../host-select.js';
import { auditParams, clean, describeEntry, readAll } from './audit.js';
import { escapeControlsKeepLines } from '../../util/text.js';

/** `--reason TEXT`, checked as the API will (one line, 1..500 characters). */
export function reasonFlag(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const t = typeof v === 'string' ? v.trim() : '';
  if (!t) throw new CliError('--reason: must not be empty', 2);
  if ([...t].length > 500) throw new CliError('--reason: at most 500 characters', 2);
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(t)) throw new CliError('--reason: one line of text without control characters', 2);
  return t;
}

const FLAGS: FlagSpecs = {
  window: { type: 'string', description: 'START,DURATION — START: ISO-8601, now or +10m; DURATION: 30m, 2h, 1800s' },
  'group-by': { type: 'string', description: 'rack | host (default host)' },
  'max-parallel': { type: 'string', description: 'At most N hosts of the request DRAINING at once' },
  timeout: { type: 'string', description: 'Drain timeout (e.g. 30m); reported when passed' },
  force: { type: 'boolean', description: 'With --timeout: kill what is left after the timeout, ignoring SLAs' },
  'override-sla': { type: 'string', description: 'Lower the SLAs for this request\'s hosts only: 80%/10m or 3/10m (admin, --reason)' },
  'post-drain': { type: 'string', description: 'Command run once a host is DOWN (env SLUICE_HOST, SLUICE_IP)' },
  'dry-run': { type: 'boolean', description: 'Validate and estimate; change nothing' },
  reason: { type: 'string', description: 'Why (recorded in the audit; required with --force and where Sluice requires it)' },
  since: { type: 'string', description: 'host history: from this time (ISO-8601 or 2h, 7d ago)' },
  states: { type: 'string', description: 'host query: only these states (e.g. DRAINING,DRAINED)' },
  watch: { type: 'boolean', short: 'w', description: 'host query: redraw on every event of the live feed until Ctrl-C' },
  ...SELECT_FLAGS,
  ...API_FLAGS,
};

const USAGE = `Usage:
  sluice host maintenance start [h1,h2] [--hosts-file FILE|-] [--rack R]... [--attribute K=V]...
                                      [--window START,DURATION] [--group-by rack|host]
                                      [--max-parallel N] [--timeout D] [--force]
                                      [--override-sla 80%/10m] [--post-drain CMD]
                                      [--dry-run] [--reason TEXT]
  sluice host maintenance complete h1,h2 [--reason TEXT]   DRAINED/DOWN hosts back UP (machine up)
  sluice host maintenance abort h1,h2 [--reason TEXT]      stop a drain: hosts back UP
  sluice host maintenance pause REQUEST_ID|h1,h2 [--reason TEXT]   no new kills (kills in flight finish)
  sluice host maintenance resume REQUEST_ID|h1,h2 [--reason TEXT]
  sluice host maintenance edit REQUEST_ID [--max-parallel N|none] [--timeout D|none] [--dry-run] [--reason TEXT]
                                      --dry-run: new deadlines and hosts that would start draining; changes nothing
  (cluster-wide: sluice maintenance pause|resume --all --reason TEXT)
  sluice host query [--states S1,S2] [--watch]
  sluice host history HOST [--since 7d|ISO] [--json]       the host's whole timeline from the audit

--force and --override-sla need the admin role and a --reason (dry runs need neither).
--override-sla 80%/10m (or 3/10m: a count) lowers every SLA to at most that for the hosts of this
request only (never raises one); it is logged at warn, audited and counted. Reasons are one line, at most 500 characters.

Durations: 30m, 2h, 1800s. START: ISO-8601 (2026-05-01T10:00:00Z), now, or +10m.

${SELECT_HELP}
  --dry-run prints the resolved host list.

Options:
${flagHelp(FLAGS)}

Exit codes: 0 ok, 1 failure, 2 usage, 3 rejected by the API (4xx), 4 not found.`;

/** `REQUEST_ID` (as Sluice names them: mnt-…) or a host list. */
function pauseTarget(pos: string[], usage: string): { request_id: string } | { hosts: string[] } {
  if (pos.length === 1 && /^mnt-[A-Za-z0-9]+$/.test(pos[0]!)) return { request_id: pos[0]! };
  return { hosts: hostsArg(pos, usage) };
}

function hostsArg(pos: string[], usage: string): string[] {
  if (pos.length === 0) throw new CliError(`usage: ${usage}`, 2);
  return pos.join(',').split(',').map((h) => h.trim()).filter(Boolean);
}

/** `--window START,DURATION` → API body (validated locally for early, clear usage errors). */
export function parseWindowFlag(text: string): { start: string; duration?: string } {
  const [start, duration, extra] = text.split(',').map((s) => s.trim());
  if (!start || extra !== undefined) throw new CliError(`--window: expected START,DURATION (e.g. now,2h or 2026-05-01T10:00:00Z,30m), got '${text}'`, 2);
  if (start !== 'now' && !start.startsWith('+') && !Number.isFinite(Date.parse(start))) throw new CliError(`--window: '${start}' is not ISO-8601, now or +DURATION`, 2);
  if (start.startsWith('+')) checkDuration(start.slice(1), '--window start');
  const out: { start: string; duration?: string } = { start };
  if (duration) {
    checkDuration(duration, '--window duration');
    out.duration = duration;
  }
  return out;
}

function checkDuration(text: string, what: string): number {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new CliError(`${what}: ${(e as Error).message}`, 2);
  }
}

interface HostRow {
  hostname: string;
  state: string;
  origin: string;
  rack?: string;
  tasks_left: number;
  killing: number;
  replacing: number;
  blockers: Array<{ job?: string; tasks: number; reason: string }>;
  window?: { start: string; duration_ms?: number };
  timed_out: boolean;
  waiting?: string;
  sla_override?: { text: string; reason: string };
  /** Per job blocking the host: its budget explained (src/sla/explain.ts). */
  budgets?: Array<{ job: string; sla: string; override?: string; budget: { text: string } }>;
  other_frameworks?: { frameworks: Array<{ framework_id: string; name?: string; answer: string; task_count: number; tasks: Array<{ task_id: string }> }> };
  paused?: { actor: string; reason?: string };
  timeout_remaining_ms?: number;
  paused_since_ms?: number;
}

/** The drain timeout and the pause as one note: "timeout 12m left (stopped while paused since …)". */
function timeoutNote(h: HostRow): string {
  const parts: string[] = [];
  if (h.paused_since_ms !== undefined) parts.push(`paused since ${fmtTime(h.paused_since_ms)}`);
  if (h.timeout_remaining_ms !== undefined && h.state === 'DRAINING' && !h.timed_out) {
    parts.push(`timeout ${fmtDuration(h.timeout_remaining_ms)} left${h.paused_since_ms !== undefined ? ' (stopped while paused)' : ''}`);
  }
  return parts.join('; ');
}

/** The cluster-wide controls `GET /api/v1/hosts` reports beside the hosts. */
interface Controls {
  paused_all?: { actor: string; reason?: string } | null;
  max_draining_hosts?: number | null;
  draining_hosts?: number;
}

function controlsLine(c: Controls): string | undefined {
  const parts: string[] = [];
  if (c.paused_all) parts.push(`ALL DRAINS PAUSED by ${c.paused_all.actor}${c.paused_all.reason ? ` (${c.paused_all.reason})` : ''} — sluice maintenance resume --all`);
  if (c.max_draining_hosts) parts.push(`cluster cap: ${c.draining_hosts ?? 0} of max ${c.max_draining_hosts} hosts draining`);
  return parts.length ? parts.join('; ') : undefined;
}

export function renderHosts(hosts: HostRow[]): string {
  if (!hosts.length) return 'no hosts in maintenance';
  const lines = [
    table(
      ['HOST', 'STATE', 'RACK', 'TASKS LEFT', 'KILLING', 'REPLACING', 'WINDOW', 'ORIGIN', 'NOTE'],
      hosts.map((h) => [
        h.hostname,
        h.state + (h.timed_out ? ' (timed out)' : '') + (h.paused ? ' (paused)' : ''),
        h.rack,
        h.tasks_left,
        h.killing,
        h.replacing,
        h.window ? `${h.window.start.replace(/\.\d{3}Z$/, 'Z')}${h.window.duration_ms ? ` +${fmtDuration(h.window.duration_ms)}` : ''}` : '-',
        h.origin,
        [h.paused ? `paused by ${h.paused.actor}${h.paused.reason ? `: ${h.paused.reason}` : ''}` : (h.waiting ?? ''), timeoutNote(h)].filter((x) => x).join('; '),
      ]),
    ),
  ];
  const lowered = hosts.filter((h) => h.sla_override);
  if (lowered.length) {
    lines.push('', 'SLAs lowered (--override-sla) for this request\'s hosts:');
    for (const h of lowered) lines.push(`  ${h.hostname}: ${h.sla_override!.text} (reason: ${h.sla_override!.reason})`);
  }
  // each blocking job's budget once (per override): what consumes it and when it refills
  const budgets = new Map<string, { text: string; hosts: string[] }>();
  for (const h of hosts) {
    for (const b of h.budgets ?? []) {
      const id = `${b.job}\u0000${b.override ?? ''}`;
      const e = budgets.get(id) ?? { text: b.override !== undefined ? `${b.budget.text} (under --override-sla ${b.override})` : b.budget.text, hosts: [] };
      e.hosts.push(h.hostname);
      budgets.set(id, e);
    }
  }
  if (budgets.size) {
    lines.push('', 'SLA budgets of the blocking jobs:');
    for (const e of budgets.values()) lines.push(`  ${e.text}; blocks ${e.hosts.slice(0, 5).join(', ')}${e.hosts.length > 5 ? ` and ${e.hosts.length - 5} more` : ''}`);
  }
  const blocked = hosts.filter((h) => h.blockers.length);
  if (blocked.length) {
    lines.push('', 'SLA blockers:');
    for (const h of blocked) for (const b of h.blockers) lines.push(`  ${h.hostname}: ${b.reason}`); // the reason names the job
  }
  const others = hosts.filter((h) => h.other_frameworks?.frameworks.length);
  if (others.length) {
    lines.push('', 'Other frameworks on hosts in maintenance:');
    for (const h of others) {
      const fws = h.other_frameworks!.frameworks.map((f) => `${f.framework_id}${f.name ? ` (${f.name})` : ''} ${f.answer}, ${f.task_count} task(s)${f.tasks.length ? `: ${f.tasks.map((t) => t.task_id).join(', ')}` : ''}`);
      lines.push(`  ${h.hostname}: ${fws.join('; ')}`);
    }
  }
  const done = hosts.filter((h) => h.state === 'DRAINED' || h.state === 'DOWN').length;
  lines.push('', `${done}/${hosts.length} drained or down`);
  return lines.join('\n');
}

/** What `host maintenance edit --dry-run` answers (core/loop-requests.ts editDryRun). */
interface EditDryRun {
  request_id: string;
  before: { max_parallel: number | null; timeout_ms: number | null };
  after: { max_parallel: number | null; timeout_ms: number | null };
  max_draining_hosts: number | null;
  would_start_draining: Array<{ hostname: string; reason: string }>;
  held_by_cluster_cap: string[];
  hosts: Array<{ hostname: string; state: string; deadline_before_ms: number | null; deadline_ms: number | null; timeout_remaining_ms: number | null; paused?: boolean; times_out_now: boolean }>;
  notes: string[];
}

function renderEditDryRun(d: EditDryRun): string {
  const opt = (o: EditDryRun['before']) => `max parallel ${o.max_parallel ?? 'unlimited'}, timeout ${o.timeout_ms !== null ? fmtDuration(o.timeout_ms) : 'none'}`;
  const when = (ms: number | null) => (ms === null ? '-' : fmtTime(ms));
  const lines = [
    `DRY RUN (nothing changed) ${d.request_id}: ${opt(d.before)} → ${opt(d.after)}`,
    table(
      ['HOST', 'STATE', 'DEADLINE NOW', 'DEADLINE AFTER', 'TIMEOUT LEFT', 'NOTE'],
      d.hosts.map((h) => [
        h.hostname,
        h.state,
        when(h.deadline_before_ms),
        when(h.deadline_ms),
        h.timeout_remaining_ms === null ? '-' : fmtDuration(h.timeout_remaining_ms),
        [h.paused ? 'paused: the timeout stands still' : '', h.times_out_now ? 'would time out at once' : ''].filter((x) => x).join('; '),
      ]),
    ),
    d.would_start_draining.length ? `would start draining now: ${d.would_start_draining.map((a) => a.hostname).join(', ')}` : 'would start draining now: (none)',
  ];
  if (d.held_by_cluster_cap.length) lines.push(`held back by the cluster cap (max_draining_hosts ${d.max_draining_hosts ?? '-'}): ${d.held_by_cluster_cap.join(', ')}`);
  for (const n of d.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

export const hostCommand: CommandModule = {
  name: 'host',
  summary: 'host maintenance: start, complete, abort, pause, resume, edit; query progress; history',
  usage: USAGE,
  async run(argv, ctx) {
    const { flags, positionals: words } = parseFlags(argv, FLAGS, 'sluice host');
    const verb = words[0] === 'maintenance' ? `maintenance ${words[1] ?? ''}`.trim() : words[0];
    const positionals = words.slice(words[0] === 'maintenance' ? 2 : 1);
    if (flags['help'] || !verb || verb === 'help') {
      write(ctx.stdout, USAGE);
      return flags['help'] || verb ? 0 : 2; // bare `sluice <cmd>` is a usage error; asking for help is not
    }
    const asJson = flags['json'] === true;
    try {
      return await runHost(verb, flags, positionals, ctx, asJson);
    } catch (e) {
      if (asJson && e instanceof CliError && e.data !== undefined) {
        write(ctx.stderr, json(e.data));
        return e.exitCode;
      }
      throw e;
    }
  },
};

async function runHost(verb: string, flags: Record<string, unknown>, pos: string[], ctx: CliContext, asJson: boolean): Promise<number> {
  const api = new ApiClient(apiOptions(flags, ctx.env));
  switch (verb) {
    case 'maintenance start': {
      const body = await selectionBody(pos, flags, ctx, 'sluice host maintenance start h1,h2 | --hosts-file F | --rack R | --attribute K=V [options]');
      if (flags['window']) body['window'] = parseWindowFlag(flags['window'] as string);
      if (flags['group-by']) {
        if (flags['group-by'] !== 'rack' && flags['group-by'] !== 'host') throw new CliError('--group-by must be rack or host', 2);
        body['group_by'] = flags['group-by'];
      }
      if (flags['max-parallel'] !== undefined) {
        const n = Number(flags['max-parallel']);
        if (!Number.isInteger(n) || n < 1) throw new CliError('--max-parallel must be a whole number ≥ 1', 2);
        body['max_parallel'] = n;
      }
      if (flags['timeout']) {
        checkDuration(flags['timeout'] as string, '--timeout');
        body['timeout'] = flags['timeout'];
      }
      if (flags['force']) body['force'] = true;
      const reason = reasonFlag(flags['reason']);
      if (flags['force'] && !flags['dry-run'] && reason === undefined) throw new CliError('--force needs --reason TEXT (recorded in the audit) and the admin role', 2);
      if (flags['override-sla'] !== undefined) {
        if (!flags['dry-run'] && reason === undefined) throw new CliError('--override-sla needs --reason TEXT (logged, counted and audited) and the admin role', 2);
        body['override_sla'] = flags['override-sla'];
      }
      if (reason !== undefined) body['reason'] = reason;
      if (flags['post-drain']) body['post_drain'] = flags['post-drain'];
      if (flags['dry-run']) body['dry_run'] = true;
      const r = await api.post<any>('/api/v1/hosts/maintenance/start', body); // eslint-disable-line @typescript-eslint/no-explicit-any
      if (asJson) write(ctx.stdout, json(r.body));
      else if (body['dry_run']) {
        write(ctx.stdout, `dry run (${r.body.request_id}): nothing changed`);
        write(ctx.stdout, `resolved ${r.body.hosts.length} host(s): ${r.body.hosts.map((h: { hostname: string }) => h.hostname).join(',')}`);
        for (const x of r.body.selection?.excluded ?? []) write(ctx.stdout, `left out: ${x.hostname} (${x.reason})`);
        write(ctx.stdout, table(['HOST', 'WOULD BE', 'GROUP', 'TASKS', 'EST. DRAIN'], r.body.hosts.map((h: any) => [h.hostname, h.state, h.group, h.tasks, fmtDuration(h.estimated_drain_ms)]))); // eslint-disable-line @typescript-eslint/no-explicit-any
        write(ctx.stdout, `estimated makespan: ${fmtDuration(r.body.estimated_makespan_ms)}`);
        for (const n of r.body.notes ?? []) write(ctx.stdout, `note: ${n}`);
      } else {
        write(ctx.stdout, `maintenance ${r.body.request_id} started for ${r.body.hosts.length} host(s):`);
        for (const x of r.body.selection?.excluded ?? []) write(ctx.stdout, `left out: ${x.hostname} (${x.reason})`);
        write(ctx.stdout, table(['HOST', 'STATE', 'GROUP'], r.body.hosts.map((h: any) => [h.hostname, h.state, h.group]))); // eslint-disable-line @typescript-eslint/no-explicit-any
        write(ctx.stdout, `follow it with: sluice host query --watch`);
      }
      return 0;
    }
    case 'maintenance complete':
    case 'maintenance abort': {
      const v = verb.split(' ')[1]!;
      const hosts = hostsArg(pos, `sluice host maintenance ${v} h1,h2 [--reason TEXT]`);
      const reason = reasonFlag(flags['reason']);
      const r = await api.post<Record<string, Array<{ hostname: string; state: string }>>>(`/api/v1/hosts/maintenance/${v}`, { hosts, ...(reason !== undefined ? { reason } : {}) });
      if (asJson) write(ctx.stdout, json(r.body));
      else {
        const list = Object.values(r.body)[0] ?? [];
        write(ctx.stdout, `${v === 'complete' ? 'completed' : 'aborted'}: ${list.map((h) => h.hostname).join(', ') || '(none)'} — back UP`);
      }
      return 0;
    }
    case 'maintenance pause':
    case 'maintenance resume': {
      const v = verb.split(' ')[1]!;
      const usage = `sluice host maintenance ${v} REQUEST_ID|h1,h2 [--reason TEXT]`;
      const target = pauseTarget(pos, usage);
      const reason = reasonFlag(flags['reason']);
      const r = await api.post<Record<string, Array<{ hostname: string; state: string; changed: boolean }>>>(`/api/v1/hosts/maintenance/${v}`, { ...target, ...(reason !== undefined ? { reason } : {}) });
      if (asJson) write(ctx.stdout, json(r.body));
      else {
        const list = r.body[v === 'pause' ? 'paused' : 'resumed'] ?? [];
        write(ctx.stdout, `${v === 'pause' ? 'paused (no new kills; kills in flight finish)' : 'resumed'}: ${list.map((h) => `${h.hostname} (${h.state}${h.changed ? '' : ', unchanged'})`).join(', ') || '(none)'}`);
      }
      return 0;
    }
    case 'maintenance edit': {
      const usage = 'sluice host maintenance edit REQUEST_ID [--max-parallel N|none] [--timeout D|none] [--reason TEXT]';
      if (pos.length !== 1) throw new CliError(`usage: ${usage}`, 2);
      const body: Record<string, unknown> = { request_id: pos[0] };
      const mp = flags['max-parallel'];
      if (mp !== undefined) {
        if (mp === 'none') body['max_parallel'] = null;
        else {
          const n = Number(mp);
          if (!Number.isInteger(n) || n < 1) throw new CliError('--max-parallel must be a whole number ≥ 1 or none', 2);
          body['max_parallel'] = n;
        }
      }
      const t = flags['timeout'];
      if (t !== undefined) {
        if (t === 'none') body['timeout'] = null;
        else {
          checkDuration(t as string, '--timeout');
          body['timeout'] = t;
        }
      }
      if (mp === undefined && t === undefined) throw new CliError(`nothing to change: ${usage}`, 2);
      const reason = reasonFlag(flags['reason']);
      if (reason !== undefined) body['reason'] = reason;
      if (flags['dry-run']) {
        body['dry_run'] = true;
        const d = await api.post<EditDryRun>('/api/v1/hosts/maintenance/edit', body);
        write(ctx.stdout, asJson ? json(d.body) : renderEditDryRun(d.body));
        return 0;
      }
      const r = await api.post<{ request_id: string; options: { max_parallel?: number; timeout_ms?: number } }>('/api/v1/hosts/maintenance/edit', body);
      if (asJson) write(ctx.stdout, json(r.body));
      else {
        const o = r.body.options;
        write(ctx.stdout, `${r.body.request_id}: max parallel ${o.max_parallel ?? 'unlimited'}, timeout ${o.timeout_ms !== undefined ? fmtDuration(o.timeout_ms) : 'none'}`);
      }
      return 0;
    }
    case 'query': {
      if (pos.length) throw new CliError('usage: sluice host query [--states S1,S2] [--watch]', 2);
      const q = flags['states'] ? `?states=${encodeURIComponent(flags['states'] as string)}` : '';
      const once = async (compact = false) => {
        const r = await api.get<{ hosts: HostRow[]; now_ms: number } & Controls>(`/api/v1/hosts${q}`);
        if (asJson) return compact ? JSON.stringify(r.body) : json(r.body);
        const c = controlsLine(r.body);
        return c ? `${c}\n${renderHosts(r.body.hosts)}` : renderHosts(r.body.hosts);
      };
      if (!flags['watch']) {
        write(ctx.stdout, await once());
        return 0;
      }
      // driven by the live feed (GET /api/v1/events): redraw when something happens, no polling
      const { followFeed } = await import('./events.js');
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let drawing = Promise.resolve();
      const draw = () => {
        timer = undefined;
        drawing = drawing.then(async () => {
          const text = await once(true); // --json: one line per draw
          // our own clear-screen sequence, then the text with any control character from the data made inert
          ctx.stdout.write(asJson ? `${escapeControlsKeepLines(text)}\n` : `\x1b[2J\x1b[H${new Date().toISOString()}  (Ctrl-C to stop)\n${escapeControlsKeepLines(text)}\n`);
        }).catch((e: unknown) => write(ctx.stderr, (e as Error).message));
      };
      try {
        draw();
        await followFeed(apiOptions(flags, ctx.env), {
          follow: true,
          signal: ac.signal,
          onDrop: (why) => write(ctx.stderr, `host query --watch: feed lost (${why}); reconnecting…`),
          onFrame: (f) => {
            if (f.event === 'hello') return;
            timer ??= setTimeout(draw, 250);
          },
        });
        await drawing;
      } finally {
        clearTimeout(timer);
        process.removeListener('SIGINT', onSig);
      }
      return 0;
    }
    case 'history': {
      if (pos.length !== 1) throw new CliError('usage: sluice host history HOST [--since 7d|ISO] [--json]', 2);
      const q = auditParams({ host: pos[0], since: flags['since'] });
      const { entries, truncated } = await readAll(api, q);
      if (asJson) {
        write(ctx.stdout, json({ host: pos[0], entries, truncated }));
        return 0;
      }
      if (!entries.length) {
        write(ctx.stdout, `no audit entries for ${clean(pos[0])}${flags['since'] ? ` since ${clean(flags['since'])}` : ''} (retention may have pruned older ones)`);
        return 0;
      }
      write(ctx.stdout, `history of ${clean(pos[0])} (${entries.length} entries, oldest first):`);
      write(
        ctx.stdout,
        table(
          ['TIME', 'ACTOR', 'EVENT', 'REQUEST', 'REASON'],
          entries.map((e) => [new Date(e.ts_ms).toISOString().replace(/\.\d{3}Z$/, 'Z'), clean(e.actor), describeEntry(e), e.request_id ? clean(e.request_id) : '-', e.reason ? clean(e.reason) : '']),
        ),
      );
      if (truncated) write(ctx.stdout, '(truncated: narrow it with --since)');
      return 0;
    }
    default:
      throw new CliError(`sluice host: unknown subcommand ${JSON.stringify(verb)} (maintenance start|complete|abort|pause|resume|edit, query, history)`, 2);
  }
}
