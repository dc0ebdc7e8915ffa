/** The runtime: the decision loop with write-ahead persistence, and the extension interface (composition: src/app). */
export * from './runtime.js';
export * from './persist.js';
export { DEMO_JOBS, EXAMPLE_JOB } from '../scheduler/demo.js';
