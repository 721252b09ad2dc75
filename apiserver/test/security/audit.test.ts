// The audit log as an operator reads it: audit.k8s.io/v1 Events as JSON lines, one per write and per read of a
// Secret (other reads not logged under the default policy), with user, verb, objectRef, code and the Audit-ID the
// client got back; Secrets at Metadata only, so no secret value reaches the file even when a policy asks for
// RequestResponse; a refused request logged as forbidden; the file rotated past its size.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import t from 'tap';
import { parseAuditPolicy } from '@berth/apiserver';
import { eventually, request, startTestServer } from '@berth/testkit';

const dir = await mkdtemp(join(tmpdir(), 'berth-audit-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const path = join(dir, 'audit.log');
const server = await startTestServer({ controllers: false, audit: { path } });
t.teardown(() => server.close());

interface AuditEvent {
  kind: string;
  apiVersion: string;
  level: string;
  auditID: string;
  verb: string;
  user: { username?: string };
  impersonatedUser?: { username?: string; groups?: string[] };
  stage?: string;
  objectRef?: { resource: string; namespace?: string; name?: string; subresource?: string };
  responseStatus: { code: number };
  requestObject?: { data?: Record<string, string> };
  responseObject?: { kind?: string };
  annotations?: Record<string, string>;
}
const events = async (file = path): Promise<AuditEvent[]> =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEvent);
const find = async (pred: (e: AuditEvent) => boolean) => {
  let found: AuditEvent | undefined;
  await eventually(async () => (found = (await events()).find(pred)) !== undefined, 10_000);
  return found!;
};
const secretValue = 'topsecret-value-42';

t.test('writes and Secret reads are logged; Secret data never is', async (t) => {
  t.equal(
    (await server.kubectl(['create', 'secret', 'generic', 's', `--from-literal=password=${secretValue}`])).code,
    0,
  );
  t.equal((await server.kubectl(['get', 'secret', 's'])).code, 0);
  t.equal((await server.kubectl(['create', 'configmap', 'c', '--from-literal=k=visible-value'])).code, 0);
  t.equal((await server.kubectl(['get', 'configmap', 'c'])).code, 0);

  const created = await find((e) => e.verb === 'create' && e.objectRef?.resource === 'secrets');
  t.match(created, {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    stage: 'ResponseComplete',
    user: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
    objectRef: { resource: 'secrets', namespace: 'default', apiVersion: 'v1' },
    responseStatus: { code: 201 },
    requestReceivedTimestamp: /^\d{4}-/,
    stageTimestamp: /^\d{4}-/,
  });
  t.notOk('requestObject' in created, 'no body of a Secret');
  t.match(await find((e) => e.verb === 'get' && e.objectRef?.name === 's'), {
    level: 'Metadata',
    responseStatus: { code: 200 },
  });
  const cm = await find((e) => e.verb === 'create' && e.objectRef?.resource === 'configmaps');
  t.match(cm, { level: 'Request', requestObject: { data: { k: 'visible-value' } } });
  t.notOk(
    (await events()).some((e) => e.verb === 'get' && e.objectRef?.resource === 'configmaps'),
    'reads not logged',
  );
  const text = await readFile(path, 'utf8');
  t.notMatch(text, secretValue);
  t.notMatch(text, Buffer.from(secretValue).toString('base64'));
});

t.test('the Audit-Id header names the event; a refusal is logged as forbidden', async (t) => {
  const r = await request(server, 'DELETE', '/api/v1/namespaces/default/configmaps/nope');
  t.equal(r.status, 404);
  const id = String(r.headers['audit-id']);
  t.match(id, /^[0-9a-f-]{36}$/);
  t.match(await find((e) => e.auditID === id), { verb: 'delete', responseStatus: { code: 404 } });

  t.equal(
    (await server.kubectl(['create', 'clusterrolebinding', 'viewer', '--clusterrole=view', '--user=viewer'])).code,
    0,
  );
  const viewer = await server.userKubeconfig('viewer');
  const refused = await server.kubectl(['delete', 'configmap', 'c'], { env: { KUBECONFIG: viewer } });
  t.not(refused.code, 0);
  t.match(await find((e) => e.user.username === 'viewer' && e.verb === 'delete'), {
    responseStatus: { code: 403 },
    annotations: { 'authorization.k8s.io/decision': 'forbid' },
  });
});

/** A WebSocket upgrade as the admin (optionally impersonating); resolves with the answer's status line. */
async function upgrade(path: string, headers: string[] = []): Promise<string> {
  const { hostname, port } = new URL(server.url);
  const socket = connect({ host: hostname, port: Number(port), ca: server.caCert });
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const lines = [
    `Authorization: Bearer ${server.token}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol: v5.channel.k8s.io',
    ...headers,
  ];
  socket.write(`GET ${path} HTTP/1.1\r\nHost: berth\r\n${lines.join('\r\n')}\r\n\r\n`);
  let text = '';
  for await (const chunk of socket) text += (chunk as Buffer).toString();
  return text.split('\r\n')[0] ?? '';
}

t.test('WebSocket exec and attach are logged; an impersonated request names both users', async (t) => {
  const exec = '/api/v1/namespaces/default/pods/ghost/exec?command=sh&stdin=true';
  t.match(await upgrade(exec), /^HTTP\/1\.1 404 /);
  t.match(await find((e) => e.objectRef?.subresource === 'exec' && e.objectRef.name === 'ghost'), {
    verb: 'get',
    user: { username: 'admin' },
    objectRef: { resource: 'pods', namespace: 'default', name: 'ghost', subresource: 'exec' },
    responseStatus: { code: 404 },
  });
  const attach = '/apis/berth.dev/v1alpha1/namespaces/default/containers/spooky/attach?stdin=true';
  t.match(await upgrade(attach, ['Impersonate-User: mallory']), /^HTTP\/1\.1 403 /);
  const refused = await find((e) => e.objectRef?.subresource === 'attach' && e.objectRef.name === 'spooky');
  t.match(refused, {
    user: { username: 'admin' },
    impersonatedUser: { username: 'mallory', groups: ['system:authenticated'] },
    responseStatus: { code: 403 },
    annotations: { 'authorization.k8s.io/decision': 'forbid' },
  });
  const write = await request(server, 'POST', '/api/v1/namespaces/default/configmaps', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'as-someone' } }),
    contentType: 'application/json',
    headers: { 'Impersonate-User': 'system:anonymous' },
  });
  t.equal(write.status, 403, write.text);
  t.match(await find((e) => e.impersonatedUser?.username === 'system:anonymous'), {
    verb: 'create',
    user: { username: 'admin' },
    impersonatedUser: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
  });
});

t.test("a RequestResponse policy logs bodies, still not a Secret's; the file rotates", async (t) => {
  const policy = parseAuditPolicy(`
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
`);
  await server.stop();
  await server.restart({ audit: { path, policy, maxSizeBytes: 4096, maxBackups: 2 } });
  for (let i = 0; i < 6; i++)
    t.equal((await server.kubectl(['create', 'configmap', `r${i}`, `--from-literal=k=${'x'.repeat(500)}`])).code, 0);
  await eventually(async () => (await readdir(dir)).includes('audit.log.1'), 10_000);
  t.equal((await server.kubectl(['get', 'secret', 's', '-o', 'yaml'])).code, 0);
  await find((e) => e.verb === 'get' && e.objectRef?.resource === 'secrets' && e.level !== 'Request');
  const all = [...(await events(`${path}.2`)), ...(await events(`${path}.1`)), ...(await events(path))];
  t.ok(
    all.some((e) => e.verb === 'create' && e.responseObject?.kind === 'ConfigMap'),
    'response bodies logged',
  );
  const secretReads = all.filter((e) => e.objectRef?.resource === 'secrets');
  t.ok(secretReads.length > 0);
  for (const e of secretReads) {
    t.equal(e.level, 'Metadata');
    t.notOk('responseObject' in e);
  }
  t.notOk((await readdir(dir)).includes('audit.log.3'), 'at most maxBackups kept');
  for (const f of ['audit.log', 'audit.log.1']) t.notMatch(await readFile(join(dir, f), 'utf8'), secretValue);
});

t.test('a list of 300, written in parts, reads back whole as JSON and Table and is logged whole', async (t) => {
  const policy = parseAuditPolicy(`
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
  resources: [{ group: "", resources: [configmaps] }]
  namespaces: [many]
- level: None
`);
  await server.stop();
  await server.restart({ audit: { path, policy } });
  t.equal((await request(server, 'POST', '/api/v1/namespaces', { body: '{"metadata":{"name":"many"}}' })).status, 201);
  const names = Array.from({ length: 300 }, (_, i) => `m-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < names.length; i += 30)
    await Promise.all(
      names.slice(i, i + 30).map((name) =>
        request(server, 'POST', '/api/v1/namespaces/many/configmaps', {
          body: JSON.stringify({ metadata: { name }, data: { k: `é-${name}` } }),
        }),
      ),
    );
  const list = await request(server, 'GET', '/api/v1/namespaces/many/configmaps');
  t.equal(list.status, 200);
  const json = list.json<{ kind: string; items: { metadata: { name: string }; data: { k: string } }[] }>();
  t.equal(json.kind, 'ConfigMapList');
  t.same(
    json.items.map((c) => c.metadata.name),
    names,
  );
  t.equal(json.items[299]?.data.k, 'é-m-299', 'multi-byte text intact across buffers');
  const table = await request(server, 'GET', '/api/v1/namespaces/many/configmaps', {
    accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
  });
  const rows = table.json<{ kind: string; rows: { cells: unknown[] }[] }>();
  t.equal(rows.kind, 'Table');
  t.same(
    rows.rows.map((r) => r.cells[0]),
    names,
  );
  const logged = await find((e) => e.verb === 'list' && e.objectRef?.namespace === 'many');
  t.equal((logged.responseObject as { items?: unknown[] } | undefined)?.items?.length, 300, 'the whole list logged');
});
