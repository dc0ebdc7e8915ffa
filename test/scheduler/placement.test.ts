import { expect } from 'chai';
import { place, type PlacementRequest } from '../../src/scheduler/placement.js';
import type { JobSpec } from '../../src/scheduler/job-spec.js';
import { offer, spec } from './helpers.js';

const NOW = Date.UTC(2026, 0, 1);

function req(s: JobSpec, indices: number[], hosts: Record<string, number> = {}, racks: Record<string, number> = {}): PlacementRequest {
  return { job: s.name, spec: s, indices, usage: { hosts: new Map(Object.entries(hosts)), racks: new Map(Object.entries(racks)) } };
}

const opts = (o: Partial<Parameters<typeof place>[2]> = {}) => ({
  blocked: new Set<string>(),
  rackCount: () => 3,
  defaultRole: '*',
  nowMs: NOW,
  ...o,
});

describe('scheduler/placement', () => {
  it('packs instances onto an offer as far as resources go, carrying allocation_info', () => {
    const s = spec('web', 10, { resources: { cpus: 1.5, mem: 1000 } });
    const r = place([req(s, [0, 1, 2, 3, 4])], [offer('a1', 'h1', { cpus: 4, mem: 8000 })], opts());
    expect(r.accepts).to.have.length(1);
    const launches = r.accepts[0]!.launches;
    expect(launches.map((l) => l.index)).to.deep.equal([0, 1]); // 3 cpus of 4 used
    const cpus = launches[0]!.resources.find((x) => x.name === 'cpus')!;
    expect(cpus.scalar!.value).to.equal(1.5);
    expect(cpus.allocation_info).to.deep.equal({ role: '*' });
    expect(r.declines).to.deep.equal([]);
  });

  it('honours host_unique across existing tasks and within one batch', () => {
    const s = spec('web', 3, { constraints: { host_unique: true } });
    const r = place(
      [req(s, [1, 2], { h1: 1 })],
      [offer('a1', 'h1'), offer('a2', 'h2'), offer('a2b', 'H2'), offer('a3', 'h3')],
      opts(),
    );
    const hosts = r.accepts.flatMap((a) => a.launches.map((l) => l.host));
    expect(hosts).to.deep.equal(['h2', 'h3']);
    expect(r.declines.map((d) => d.reason)).to.deep.equal(['no_fit', 'no_fit']);
  });

  it('spreads over racks: at most ceil(instances / racks) per rack', () => {
    const s = spec('db', 6, { constraints: { rack_spread: true } });
    const offers = ['r1', 'r1', 'r1', 'r2', 'r2', 'r2', 'r3'].map((rack, i) => offer(`a${i}`, `h${i}`, { rack, cpus: 1, mem: 128 }));
    const r = place([req(s, [0, 1, 2, 3, 4, 5])], offers, opts({ rackCount: () => 3 }));
    const racks = r.accepts.flatMap((a) => a.launches.map((l) => l.rack));
    expect(racks).to.deep.equal(['r1', 'r1', 'r2', 'r2', 'r3']);
  });

  it('never places on blocked hosts, and declines them with a reason', () => {
    const s = spec('web', 2);
    const r = place([req(s, [0, 1])], [offer('a1', 'Maint-1'), offer('a2', 'ok')], opts({ blocked: new Set(['maint-1']) }));
    expect(r.declines).to.have.length(1);
    expect(r.declines[0]!.reason).to.equal('blocked_host');
    expect(r.accepts[0]!.offer.hostname).to.equal('ok');
  });

  it('respects unavailability against the job horizon', () => {
    const soon = offer('a1', 'h1', { unavailableFromMs: NOW + 3600_000 });
    const noHorizon = spec('a', 1);
    expect(place([req(noHorizon, [0])], [soon], opts()).declines[0]!.reason).to.equal('unavailable');
    const shortHorizon = spec('b', 1, { unavailability_horizon_seconds: 600 });
    expect(place([req(shortHorizon, [0])], [soon], opts()).accepts).to.have.length(1);
    const longHorizon = spec('c', 1, { unavailability_horizon_seconds: 7200 });
    expect(place([req(longHorizon, [0])], [soon], opts()).accepts).to.have.length(0);
  });

  it('allocates host ports as ranges and reports them', () => {
    const s = spec('web', 2, { resources: { cpus: 0.1, mem: 10, ports: 3 } });
    const r = place([req(s, [0, 1])], [offer('a1', 'h1', { ports: [[100, 101], [200, 205]] })], opts());
    const [l0, l1] = r.accepts[0]!.launches;
    expect(l0!.ports).to.deep.equal([100, 101, 200]);
    expect(l1!.ports).to.deep.equal([201, 202, 203]);
    const ranges = l0!.resources.filter((x) => x.name === 'ports').flatMap((x) => x.ranges!.range!);
    expect(ranges).to.deep.equal([
      { begin: 100n, end: 101n },
      { begin: 200n, end: 200n },
    ]);
  });

  it('does not fit when ports run out, and declines with no_pending when nothing is asked', () => {
    const s = spec('web', 1, { resources: { cpus: 0.1, mem: 10, ports: 5 } });
    expect(place([req(s, [0])], [offer('a1', 'h1', { ports: [[1, 4]] })], opts()).declines[0]!.reason).to.equal('no_fit');
    expect(place([], [offer('a1', 'h1')], opts()).declines[0]!.reason).to.equal('no_pending');
  });

  it('only uses offers allocated to the job role', () => {
    const s = spec('web', 1, { role: 'prod' });
    expect(place([req(s, [0])], [offer('a1', 'h1', { role: 'dev' })], opts()).accepts).to.have.length(0);
    expect(place([req(s, [0])], [offer('a1', 'h1', { role: 'prod' })], opts()).accepts).to.have.length(1);
  });

  it('alternates which job gets the first pick', () => {
    const a = spec('a', 5, { resources: { cpus: 4, mem: 1 } });
    const b = spec('b', 5, { resources: { cpus: 4, mem: 1 } });
    const offers = [0, 1, 2, 3].map((i) => offer(`x${i}`, `h${i}`, { cpus: 4 }));
    const r = place([req(a, [0, 1, 2, 3, 4]), req(b, [0, 1, 2, 3, 4])], offers, opts());
    expect(r.accepts.map((x) => x.launches[0]!.job)).to.deep.equal(['a', 'b', 'a', 'b']);
  });

  it('keeps scalars at Mesos precision (no float drift)', () => {
    const s = spec('w', 30, { resources: { cpus: 0.1, mem: 1 } });
    const r = place([req(s, Array.from({ length: 30 }, (_, i) => i))], [offer('a', 'h', { cpus: 3 })], opts());
    expect(r.accepts[0]!.launches).to.have.length(30);
  });
});
