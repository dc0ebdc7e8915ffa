/** The coordinator client (I/O): asks a service's coordinator before a voluntary kill. See client.ts. */
export * from './client.js';
export * from './edge.js';
