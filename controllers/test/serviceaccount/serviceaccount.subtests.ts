// The ServiceAccount controllers as kube-controller-manager's: a new Namespace gets its `default` ServiceAccount,
// and a deleted one comes back; a legacy token Secret is filled with a token that authenticates as its
// ServiceAccount until the Secret is deleted.
import t from 'tap';
import { eventually, request, startTestServer } from '@berth/testkit';

const server = await startTestServer({ controllers: ['serviceaccount', 'serviceaccount-token'] });
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

t.test('a legacy token Secret is filled; its token is the ServiceAccount until the Secret is deleted', async (t) => {
  t.equal((await server.kubectl(['create', 'namespace', 'legacy'])).code, 0);
  t.equal((await server.kubectl(['create', 'serviceaccount', 'robot', '-n', 'legacy'])).code, 0);
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: {
      name: 'robot-token',
      namespace: 'legacy',
      annotations: { 'kubernetes.io/service-account.name': 'robot' },
    },
  };
  const applied = await server.kubectl(['apply', '-f', '-'], { input: JSON.stringify(secret) });
  t.equal(applied.code, 0, applied.stderr);
  type Filled = { metadata: { annotations?: Record<string, string> }; data?: Record<string, string> };
  let filled: Filled | undefined;
  t.ok(
    await eventually(async () => {
      const r = await request(server, 'GET', '/api/v1/namespaces/legacy/secrets/robot-token');
      filled = r.json<Filled>();
      return filled.data?.['token'] !== undefined;
    }, 15_000),
    'the controller filled it',
  );
  const data = filled?.data ?? {};
  const text = (k: string) => Buffer.from(data[k] ?? '', 'base64').toString();
  const uid = await server.kubectl(['get', 'sa', 'robot', '-n', 'legacy', '-o', 'jsonpath={.metadata.uid}']);
  t.equal(filled?.metadata.annotations?.['kubernetes.io/service-account.uid'], uid.stdout, "the ServiceAccount's uid");
  t.equal(text('namespace'), 'legacy');
  t.match(text('ca.crt'), /^-----BEGIN CERTIFICATE-----/, "the cluster's CA");
  const token = text('token');
  const whoami = (tok: string) =>
    server.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}', '--token', tok]);
  const me = await whoami(token);
  t.equal(me.stdout, 'system:serviceaccount:legacy:robot', 'the token authenticates as its ServiceAccount');
  const asRobot = await request(server, 'GET', '/api/v1/namespaces/legacy/secrets/robot-token', { token });
  t.equal(asRobot.status, 403, 'as the ServiceAccount, with its rights only (none)');
  const canMint = await server.kubectl([
    'auth',
    'can-i',
    'create',
    'serviceaccounts/token',
    '--as',
    'system:kube-controller-manager',
    '-n',
    'legacy',
  ]);
  t.equal(canMint.stdout.trim(), 'yes', "the controller manager's own identity may ask for the token");

  t.equal((await server.kubectl(['delete', 'secret', 'robot-token', '-n', 'legacy'])).code, 0);
  const after = await whoami(token);
  t.not(after.code, 0, 'deleting the Secret revokes its token');
  t.match(after.stderr, /Unauthorized/);
});
