/** `sluice job create|update|get|list|delete`: jobs through the operator API. */
import fs from 'node:fs';
import path from 'node:path';
import type { JobSummary, JobView } from '../../scheduler/reducer.js';
import { ApiClient, apiOptions } from '../api-client.js';
import { flagHelp, parseFlags, type FlagSpecs } from '../args.js';
import { CliError, write, type CliContext, type CommandModule } from '../command.js';
import { ago, json, table } from '../output.js';
import { describeSla } from '../../sla/index.js';

export const API_FLAGS: FlagSpecs = {
  api: { type: 'string', description: 'Operator API URL (env SLUICE_API; default http://127.0.0.1:5070)' },
  'api-token': { type: 'string', description: 'Bearer token (env SLUICE_API_TOKEN)' },
  'follow-leader': { type: 'boolean', description: "Follow an HA standby's redirect to a leader on another host, token included (env SLUICE_FOLLOW_LEADER=1)" },
  json: { type: 'boolean', description: 'Print machine-readable JSON' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
};

const FLAGS: FlagSpecs = {
  file: { type: 'string', short: 'f', description: 'Job spec file (JSON; "-" = stdin) for create/update' },
  ...API_FLAGS,
};

const USAGE = `Usage:
  sluice job create -f job.json     create a job
  sluice job update -f job.json     update it (scale; rolling replace when the task changes)
  sluice job get NAME               show a job and its instances
  sluice job list                   list jobs
  sluice job delete NAME            kill every instance and forget the job
  sluice job example                print an example job spec (sluice job example > job.json)

A job spec: {"name": "web", "instances": 3, "resources": {"cpus": 0.5, "mem": 256, "ports": 1},
  "command": "python3 -m http.server $PORT", "environment": {"MODE": "demo"},
  "constraints": {"host_unique": true, "rack_spread": true},
  "sla": {"kind": "percentage", "percentage": 66, "duration_seconds": 60},
  "unavailability_horizon_seconds": 3600, "kill_grace_period_seconds": 10, "update_batch_size": 1}

Options:
${flagHelp(FLAGS)}

Exit codes: 0 ok, 1 failure, 2 usage, 3 rejected by the API (4xx), 4 not found.`;

function readSpec(file: string | undefined, ctx: CliContext): unknown {
  if (!file) throw new CliError('job: -f job.json is required (the job spec as JSON; "-" reads stdin)', 2);
  let text: string;
  const where = file === '-' ? 'stdin' : file;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(path.resolve(ctx.cwd, file), 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${where}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${where} is not valid JSON: ${(e as Error).message}`, 3);
  }
}

function nameArg(pos: string[], sub: string): string {
  const name = pos[0];
  if (!name || pos.length > 1) throw new CliError(`usage: sluice job ${sub} NAME`, 2);
  return name;
}

/** The NOTE of an instance the service's coordinator is asked about. */
function coordinatorNote(c: NonNullable<JobView['instances'][number]['coordinator']>, now: number): string {
  if (c.state === 'asking') return `asking its coordinator (for ${ago(c.at_ms, now)})`;
  if (c.state === 'yes') return `coordinator said yes ${ago(c.at_ms, now)} ago${c.reason ? `: ${c.reason}` : ''}`;
  return `${c.reason ?? 'coordinator said no'} (${ago(c.at_ms, now)} ago); asking again in ${Math.max(0, Math.ceil(((c.retry_ms ?? now) - now) / 1000))}s`;
}

export function renderJob(v: JobView, now: number): string {
  const s = v.spec;
  const lines = [
    `job ${v.name}  (version ${v.version}${v.status === 'deleting' ? ', DELETING' : ''})`,
    `  instances:  ${s.instances}   ${Object.entries(v.counts)
      .map(([k, n]) => `${k.replace('TASK_', '').toLowerCase()} ${n}`)
      .join(', ')}${v.outdated ? `   (${v.outdated} outdated: rolling update in progress)` : ''}`,
    `  resources:  cpus ${s.resources.cpus}, mem ${s.resources.mem} MB${s.resources.disk ? `, disk ${s.resources.disk} MB` : ''}${s.resources.ports ? `, ports ${s.resources.ports}` : ''}`,
    `  command:    ${s.command.value}${s.command.arguments ? ' ' + s.command.arguments.join(' ') : ''}`,
  ];
  const c = s.constraints;
  if (c && (c.host_unique || c.rack_spread)) {
    lines.push(`  placement:  ${[c.host_unique ? 'one per host' : '', c.rack_spread ? `spread over ${c.rack_attribute ?? 'rack'}` : ''].filter(Boolean).join(', ')}`);
  }
  if (s.sla) lines.push(`  sla:        ${describeSla(s.sla)}`);
  if (v.update_wait) lines.push(`  waiting:    ${v.update_wait}`);
  const h = s.health_check;
  if (h) {
    const port = (c: { port?: number; port_index?: number }): string => (c.port_index !== undefined ? `$PORT${c.port_index}` : String(c.port));
    const what = h.http ? `HTTP ${h.http.scheme ?? 'http'} :${port(h.http)}${h.http.path ?? '/'}${h.http.statuses ? ` (${h.http.statuses.join(', ')})` : ''}` : h.tcp ? `TCP :${port(h.tcp)}` : `command ${h.command?.value ?? ''}`;
    lines.push(`  health:     ${what}, every ${h.interval_seconds ?? 10} s, ${h.consecutive_failures ?? 3} failures kill${v.unhealthy ? `   (${v.unhealthy} not healthy: not counted up)` : ''}`);
  }
  lines.push('');
  lines.push(
    table(
      ['INDEX', 'STATE', 'HOST', 'UP FOR', 'TASK', 'NOTE'],
      v.instances.map((i) => [
        i.index,
        i.state.replace('TASK_', '') + (i.killing ? ' (killing)' : '') + (i.state === 'TASK_RUNNING' && i.healthy === false ? ' UNHEALTHY' : i.state === 'TASK_RUNNING' && i.healthy === null ? ' (unchecked)' : ''),
        i.host,
        i.state === 'TASK_RUNNING' ? ago(i.running_since_ms, now) : '-',
        i.task_id,
        i.not_before_ms && i.not_before_ms > now
          ? `backoff ${Math.ceil((i.not_before_ms - now) / 1000)}s after ${i.failures} failure(s)`
          : i.state === 'PENDING' && i.last_terminal
            ? `last: ${i.last_terminal.state.replace('TASK_', '')}${i.last_terminal.reason ? ` ${i.last_terminal.reason}` : ''}`
            : i.coordinator
              ? coordinatorNote(i.coordinator, now)
              : '',
      ]),
    ),
  );
  return lines.join('\n');
}

export const jobCommand: CommandModule = {
  name: 'job',
  summary: 'create, update, get, list and delete jobs',
  usage: USAGE,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h') {
      write(ctx.stdout, USAGE);
      return 0;
    }
    const { flags, positionals } = parseFlags(rest, FLAGS, `sluice job ${sub ?? ''}`.trim());
    if (flags['help'] || !sub || sub === 'help') {
      write(ctx.stdout, USAGE);
      return flags['help'] || sub ? 0 : 2; // bare `sluice <cmd>` is a usage error; asking for help is not
    }
    const asJson = flags['json'] === true;
    try {
      return await runJob(sub, flags, positionals, ctx, asJson);
    } catch (e) {
      if (asJson && e instanceof CliError && e.data !== undefined) {
        write(ctx.stderr, json(e.data));
        return e.exitCode;
      }
      throw e;
    }
  },
};

async function runJob(sub: string, flags: Record<string, unknown>, positionals: string[], ctx: CliContext, asJson: boolean): Promise<number> {
  const api = new ApiClient(apiOptions(flags, ctx.env));
  const now = Date.now();
  switch (sub) {
    case 'example':
      write(ctx.stdout, json((await import('../../scheduler/demo.js')).EXAMPLE_JOB));
      return 0;
    case 'create':
    case 'update': {
      if (positionals.length) throw new CliError(`usage: sluice job ${sub} -f job.json`, 2);
      const spec = readSpec(flags['file'] as string | undefined, ctx);
      let r;
      if (sub === 'create') r = await api.post<JobView>('/api/v1/jobs', spec);
      else {
        const name = spec && typeof spec === 'object' ? (spec as { name?: unknown }).name : undefined;
        if (typeof name !== 'string' || !name) throw new CliError('job update: the spec needs a "name"', 3);
        r = await api.put<JobView>(`/api/v1/jobs/${encodeURIComponent(name)}`, spec);
      }
      if (asJson) write(ctx.stdout, json(r.body));
      else {
        write(ctx.stdout, `${sub === 'create' ? 'created' : 'updated'} job ${r.body.name} (version ${r.body.version}, ${r.body.spec.instances} instances)`);
        write(ctx.stdout, `  follow it with: sluice job get ${r.body.name}`);
      }
      return 0;
    }
    case 'get': {
      const name = nameArg(positionals, 'get');
      const r = await api.get<JobView>(`/api/v1/jobs/${encodeURIComponent(name)}`);
      write(ctx.stdout, asJson ? json(r.body) : renderJob(r.body, now));
      return 0;
    }
    case 'list': {
      if (positionals.length) throw new CliError('usage: sluice job list', 2);
      const r = await api.get<{ jobs: JobSummary[] }>('/api/v1/jobs');
      if (asJson) write(ctx.stdout, json(r.body));
      else if (!r.body.jobs.length) write(ctx.stdout, 'no jobs (create one with: sluice job create -f job.json)');
      else
        write(
          ctx.stdout,
          table(
            ['NAME', 'INSTANCES', 'RUNNING', 'PENDING', 'VERSION', 'STATUS'],
            r.body.jobs.map((j) => [j.name, j.instances, j.running, j.pending, j.version, j.status]),
          ),
        );
      return 0;
    }
    case 'delete': {
      const name = nameArg(positionals, 'delete');
      const r = await api.delete<{ name: string; tasks_to_kill: number }>(`/api/v1/jobs/${encodeURIComponent(name)}`);
      if (asJson) write(ctx.stdout, json(r.body));
      else write(ctx.stdout, `deleting job ${name}: killing ${r.body.tasks_to_kill} task(s); it disappears when they are gone`);
      return 0;
    }
    default:
      throw new CliError(`sluice job: unknown subcommand ${JSON.stringify(sub)} (create, update, get, list, delete)`, 2);
  }
}
