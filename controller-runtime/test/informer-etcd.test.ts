// The informer's restart behaviours of informer.test.ts with the API server on etcd: a relist on 410 once etcd
// compacted the informer's resourceVersion away, and a watch that resumes by itself after the server restarts.
import t from 'tap';
import { startTestEtcd } from '@berth/testkit';
import { startApi, type StartApi } from './harness.js';
import { relistAfterExpiry, resumeAfterRestart } from './informer-restart-cases.js';

const etcd = await startTestEtcd();
t.teardown(() => etcd.close());
const onEtcd: StartApi = (t, options = {}) => startApi(t, { ...options, etcd });

t.test('on etcd: a watch whose resourceVersion etcd compacted away relists (410 Gone) and carries on', (t) =>
  relistAfterExpiry(t, onEtcd),
);

t.test('on etcd: the informer resumes by itself after the API server is closed and started again', (t) =>
  resumeAfterRestart(t, onEtcd),
);
