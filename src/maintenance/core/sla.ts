/**
 * SLA accounting lives in src/sla (one definition of up, required, budget and the voluntary-kill
 * invariant). Re-exported here for the maintenance core's public surface and older imports.
 */
export * from '../../sla/index.js';
export { slaBlockerText } from './format.js';
