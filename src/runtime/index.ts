/** The runtime edge: the decision loop with write-ahead persistence, the composed app, plugins. */
export * from './runtime.js';
export * from './persist.js';
export * from './app.js';
export * from './plugins.js';
export { DEMO_JOBS, EXAMPLE_JOB } from '../scheduler/demo.js';
