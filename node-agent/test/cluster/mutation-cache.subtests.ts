// The reconciler reads through a cache that prefers the agent's own newer write until the informer catches up,
// and drops that write as soon as the informer has it, something newer, or another object of the same name.
import t from 'tap';
import { MutationCache } from '../../src/cluster/mutation-cache.js';

interface Obj {
  metadata: { namespace: string; name: string; uid: string; resourceVersion: string };
  note?: string;
}
const obj = (uid: string, rv: string, note?: string): Obj => ({
  metadata: { namespace: 'ns', name: 'c', uid, resourceVersion: rv },
  ...(note !== undefined ? { note } : {}),
});

function setUp() {
  const informer = new Map<string, Obj>();
  const cache = new MutationCache<Obj>({ get: (ns, name) => informer.get(`${ns}/${name}`) });
  return { informer, cache };
}

t.test('a newer write is read until the informer has it', async (t) => {
  const { informer, cache } = setUp();
  informer.set('ns/c', obj('u1', '5'));
  cache.mutated(obj('u1', '7', 'written'));
  t.equal(cache.get('ns', 'c')?.note, 'written', 'the write, while the cache has rv 5');
  informer.set('ns/c', obj('u1', '7', 'from watch'));
  t.equal(cache.get('ns', 'c')?.note, 'from watch', 'the informer, once it caught up');
  informer.set('ns/c', obj('u1', '6', 'stale again?'));
  t.equal(cache.get('ns', 'c')?.note, 'stale again?', 'the write was dropped when the informer caught up');
});

t.test('a write is history once the object is gone or replaced', async (t) => {
  const { informer, cache } = setUp();
  informer.set('ns/c', obj('u1', '5'));
  cache.mutated(obj('u1', '7', 'written'));
  informer.delete('ns/c');
  t.equal(cache.get('ns', 'c'), undefined, 'deleted means deleted');
  informer.set('ns/c', obj('u2', '3', 'new object'));
  cache.mutated(obj('u1', '9', 'old write'));
  t.equal(cache.get('ns', 'c')?.note, 'new object', 'another uid under the name wins over an old write');
});
