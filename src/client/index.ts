/** The Mesos v1 scheduler HTTP client: public surface. */
export * from './client.js';
export * from '../mesos/calls.js';
export * from './detector.js';
export * from './errors.js';
export {
  SCHEDULER_PATH,
  REDIRECT_PATH,
  parseMasterUrls,
  masterCredentials,
  resolveLocation,
  basicAuthHeader,
  type TlsOptions,
  type BasicAuth,
} from './http.js';
