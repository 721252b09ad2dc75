// RBAC on every kind of request, through client-node and raw HTTPS: watches, subresources (status, scale, log),
// the WebSocket upgrade of exec and attach (which must be allowed to `create`, not just `get`), and the review
// APIs as client-node calls them.

import { connect } from 'node:tls';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { eventually, startTestServer, type TestServer } from '@berth/testkit';

let ts: TestServer;
let viewer: k8s.KubeConfig;
let execGetter: k8s.KubeConfig;
let execer: k8s.KubeConfig;
t.before(async () => {
  ts = await startTestServer({ controllers: false });
  const load = async (user: string) => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(await ts.userKubeconfig(user));
    return kc;
  };
  viewer = await load('vera');
  execGetter = await load('gus');
  execer = await load('cleo');
  const apply = await ts.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'vera-view', namespace: 'default' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
          subjects: [{ kind: 'User', name: 'vera', apiGroup: 'rbac.authorization.k8s.io' }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'exec-get', namespace: 'default' },
          rules: [{ apiGroups: ['berth.dev'], resources: ['containers/exec', 'containers/attach'], verbs: ['get'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'gus-exec-get', namespace: 'default' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'exec-get' },
          subjects: [{ kind: 'User', name: 'gus', apiGroup: 'rbac.authorization.k8s.io' }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'cleo-edit', namespace: 'default' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
          subjects: [{ kind: 'User', name: 'cleo', apiGroup: 'rbac.authorization.k8s.io' }],
        },
      ],
    }),
  });
  t.equal(apply.code, 0, apply.stderr);
  const core = viewer.makeApiClient(k8s.CoreV1Api);
  await eventually(async () => {
    try {
      await core.listNamespacedConfigMap({ namespace: 'default' });
      return true;
    } catch {
      return false;
    }
  });
});
t.teardown(() => ts.close());

const statusOf = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p;
    return 200;
  } catch (e) {
    return (e as { code?: number }).code ?? 0;
  }
};

t.test('watches are authorized as watch: allowed on ConfigMaps, 403 on Secrets', async (t) => {
  const watch = new k8s.Watch(viewer);
  const seen: string[] = [];
  const req = await watch.watch(
    '/api/v1/namespaces/default/configmaps',
    {},
    (type, obj: k8s.V1ConfigMap) => seen.push(`${type} ${obj.metadata?.name}`),
    () => undefined,
  );
  t.equal((await ts.kubectl(['create', 'configmap', 'watched'])).code, 0);
  t.ok(await eventually(() => seen.includes('ADDED watched')), 'the viewer sees the change');
  req.abort();

  const refused = await new Promise<unknown>((resolve) => {
    void watch.watch('/api/v1/namespaces/default/secrets', {}, () => undefined, resolve).catch(resolve);
  });
  t.match(String((refused as Error)?.message ?? refused), /403|Forbidden/);
});

t.test('subresources are their own resource: status and scale writes need their own rule', async (t) => {
  const custom = execer.makeApiClient(k8s.CustomObjectsApi);
  const body = {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Volume',
    metadata: { name: 'data' },
    spec: {},
  };
  t.equal(
    await statusOf(
      custom.createNamespacedCustomObject({
        group: 'berth.dev',
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'volumes',
        body,
      }),
    ),
    200,
    'edit creates Volumes',
  );
  const patchStatus = () =>
    custom.patchNamespacedCustomObjectStatus({
      group: 'berth.dev',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'volumes',
      name: 'data',
      body: [{ op: 'add', path: '/status', value: {} }],
    });
  t.equal(await statusOf(patchStatus()), 403, "but not their status: that is the node agent's");
  const viewerCustom = viewer.makeApiClient(k8s.CustomObjectsApi);
  t.equal(
    await statusOf(
      viewerCustom.getNamespacedCustomObjectStatus({
        group: 'berth.dev',
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'volumes',
        name: 'data',
      }),
    ),
    200,
    'view reads status',
  );
});

/** The status line and body of a raw WebSocket upgrade request over TLS, as a client certificate user. */
async function upgrade(kc: k8s.KubeConfig, path: string): Promise<{ statusLine: string; body: string }> {
  const { hostname, port } = new URL(ts.url);
  const user = kc.getCurrentUser()!;
  const socket = connect({
    host: hostname,
    port: Number(port),
    ca: ts.caCert,
    cert: Buffer.from(user.certData!, 'base64'),
    key: Buffer.from(user.keyData!, 'base64'),
  });
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const headers = [
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol: v5.channel.k8s.io',
  ];
  socket.write(`GET ${path} HTTP/1.1\r\nHost: berth\r\n${headers.join('\r\n')}\r\n\r\n`);
  let text = '';
  for await (const chunk of socket) text += (chunk as Buffer).toString();
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { statusLine: head.split('\r\n')[0] ?? '', body };
}

