/** The operator HTTP API: router (modules register routes), server, workload routes. */
export * from './router.js';
export * from './server.js';
export * from './workload-routes.js';
