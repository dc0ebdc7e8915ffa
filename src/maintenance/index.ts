/**
 * Host maintenance: public surface of the pure core (states, SLA accounting, drainer, schedule, and
 * the maintenance loop's reducer with its views). The I/O edge is src/maintenance/io (wired in src/app).
 */
export * from './core/errors.js';
export * from './core/format.js';
export * from './core/host-state.js';
export * from './core/sla.js';
export * from './core/drainer.js';
export * from './core/inverse-offers.js';
export * from './core/schedule.js';
export * from './core/probe.js';
export * from './core/simulate.js';
export * from './core/request-validate.js';
export * from './core/pending.js';
export * from './core/master.js';
export * from './core/outcome.js';
export * from './core/loop-state.js';
export { reduce, concerns } from './core/loop.js';
export { hostsView, requestsView, probeView, safeView, hostGauges, type RequestView, type HostGauge } from './core/views.js';
