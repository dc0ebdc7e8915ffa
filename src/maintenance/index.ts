/** Host maintenance: public surface of the pure core (states, SLA accounting, drainer, schedule). */
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
