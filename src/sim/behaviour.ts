/**
 * How a simulated task behaves, from its TaskInfo: labels (`sim.fail_after_seconds=5`, ...) or
 * markers in the command value (`sleep 1000 # sim:fail-after=5 sim:exit-code=3`).
 */
import type { TaskInfo } from '../mesos/types.js';
import { parseHealthBehaviour } from './health.js';
import type { TaskBehaviour } from './model.js';

export const BEHAVIOUR_LABELS = {
  startupDelayMs: 'sim.startup_delay_ms',
  failAfterSeconds: 'sim.fail_after_seconds',
  finishAfterSeconds: 'sim.finish_after_seconds',
  exitCode: 'sim.exit_code',
  exitOnSigterm: 'sim.exit_on_sigterm',
  health: 'sim.health',
} as const;

/**
 * Behaviour of a task from its TaskInfo: labels (`sim.fail_after_seconds=5`, ...) or markers in the
 * command value (`sleep 1000 # sim:fail-after=5 sim:exit-code=3`). Unknown or absent -> defaults.
 */
export function behaviourFromTaskInfo(info: TaskInfo, defaults: TaskBehaviour): TaskBehaviour {
  const b: TaskBehaviour = { ...defaults };
  const set = (key: string, value: string | undefined): void => {
    const n = value === undefined || value === '' ? NaN : Number(value);
    switch (key) {
      case BEHAVIOUR_LABELS.startupDelayMs:
      case 'startup-delay-ms':
        if (Number.isFinite(n) && n >= 0) b.startupDelayMs = n;
        break;
      case BEHAVIOUR_LABELS.failAfterSeconds:
      case 'fail-after':
        if (Number.isFinite(n) && n >= 0) b.failAfterMs = n * 1000;
        break;
      case BEHAVIOUR_LABELS.finishAfterSeconds:
      case 'finish-after':
        if (Number.isFinite(n) && n >= 0) b.finishAfterMs = n * 1000;
        break;
      case BEHAVIOUR_LABELS.exitCode:
      case 'exit-code':
        if (Number.isInteger(n)) b.exitCode = n;
        break;
      case BEHAVIOUR_LABELS.health:
      case 'health': {
        const h = parseHealthBehaviour(value);
        if (h) b.health = h;
        break;
      }
      case BEHAVIOUR_LABELS.exitOnSigterm:
      case 'exit-on-sigterm':
        b.exitOnSigterm = value === undefined || value === '' || value === 'true' || value === '1';
        break;
      default:
        break;
    }
  };
  for (const l of info.labels?.labels ?? []) set(l.key, l.value);
  const cmd = info.command?.value;
  if (cmd && cmd.includes('sim:')) {
    for (const m of cmd.matchAll(/sim:([a-z-]+)(?:=([^\s]+))?/g)) set(m[1]!, m[2]);
  }
  return b;
}
