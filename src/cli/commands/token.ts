/** `sluice token new NAME ROLE` and `sluice token hash`: lines for the API tokens file (README "Roles and the tokens file"). */
import crypto from 'node:crypto';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CommandModule } from '../command.js';
import { json } from '../output.js';
import { parseTokensFile, ROLES, sha256, TokensFileError } from '../../util/tokens-file.js';

const FLAGS: FlagSpecs = {
  json: { type: 'boolean', description: 'Print machine-readable JSON' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
};

const USAGE = `Usage:
  sluice token new NAME ROLE     a fresh random token and its line for the tokens file
  sluice token hash < token.txt  the sha256:HEX of a token read from stdin (one line)

ROLE: ${ROLES.join(', ')}. The token is printed once: hand it to NAME (SLUICE_API_TOKEN); only
its SHA-256 goes into the file (--api-tokens-file), which Sluice re-reads on change and SIGHUP.

Options:
${flagHelp(FLAGS)}`;

/** The tokens-file line of `name`/`role` for `token`, checked by the same parser Sluice uses. */
export function tokenLine(name: string, role: string, token: string): string {
  const line = `${name} ${role} sha256:${sha256(token).toString('hex')}`;
  try {
    parseTokensFile(line, 'the line');
  } catch (e) {
    if (e instanceof TokensFileError) throw new CliError(e.message.replace(/^the line: 1 problem\(s\):\s*line 1: /, ''), 2);
    throw e;
  }
  return line;
}

async function readStdin(max = 4096): Promise<string> {
  let text = '';
  for await (const c of process.stdin) {
    text += String(c);
    if (text.length > max) throw new CliError(`sluice token hash: more than ${max} bytes on stdin`, 2);
  }
  return text;
}

export const tokenCommand: CommandModule = {
  name: 'token',
  summary: 'make API tokens and their tokens-file lines (sha256, roles)',
  usage: USAGE,
  async run(argv, ctx) {
    const { flags, positionals } = parseFlags(argv, FLAGS, 'sluice token');
    if (flags['help'] || !positionals.length) {
      write(positionals.length || flags['help'] ? ctx.stdout : ctx.stderr, USAGE);
      return flags['help'] ? 0 : 2;
    }
    const [verb, ...rest] = positionals;
    if (verb === 'new') {
      if (rest.length !== 2) throw new CliError('usage: sluice token new NAME ROLE', 2);
      const token = crypto.randomBytes(32).toString('base64url');
      const line = tokenLine(rest[0]!, rest[1]!, token);
      if (flags['json']) write(ctx.stdout, json({ name: rest[0], role: rest[1], token, line }));
      else write(ctx.stdout, `token for ${rest[0]} (shown once; they export SLUICE_API_TOKEN=...):\n  ${token}\nline for the tokens file:\n  ${line}`);
      return 0;
    }
    if (verb === 'hash') {
      if (rest.length) throw new CliError('usage: sluice token hash < token.txt (the token is never taken as an argument: it would land in the shell history)', 2);
      const token = (await readStdin()).replace(/\r?\n$/, '');
      if (!token || /[\s\x00-\x1f\x7f]/.test(token)) throw new CliError('sluice token hash: expected one token (no spaces or control characters) on stdin', 2);
      write(ctx.stdout, `sha256:${sha256(token).toString('hex')}`);
      return 0;
    }
    throw new CliError(`sluice token: unknown subcommand ${JSON.stringify(verb!.slice(0, 30))} (new, hash)`, 2);
  },
};
