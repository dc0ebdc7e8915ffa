/** `sluice sla probe h1,h2`: which hosts could be drained right now without breaking an SLA, and why not. */
import { ApiClient, apiOptions } from '../api-client.js';
import { flagHelp, parseFlags } from '../args.js';
import { CliError, write, type CommandModule } from '../command.js';
import { json } from '../output.js';
import { API_FLAGS } from './job.js';

const USAGE = `Usage:
  sluice sla probe h1,h2     which of these hosts could be drained now within every job's SLA

Options:
${flagHelp(API_FLAGS)}

Exit codes: 0 every host drainable now, 5 some are not, 1 failure, 2 usage, 3 rejected by the API.`;

export const slaCommand: CommandModule = {
  name: 'sla',
  summary: 'SLA probe: could these hosts be drained now?',
  usage: USAGE,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h' || sub === 'help') {
      write(ctx.stdout, USAGE);
      return 0;
    }
    const { flags, positionals } = parseFlags(rest, API_FLAGS, `sluice sla ${sub ?? ''}`.trim());
    if (flags['help'] || !sub) {
      write(ctx.stdout, USAGE);
      return sub ? 0 : 2;
    }
    if (sub !== 'probe') throw new CliError(`sluice sla: unknown subcommand ${JSON.stringify(sub)} (probe)`, 2);
    const hosts = positionals.join(',').split(',').map((h) => h.trim()).filter(Boolean);
    if (!hosts.length) throw new CliError('usage: sluice sla probe h1,h2', 2);
    const asJson = flags['json'] === true;
    try {
      const api = new ApiClient(apiOptions(flags, ctx.env));
      const r = await api.post<{ text: string; blocked: string[] }>('/api/v1/sla/probe', { hosts });
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
