import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStore } from '../src/storage/level-store.js';
import { WatchCache } from '../src/storage/watch-cache.js';
const dir = await mkdtemp(join(tmpdir(), 'berth-dbg-'));
const store = await LevelStore.open({ dir });
const cache = new WatchCache(store, { capacity: 10, dispatchIntervalMs: 0 });
const onNode = (value: string) => ({ name: 'node', value, valuesOf: (e: any) => [e.value?.split(':')[0], e.prevValue?.split(':')[0]] as const });
const first = cache.revision();
const quiet = cache.subscribe('/quiet/', first);
const quietNode = cache.subscribe('/n/', first, onNode('node-z'));
const waiting = [quiet.next().catch((e) => `quiet ${e}`), quietNode.next().catch((e) => `node ${e}`)];
for (let i = 0; i < 30; i++) {
  const rev = (await store.create(`/n/${i}`, () => `node-${i % 3}:v`)) as any;
  await cache.waitFor(rev.revision);
  await new Promise((resolve) => setImmediate(resolve));
  console.log(i, (quiet as any).cursor, cache.subscriberCount());
}
const old = cache.subscribe('/n/', first, onNode('node-0'));
console.log('old', (await old.next())?.length);
await store.create('/n/live', () => 'node-0:live');
await store.create('/n/other', () => 'node-1:live');
console.log('old', (await old.next())?.length, cache.subscriberCount(), (quiet as any).cursor);
await store.create('/quiet/1', () => 'node-z:late');
await store.create('/n/z', () => 'node-z:late');
console.log(await Promise.all(waiting));
