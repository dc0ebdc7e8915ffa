/** `sluice doctor`: preflight checks against a Mesos cluster before Sluice registers on it. */
import { ConfigError, loadConfig, parseSeconds } from '../../config.js';
import { maskSecrets } from '../../util/redact.js';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CommandModule } from '../command.js';

export const DOCTOR_FLAGS: FlagSpecs = {
  master: { type: 'strings', description: 'Mesos master URL(s) (repeat or comma-separate); as for `sluice start`' },
  config: { type: 'string', description: 'JSON config file (the one `sluice start` uses)' },
  principal: { type: 'string', description: 'Framework principal' },
  secret: { type: 'string', description: 'Secret for HTTP Basic authentication (prefer SLUICE_SECRET)' },
  role: { type: 'string', description: 'Mesos role Sluice registers with (default *)' },
  'rack-attribute': { type: 'string', description: 'Agent attribute naming the rack (default: as for `sluice start`, rack)' },
  'max-clock-skew': { type: 'string', description: 'Clock offset to the master that fails the check (default 5s)' },
  timeout: { type: 'string', description: 'Per-request timeout (default 5s)' },
  json: { type: 'boolean', description: 'Print the report as JSON' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
};

const USAGE = `Usage: sluice doctor [--master URL] [--json] [options]

Preflight before registering Sluice on a cluster: which master leads and how it was found, its
version and capabilities, whether the maintenance endpoints answer, whether the configured
principal/secret is accepted, the clock offset between this host and the master, whether the
agents carry the rack attribute, and the role/quota the master shows. Registers nothing.

Master, principal, secret and role resolve as for \`sluice start\` (flags > SLUICE_* environment >
config file). The secret is never printed.

Options:
${flagHelp(DOCTOR_FLAGS)}

Exit codes (with several findings, the lowest):
  0   all checks passed
  10  no leading master (all unreachable, none elected, bad master URL)
  11  credentials refused, or required by the master and not configured
  12  maintenance endpoints missing or unusable (404, authentication Sluice cannot answer)
  13  clock skew to the master over --max-clock-skew (the estimate's whole interval beyond it)
  14  agents without the rack attribute
  15  other warnings (no agents, unknown version, skew possibly over the threshold, ...)
  1   doctor failed · 2 usage or configuration error`;

export const doctorCommand: CommandModule = {
  name: 'doctor',
  summary: 'preflight: leader, version, credentials, maintenance endpoints, clock skew, racks, role',
  usage: USAGE,
  async run(argv, ctx) {
    const { flags, positionals } = parseFlags(argv, DOCTOR_FLAGS, 'sluice doctor');
    if (flags['help']) {
      write(ctx.stdout, USAGE);
      return 0;
    }
    if (positionals.length) throw new CliError(`sluice doctor: unexpected argument ${positionals[0]}`, 2);
    let cfg;
    let maxSkewMs = 5_000;
    let timeoutMs = 5_000;
    try {
      cfg = loadConfig(flags, ctx.env, ctx.cwd);
      if (flags['max-clock-skew'] !== undefined) maxSkewMs = parseSeconds(flags['max-clock-skew'], '--max-clock-skew') * 1000;
      if (flags['timeout'] !== undefined) timeoutMs = Math.max(1, parseSeconds(flags['timeout'], '--timeout') * 1000);
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`configuration: ${e.message}`, 2);
      throw e;
    }
    if (!cfg.masters.length) throw new CliError('sluice doctor: no master given (--master URL, SLUICE_MASTER or "master" in the config file)', 2);
    // --rack-attribute, SLUICE_RACK_ATTRIBUTE or the config file's rack_attribute, as `sluice start` uses it
    const rackAttribute = cfg.rackAttribute;

    // loaded only when run: `sluice help` and other commands do not pay for undici and the checks
    const { runDoctor } = await import('../../doctor/probe.js');
    const { formatReport } = await import('../../doctor/checks.js');
    const r = await runDoctor({
      masters: cfg.masters,
      principal: cfg.principal,
      secret: cfg.secret,
      role: cfg.role,
      rackAttribute,
      maxSkewMs,
      timeoutMs,
    });
    const out = flags['json'] === true ? JSON.stringify(r, null, 2) : formatReport(r);
    write(ctx.stdout, maskSecrets(out, [cfg.secret]));
    return r.exit_code;
  },
};
