/** `sluice sim ...`: the Mesos master simulator's own CLI (src/sim/cli.ts), loaded only to run it. */
import { SIM_USAGE } from '../../sim/usage.js';
import { write, type CommandModule } from '../command.js';

export const simCommand: CommandModule = {
  name: 'sim',
  summary: 'run the Mesos master simulator on its own (rehearsals; see `sluice sim --help`)',
  usage: SIM_USAGE,
  async run(argv, ctx) {
    // `sluice sim --help` alone answers without loading the simulator (any other argv: its parser decides)
    if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
      write(ctx.stdout, SIM_USAGE);
      return 0;
    }
    const { runSimCli } = await import('../../sim/cli.js');
    return runSimCli(argv, ctx, { out: (l) => write(ctx.stdout, l), err: (l) => write(ctx.stderr, l) });
  },
};
