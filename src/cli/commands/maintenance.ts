/** `sluice maintenance pause|resume --all --reason TEXT`: the cluster-wide brake (through the operator API). */
import { ApiClient, apiOptions } from '../api-client.js';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CommandModule } from '../command.js';
import { json } from '../output.js';
import { API_FLAGS } from './job.js';
import { reasonFlag } from './host.js';

const FLAGS: FlagSpecs = {
  all: { type: 'boolean', description: 'Every drain in the cluster (required: per request or host, see `sluice host maintenance pause`)' },
  reason: { type: 'string', description: 'Why (recorded in the audit)' },
  ...API_FLAGS,
};

const USAGE = `Usage:
  sluice maintenance pause --all [--reason TEXT]    no new kill, admission or machine down anywhere
                                                    (kills in flight finish; kept across restarts)
  sluice maintenance resume --all [--reason TEXT]   drains continue

Per request or host: sluice host maintenance pause|resume REQUEST_ID|h1,h2.

Options:
${flagHelp(FLAGS)}

Exit codes: 0 ok, 1 failure, 2 usage, 3 rejected by the API (4xx).`;

export const maintenanceCommand: CommandModule = {
  name: 'maintenance',
  summary: 'cluster-wide pause and resume of every drain',
  usage: USAGE,
  async run(argv, ctx) {
    const { flags, positionals } = parseFlags(argv, FLAGS, 'sluice maintenance');
    const verb = positionals[0];
    if (flags['help'] || !verb) {
      write(ctx.stdout, USAGE);
      return flags['help'] ? 0 : 2;
    }
    if ((verb !== 'pause' && verb !== 'resume') || positionals.length !== 1) throw new CliError(`usage: sluice maintenance pause|resume --all [--reason TEXT]`, 2);
    if (flags['all'] !== true) throw new CliError(`sluice maintenance ${verb} needs --all (per request or host: sluice host maintenance ${verb} REQUEST_ID|h1,h2)`, 2);
    const reason = reasonFlag(flags['reason']);
    const api = new ApiClient(apiOptions(flags, ctx.env));
    const r = await api.post<{ paused_all: { actor: string } | null }>(`/api/v1/maintenance/${verb}`, { all: true, ...(reason !== undefined ? { reason } : {}) });
    if (flags['json'] === true) write(ctx.stdout, json(r.body));
    else write(ctx.stdout, r.body.paused_all ? `all drains paused (by ${r.body.paused_all.actor}): no new kills; kills in flight finish` : 'all drains resumed');
    return 0;
  },
};
