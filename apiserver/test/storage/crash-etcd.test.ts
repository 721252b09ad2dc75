// Durability on etcd under kill -9 (crash-rounds.ts): the writing process and etcd are both killed at random
// moments; after etcd starts again every acknowledged write is there, with a gapless history of mod revisions.

import t from 'tap';
import { startTestEtcd } from '@berth/testkit';
import { EtcdStore } from '../../src/storage/etcd/etcd-store.js';
import { crashRounds } from './crash-rounds.js';

t.test('every acknowledged write survives kill -9 of the writer and of etcd (6 rounds)', async (t) => {
  const etcd = await startTestEtcd();
  t.teardown(() => etcd.close());
  await crashRounds(t, {
    rounds: 6,
    writerArgs: ['etcd', etcd.endpoint],
    open: () => EtcdStore.open({ endpoints: [etcd.endpoint], compactionIntervalMs: false }),
    async afterKill() {
      await etcd.kill();
      await etcd.start();
    },
    minAcks: 50,
  });
});
