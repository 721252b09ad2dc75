// A request path never resolves to another resource or verb than it names: dot segments (plain or encoded),
// empty segments and encoded slashes are answered as Kubernetes' Go server answers them (400 for a name or
// namespace, 404 anywhere else), and nothing is deleted on the way.

import t from 'tap';
import { request, startTestServer, type TestServer } from '@berth/testkit';
import { rawRequest, statusOf } from './raw-client.js';

const ns = '/api/v1/namespaces/paths';
const cms = `${ns}/configmaps`;

async function configMapNames(ts: TestServer): Promise<string[]> {
  return (await request(ts, 'GET', cms))
    .json<{ items: { metadata: { name: string } }[] }>()
    .items.map((i) => i.metadata.name)
    .sort();
}

async function namespaceNames(ts: TestServer): Promise<string[]> {
  return (await request(ts, 'GET', '/api/v1/namespaces'))
    .json<{ items: { metadata: { name: string } }[] }>()
    .items.map((i) => i.metadata.name)
    .sort();
}

t.test('unclean paths', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  await request(ts, 'POST', '/api/v1/namespaces', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'paths' } }),
    contentType: 'application/json',
  });
  for (const name of ['a', 'b']) {
    const r = await request(ts, 'POST', cms, {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: name } }),
      contentType: 'application/json',
    });
    t.equal(r.status, 201);
  }
  const namespacesBefore = await namespaceNames(ts);

  const cases: [method: string, path: string, code: number, message?: RegExp][] = [
    ['DELETE', `${cms}/a/..`, 404],
    ['DELETE', `${cms}/a/%2e%2e`, 404],
    ['DELETE', `${cms}/a/%2E%2E`, 404],
    ['DELETE', `${cms}/a/.`, 404],
    ['DELETE', `${cms}/..`, 400, /^Name parameter invalid: "\.\.": may not be '\.\.'$/],
    ['DELETE', `${cms}/%2e%2e`, 400, /^Name parameter invalid: "\.\.": may not be '\.\.'$/],
    ['GET', `${cms}/%2e%2e`, 400, /^Name parameter invalid: "\.\.": may not be '\.\.'$/],
    ['GET', `${cms}/.`, 400, /^Name parameter invalid: "\.": may not be '\.'$/],
    ['DELETE', '/api/v1/namespaces/.', 400, /^Name parameter invalid: "\.": may not be '\.'$/],
    ['DELETE', '/api/v1/namespaces/%2e', 400, /^Name parameter invalid: "\.": may not be '\.'$/],
    ['DELETE', '/api/v1/namespaces/..', 400, /may not be '\.\.'/],
    ['DELETE', `${ns}/../configmaps`, 404],
    ['DELETE', `${ns}/%2e%2e/configmaps`, 404],
    ['DELETE', '/api/v1/namespaces/../configmaps', 400, /^Namespace parameter invalid: "\.\.": may not be '\.\.'$/],
    ['DELETE', '/api/v1/namespaces/%2e%2e/configmaps', 400, /^Namespace parameter invalid/],
    ['DELETE', '/api/v1/namespaces/./configmaps', 400, /^Namespace parameter invalid: "\.": may not be '\.'$/],
    ['DELETE', `${ns}//configmaps`, 404],
    ['DELETE', `/api/v1//namespaces/paths/configmaps`, 404],
    ['DELETE', `//api/v1/namespaces/paths/configmaps`, 404],
    ['DELETE', `${cms}//a`, 404],
    ['DELETE', `${cms}/a%2F..`, 400, /may not contain '\/'/],
    ['DELETE', `${cms}/a%25b`, 400, /may not contain '%'/],
    ['DELETE', `/api/v1/namespaces/paths/configmaps/a/../../b`, 404],
    ['DELETE', `/api/%2e%2e/api/v1/namespaces/paths/configmaps`, 404],
    ['DELETE', `/apis/../api/v1/namespaces/paths/configmaps`, 404],
    ['DELETE', `https://evil${cms}/a/..`, 404],
  ];
  for (const [method, path, code, message] of cases) {
    const r = await rawRequest(ts, method, path);
    const s = statusOf(r.text);
    t.equal(r.status, code, `${method} ${path} -> ${r.status} ${r.text.slice(0, 200)}`);
    t.equal(s?.kind, 'Status', `${method} ${path} answers a Status`);
    t.equal(s?.code, code);
    if (message !== undefined) t.match(s?.message ?? '', message);
    t.same(await configMapNames(ts), ['a', 'b'], `after ${method} ${path} both ConfigMaps are there`);
  }
  t.same(await namespaceNames(ts), namespacesBefore, 'no namespace was deleted');

  // One trailing slash names the same resource, as on Kubernetes.
  const list = await rawRequest(ts, 'GET', `${cms}/`);
  t.equal(list.status, 200);
  t.equal(JSON.parse(list.text).kind, 'ConfigMapList');
  const one = await rawRequest(ts, 'GET', `${cms}/a/`);
  t.equal(JSON.parse(one.text).metadata?.name, 'a');

  // kubectl, on a path it builds from a user's name with an encoded dot segment, gets the server's refusal.
  const k = await ts.kubectl(['get', '--raw', `${cms}/%2e%2e`]);
  t.not(k.code, 0);
  t.match(k.stderr, /Name parameter invalid|BadRequest/);
});
