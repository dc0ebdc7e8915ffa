/**
 * A runtime extension step under construction (calls, scheduler commands, store ops, logs). `out()`
 * has the shape of the runtime's ExtensionStep (structural: the maintenance layer does not import
 * the runtime).
 */
import type { Call } from '../mesos/types.js';
import type { Effect, SchedulerCommand } from '../scheduler/reducer.js';
import type { BatchOp } from '../store/index.js';
import type { AuditInput } from '../audit/types.js';

export class Step {
  calls: Call[] = [];
  commands: SchedulerCommand[] = [];
  storeOps: BatchOp[] = [];
  logs: Effect[] = [];
  audit: AuditInput[] = [];
  log(level: Effect['level'], event: string, fields: Record<string, unknown>): void {
    this.logs.push({ kind: 'log', level, event, fields });
  }
  out<T>(result?: T): { calls: Call[]; commands: SchedulerCommand[]; storeOps: BatchOp[]; logs: Effect[]; audit: AuditInput[]; result?: T } {
    return { calls: this.calls, commands: this.commands, storeOps: this.storeOps, logs: this.logs, audit: this.audit, result };
  }
}
