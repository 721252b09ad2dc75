// `berth dashboard [--url]`: a link that signs the browser in to the web dashboard, as `minikube dashboard --url`
// prints one. The token in it is short-lived (a TokenRequest for the `berth-dashboard` ServiceAccount, bound to
// cluster-admin as Kubernetes Dashboard's docs bind their admin-user) and rides in the URL fragment, which the
// browser never sends; the page moves it into sessionStorage and wipes it from the address bar.

import { spawn } from 'node:child_process';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { ApiStatusError, UsageError } from '../errors.js';

export interface DashboardOptions {
  readonly url?: boolean;
  /** How long the token in the link is good for, in seconds. @default 1800 */
  readonly duration?: string;
}

const namespace = 'kube-system';
const account = 'berth-dashboard';

/** Creates `body` at `path` unless it exists already. */
async function ensure(client: ApiClient, path: string, body: unknown): Promise<void> {
  try {
    await client.request('POST', path, body);
  } catch (e) {
    if (!(e instanceof ApiStatusError && e.status === 409)) throw e;
  }
}

/** The one-time login URL: the server's /dashboard/ with a fresh token in the fragment. */
export async function dashboardUrl(client: ApiClient, expirationSeconds: number): Promise<string> {
  await ensure(client, `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: account, namespace, labels: { 'app.kubernetes.io/name': 'berth-dashboard' } },
  });
  // Only a user who may bind cluster-admin gets here (escalation prevention refuses anyone else's binding).
  await ensure(client, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: account, labels: { 'app.kubernetes.io/name': 'berth-dashboard' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
  });
  const review = await client.request<{ status?: { token?: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
  );
  const token = review.status?.token;
  if (token === undefined) throw new ApiStatusError(500, undefined, 'the TokenRequest answered no token');
  return new URL(`/dashboard/#token=${encodeURIComponent(token)}`, client.connection.server).toString();
}

export async function dashboard(options: DashboardOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const seconds = options.duration === undefined ? 1800 : Number(options.duration);
  // Kubernetes' floor for a requested token lifetime is 10 minutes.
  if (!Number.isInteger(seconds) || seconds < 600)
    throw new UsageError(`--duration must be a whole number of seconds, at least 600 (got ${options.duration})`);
  const url = await dashboardUrl(new ApiClient(await connectToApi(undefined)), seconds);
  out.write(`${url}\n`);
  if (options.url === true || (process.env['DISPLAY'] ?? process.env['WAYLAND_DISPLAY'] ?? '') === '') return;
  // A desktop: open it as minikube dashboard does; the printed link stays usable if no browser comes up.
  const opener = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
  opener.on('error', () => undefined);
  opener.unref();
}
