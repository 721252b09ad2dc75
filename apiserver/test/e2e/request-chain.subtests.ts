// The request chain as a client sees it: the authenticated user reaches the authorizer with what the request
// addresses, a refusal is a Kubernetes 403 Status before any handler runs, and the WebSocket upgrade path
// (exec, attach) goes through the same authentication and authorization.

import { connect } from 'node:tls';
import t from 'tap';
import type { Authorizer, RequestInfo, UserInfo } from '@berth/apiserver';
import { request, startTestServer, type TestServer } from '@berth/testkit';

interface Seen {
  readonly user: string;
  readonly verb: string;
  readonly path: string;
  readonly resource?: string;
  readonly subresource?: string;
}

const seen: Seen[] = [];
// Denies deleting ConfigMaps, and exec; allows everything else. It records every decision it is asked for.
const authorizer: Authorizer = {
  authorize(user: UserInfo, info: RequestInfo) {
    const r = info.resource;
    seen.push({
      user: user.name,
      verb: info.verb,
      path: info.path,
      ...(r === undefined ? {} : { resource: r.resource }),
      ...(r?.subresource === undefined ? {} : { subresource: r.subresource }),
    });
    if (r?.resource === 'configmaps' && r.verb === 'delete')
      return { allowed: false, reason: 'deleting configmaps is not allowed here' };
    if (r?.subresource === 'exec') return { allowed: false, reason: '' };
    return { allowed: true };
  },
};

let ts: TestServer;
t.before(async () => {
  // No controllers beside it: the authorizer records every request the server gets, and theirs would be noise.
  ts = await startTestServer({ authorizer, controllers: false });
});
t.teardown(() => ts.close());

/** The status line and body of a raw upgrade request (exec) over TLS. */
async function upgrade(path: string, token: string | undefined): Promise<{ statusLine: string; body: string }> {
  const { hostname, port } = new URL(ts.url);
  const socket = connect({ host: hostname, port: Number(port), ca: ts.caCert });
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const headers = [
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol: v5.channel.k8s.io',
  ];
  if (token !== undefined) headers.push(`Authorization: Bearer ${token}`);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: berth\r\n${headers.join('\r\n')}\r\n\r\n`);
  let text = '';
  for await (const chunk of socket) text += (chunk as Buffer).toString();
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { statusLine: head.split('\r\n')[0] ?? '', body };
}

t.test('the authorizer sees the authenticated user and what the request addresses', async (t) => {
  seen.length = 0;
  const created = await request(ts, 'POST', '/api/v1/namespaces/default/configmaps', {
    body: JSON.stringify({ metadata: { name: 'c1' }, data: { a: 'b' } }),
    contentType: 'application/json',
  });
  t.equal(created.status, 201);
  t.same(seen, [
    { user: 'admin', verb: 'create', path: '/api/v1/namespaces/default/configmaps', resource: 'configmaps' },
  ]);
  seen.length = 0;
  t.equal((await request(ts, 'GET', '/version')).status, 200);
  t.same(
    seen,
    [{ user: 'admin', verb: 'get', path: '/version' }],
    'non-resource paths are authorized by path and method',
  );
});

t.test('a refusal is a 403 Status worded as Kubernetes words it, and nothing is deleted', async (t) => {
  const refused = await request(ts, 'DELETE', '/api/v1/namespaces/default/configmaps/c1');
  t.equal(refused.status, 403);
  t.match(refused.json(), {
    kind: 'Status',
    status: 'Failure',
    reason: 'Forbidden',
    code: 403,
    message:
      'configmaps "c1" is forbidden: User "admin" cannot delete resource "configmaps" in API group "" in the namespace "default": deleting configmaps is not allowed here',
    details: { name: 'c1', group: '', kind: 'configmaps' },
  });
  t.equal(
    (await request(ts, 'GET', '/api/v1/namespaces/default/configmaps/c1')).status,
    200,
    'the ConfigMap is still there',
  );
});

t.test('an unauthenticated request stops at authentication: the authorizer is never asked', async (t) => {
  seen.length = 0;
  const res = await request(ts, 'GET', '/api/v1/namespaces/default/configmaps', { token: 'not-a-token' });
  t.equal(res.status, 401);
  t.match(res.json(), { reason: 'Unauthorized', code: 401 });
  t.same(seen, []);
});

t.test('the upgrade path (exec) goes through the same authentication and authorization', async (t) => {
  const path = '/apis/berth.dev/v1alpha1/namespaces/default/containers/web/exec?command=sh&stdin=true';
  seen.length = 0;
  const anonymous = await upgrade(path, undefined);
  t.match(anonymous.statusLine, /^HTTP\/1\.1 401 /);
  t.match(JSON.parse(anonymous.body), { kind: 'Status', reason: 'Unauthorized', code: 401 });
  t.same(seen, [], 'no user, no authorization');

  const refused = await upgrade(path, ts.token);
  t.match(refused.statusLine, /^HTTP\/1\.1 403 /);
  t.match(JSON.parse(refused.body), {
    reason: 'Forbidden',
    code: 403,
    message:
      'containers.berth.dev "web" is forbidden: User "admin" cannot get resource "containers/exec" in API group "berth.dev" in the namespace "default"',
  });
  t.same(seen, [
    {
      user: 'admin',
      verb: 'get',
      path: '/apis/berth.dev/v1alpha1/namespaces/default/containers/web/exec',
      resource: 'containers',
      subresource: 'exec',
    },
  ]);
});

t.test('the route table: unknown paths and methods are 404 Statuses, discovery is served', async (t) => {
  for (const [method, path] of [
    ['GET', '/nothing/here'],
    ['POST', '/version'],
    ['GET', '/apis/no.such.group'],
    ['GET', '/openapi/v3/apis/no.such/v1'],
  ] as const) {
    const res = await request(ts, method, path);
    t.equal(res.status, 404, `${method} ${path}`);
    t.match(res.json(), {
      kind: 'Status',
      reason: 'NotFound',
      message: 'the server could not find the requested resource',
    });
  }
  t.match((await request(ts, 'GET', '/apis/berth.dev')).json(), { kind: 'APIGroup', name: 'berth.dev' });
  t.match((await request(ts, 'GET', '/api/v1')).json(), { kind: 'APIResourceList', groupVersion: 'v1' });
});
