/** `sluice start`: run the scheduler (with the embedded simulator when no master is given). */
import { ConfigError, describeConfig, loadConfig, type SluiceConfig } from '../../config.js';
import type { SluiceApp } from '../../app/app.js';
import type { HaReplica } from '../../app/ha.js';
import type { Logger } from '../../util/logger.js';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CliContext, type CommandModule } from '../command.js';

export const START_FLAGS: FlagSpecs = {
  master: { type: 'strings', description: 'Mesos master URL (repeat or comma-separate for several); none = embedded simulator' },
  config: { type: 'string', description: 'JSON config file (keys: master, framework_name, role, store, api_listen, ...)' },
  'framework-name': { type: 'string', description: 'Framework name (default sluice)' },
  role: { type: 'string', description: 'Mesos role (default *)' },
  user: { type: 'string', description: 'Unix user tasks run as (default: current user)' },
  principal: { type: 'string', description: 'Framework principal' },
  secret: { type: 'string', description: 'Secret for HTTP Basic authentication (prefer SLUICE_SECRET)' },
  'failover-timeout': { type: 'string', description: 'How long Mesos keeps tasks while Sluice is away (default 7d)' },
  store: { type: 'string', description: 'Store directory (default ./.sluice/store)' },
  'api-listen': { type: 'string', description: 'Operator API host:port (default 127.0.0.1:5070; non-loopback needs a token)' },
  'api-token': { type: 'string', description: 'Require "Authorization: Bearer <token>" (prefer SLUICE_API_TOKEN)' },
  'api-allowed-hosts': { type: 'strings', description: 'Extra Host names the API answers to (name or name:port; comma list), e.g. behind a proxy' },
  'api-tokens-file': { type: 'string', description: 'Tokens file: "NAME ROLE sha256:HEX" lines (roles viewer, operator, admin); re-read on change and SIGHUP' },
  'require-reason': { type: 'string', description: 'Comma list of maintenance verbs that need --reason: start, complete, abort (--force always does)' },
  'audit-retention': { type: 'string', description: 'Audit entries kept: a count, an age, or both (default 100000,90d)' },
  'reconcile-interval': { type: 'string', description: 'Implicit reconciliation period (default 15m)' },
  'post-drain-env': { type: 'string', description: 'Comma list of environment variable NAMES passed to post_drain hooks (secrets never are)' },
  'log-level': { type: 'string', description: 'error, warn, info, debug (default info)' },
  'log-format': { type: 'string', description: 'json or pretty (default: pretty on a terminal, json otherwise)' },
  codec: { type: 'string', description: 'Encoding spoken to the master: json (default) or protobuf' },
  'rack-attribute': { type: 'string', description: 'Agent attribute naming the rack, for --group-by rack and rack_spread (default rack)' },
  'others-deadline': { type: 'string', description: 'Wait this long after the window start for other frameworks\' tasks to leave a host before machine down (default 0)' },
  'others-at-deadline': { type: 'string', description: 'Then: wait (default: never take their tasks down), down (machine down anyway, logged and audited) or drain_agent (Mesos DRAIN_AGENT, then machine down)' },
  'drain-agent-max-grace-period': { type: 'string', description: "others_at_deadline=drain_agent: DRAIN_AGENT's max_grace_period (default 5m)" },
  'sla-guardrails': { type: 'string', description: 'JSON: cluster default SLA for jobs without one and upper bound, e.g. {"max_percentage":90} (default off)' },
  'max-draining-hosts': { type: 'string', description: 'Most hosts DRAINING at once cluster-wide, across all maintenance requests (default: no cap)' },
  'max-record-bytes': { type: 'string', description: 'Largest event record accepted from the master, e.g. 32MiB (default 16MiB)' },
  demo: { type: 'boolean', description: 'Submit the demo jobs to the embedded simulator (default; --no-demo)' },
  'sim-agents': { type: 'string', description: 'Embedded simulator: agents (default 12)' },
  'sim-racks': { type: 'string', description: 'Embedded simulator: racks (default 3)' },
  'new-framework': { type: 'boolean', description: 'Forget the stored framework id and register anew (jobs are kept)' },
  ha: { type: 'string', description: 'HA replica: zk://host:port[,host:port]/path (leader election + store in ZooKeeper; needs --master)' },
  'ha-session-timeout': { type: 'string', description: 'HA: ZooKeeper session timeout (default 10s; leadership is dropped after 2/3 of it unconfirmed)' },
  'repair-store': { type: 'boolean', description: 'Open a damaged store, keeping everything up to the last good write' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
};

const USAGE = `Usage: sluice start [options]

Runs the Sluice scheduler. Without --master (or SLUICE_MASTER) it starts the embedded Mesos master
simulator (12 agents, 3 racks) and a demo workload, and prints how to talk to it.

Options (flags > environment SLUICE_* > config file > defaults):
${flagHelp(START_FLAGS)}`;

export const startCommand: CommandModule = {
  name: 'start',
  summary: 'run the scheduler (embedded simulator + demo jobs when no master is given)',
  usage: USAGE,
  async run(argv, ctx) {
    const { flags, positionals } = parseFlags(argv, START_FLAGS, 'sluice start');
    if (flags['help']) {
      write(ctx.stdout, USAGE);
      return 0;
    }
    if (positionals.length) throw new CliError(`sluice start: unexpected argument ${positionals[0]}`, 2);
    if (flags['demo'] === false) flags['no-demo'] = true;
    // the server is loaded only here: `sluice --help` and `sluice start --help` do not pay for it
    const { createLogger } = await import('../../util/logger.js');
    const { banner, startSluice, StartupError } = await import('../../app/app.js');
    let cfg;
    try {
      cfg = loadConfig(flags, ctx.env, ctx.cwd);
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`configuration: ${e.message}`, 2);
      throw e;
    }
    const logger = createLogger({ level: cfg.logLevel, format: cfg.logFormat, defaultMeta: { service: 'sluice' } });
    for (const line of describeConfig(cfg)) logger.info('config', { event: 'config', line });

    if (cfg.ha) return runHaReplica(cfg, logger, ctx);
    let app: SluiceApp;
    try {
      app = await startSluice(cfg, { logger });
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`configuration: ${e.message}`, 2);
      if (e instanceof StartupError) throw new CliError(e.message, 1);
      throw e;
    }
    write(ctx.stdout, banner(app));

    return await new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (why: string, code: number) => {
        if (stopping) {
          write(ctx.stderr, 'forced exit');
          process.exit(code || 130);
        }
        stopping = true;
        logger.info('shutdown', { event: 'shutdown', reason: why });
        void app.stop().then(
          () => resolve(code),
          (e: unknown) => {
            write(ctx.stderr, `error while stopping: ${(e as Error).message}`);
            resolve(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT', 0));
      process.once('SIGTERM', () => stop('SIGTERM', 0));
      app.runtime.onFatal((e) => {
        write(ctx.stderr, `sluice: ${e.message}`);
        stop('fatal', 1);
      });
    });
  },
};

/** `sluice start --ha`: one replica; exits EXIT_LEADERSHIP_LOST when it loses the leadership. */
async function runHaReplica(cfg: SluiceConfig, logger: Logger, ctx: CliContext): Promise<number> {
  const { StartupError } = await import('../../app/app.js');
  const { EXIT_LEADERSHIP_LOST, startHaReplica } = await import('../../app/ha.js');
  let r: HaReplica;
  try {
    r = await startHaReplica(cfg, { logger });
  } catch (e) {
    if (e instanceof StartupError) throw new CliError(e.message, 1);
    throw e;
  }
  write(ctx.stdout, `\nSluice HA replica is running (standby until elected).\n  operator API:  ${r.api.url}\n  status:        ${r.api.url}/api/v1/status\n`);
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, code: number) => {
      if (stopping) process.exit(code || 130);
      stopping = true;
      logger.info('shutdown', { event: 'shutdown', reason: why });
      void r.stop().then(() => resolve(code), () => resolve(code || 1));
    };
    process.once('SIGINT', () => stop('SIGINT', 0));
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    void r.lost.then((why) => {
      write(ctx.stderr, `sluice: leadership lost (${why}); exiting with ${EXIT_LEADERSHIP_LOST} so a supervisor restarts this replica as a standby`);
      stop('leadership_lost', EXIT_LEADERSHIP_LOST);
    });
  });
}
