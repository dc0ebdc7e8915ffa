#!/usr/bin/env node
/**
 * `sluice` — the Sluice command line. Commands come from the registry in ./commands/index.ts, each
 * module loaded only when its command runs (this file imports nothing of the server).
 * Exit codes: 0 ok, 1 failure, 2 usage error, 3 rejected by the API (4xx), 4 not found.
 */
import { fileURLToPath } from 'node:url';
import { realpathSync } from 'node:fs';
import { COMMANDS } from './commands/index.js';
import { CliError, write, type CliContext, type CommandEntry } from './command.js';

export function help(commands: readonly CommandEntry[] = COMMANDS): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: sluice <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run `sluice <command> --help` for details. The CLI talks to the operator API at --api URL',
    '(env SLUICE_API, default http://127.0.0.1:5070); `--json` prints machine-readable output.',
  ].join('\n');
}

export async function main(argv: string[], ctx: CliContext, commands: readonly CommandEntry[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const c = rest[0] ? commands.find((x) => x.name === rest[0]) : undefined;
    write(ctx.stdout, c ? (await c.load()).usage : help(commands));
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    write(ctx.stderr, `sluice: unknown command ${JSON.stringify(name)}\n\n${help(commands)}`);
    return 2;
  }
  try {
    const cmd = await entry.load();
    return await cmd.run(rest, ctx);
  } catch (e) {
    if (e instanceof CliError) {
      write(ctx.stderr, e.message.startsWith('error') || e.message.startsWith('sluice') ? e.message : `sluice ${name}: ${e.message}`);
      return e.exitCode;
    }
    write(ctx.stderr, `sluice ${name}: unexpected error: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * `sluice job list | head -1`: the reader went away. Exit quietly (no EPIPE stack trace), with the
 * command's exit code when it already has one. Other stream errors are reported once.
 */
export function exitQuietlyOnBrokenPipe(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const s of streams) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      if (s !== process.stderr) process.stderr.write(`sluice: cannot write output: ${e.message}\n`);
      process.exit(1);
    });
  }
}

if (isEntryPoint()) {
  exitQuietlyOnBrokenPipe();
  const ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  main(process.argv.slice(2), ctx).then(
    (code) => {
      process.exitCode = code;
      // `start` resolves after a clean shutdown; other commands are done. Leave nothing hanging.
      setTimeout(() => process.exit(code), 50).unref();
    },
    (e: unknown) => {
      process.stderr.write(`sluice: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
