/** Builders for pure scheduler tests: offers, statuses, events in Mesos object form. */
import type { Event, Offer, Resource, TaskState, TaskStatus } from '../../src/mesos/types.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';

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
export function update(taskId: string, state: TaskState, o: { agent?: string; uuid?: boolean; reason?: string } = {}): Event {
  const status: TaskStatus = { task_id: { value: taskId }, state, source: 'SOURCE_EXECUTOR' };
  if (o.agent) status.agent_id = { value: o.agent };
  if (o.reason) status.reason = o.reason;
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
