/** High availability on ZooKeeper: leader election among replicas and the fenced ZooKeeper store. */
export * from './election.js';
export * from './zk-store.js';
