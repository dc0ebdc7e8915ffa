/** `sluice sim ...`: the Mesos master simulator's own CLI (src/sim/cli.ts). */
import { runSimCli, SIM_USAGE } from '../../sim/cli.js';
import { write, type CommandModule } from '../command.js';

export const simCommand: CommandModule = {
  name: 'sim',
  summary: 'run the Mesos master simulator on its own (rehearsals; see `sluice sim --help`)',
  usage: SIM_USAGE,
  run(argv, ctx) {
    return runSimCli(argv, ctx, { out: (l) => write(ctx.stdout, l), err: (l) => write(ctx.stderr, l) });
  },
};
