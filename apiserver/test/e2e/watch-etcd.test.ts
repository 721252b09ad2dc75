// The watch behaviours of watch.test.ts on etcd: resume from a revision, 410 Expired once etcd compacted, and a
// client-node informer that sees every change once across an API server restart. One etcd, a key prefix per server.

import t from 'tap';
import { startTestEtcd, startTestServer } from '@berth/testkit';
import { informerAcrossRestart, watchProtocol, type StartServer } from './watch-cases.js';

const etcd = await startTestEtcd();
t.teardown(() => etcd.close());
const onEtcd: StartServer = (options) => startTestServer({ ...options, etcd });

t.test('on etcd: watch protocol: synthetic ADDED at 0, resume from a revision, 410 for compacted history', (t) =>
  watchProtocol(t, onEtcd),
);

t.test('on etcd: client-node informer sees every change once, across a restart', (t) =>
  informerAcrossRestart(t, onEtcd),
);
