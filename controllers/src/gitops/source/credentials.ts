// Reads a GitRepository's secretRef into git credentials: username + password (basic auth), bearerToken, or an
// ssh private key `identity` with the server's `known_hosts` — the keys Flux's GitRepository reads. A missing
// Secret or key is an authentication failure the status names.
import type { ApiClient } from '@berth/controller-runtime';
import { isNotFound } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { GitOpsError } from '../errors.js';
import { secrets } from '../kinds.js';
import type { GitAuth } from './git.js';

interface Secret extends KubernetesObject {
  data?: Record<string, string>;
}

export async function readAuth(
  client: ApiClient,
  namespace: string,
  secretName: string | undefined,
  signal: AbortSignal,
): Promise<GitAuth | undefined> {
  if (secretName === undefined) return undefined;
  const data = await readSecretData(client, namespace, secretName, signal);
  if (data['identity'] !== undefined) {
    // Without known_hosts the server's key could not be checked: refused, as Flux refuses it.
    if (data['known_hosts'] === undefined)
      throw new GitOpsError(
        'BERTH_GITOPS_AUTH',
        `secret ${namespace}/${secretName} has an identity but no known_hosts`,
      );
    return { kind: 'ssh', identity: data['identity'], knownHosts: data['known_hosts'] };
  }
  if (data['bearerToken'] !== undefined) return { kind: 'bearer', token: data['bearerToken'] };
  if (data['username'] !== undefined && data['password'] !== undefined)
    return { kind: 'basic', username: data['username'], password: data['password'] };
  throw new GitOpsError(
    'BERTH_GITOPS_AUTH',
    `secret ${namespace}/${secretName} has none of identity, bearerToken, or username and password`,
  );
}

/** The Secret's data, decoded. */
export async function readSecretData(
  client: ApiClient,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<Record<string, string>> {
  let secret: Secret;
  try {
    secret = await client.get<Secret>(secrets, namespace, name, signal);
  } catch (err) {
    if (isNotFound(err)) throw new GitOpsError('BERTH_GITOPS_AUTH', `secret ${namespace}/${name} not found`);
    throw err;
  }
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}
