/** The demo workload `npm start` submits to the embedded simulator (jobs with SLAs). */
import type { JobSpec } from './job-spec.js';

export const DEMO_JOBS: JobSpec[] = [
  {
    name: 'web',
    instances: 6,
    resources: { cpus: 0.5, mem: 256, ports: 1 },
    command: { value: 'python3 -m http.server $PORT', shell: true },
    environment: { MODE: 'demo' },
    constraints: { host_unique: true, rack_spread: true },
    sla: { kind: 'percentage', percentage: 66, duration_seconds: 60 },
    unavailability_horizon_seconds: 3600,
    kill_grace_period_seconds: 5,
  },
  {
    name: 'api',
    instances: 4,
    resources: { cpus: 1, mem: 512, ports: 2 },
    command: { value: './api-server --listen :$PORT0 --admin :$PORT1', shell: true },
    constraints: { host_unique: true },
    sla: { kind: 'count', count: 3, duration_seconds: 30 },
    kill_grace_period_seconds: 10,
  },
  {
    name: 'cache',
    instances: 3,
    resources: { cpus: 0.25, mem: 1024, disk: 512 },
    command: { value: 'redis-server --port 6379', shell: true },
    constraints: { rack_spread: true },
    sla: { kind: 'count', count: 2, duration_seconds: 120 },
  },
];

/** An example spec for `sluice job example`. */
export const EXAMPLE_JOB: JobSpec = {
  name: 'hello',
  instances: 3,
  resources: { cpus: 0.1, mem: 64, ports: 1 },
  command: { value: 'python3 -m http.server $PORT', shell: true },
  environment: { GREETING: 'hello' },
  constraints: { host_unique: true, rack_spread: true },
  sla: { kind: 'percentage', percentage: 66, duration_seconds: 30 },
  unavailability_horizon_seconds: 3600,
  kill_grace_period_seconds: 5,
};
