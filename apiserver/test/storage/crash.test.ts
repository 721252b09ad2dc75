// Durability of the level store under kill -9 (crash-rounds.ts): every acknowledged write survives 24 kills of
// the writing process, at that revision or later, with a revision that never goes backwards.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LevelStore } from '../../src/storage/level-store.js';
import { crashRounds } from './crash-rounds.js';

t.test(`every acknowledged write survives kill -9 (24 rounds)`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-crash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await crashRounds(t, {
    rounds: 24,
    writerArgs: [dir],
    open: () => LevelStore.open({ dir, historyRetention: false }),
    minAcks: 1000,
  });
});
