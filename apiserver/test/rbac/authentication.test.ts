// Who a request is, as kubectl sees it: `kubectl create token` makes a ServiceAccount token that works (as
// system:serviceaccount:NS:NAME, with RBAC deciding what it may do) until it expires, its ServiceAccount is
// deleted, or it is presented to the wrong audience; client certificates signed by the CA are users with groups;
// `kubectl auth whoami` answers for each; no credentials is 401 except on the public-info paths.

import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import t from 'tap';
import { eventually, request, startTestServer, type KubectlResult, type TestServer } from '@berth/testkit';

let ts: TestServer;
// Tokens live 20 s here (however long they ask for), so expiry is seen without waiting the real minimum of 10 min,
// while a loaded machine still has time to use a fresh token before it expires.
const lifetime = 20;
t.before(async () => {
  ts = await startTestServer({ controllers: false, serviceAccountMaxTokenExpirationSeconds: lifetime });
});
t.teardown(() => ts.close());

const as = (kubeconfig: string, args: string[]) => ts.kubectl(args, { env: { KUBECONFIG: kubeconfig } });
const soon = async (kubeconfig: string, args: string[], done: (r: KubectlResult) => boolean, timeoutMs = 10_000) => {
  let last: KubectlResult | undefined;
  await eventually(async () => done((last = await as(kubeconfig, args))), timeoutMs);
  return last!;
};

t.test('every standard namespace has its default ServiceAccount', async (t) => {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    const r = await ts.kubectl(['get', 'serviceaccount', 'default', '-n', ns, '-o', 'name']);
    t.equal(r.stdout.trim(), 'serviceaccount/default', `${ns}: ${r.stderr}`);
  }
});

t.test('a ServiceAccount token is that ServiceAccount, and RBAC decides what it may do', async (t) => {
  t.equal((await ts.kubectl(['create', 'serviceaccount', 'robot'])).code, 0);
  const created = await ts.kubectl(['create', 'token', 'robot', '--duration=1h', '-o', 'json']);
  t.equal(created.code, 0, created.stderr);
  const tokenRequest = JSON.parse(created.stdout) as { status: { token: string; expirationTimestamp: string } };
  const token = tokenRequest.status.token;
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  t.match(claims, {
    iss: 'https://kubernetes.default.svc.cluster.local',
    sub: 'system:serviceaccount:default:robot',
    aud: ['https://kubernetes.default.svc.cluster.local'],
    'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'robot' } },
  });
  t.equal((claims['exp'] as number) - (claims['iat'] as number), lifetime, 'capped by the server to its maximum');

  const kubeconfig = await ts.userKubeconfig('robot', { token });
  const whoami = await as(kubeconfig, ['auth', 'whoami', '-o', 'json']);
  t.equal(whoami.code, 0, whoami.stderr);
  t.match(JSON.parse(whoami.stdout), {
    kind: 'SelfSubjectReview',
    status: {
      userInfo: {
        username: 'system:serviceaccount:default:robot',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
      },
    },
  });
  const denied = await as(kubeconfig, ['get', 'configmaps']);
  t.match(
    denied.stderr,
    'configmaps is forbidden: User "system:serviceaccount:default:robot" cannot list resource "configmaps" in API group "" in the namespace "default"',
  );
});

t.test('a token works until it expires, and not after', async (t) => {
  t.equal(
    (await ts.kubectl(['create', 'rolebinding', 'robot-view', '--clusterrole=view', '--serviceaccount=default:robot']))
      .code,
    0,
  );
  const token = (await ts.kubectl(['create', 'token', 'robot'])).stdout.trim();
  const kubeconfig = await ts.userKubeconfig('robot', { token });
  const works = await soon(
    kubeconfig,
    ['get', 'configmaps', '-o', 'name'],
    (r) => r.code === 0 || /Unauthorized/.test(r.stderr),
  );
  t.equal(works.code, 0, `valid at first: ${works.stderr}`);
  const expired = await soon(kubeconfig, ['get', 'configmaps'], (r) => r.code !== 0, (lifetime + 20) * 1000);
  t.match(expired.stderr, 'error: You must be logged in to the server (Unauthorized)', 'refused once expired');
});

t.test('deleting the ServiceAccount revokes its tokens; another audience is refused; a forged token too', async (t) => {
  t.equal((await ts.kubectl(['create', 'serviceaccount', 'ephemeral'])).code, 0);
  const token = (await ts.kubectl(['create', 'token', 'ephemeral'])).stdout.trim();
  const check = (tok: string) =>
    request(ts, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      token: tok,
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
      contentType: 'application/json',
    });
  t.equal((await check(token)).status, 201);
  t.equal((await ts.kubectl(['delete', 'serviceaccount', 'ephemeral'])).code, 0);
  const revoked = await check(token);
  t.equal(revoked.status, 401);
  t.match(revoked.json(), { kind: 'Status', reason: 'Unauthorized', code: 401 });

  const other = (await ts.kubectl(['create', 'token', 'robot', '--audience=https://elsewhere.example'])).stdout.trim();
  t.equal((await check(other)).status, 401, 'a token for another audience is not for this server');

  const good = (await ts.kubectl(['create', 'token', 'robot'])).stdout.trim();
  const [header, payload, signature] = good.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:kube-system:default' })).toString(
    'base64url',
  );
  t.equal((await check(`${header}.${forged}.${signature}`)).status, 401, 'a changed claim breaks the signature');
});

