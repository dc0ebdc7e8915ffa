/** Host maintenance: public surface of the pure core (states, SLA accounting, drainer, schedule). */
export * from './errors.js';
export * from './format.js';
export * from './host-state.js';
export * from './sla.js';
export * from './drainer.js';
export * from './inverse-offers.js';
export * from './schedule.js';
export * from './probe.js';
export * from './simulate.js';
export * from './request-validate.js';
