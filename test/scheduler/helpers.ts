/** Builders for pure scheduler tests: offers, statuses, events in Mesos object form. */
import type { Event, Offer, Resource, TaskState, TaskStatus } from '../../src/mesos/types.js';
import type { Call } from '../../src/mesos/types.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { applyCommand, onEvent, onTick, type SchedulerCommand, type StepResult } from '../../src/scheduler/reducer.js';
import { createState, type SchedulerState } from '../../src/scheduler/state.js';

export interface OfferOpts {
  cpus?: number;
  mem?: number;
  disk?: number;
  ports?: Array<[number, number]>;
  rack?: string;
  unavailableFromMs?: number;
  role?: string;
}

let offerSeq = 0;

export function offer(agent: string, host: string = agent, o: OfferOpts = {}): Offer {
  const role = o.role ?? '*';
  const alloc = { role };
  const resources: Resource[] = [
    { name: 'cpus', type: 'SCALAR', scalar: { value: o.cpus ?? 4 }, allocation_info: alloc },
    { name: 'mem', type: 'SCALAR', scalar: { value: o.mem ?? 8192 }, allocation_info: alloc },
    { name: 'disk', type: 'SCALAR', scalar: { value: o.disk ?? 10000 }, allocation_info: alloc },
  ];
  const ports = o.ports ?? [[31000, 31099]];
  if (ports.length) {
    resources.push({
      name: 'ports',
      type: 'RANGES',
      ranges: { range: ports.map(([b, e]) => ({ begin: BigInt(b), end: BigInt(e) })) },
      allocation_info: alloc,
    });
  }
  const of: Offer = {
    id: { value: `O${++offerSeq}` },
    framework_id: { value: 'fw' },
    agent_id: { value: agent },
    hostname: host,
    resources,
    attributes: o.rack !== undefined ? [{ name: 'rack', type: 'TEXT', text: { value: o.rack } }] : [],
    allocation_info: alloc,
  };
  if (o.unavailableFromMs !== undefined) {
    of.unavailability = { start: { nanoseconds: BigInt(o.unavailableFromMs) * 1_000_000n }, duration: { nanoseconds: 3_600_000_000_000n } };
  }
  return of;
}

export function offersEvent(offers: Offer[]): Event {
  return { type: 'OFFERS', offers: { offers } };
}

export function subscribed(fw = 'fw-1'): Event {
  return { type: 'SUBSCRIBED', subscribed: { framework_id: { value: fw }, heartbeat_interval_seconds: 15 } };
}

let uuidSeq = 0;
export function update(taskId: string, state: TaskState, o: { agent?: string; uuid?: boolean; reason?: string; healthy?: boolean } = {}): Event {
  const status: TaskStatus = { task_id: { value: taskId }, state, source: 'SOURCE_EXECUTOR' };
  if (o.agent) status.agent_id = { value: o.agent };
  if (o.reason) status.reason = o.reason;
  if (o.healthy !== undefined) status.healthy = o.healthy;
  if (o.uuid !== false) {
    const u = new Uint8Array(16);
    u[0] = ++uuidSeq & 0xff;
    status.uuid = u;
  }
  return { type: 'UPDATE', update: { status } };
}

export function spec(name: string, instances: number, extra: Partial<JobSpec> = {}): JobSpec {
  return { name, instances, resources: { cpus: 1, mem: 128 }, command: { value: 'sleep 1000', shell: true }, ...extra };
}

const T0 = Date.UTC(2026, 0, 1);

/** A small harness: state + clock + the calls of the last step. */
export class H {
  s: SchedulerState;
  now = T0;
  last!: StepResult;
  constructor(s: SchedulerState = createState()) {
    this.s = s;
  }
  ev(e: Event): Call[] {
    this.last = onEvent(this.s, e, this.now);
    return this.last.calls;
  }
  cmd(c: SchedulerCommand) {
    const r = applyCommand(this.s, c, this.now);
    this.last = r;
    return r;
  }
  tick(ms = 1000): Call[] {
    this.now += ms;
    this.last = onTick(this.s, this.now);
    return this.last.calls;
  }
  inst(job: string, i: number) {
    return this.s.instances.get(job)!.get(i)!;
  }
  /** Launches via one big offer per host and returns the task ids launched. */
  offerTo(hosts: string[], o: Parameters<typeof offer>[2] = {}): string[] {
    const calls = this.ev(offersEvent(hosts.map((h) => offer(`agent-${h}`, h, o))));
    return launched(calls);
  }
  runAll(ids: string[]): void {
    for (const id of ids) this.ev(update(id, 'TASK_RUNNING', { agent: this.s.tasks.get(id)!.agent_id }));
  }
}

export function launched(calls: Call[]): string[] {
  return calls
    .filter((c) => c.type === 'ACCEPT')
    .flatMap((c) => c.accept!.operations!.flatMap((op) => op.launch!.task_infos!.map((t) => t.task_id.value)));
}
export const types = (calls: Call[]) => calls.map((c) => c.type);
