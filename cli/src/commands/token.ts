// `berth token create`: a bootstrap token as kubeadm makes one (`kubeadm token create`): a Secret
// `kube-system/bootstrap-token-ID` of type `bootstrap.kubernetes.io/token` that lets `berth agent --token` ask for its
// node's certificate until it expires. Printed as k3s prints its tokens, `K10<sha256 of the CA>::ID.SECRET`, so the
// joining agent can check the CA it is handed before it sends the secret anywhere.

import { createHash, randomInt } from 'node:crypto';
import { ApiClient } from '../api/client.js';
import { connectToApi } from '../api-connection.js';
import { UsageError } from '../errors.js';

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomString = (n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');

/** A Go duration of hours, minutes and seconds (`24h`, `1h30m`, `90s`, `0` for never) in milliseconds. */
export function parseTtl(ttl: string): number {
  if (ttl === '0') return 0;
  const parts = [...ttl.matchAll(/(\d+)(h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== ttl)
    throw new UsageError(`--ttl must be a duration like 24h, 1h30m or 90s (0: never expires), got "${ttl}"`);
  const unit = { h: 3_600_000, m: 60_000, s: 1000 } as const;
  return parts.reduce((ms, p) => ms + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}

/** sha256 of the CA as the server serves it at /cacerts, hex. */
export const caHash = (caPem: string | Buffer): string => createHash('sha256').update(caPem).digest('hex');

export async function createToken(options: { ttl: string; description?: string }): Promise<string> {
  const ttlMs = parseTtl(options.ttl);
  const connection = await connectToApi(undefined);
  const id = randomString(6);
  const secret = randomString(16);
  const expiration = ttlMs === 0 ? undefined : new Date(Date.now() + ttlMs).toISOString().replace(/\.\d+Z$/, 'Z');
  await new ApiClient(connection).request('POST', '/api/v1/namespaces/kube-system/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    type: 'bootstrap.kubernetes.io/token',
    stringData: {
      'token-id': id,
      'token-secret': secret,
      ...(expiration === undefined ? {} : { expiration }),
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': 'system:bootstrappers:berth:default-node-token',
      description: options.description ?? 'made by berth token create',
    },
  });
  const ca = connection.options.ca;
  const bare = `${id}.${secret}`;
  return ca === undefined ? bare : `K10${caHash(ca as string | Buffer)}::${bare}`;
}
