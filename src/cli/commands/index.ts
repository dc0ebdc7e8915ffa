/**
 * Every `sluice` command. To add one, create src/cli/commands/<name>.ts exporting a CommandModule
 * (see ../command.ts) and list it here, e.g. the maintenance module's `host` and `sla`.
 */
import type { CommandModule } from '../command.js';
import { jobCommand } from './job.js';
import { simCommand } from './sim.js';
import { startCommand } from './start.js';
import { hostCommand } from './host.js';
import { slaCommand } from './sla.js';
import { doctorCommand } from './doctor.js';

export const COMMANDS: CommandModule[] = [startCommand, jobCommand, simCommand, hostCommand, slaCommand, doctorCommand];
