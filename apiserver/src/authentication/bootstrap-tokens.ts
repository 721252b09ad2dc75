// Bootstrap tokens as kubeadm makes them: a Secret `kube-system/bootstrap-token-ID` of type
// `bootstrap.kubernetes.io/token` holding `token-id`, `token-secret`, an optional RFC 3339 `expiration` and
// `usage-bootstrap-authentication: "true"`; the bearer token `ID.SECRET` then stands for `system:bootstrap:ID` in
// `system:bootstrappers` (and the Secret's `auth-extra-groups`), until it expires or the Secret is deleted.

import { timingSafeEqual } from 'node:crypto';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import type { UserInfo } from './authenticator.js';

export const bootstrapTokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const bootstrapTokenType = 'bootstrap.kubernetes.io/token';

/** The Secret `kube-system/NAME`, or undefined when there is none. */
export type SecretLookup = (name: string) => Promise<KubeObject | undefined>;

const field = (data: Record<string, unknown>, key: string): string | undefined => {
  const v = data[key];
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
};

/** The user a bootstrap token stands for, or undefined (not one, unknown, expired, or not for authentication). */
export async function authenticateBootstrapToken(
  token: string,
  lookup: SecretLookup,
  now = Date.now(),
): Promise<UserInfo | undefined> {
  const m = bootstrapTokenPattern.exec(token);
  if (m === null) return undefined;
  const [, id, secret] = m as unknown as [string, string, string];
  const stored = await lookup(`bootstrap-token-${id}`);
  if (stored === undefined || stored['type'] !== bootstrapTokenType || !isPlainObject(stored['data'])) return undefined;
  const data = stored['data'];
  const storedSecret = Buffer.from(field(data, 'token-secret') ?? '');
  if (field(data, 'token-id') !== id || storedSecret.length !== secret.length) return undefined;
  if (!timingSafeEqual(storedSecret, Buffer.from(secret))) return undefined;
  if (field(data, 'usage-bootstrap-authentication') !== 'true') return undefined;
  const expiration = field(data, 'expiration');
  if (expiration !== undefined && !(Date.parse(expiration) > now)) return undefined;
  const extra = (field(data, 'auth-extra-groups') ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g.startsWith('system:bootstrappers:'));
  return {
    name: `system:bootstrap:${id}`,
    groups: ['system:bootstrappers', ...extra, 'system:authenticated'],
  };
}
