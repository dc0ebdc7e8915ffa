/**
 * Host maintenance, wired: its loop as a runtime extension (src/maintenance/io/service.ts around the
 * pure reducer of src/maintenance/core/loop.ts), its I/O executor, and its operator routes.
 */
import { registerHostRoutes } from '../api/host-routes.js';
import type { Router } from '../api/router.js';
import type { RuntimeExtension, SluiceRuntime } from '../runtime/runtime.js';
import { MaintenanceService, type MaintenanceOptions } from '../maintenance/io/service.js';
import type { AppPlugin, PluginContext } from './plugin.js';

export function maintenancePlugin(options: MaintenanceOptions = {}): AppPlugin {
  let service: MaintenanceService | undefined;
  return {
    name: 'maintenance',
    extension(ctx: PluginContext): RuntimeExtension {
      service = new MaintenanceService(ctx, options);
      return service;
    },
    routes(router: Router, runtime: SluiceRuntime, ctx: PluginContext): void {
      if (!service) service = new MaintenanceService(ctx, options);
      service.attach(runtime);
      registerHostRoutes(router, service);
    },
  };
}
