/**
 * `sluice sla probe h1,h2`: which hosts could be drained right now without breaking an SLA, and why not.
 * `sluice sla list-safe [--rack R] [--group-by rack]`: every host (rack) safe to drain alone now.
 */
import { ApiClient, apiOptions } from '../api-client.js';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CommandModule } from '../command.js';
import { json, table } from '../output.js';
import { API_FLAGS } from './job.js';
import { SELECT_FLAGS, SELECT_HELP, selectionBody } from '../host-select.js';

const FLAGS: FlagSpecs = {
  ...SELECT_FLAGS,
  'group-by': { type: 'string', description: 'list-safe: host (default) or rack' },
  all: { type: 'boolean', description: 'list-safe: also list the unsafe hosts (racks), with why' },
  ...API_FLAGS,
};

const USAGE = `Usage:
  sluice sla probe [h1,h2] [--hosts-file F|-] [--rack R]... [--attribute K=V]...
                             which of these hosts could be drained now within every job's SLA
  sluice sla list-safe [--rack R]... [--group-by host|rack] [--all]
                             every UP host (or whole rack) that could be drained ALONE right now
                             without a kill any job's SLA refuses (make-before-break counts where
                             spare capacity exists). One at a time: not all of them at once.

${SELECT_HELP}

Options:
${flagHelp(FLAGS)}

Exit codes: probe: 0 every host drainable now, 5 some are not; list-safe: 0 some host (rack) is
safe, 5 none is; 1 failure, 2 usage, 3 rejected by the API.`;

interface SafeEntry { name: string; hosts: string[]; safe: boolean; tasks: number; make_before_break: string[]; reasons: string[] }

export function renderSafe(body: { claim: string; group_by: string; entries: SafeEntry[] }, all: boolean): string {
  const shown = body.entries.filter((e) => all || e.safe);
  const rack = body.group_by === 'rack';
  const lines = [
    shown.length
      ? table(
          [rack ? 'RACK' : 'HOST', ...(rack ? ['HOSTS'] : []), 'SAFE', 'TASKS', 'MAKE-BEFORE-BREAK'],
          shown.map((e) => [e.name, ...(rack ? [e.hosts.length] : []), e.safe ? 'yes' : 'NO', e.tasks, e.make_before_break.join(',') || '-']),
        )
      : `no ${rack ? 'rack' : 'host'} is safe to drain now`,
  ];
  if (all) for (const e of body.entries) for (const r of e.reasons) lines.push(`  ${e.name}: ${r}`);
  const n = body.entries.filter((e) => e.safe).length;
  lines.push('', `${n}/${body.entries.length} ${rack ? 'racks' : 'hosts'} safe: ${body.claim}`);
  return lines.join('\n');
}

export const slaCommand: CommandModule = {
  name: 'sla',
  summary: 'SLA probe and list-safe: which hosts could be drained now?',
  usage: USAGE,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h' || sub === 'help') {
      write(ctx.stdout, USAGE);
      return 0;
    }
    const { flags, positionals } = parseFlags(rest, FLAGS, `sluice sla ${sub ?? ''}`.trim());
    if (flags['help'] || !sub) {
      write(ctx.stdout, USAGE);
      return sub ? 0 : 2;
    }
    if (sub !== 'probe' && sub !== 'list-safe') throw new CliError(`sluice sla: unknown subcommand ${JSON.stringify(sub)} (probe, list-safe)`, 2);
    const asJson = flags['json'] === true;
    try {
      const api = new ApiClient(apiOptions(flags, ctx.env));
      if (sub === 'list-safe') {
        if (positionals.length || flags['attribute'] || flags['hosts-file']) throw new CliError('usage: sluice sla list-safe [--rack R]... [--group-by host|rack] [--all]', 2);
        const g = flags['group-by'];
        if (g !== undefined && g !== 'rack' && g !== 'host') throw new CliError('--group-by must be rack or host', 2);
        const q = new URLSearchParams();
        for (const r of (flags['rack'] as string[] | undefined) ?? []) q.append('rack', r);
        if (g) q.set('group_by', g as string);
        const r = await api.get<{ claim: string; group_by: string; safe: string[]; entries: SafeEntry[] }>(`/api/v1/sla/safe${q.size ? `?${q}` : ''}`);
        write(ctx.stdout, asJson ? json(r.body) : renderSafe(r.body, flags['all'] === true));
        return r.body.safe.length ? 0 : 5;
      }
      if (flags['group-by'] || flags['all']) throw new CliError('--group-by and --all are options of sla list-safe', 2);
      const body = await selectionBody(positionals, flags, ctx, 'sluice sla probe h1,h2 | --hosts-file F | --rack R | --attribute K=V');
      const r = await api.post<{ text: string; blocked: string[]; hosts: Array<{ hostname: string }> }>('/api/v1/sla/probe', body);
      write(ctx.stdout, asJson ? json(r.body) : r.body.text);
      return r.body.blocked.length ? 5 : 0;
    } catch (e) {
      if (asJson && e instanceof CliError && e.data !== undefined) {
        write(ctx.stderr, json(e.data));
        return e.exitCode;
      }
      throw e;
    }
  },
};
