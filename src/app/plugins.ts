/**
 * Modules that plug into a running Sluice (`sluice start`, an HA leader): each may add a runtime
 * extension (it sees events and ticks inside the decision loop and answers with calls, scheduler
 * commands, store operations and I/O requests) and operator API routes. This file is where they are
 * registered (src/app is the only composition root: the modules themselves know nothing of the
 * runtime, of the API nor of each other).
 */
import type { AppPlugin } from './plugin.js';
import { maintenancePlugin } from './maintenance.js';
import { coordinatorPlugin } from './coordinator.js';

export type { AppPlugin, PluginContext } from './plugin.js';

/** The plugins of a running Sluice, in the order their extensions see each input. */
export const APP_PLUGINS: AppPlugin[] = [maintenancePlugin(), coordinatorPlugin()];
