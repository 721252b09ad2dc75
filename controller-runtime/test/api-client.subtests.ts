// The API client's writes with a body on every verb: a DELETE carrying DeleteOptions (a uid precondition) is sent
// sized, so the server reads it as one request; the connection it leaves in the pool serves the next request. And
// the kubeconfig files it reads itself: files named relative to the kubeconfig, credential plugins.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import t, { type Test } from 'tap';
import { ApiClient, apiStatusCode } from '../src/index.js';
import { configMaps, secrets, startApi } from './harness.js';

const api = await startApi(t);
const client: ApiClient = api.client;

t.test('DELETE with a uid precondition: a mismatch is a 409, a match deletes', async (t) => {
  const cm = await client.create<KubernetesObject>(configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'doomed', namespace: 'default' },
  });
  let code: number | undefined;
  try {
    await client.delete(configMaps, 'default', 'doomed', { preconditionUid: 'not-its-uid' });
  } catch (err) {
    code = apiStatusCode(err);
  }
  t.equal(code, 409, 'a uid precondition that does not match');
  await client.delete(configMaps, 'default', 'doomed', { preconditionUid: cm.metadata?.uid ?? '' });
  // The same pooled connection answers the next request: no leftover body read as a request of its own.
  const list = await client.list(configMaps, { namespace: 'default' });
  t.notOk(
    list.items.some((c) => c.metadata?.name === 'doomed'),
    'deleted, and the next request on the connection is fine',
  );
});

/** A temporary folder holding `files`, removed when `t` ends. */
async function folderWith(t: Test, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cr-kubeconfig-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

t.test('a kubeconfig file: its CA file and tokenFile, relative to its folder, reach the server', async (t) => {
  const cluster = api.kc.getCurrentCluster();
  const token = api.kc.getCurrentUser()?.token ?? '';
  const kubeconfig = (user: string) =>
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: c',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
      `clusters: [{name: k, cluster: {server: "${cluster?.server}", certificate-authority: ca.crt}}]`,
      `users: [{name: u, user: ${user}}]`,
      '',
    ].join('\n');
  const dir = await folderWith(t, {
    'ca.crt': Buffer.from(cluster?.caData ?? '', 'base64').toString(),
    token: `${token}\n`,
    'file-token': kubeconfig('{tokenFile: token}'),
    'no-token': kubeconfig('{}'),
  });
  const reader = new ApiClient({ kubeconfig: join(dir, 'file-token'), userAgent: 'berth-cr-test' });
  t.teardown(() => reader.close());
  t.equal(reader.kubeconfig.getCurrentCluster()?.caFile, join(dir, 'ca.crt'), 'the CA file made absolute');
  const list = await reader.list(secrets, { namespace: 'default' });
  t.type(list.resourceVersion, 'string', 'the admin token from the file lists Secrets');
  const anonymous = new ApiClient({ kubeconfig: join(dir, 'no-token'), userAgent: 'berth-cr-test' });
  t.teardown(() => anonymous.close());
  let code: number | undefined;
  try {
    await anonymous.list(secrets, { namespace: 'default' });
  } catch (err) {
    code = apiStatusCode(err);
  }
  t.ok(code === 401 || code === 403, `without the token the server refuses (${code})`);
});

t.test("a kubeconfig whose user runs an exec plugin gets its credentials through client-node's", async (t) => {
  const cluster = api.kc.getCurrentCluster();
  const token = api.kc.getCurrentUser()?.token ?? '';
  const credential = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token },
  });
  const dir = await folderWith(t, {
    kubeconfig: [
      'apiVersion: v1',
      'kind: Config',
      'current-context: c',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
      `clusters: [{name: k, cluster: {server: "${cluster?.server}", certificate-authority-data: "${cluster?.caData}"}}]`,
      `users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/echo, args: ['${credential}'], interactiveMode: Never}}}]`,
      '',
    ].join('\n'),
  });
  const client = new ApiClient({ kubeconfig: join(dir, 'kubeconfig'), userAgent: 'berth-cr-test' });
  t.teardown(() => client.close());
  const list = await client.list(secrets, { namespace: 'default' });
  t.type(list.resourceVersion, 'string', "the plugin's token lists Secrets");
});
