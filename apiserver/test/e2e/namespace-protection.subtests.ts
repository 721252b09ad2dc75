// Namespaces are deleted one at a time and never the system ones: Kubernetes serves no deletecollection on
// namespaces, and its NamespaceLifecycle admission refuses to delete default, kube-system and kube-public.

import t from 'tap';
import { request, startTestServer } from '@berth/testkit';
import { rawRequest, statusOf } from './raw-client.js';

const protectedNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'berth-system'];

t.test('namespace protection', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  const names = async () =>
    (await request(ts, 'GET', '/api/v1/namespaces')).json<{
      items: { metadata: { name: string; deletionTimestamp?: string } }[];
    }>().items;
  t.equal((await ts.kubectl(['create', 'namespace', 'scratch'])).code, 0);

  const all = await rawRequest(ts, 'DELETE', '/api/v1/namespaces');
  t.equal(all.status, 405, all.text);
  t.equal(statusOf(all.text)?.reason, 'MethodNotAllowed');
  t.equal(statusOf(all.text)?.kind, 'Status');
  const dry = await rawRequest(ts, 'DELETE', '/api/v1/namespaces?dryRun=All&labelSelector=x%3Dy');
  t.equal(dry.status, 405);

  for (const ns of protectedNamespaces) {
    const r = await rawRequest(ts, 'DELETE', `/api/v1/namespaces/${ns}`);
    t.equal(r.status, 403, `${ns}: ${r.text}`);
    const s = statusOf(r.text);
    t.equal(s?.reason, 'Forbidden');
    t.equal(s?.message, `namespaces "${ns}" is forbidden: this namespace may not be deleted`);
    const k = await ts.kubectl(['delete', 'namespace', ns]);
    t.not(k.code, 0);
    t.match(
      k.stderr,
      `Error from server (Forbidden): namespaces "${ns}" is forbidden: this namespace may not be deleted`,
    );
  }
  const after = await names();
  for (const ns of [...protectedNamespaces, 'scratch']) {
    const item = after.find((i) => i.metadata.name === ns);
    t.ok(item !== undefined && item.metadata.deletionTimestamp === undefined, `${ns} is there and not terminating`);
  }

  // kubectl delete --all deletes namespaces one by one: the others go, the protected ones are refused.
  const everything = await ts.kubectl(['delete', 'namespaces', '--all', '--wait=false']);
  t.match(everything.stderr, /namespaces "default" is forbidden/);
  const left = await names();
  for (const ns of protectedNamespaces)
    t.ok(
      left.some((i) => i.metadata.name === ns && i.metadata.deletionTimestamp === undefined),
      `${ns} survives --all`,
    );

  // An ordinary namespace is still deleted as before, and discovery no longer offers deletecollection.
  const resources = (await request(ts, 'GET', '/api/v1')).json<{ resources: { name: string; verbs: string[] }[] }>()
    .resources;
  const nsVerbs = resources.find((r) => r.name === 'namespaces')?.verbs ?? [];
  t.notOk(nsVerbs.includes('deletecollection'));
  t.ok(nsVerbs.includes('delete'));
  t.ok(resources.find((r) => r.name === 'configmaps')?.verbs.includes('deletecollection'), 'other collections keep it');
  const openapi = (await request(ts, 'GET', '/openapi/v3/api/v1')).json<{
    paths: Record<string, Record<string, unknown>>;
  }>().paths;
  t.equal(openapi['/api/v1/namespaces']?.['delete'], undefined, 'OpenAPI offers no deletecollection on namespaces');
  t.ok(openapi['/api/v1/namespaces/{namespace}/configmaps']?.['delete'] !== undefined);
});