t.test('TokenRequest refuses what Kubernetes refuses', async (t) => {
  const short = await ts.kubectl(['create', 'token', 'robot', '--duration=5m']);
  t.not(short.code, 0);
  t.match(short.stderr, 'spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes');
  const missing = await ts.kubectl(['create', 'token', 'nobody']);
  t.match(missing.stderr, 'serviceaccounts "nobody" not found');
  const viewer = await ts.userKubeconfig('vera', { groups: ['viewers'] });
  t.equal((await ts.kubectl(['create', 'rolebinding', 'viewers', '--clusterrole=view', '--group=viewers'])).code, 0);
  const refused = await soon(viewer, ['create', 'token', 'robot'], (r) => /forbidden/.test(r.stderr));
  t.match(
    refused.stderr,
    'serviceaccounts "robot" is forbidden: User "vera" cannot create resource "serviceaccounts/token" in API group "" in the namespace "default"',
  );
});

t.test('client certificates: CN is the user, O the groups', async (t) => {
  const kubeconfig = await ts.userKubeconfig('carol', { groups: ['dev', 'ops'] });
  const whoami = await as(kubeconfig, ['auth', 'whoami']);
  t.equal(whoami.code, 0, whoami.stderr);
  t.match(whoami.stdout, /Username\s+carol/);
  t.match(whoami.stdout, /Groups\s+\[dev ops system:authenticated\]/);
  const admin = await ts.kubectl(['auth', 'whoami']);
  t.match(admin.stdout, /Username\s+admin/);
  t.match(admin.stdout, /Groups\s+\[system:masters system:authenticated\]/);
});

t.test('TokenReview tells a component whom a token stands for', async (t) => {
  const token = (await ts.kubectl(['create', 'token', 'robot'])).stdout.trim();
  const post = (spec: Record<string, unknown>) =>
    request(ts, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec }),
      contentType: 'application/json',
    });
  const review = async (tok: string, audiences?: string[]) =>
    (await post({ token: tok, ...(audiences === undefined ? {} : { audiences }) })).json<{
      status?: { audiences?: string[] };
    }>();
  const issuer = 'https://kubernetes.default.svc.cluster.local';
  t.match(await review(token), {
    kind: 'TokenReview',
    status: {
      authenticated: true,
      user: { username: 'system:serviceaccount:default:robot' },
      audiences: [issuer],
    },
  });
  t.match(await review('nonsense'), { status: { authenticated: false } });
  // spec.audiences: the token must be for one of them, and status.audiences says which.
  const vault = (await ts.kubectl(['create', 'token', 'robot', '--audience=vault', '--audience=other'])).stdout.trim();
  t.match(await review(vault, ['vault', 'elsewhere']), { status: { authenticated: true, audiences: ['vault'] } });
  t.match(await review(vault), { status: { authenticated: false } }, "without audiences, the server's own");
  t.match(await review(token, ['vault']), { status: { authenticated: false } });
  t.notOk((await review(token, ['vault'])).status?.audiences, 'no audiences for a token refused');
  t.match(await review(ts.token), { status: { authenticated: true, audiences: [issuer] } });
  t.match(await review(ts.token, ['vault']), { status: { authenticated: false } }, 'a static token is for this server');
  const empty = await post({ token: '' });
  t.equal(empty.status, 400, empty.text);
  t.match(empty.json(), { reason: 'BadRequest', message: 'token is required for TokenReview in authentication' });
});

t.test('anonymous requests are 401, but for the public-info paths', async (t) => {
  const anonymous = await request(ts, 'GET', '/api/v1/namespaces/default/configmaps', { token: '' });
  t.equal(anonymous.status, 401);
  const discovery = await request(ts, 'GET', '/apis', { token: '' });
  t.equal(discovery.status, 401, 'discovery needs a user');
  for (const path of ['/version', '/healthz', '/livez', '/readyz'])
    t.equal((await request(ts, 'GET', path, { token: '' })).status, 200, path);
});

t.test("the web dashboard's files are served to anyone; what they call is not", async (t) => {
  const page = await request(ts, 'GET', '/dashboard/', { token: '' });
  t.equal(page.status, 200, 'npm run build builds the dashboard');
  t.match(page.text, '<div id="app">');
  t.match(page.headers['content-security-policy'], /default-src 'self'/);
  t.equal(page.headers['cache-control'], 'no-cache');
  const bare = await request(ts, 'GET', '/dashboard', { token: '' });
  t.equal(bare.status, 301);
  t.equal(bare.headers['location'], '/dashboard/');
  const missing = await request(ts, 'GET', '/dashboard/nosuch.js', { token: '' });
  t.equal(missing.status, 404);
  t.match(missing.json(), { kind: 'Status', reason: 'NotFound' });
  t.equal((await request(ts, 'GET', '/dashboard/..%2fpackage.json', { token: '' })).status, 404, 'no way out');
  t.equal((await request(ts, 'POST', '/dashboard/', { token: '' })).status, 405);
  t.equal((await request(ts, 'GET', '/apis/berth.dev/v1alpha1/containers', { token: '' })).status, 401);
});

t.test('a WebSocket (a browser cannot set Authorization) carries its token in the bearer subprotocol', async (t) => {
  const upgrade = (protocols: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        new URL('/apis/berth.dev/v1alpha1/namespaces/default/containers/none/exec?command=sh&stdout=true', ts.url),
        {
          ca: ts.caCert,
          headers: {
            Connection: 'Upgrade',
            Upgrade: 'websocket',
            'Sec-WebSocket-Version': '13',
            'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
            'Sec-WebSocket-Protocol': protocols,
          },
        },
      );
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        resolve(101);
      });
      req.on('error', reject);
      req.end();
    });
  const bearer = (token: string) => `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`;
  t.equal(await upgrade(`v5.channel.k8s.io, ${bearer(ts.token)}`), 404, 'signed in: the Container is not found');
  t.equal(await upgrade(`v5.channel.k8s.io, ${bearer('wrong')}`), 401, 'a wrong token is refused');
  t.equal(await upgrade('v5.channel.k8s.io'), 401, 'no token, no session');
});
