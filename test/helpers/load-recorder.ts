/**
 * `node --import <this file>`: records the URL of every module the process loads (ES modules,
 * CommonJS packages and node: builtins alike), one per line, into the file named by
 * SLUICE_LOADED_LOG. Node's module hooks do it (they run in their own thread, hence the
 * isMainThread guard: the same file both registers the hooks and is them).
 */
import fs from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

interface LoadContext {
  format?: string | null;
}
type NextLoad = (url: string, context: LoadContext) => Promise<unknown>;

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<unknown> {
  const log = process.env['SLUICE_LOADED_LOG'];
  if (log) fs.appendFileSync(log, url + '\n');
  return nextLoad(url, context);
}
