/** `sluice store copy`: move Sluice's state between a file store and ZooKeeper (HA), either way. */
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CommandModule } from '../command.js';

export const STORE_FLAGS: FlagSpecs = {
  from: { type: 'string', description: 'Source: file:DIR (a file store directory) or zk://[user:pass@]hosts/path (an --ha path)' },
  to: { type: 'string', description: 'Target: file:DIR or zk://[user:pass@]hosts/path' },
  force: { type: 'boolean', description: 'Replace the records a target already holds (they are lost)' },
  json: { type: 'boolean', description: 'Print the result as JSON' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
};

const USAGE = `Usage: sluice store copy --from file:DIR|zk://hosts/path --to zk://hosts/path|file:DIR [--force] [--json]

Copies the whole state (framework ID, jobs, instances, host maintenance records, audit) from one
store to another: a single process's file store (--store DIR) into the ZooKeeper store of an HA
deployment (--ha zk://…/path) to move to HA, or back to leave it. Stop Sluice first: a file store is
locked while Sluice runs on it, and a ZooKeeper target is refused while any replica runs on its
path. Reading a ZooKeeper source while its leader runs is fine (a consistent point of its log).

A target that already holds records is refused unless --force (its records are then replaced, all
at once). The target is then read back afresh and compared record by record with the source.

Options:
${flagHelp(STORE_FLAGS)}

Exit codes: 0 copied and verified · 1 failed · 2 usage · 3 target not empty (no --force) or replicas
running · 4 written but the read-back differs`;

export const storeCommand: CommandModule = {
  name: 'store',
  summary: 'copy the state between a file store and ZooKeeper (HA), either way',
  usage: USAGE,
  async run(argv, ctx) {
    const { flags, positionals } = parseFlags(argv, STORE_FLAGS, 'sluice store');
    if (flags['help'] || positionals.length === 0) {
      write(positionals.length || flags['help'] ? ctx.stdout : ctx.stderr, USAGE);
      return flags['help'] ? 0 : 2;
    }
    if (positionals[0] !== 'copy' || positionals.length > 1) throw new CliError(`sluice store: unknown subcommand ${positionals.join(' ')} (only: copy)`, 2);
    const from = flags['from'];
    const to = flags['to'];
    if (typeof from !== 'string' || typeof to !== 'string') throw new CliError('sluice store copy: --from and --to are required', 2);
    const { copyStore, parseStoreEndpoint, CopyError } = await import('../../app/store-copy.js');
    try {
      const r = await copyStore(parseStoreEndpoint(from, ctx.cwd), parseStoreEndpoint(to, ctx.cwd), { force: flags['force'] === true });
      if (flags['json'] === true) write(ctx.stdout, JSON.stringify(r, null, 2));
      else {
        const cols = Object.entries(r.collections)
          .map(([c, n]) => `${c} ${n}`)
          .join(', ');
        write(ctx.stdout, `copied ${r.records} records (${cols}) from ${r.from} to ${r.to}${r.replaced ? `, replacing ${r.replaced}` : ''}; read back and verified in ${r.seconds.toFixed(1)} s`);
      }
      return 0;
    } catch (e) {
      if (e instanceof CopyError) throw new CliError(`sluice store copy: ${e.message}`, e.exitCode);
      throw new CliError(`sluice store copy: ${(e as Error).message}`, 1);
    }
  },
};
