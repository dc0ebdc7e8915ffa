/**
 * Health checks on an allocated port (issue 12): `health_check.http.port_index` / `tcp.port_index`
 * name a port the task gets from the offer's "ports" (`resources.ports`), resolved at placement
 * into the TaskInfo's HealthCheck `http.port` / `tcp.port` (mesos.v1.HealthCheck.HTTPCheckInfo /
 * TCPCheckInfo: `required uint32 port`). Hostile values are refused with the field path; the
 * resolved check round-trips byte for byte through the JSON and protobuf codecs.
 */
import { expect } from 'chai';
import type { Call, TaskInfo } from '../../src/mesos/types.js';
import { jsonCodec, protobufCodec } from '../../src/mesos/codec.js';
import { validateJobSpec } from '../../src/scheduler/validate.js';
import { H, offer, offersEvent, spec, subscribed } from './helpers.js';

function accepts(calls: Call[]): Call[] {
  return calls.filter((c) => c.type === 'ACCEPT');
}
function infos(calls: Call[]): TaskInfo[] {
  return accepts(calls).flatMap((c) => c.accept!.operations!.flatMap((op) => op.launch!.task_infos!));
}
const env = (t: TaskInfo, name: string): string | undefined => t.command!.environment!.variables!.find((v) => v.name === name)?.value;

function errorsOf(doc: Record<string, unknown>): Array<{ path: string; message: string }> {
  const r = validateJobSpec({ name: 'web', instances: 1, command: 'sleep 1', ...doc });
  expect(r.ok, JSON.stringify(doc)).to.equal(false);
  return r.ok ? [] : r.errors;
}

