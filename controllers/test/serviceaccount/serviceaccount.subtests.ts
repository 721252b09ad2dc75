// The ServiceAccount controller as kube-controller-manager's: a new Namespace gets its `default` ServiceAccount,
// and a deleted one comes back.
import t from 'tap';
import { eventually, startTestServer } from '@berth/testkit';

const server = await startTestServer({ controllers: ['serviceaccount'] });
t.teardown(() => server.close());

const defaultUid = async (namespace: string) => {
  const r = await server.kubectl([
    'get',
    'serviceaccount',
    'default',
    '-n',
    namespace,
    '-o',
    'jsonpath={.metadata.uid}',
  ]);
  return r.code === 0 ? r.stdout : undefined;
};

t.test('a new namespace gets a default ServiceAccount, made again when deleted', async (t) => {
  t.equal((await server.kubectl(['create', 'namespace', 'team-a'])).code, 0);
  let first: string | undefined;
  await eventually(async () => (first = await defaultUid('team-a')) !== undefined, 10_000);
  t.ok(first);
  t.equal((await server.kubectl(['delete', 'serviceaccount', 'default', '-n', 'team-a'])).code, 0);
  let second: string | undefined;
  await eventually(async () => {
    second = await defaultUid('team-a');
    return second !== undefined && second !== first;
  }, 10_000);
  t.not(second, first);
  // Its token is what `kubectl create token default` signs.
  const token = await server.kubectl(['create', 'token', 'default', '-n', 'team-a']);
  t.equal(token.code, 0, token.stderr);
  t.match(token.stdout, /^ey/);
});
