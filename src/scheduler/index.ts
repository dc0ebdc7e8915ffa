/** The workload's pure core: state, reducers, placement, validation. No I/O. */
export * from './job-spec.js';
export * from './validate.js';
export * from './task-id.js';
export * from './state.js';
export * from './placement.js';
export * from './reducer.js';
export * from './workload-rows.js';