describe('scheduler/health checks on an allocated port', () => {
  it('validates port / port_index: exactly one, whole, in range of resources.ports', () => {
    const res = (ports?: number) => ({ cpus: 1, mem: 64, ...(ports !== undefined ? { ports } : {}) });
    const ok = validateJobSpec({ name: 'web', instances: 1, command: 'sleep 1', resources: res(2), health_check: { http: { port_index: 1, path: '/health' } } });
    expect(ok.ok).to.equal(true);
    expect(ok.ok && ok.spec.health_check).to.deep.equal({ http: { port_index: 1, path: '/health' } });
    const tcp = validateJobSpec({ name: 'web', instances: 1, command: 'sleep 1', resources: res(1), health_check: { tcp: { port_index: 0 } } });
    expect(tcp.ok && tcp.spec.health_check).to.deep.equal({ tcp: { port_index: 0 } });

    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ resources: res(2), health_check: { http: { port_index: 2 } } }, 'health_check.http.port_index', /is 2, but the task gets 2 ports \(resources\.ports\): port_index must be 0 to 1/],
      [{ resources: res(1), health_check: { tcp: { port_index: 1 } } }, 'health_check.tcp.port_index', /is 1, but the task gets 1 port \(resources\.ports\): port_index must be 0 to 0/],
      [{ resources: res(), health_check: { http: { port_index: 0 } } }, 'health_check.http.port_index', /the task gets no ports: set resources\.ports/],
      [{ resources: res(0), health_check: { tcp: { port_index: 0 } } }, 'health_check.tcp.port_index', /the task gets no ports/],
      [{ resources: res(2), health_check: { http: { port_index: -1 } } }, 'health_check.http.port_index', /must be at least 0, got -1/],
      [{ resources: res(2), health_check: { http: { port_index: 0.5 } } }, 'health_check.http.port_index', /must be a whole number, got 0.5/],
      [{ resources: res(2), health_check: { tcp: { port_index: '0' } } }, 'health_check.tcp.port_index', /must be a whole number, got string/],
      [{ resources: res(2), health_check: { tcp: { port_index: null } } }, 'health_check.tcp.port_index', /must be a whole number, got null/],
      [{ resources: res(2), health_check: { http: { port_index: 1e300 } } }, 'health_check.http.port_index', /must be at most 64/],
      [{ resources: res(2), health_check: { http: { port_index: 0, port: 8080 } } }, 'health_check.http', /exactly one of port .* or port_index .*; got both/],
      [{ resources: res(2), health_check: { tcp: {} } }, 'health_check.tcp', /exactly one of port .* or port_index .*; got neither/],
      [{ resources: res(2), health_check: { http: { port: 0 } } }, 'health_check.http.port', /must be at least 1, got 0/],
      [{ resources: res(2), health_check: { tcp: { port: 70000 } } }, 'health_check.tcp.port', /must be at most 65535/],
    ];
    for (const [doc, path, msg] of cases) {
      const errs = errorsOf(doc);
      expect(errs, JSON.stringify(doc)).to.have.length(1);
      expect(errs[0]!.path, JSON.stringify(doc)).to.equal(path);
      expect(errs[0]!.message, JSON.stringify(doc)).to.match(msg);
    }
    // an invalid resources.ports reports that field only, not a second error about the index
    const bad = errorsOf({ resources: { cpus: 1, mem: 64, ports: -3 }, health_check: { http: { port_index: 0 } } });
    expect(bad.map((e) => e.path)).to.deep.equal(['resources.ports']);
  });

  it('resolves port_index at placement into the TaskInfo\'s http.port / tcp.port; a fixed port is left alone', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 2, { resources: { cpus: 1, mem: 64, ports: 3 }, health_check: { http: { port_index: 2, path: '/health', statuses: [200] }, interval_seconds: 5 } }) });
    h.cmd({ type: 'create_job', spec: spec('db', 1, { resources: { cpus: 1, mem: 64, ports: 1 }, health_check: { tcp: { port_index: 0 } } }) });
    h.cmd({ type: 'create_job', spec: spec('fixed', 1, { health_check: { tcp: { port: 9000 } } }) });
    const tis = infos(h.ev(offersEvent([offer('a1', 'h1', { ports: [[31000, 31002], [32000, 32010]] })])));
    const by = (job: string) => tis.filter((t) => t.name.startsWith(`${job}.`));
    expect(tis).to.have.length(4);
    const [w0, w1] = by('web');
    // each task its own third port ($PORT2)
    expect(w0!.health_check).to.deep.equal({ interval_seconds: 5, type: 'HTTP', http: { port: Number(env(w0!, 'PORT2')), path: '/health', statuses: [200] } });
    expect(w1!.health_check!.http!.port).to.equal(Number(env(w1!, 'PORT2')));
    expect(w0!.health_check!.http!.port).to.not.equal(w1!.health_check!.http!.port);
    const [d0] = by('db');
    expect(d0!.health_check).to.deep.equal({ type: 'TCP', tcp: { port: Number(env(d0!, 'PORT0')) } });
    expect(by('fixed')[0]!.health_check).to.deep.equal({ type: 'TCP', tcp: { port: 9000 } });
    // the resolved port is one the task holds from the offer
    const held = (t: TaskInfo): number[] =>
      (t.resources ?? []).filter((r) => r.name === 'ports').flatMap((r) => (r.ranges?.range ?? []).flatMap((x) => Array.from({ length: Number(x.end - x.begin) + 1 }, (_, i) => Number(x.begin) + i)));
    for (const t of [w0!, w1!]) expect(held(t)).to.include(t.health_check!.http!.port);
    expect(held(d0!)).to.include(d0!.health_check!.tcp!.port);
  });

  it('round-trips the resolved check byte for byte in JSON and protobuf (mesos.v1.HealthCheck)', () => {
    const h = new H();
    h.ev(subscribed());
    h.cmd({ type: 'create_job', spec: spec('web', 1, { resources: { cpus: 1, mem: 64, ports: 2 }, health_check: { http: { port_index: 1, path: '/ready', scheme: 'http' }, timeout_seconds: 3, consecutive_failures: 2 } }) });
    const [call] = accepts(h.ev(offersEvent([offer('a1', 'h1', { ports: [[31000, 31001]] })])));
    const TYPE = 'mesos.v1.scheduler.Call';
    const json = jsonCodec.encode(TYPE, call);
    const pb = protobufCodec.encode(TYPE, call);
    // Mesos's JSON: declaration order, explicit defaults written (protocol IPv4, delay, interval, grace)
    expect(json.toString()).to.contain(
      '"health_check":{"delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":3.0,"consecutive_failures":2,"grace_period_seconds":10.0,"type":"HTTP","http":{"protocol":"IPv4","scheme":"http","port":31001,"path":"/ready"}}',
    );
    const fromJson = jsonCodec.decode<Call>(TYPE, json);
    const fromPb = protobufCodec.decode<Call>(TYPE, pb);
    const tiOf = (c: Call): TaskInfo => c.accept!.operations![0]!.launch!.task_infos![0]!;
    expect(tiOf(fromPb).health_check).to.deep.equal(tiOf(fromJson).health_check);
    expect(jsonCodec.encode(TYPE, fromPb).equals(json)).to.equal(true);
    expect(protobufCodec.encode(TYPE, fromPb).equals(pb)).to.equal(true);
    const ti = tiOf(fromPb);
    expect(ti.health_check!.http).to.deep.equal({ protocol: 'IPv4', scheme: 'http', port: 31001, path: '/ready' });
    // protobuf: TaskInfo.health_check (8) → HealthCheck.http (1) → HTTPCheckInfo.port (1) = 31001 as a varint
    const hcBytes = protobufCodec.encode('mesos.v1.HealthCheck', ti.health_check);
    expect(hcBytes[0]).to.equal(0x0a); // field 1 (http), length-delimited: fields are written by number
    expect([...hcBytes.subarray(2, 6)]).to.deep.equal([0x08, 0x99, 0xf2, 0x01]); // HTTPCheckInfo.port (1) = 31001 as a varint
  });
});
