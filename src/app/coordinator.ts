/**
 * Coordinator policies, wired: the scheduler's I/O edge for coordinator questions
 * (src/coordinator/edge.ts) as a runtime extension that takes the scheduler's I/O requests once
 * their batch is durable, and feeds each answer back as the `coordinator_answer` command. One edge
 * and one client per Sluice: drains and rolling updates ask through the same approval book
 * (src/scheduler/coordinator.ts) and the same bounded client.
 */
import { CoordinatorEdge } from '../coordinator/index.js';
import type { RuntimeExtension, SluiceRuntime } from '../runtime/runtime.js';
import type { AppPlugin, PluginContext } from './plugin.js';

export function coordinatorPlugin(): AppPlugin {
  // the edge of the Sluice being built (extension, then routes, synchronously, as maintenance's)
  let edge: CoordinatorEdge | undefined;
  const make = (ctx: PluginContext): CoordinatorEdge => new CoordinatorEdge({ log: ctx.logger.child({ component: 'coordinator' }) });
  return {
    name: 'coordinator',
    extension(ctx: PluginContext): RuntimeExtension {
      const e = (edge = make(ctx));
      return { name: 'coordinator', onSchedulerIo: (io) => e.run(io) };
    },
    routes(_router, runtime: SluiceRuntime, ctx: PluginContext): void {
      (edge ??= make(ctx)).attach((a) => {
        ctx.metrics.coordinatorAnswers.inc({ answer: a.allow ? 'yes' : 'no' });
        return runtime.submit({ type: 'coordinator_answer', question: a.question, allow: a.allow, ...(a.reason !== undefined ? { reason: a.reason } : {}) });
      });
    },
  };
}
