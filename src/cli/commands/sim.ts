/** `sluice sim ...`: the Mesos master simulator's own CLI (src/sim/cli.ts), when present. */
import { CliError, type CommandModule } from '../command.js';

export const simCommand: CommandModule = {
  name: 'sim',
  summary: 'run or drive the Mesos master simulator (see `sluice sim --help`)',
  usage: 'Usage: sluice sim [args] (delegates to the simulator CLI, src/sim/cli.ts)',
  async run(argv, ctx) {
    const modPath = '../../sim/cli.js';
    let mod: { runSimCli?: (argv: string[], ctx?: unknown) => Promise<number> | number };
    try {
      mod = (await import(modPath)) as typeof mod;
    } catch {
      throw new CliError('the simulator CLI (src/sim/cli.ts) is not part of this build');
    }
    if (typeof mod.runSimCli !== 'function') throw new CliError('src/sim/cli.ts does not export runSimCli');
    return await mod.runSimCli(argv, ctx);
  },
};
