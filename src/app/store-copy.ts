/**
 * `sluice store copy` for the CLI (src/cli/commands/store.ts), which reaches src/ha only through the
 * composition root. Kept apart from app/ha.ts so the command does not load the runtime and the API.
 */
export { copyStore, parseStoreEndpoint, CopyError, type CopyResult } from '../ha/copy.js';