t.test('exec and attach over WebSocket need create, as Kubernetes requires since its WebSocket upgrade', async (t) => {
  for (const sub of ['exec', 'attach']) {
    const path = `/apis/berth.dev/v1alpha1/namespaces/default/containers/web/${sub}?command=sh&stdin=true`;
    const asViewer = await upgrade(viewer, path);
    t.match(asViewer.statusLine, /^HTTP\/1\.1 403 /);
    t.match(JSON.parse(asViewer.body), {
      reason: 'Forbidden',
      message: `containers.berth.dev "web" is forbidden: User "vera" cannot get resource "containers/${sub}" in API group "berth.dev" in the namespace "default"`,
    });
    const getOnly = await upgrade(execGetter, path);
    t.match(getOnly.statusLine, /^HTTP\/1\.1 403 /, `get on containers/${sub} is not enough`);
    t.match(JSON.parse(getOnly.body), {
      message: `containers.berth.dev "web" is forbidden: User "gus" cannot create resource "containers/${sub}" in API group "berth.dev" in the namespace "default"`,
    });
    const allowed = await upgrade(execer, path);
    t.match(
      allowed.statusLine,
      /^HTTP\/1\.1 404 /,
      'edit gets past authorization (to a Container that does not exist)',
    );
  }
});

t.test('container logs: view may read them, a user without a binding may not', async (t) => {
  const path = '/apis/berth.dev/v1alpha1/namespaces/default/containers/web/log';
  const asViewer = await ts.kubectl(['get', '--raw', path], { env: { KUBECONFIG: await ts.userKubeconfig('vera') } });
  t.match(asViewer.stderr, 'Error from server (NotFound)', 'allowed, and the Container is not there');
  const stranger = await ts.kubectl(['get', '--raw', path], { env: { KUBECONFIG: await ts.userKubeconfig('nobody') } });
  t.match(
    stranger.stderr,
    'containers.berth.dev "web" is forbidden: User "nobody" cannot get resource "containers/log" in API group "berth.dev" in the namespace "default"',
  );
  const authz = ts.kubeConfig().makeApiClient(k8s.AuthorizationV1Api);
  const review = await authz.createSubjectAccessReview({
    body: {
      spec: {
        user: 'vera',
        resourceAttributes: {
          namespace: 'default',
          verb: 'get',
          group: 'berth.dev',
          resource: 'containers',
          subresource: 'log',
        },
      },
    },
  });
  t.equal(review.status?.allowed, true, 'SubjectAccessReview agrees');
});

t.test('client-node asks the review APIs', async (t) => {
  const authz = viewer.makeApiClient(k8s.AuthorizationV1Api);
  const self = await authz.createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: { namespace: 'default', verb: 'delete', resource: 'configmaps' } } },
  });
  t.equal(self.status?.allowed, false);
  const url = await authz.createSelfSubjectAccessReview({
    body: { spec: { nonResourceAttributes: { path: '/apis/berth.dev', verb: 'get' } } },
  });
  t.equal(url.status?.allowed, true, 'discovery paths are open to every user');
  const rules = await authz.createSelfSubjectRulesReview({ body: { spec: { namespace: 'default' } } });
  t.ok(
    rules.status?.resourceRules.some((r) => r.resources?.includes('configmaps') && r.verbs.includes('watch')),
    'view rules listed',
  );
  t.equal(rules.status?.incomplete, false);
  const bad = await statusOf(authz.createSelfSubjectAccessReview({ body: { spec: {} } }));
  t.equal(bad, 422, 'a review that asks nothing is Invalid');
  const authn = viewer.makeApiClient(k8s.AuthenticationV1Api);
  const me = await authn.createSelfSubjectReview({ body: {} });
  t.equal(me.status?.userInfo?.username, 'vera');
});

t.test('a client-certificate connection cannot renegotiate (its user is read once per connection)', async (t) => {
  const user = viewer.getCurrentUser();
  const cluster = viewer.getCurrentCluster();
  const url = new URL(cluster?.server ?? '');
  const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64');
  const socket = connect({
    host: url.hostname,
    port: Number(url.port),
    servername: url.hostname === '127.0.0.1' ? undefined : url.hostname,
    ca: decode(cluster?.caData),
    cert: decode(user?.certData),
    key: decode(user?.keyData),
    // TLS 1.3 has no renegotiation at all; 1.2 is where a client could swap its certificate mid-connection.
    maxVersion: 'TLSv1.2',
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const outcome = await new Promise<string>((resolve) => {
    socket.once('close', () => resolve('closed'));
    const asked = socket.renegotiate({ rejectUnauthorized: true }, (err) =>
      resolve(err === null ? 'renegotiated' : 'refused'),
    );
    if (!asked) resolve('refused');
    // A handshake only starts with traffic: a request on the connection carries the renegotiation to the server.
    socket.write(`GET /api HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
  });
  socket.destroy();
  t.not(outcome, 'renegotiated', `renegotiation is refused (the connection: ${outcome})`);
});
