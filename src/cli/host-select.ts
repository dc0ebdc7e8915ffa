/**
 * The host-selection flags of `sluice host maintenance start` and `sluice sla probe`:
 *   h1,h2 (positionals)  --hosts-file FILE|-  --rack R (repeatable)  --attribute key=value (repeatable)
 * The CLI reads the hosts file (bounded); the API resolves racks and attributes against the agents
 * the master reports: (hosts ∪ file ∪ racks) ∩ attributes (src/maintenance/core/select.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FlagSpecs } from './args.js';
import { CliError, type CliContext } from './command.js';

export const SELECT_FLAGS: FlagSpecs = {
  rack: { type: 'strings', description: 'Every agent of this rack (repeatable: any of them)' },
  attribute: { type: 'strings', description: 'key=value: only agents with this attribute (repeatable: all must match)' },
  'hosts-file': { type: 'string', description: 'Hosts, one per line (# comments, blank lines ignored); - reads stdin' },
};

export const SELECT_HELP = `Selecting hosts: (h1,h2 ∪ --hosts-file ∪ --rack) ∩ every --attribute. With only --attribute,
  it filters all agents. Resolved by the API against the agents the master reports; an explicit
  host that fails an --attribute filter is left out and shown; a selector matching no agent is refused.`;

/** Largest hosts file read (bytes). */
export const MAX_HOSTS_FILE_BYTES = 1024 * 1024;

async function readBounded(file: string, ctx: CliContext): Promise<string> {
  const where = file === '-' ? 'stdin' : file;
  const tooBig = () => new CliError(`--hosts-file ${where}: larger than ${MAX_HOSTS_FILE_BYTES} bytes`, 2);
  if (file !== '-') {
    const full = path.resolve(ctx.cwd, file);
    let fd: number | undefined;
    try {
      fd = fs.openSync(full, 'r');
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new CliError(`--hosts-file ${where}: is a directory`, 2);
      if (st.size > MAX_HOSTS_FILE_BYTES) throw tooBig();
      const buf = Buffer.alloc(MAX_HOSTS_FILE_BYTES + 1);
      let n = 0;
      for (;;) {
        const r = fs.readSync(fd, buf, n, buf.length - n, null);
        if (r === 0) break;
        n += r;
        if (n > MAX_HOSTS_FILE_BYTES) throw tooBig();
      }
      return buf.subarray(0, n).toString('utf8');
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`--hosts-file ${where}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of process.stdin) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    n += b.length;
    if (n > MAX_HOSTS_FILE_BYTES) {
      process.stdin.destroy();
      throw tooBig();
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Hosts file text → names: one per line, `#` starts a comment, blank lines ignored. */
export function parseHostsFile(text: string, where: string): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.replace(/#.*$/, '').trim();
    if (!t) return;
    if (/\s|,/.test(t)) throw new CliError(`--hosts-file ${where}:${i + 1}: one host per line, got '${t.slice(0, 60)}'`, 2);
    out.push(t);
  });
  return out;
}

/** Builds `{hosts?, racks?, attributes?}` for the API from positionals and the selection flags. */
export async function selectionBody(pos: string[], flags: Record<string, unknown>, ctx: CliContext, usage: string): Promise<Record<string, unknown>> {
  const hosts = pos.join(',').split(',').map((h) => h.trim()).filter(Boolean);
  const file = flags['hosts-file'] as string | undefined;
  if (file !== undefined) {
    const fromFile = parseHostsFile(await readBounded(file, ctx), file === '-' ? 'stdin' : file);
    if (!fromFile.length) throw new CliError(`--hosts-file ${file === '-' ? 'stdin' : file}: no hosts in it`, 2);
    hosts.push(...fromFile);
  }
  const body: Record<string, unknown> = {};
  const racks = (flags['rack'] as string[] | undefined) ?? [];
  if (racks.length) body['racks'] = racks;
  const attrs = (flags['attribute'] as string[] | undefined) ?? [];
  if (attrs.length) {
    const o = Object.create(null) as Record<string, string>;
    for (const a of attrs) {
      const eq = a.indexOf('=');
      if (eq <= 0) throw new CliError(`--attribute: expected key=value, got '${a.slice(0, 60)}'`, 2);
      const k = a.slice(0, eq);
      if (Object.prototype.hasOwnProperty.call(o, k) && o[k] !== a.slice(eq + 1)) throw new CliError(`--attribute ${k}: given twice with different values (all must match, so nothing would)`, 2);
      o[k] = a.slice(eq + 1);
    }
    body['attributes'] = o;
  }
  if (hosts.length) body['hosts'] = hosts;
  if (!hosts.length && !racks.length && !attrs.length) throw new CliError(`usage: ${usage}`, 2);
  return body;
}
