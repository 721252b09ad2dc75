// Child process of crash-rounds.ts: many concurrent writers on a LevelStore (or an EtcdStore), printing each write
// the moment it is acknowledged ("<key> <revision>"), until the parent kills it with SIGKILL.

import { EtcdStore } from '../../src/storage/etcd/etcd-store.js';
import type { Store } from '../../src/storage/interface.js';
import { LevelStore } from '../../src/storage/level-store.js';

const [round, where, endpoint] = process.argv.slice(2);
if (round === undefined || where === undefined)
  throw new Error('usage: crash-writer.ts <round> <dir> | crash-writer.ts <round> etcd <host:port>');

const store: Store =
  where === 'etcd' && endpoint !== undefined
    ? await EtcdStore.open({ endpoints: [endpoint], compactionIntervalMs: false })
    : await LevelStore.open({ dir: where, historyRetention: false });
// Pipe writes to stdout are synchronous on Linux, so a line is in the pipe before the next write starts.
process.stdout.write(`ready ${store.revision()}\n`);

const padding = 'x'.repeat(400);
const render = (key: string) => (revision: number) => JSON.stringify({ key, revision, padding });

async function writer(w: number): Promise<void> {
  for (let n = 0; ; n++) {
    const key = `/crash/${round}/${w}/${n}`;
    const created = await store.create(key, render(key));
    if (!created.ok) throw new Error(`create ${key}: ${created.reason}`);
    process.stdout.write(`${key} ${created.revision}\n`);
    let rev = created.revision;
    for (let u = 0; u < n % 3; u++) {
      const updated = await store.update(key, rev, render(key));
      if (!updated.ok) throw new Error(`update ${key}: ${updated.reason}`);
      process.stdout.write(`${key} ${updated.revision}\n`);
      rev = updated.revision;
    }
  }
}

await Promise.all(Array.from({ length: 48 }, (_, w) => writer(w)));
