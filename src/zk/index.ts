/**
 * ZooKeeper for Sluice: sessions (the only module that touches node-zookeeper-client), zk:// URLs,
 * Mesos master detection from ZooKeeper and master registration (simulator).
 */
export * from './errors.js';
export * from './url.js';
export * from './session.js';
export * from './master-info.js';
export * from './master-detector.js';
export * from './master-registrar.js';
