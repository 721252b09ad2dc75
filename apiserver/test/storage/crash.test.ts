// Durability of the level store under kill -9 (crash-rounds.ts): every acknowledged write survives 12 kills of
// the writing process (BERTH_CRASH_ROUNDS asks for more), at that revision or later, with a revision that never
// goes backwards.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LevelStore } from '../../src/storage/level-store.js';
import { crashRounds } from './crash-rounds.js';

const rounds = Number(process.env['BERTH_CRASH_ROUNDS'] ?? 12);

t.test(`every acknowledged write survives kill -9 (${rounds} rounds)`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-crash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await crashRounds(t, {
    rounds,
    writerArgs: [dir],
    open: () => LevelStore.open({ dir, historyRetention: false }),
    minAcks: 1000,
  });
});
