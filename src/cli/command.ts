/**
 * The CLI's command registry contract. A command is a module exporting a CommandModule; the list of
 * CommandEntry in src/cli/commands/index.ts is what `sluice` knows, and loads a command's module
 * only when it runs. Other modules add theirs there (maintenance: `host`, `sla`), each in its own
 * file under src/cli/commands/.
 */
import type { Writable } from 'node:stream';
import { escapeControlsKeepLines } from '../util/text.js';

export interface CliContext {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CommandModule {
  /** The first word: `sluice <name> ...`. */
  readonly name: string;
  /** One line for `sluice help`. */
  readonly summary: string;
  /** Full help text (`sluice <name> --help`). */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[], ctx: CliContext): Promise<number>;
}

/** A registry line: enough for `sluice help` without loading the command's module. */
export interface CommandEntry {
  readonly name: string;
  /** One line for `sluice help` (the same as the module's). */
  readonly summary: string;
  /** Imports the command's module (and with it whatever it needs) on first use. */
  load(): Promise<CommandModule>;
}

/** An error to show the user as-is (no stack), with an exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
    /** Structured form for --json output (e.g. the API's {error, details}). */
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/**
 * Writes a line (or lines) of output. Control characters other than newline and tab (terminal
 * escape sequences from host names the master reported, ...) become `\uXXXX`: inert on a terminal,
 * and the same value inside JSON output.
 */
export function write(stream: Writable, text: string): void {
  const safe = escapeControlsKeepLines(text);
  stream.write(safe.endsWith('\n') ? safe : safe + '\n');
}
