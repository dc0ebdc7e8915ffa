/**
 * Every `sluice` command: its name, its one line for `sluice help`, and how to load it. A command's
 * module is imported only when that command runs (or its --help is asked for), so `sluice --help`
 * and `sluice job ...` do not load the server (runtime, API, simulator, store, Mesos client).
 *
 * To add a command, create src/cli/commands/<name>.ts exporting a CommandModule (see ../command.ts)
 * and list it here, e.g. the maintenance module's `host` and `sla`. The summary here is what
 * `sluice help` prints; test/cli/help.test.ts checks it matches the module's own.
 */
import type { CommandEntry } from '../command.js';

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'start',
    summary: 'run the scheduler (embedded simulator + demo jobs when no master is given)',
    load: async () => (await import('./start.js')).startCommand,
  },
  { name: 'job', summary: 'create, update, get, list and delete jobs', load: async () => (await import('./job.js')).jobCommand },
  {
    name: 'sim',
    summary: 'run the Mesos master simulator on its own (rehearsals; see `sluice sim --help`)',
    load: async () => (await import('./sim.js')).simCommand,
  },
  { name: 'host', summary: 'host maintenance: start, complete, abort, pause, resume, edit; query progress; history', load: async () => (await import('./host.js')).hostCommand },
  { name: 'maintenance', summary: 'cluster-wide pause and resume of every drain', load: async () => (await import('./maintenance.js')).maintenanceCommand },
  { name: 'audit', summary: 'the audit trail: who did what, when, why; host transitions, kills, hooks', load: async () => (await import('./audit.js')).auditCommand },
  { name: 'token', summary: 'make API tokens and their tokens-file lines (sha256, roles)', load: async () => (await import('./token.js')).tokenCommand },
  { name: 'sla', summary: 'SLA probe and list-safe: which hosts could be drained now?', load: async () => (await import('./sla.js')).slaCommand },
  { name: 'store', summary: 'copy the state between a file store and ZooKeeper (HA), either way', load: async () => (await import('./store.js')).storeCommand },
  { name: 'events', summary: 'the live event feed: host transitions, drain steps, requests (--follow, --json)', load: async () => (await import('./events.js')).eventsCommand },
  {
    name: 'doctor',
    summary: 'preflight: leader, version, credentials, maintenance endpoints, clock skew, racks, role',
    load: async () => (await import('./doctor.js')).doctorCommand,
  },
];
