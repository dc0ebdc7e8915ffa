/**
 * A small flag parser: `--name value`, `--name=value`, `-x value`, boolean flags, repeatable flags,
 * `--` ends flags. Unknown flags are errors (with a suggestion), so typos never pass silently.
 */
import { CliError } from './command.js';

export interface FlagSpec {
  type: 'string' | 'boolean' | 'strings';
  short?: string;
  description?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

function nearest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return dp[a.length]![b.length]!;
}

export function parseFlags(argv: string[], specs: FlagSpecs, command = 'sluice'): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(specs)) if (s.short) byShort.set(s.short, name);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const s = a.slice(1);
      name = byShort.get(s);
      if (!name) throw new CliError(`${command}: unknown option ${a}`, 2);
    } else {
      positionals.push(a);
      continue;
    }
    let spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean') {
      flags[name.slice(3)] = false;
      continue;
    }
    if (!spec) {
      const near = nearest(name, Object.keys(specs));
      throw new CliError(`${command}: unknown option --${name}${near ? ` (did you mean --${near}?)` : ''}`, 2);
    }
    if (spec.type === 'boolean') {
      if (inline !== undefined) {
        if (!/^(true|false|1|0)$/.test(inline)) throw new CliError(`${command}: --${name} takes no value (or true/false)`, 2);
        flags[name] = inline === 'true' || inline === '1';
      } else flags[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new CliError(`${command}: --${name} needs a value`, 2);
      value = argv[++i]!;
    }
    if (spec.type === 'strings') {
      const prev = (flags[name] as string[] | undefined) ?? [];
      prev.push(value);
      flags[name] = prev;
    } else flags[name] = value;
  }
  return { flags, positionals };
}

export function flagHelp(specs: FlagSpecs): string {
  const lines: string[] = [];
  for (const [name, s] of Object.entries(specs)) {
    const left = `  ${s.short ? `-${s.short}, ` : '    '}--${name}${s.type === 'boolean' ? '' : ' <value>'}`;
    lines.push(`${left.padEnd(34)} ${s.description ?? ''}`.trimEnd());
  }
  return lines.join('\n');
}
