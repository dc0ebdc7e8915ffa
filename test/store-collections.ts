/**
 * One behaviour every store shares (src/store/collections.ts): a collection exists exactly while it
 * holds a record. Run against the file store (test/store.test.ts) and the ZooKeeper store and a
 * standby's copy (test/ha/zk-store.test.ts).
 */
import { expect } from 'chai';
import type { KvStore, StoreReader } from '../src/store/index.js';

/** Writes the scenario; returns what every reader of the result must show (`expectEmptied`). */
export async function emptyCollections(store: KvStore): Promise<void> {
  // put and delete in one batch: the collection never shows
  await store.batch([
    { op: 'put', collection: 'a', key: '1', value: { n: 1 } },
    { op: 'put', collection: 'b', key: '1', value: { n: 2 } },
    { op: 'put', collection: 'gone', key: '1', value: 3 },
    { op: 'delete', collection: 'gone', key: '1' },
  ]);
  expect(store.collections()).to.deep.equal(['a', 'b']);
  // deleting the last key removes the collection
  await store.delete('a', '1');
  expect(store.collections()).to.deep.equal(['b']);
  expect(store.list('a')).to.deep.equal([]);
  expect(store.get('a', '1')).to.equal(undefined);
  // deleting what is absent creates nothing
  await store.delete('a', '1');
  await store.delete('never', 'x');
  expect(store.collections()).to.deep.equal(['b']);
  // a collection put again is new: it comes after the others
  await store.put('a', '2', 'again');
  expect(store.collections()).to.deep.equal(['b', 'a']);
  await store.delete('a', '2');
  await store.put('c', 'k', [1]);
  expectEmptied(store);
}

/** What a reader of the scenario's result sees (the store itself, reopened, compacted or copied). */
export function expectEmptied(r: StoreReader): void {
  expect(r.collections()).to.deep.equal(['b', 'c']);
  for (const c of ['a', 'gone', 'never']) {
    expect(r.list(c), c).to.deep.equal([]);
    expect(r.get(c, '1'), c).to.equal(undefined);
  }
  expect(r.list('b')).to.deep.equal([['1', { n: 2 }]]);
  expect(r.get('c', 'k')).to.deep.equal([1]);
}
