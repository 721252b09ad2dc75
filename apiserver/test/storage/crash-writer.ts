// Child process of crash.test.ts: many concurrent writers on a LevelStore, printing each write the moment it
// is acknowledged ("<key> <revision>"), until the parent kills it with SIGKILL.

import { LevelStore } from '../../src/storage/level-store.js';

const [dir, round] = process.argv.slice(2);
if (dir === undefined || round === undefined) throw new Error('usage: crash-writer.ts <dir> <round>');

const store = await LevelStore.open({ dir, historyRetention: false });
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
