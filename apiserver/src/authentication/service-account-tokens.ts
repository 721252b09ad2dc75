// ServiceAccount tokens as Kubernetes issues them through the TokenRequest API (`kubectl create token`): JWTs signed
// with the server's key (ES256, jose), bound to audiences and an expiry, naming the ServiceAccount by namespace,
// name and uid. A token is honoured only while it verifies, has not expired, is meant for this server and its
// ServiceAccount still exists with the same uid, so deleting the ServiceAccount revokes every token it had. A token
// bound to a Secret (TokenRequest's boundObjectRef, what the legacy token Secrets hold) also needs that Secret to
// exist with the same uid: deleting the Secret revokes it.

import { createHash, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ApiError } from '../errors/api-error.js';
import type { ReviewHandler } from '../handlers/reviews.js';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import type { UserInfo } from './authenticator.js';

/** The issuer (and the audience API tokens are for when a request names none), as a kubeadm cluster names it. */
export const defaultIssuer = 'https://kubernetes.default.svc.cluster.local';

/** Kubernetes refuses shorter tokens; without a request for a duration, a token lasts an hour. */
const minExpirationSeconds = 600;
const defaultExpirationSeconds = 3600;
const maxExpirationSeconds = 2 ** 32;

export interface ServiceAccountTokenOptions {
  /** PKCS#8 PEM of the ES256 signing key. */
  readonly signingKey: string;
  /** @default defaultIssuer */
  readonly issuer?: string;
  /** The audiences a token must name one of to be accepted by this server. @default [issuer] */
  readonly apiAudiences?: readonly string[];
  /** Longer requests get tokens this long (kube-apiserver's --service-account-max-token-expiration). @default none */
  readonly maxExpirationSeconds?: number;
  /** The stored ServiceAccount, or undefined when there is none. */
  readonly lookup: (namespace: string, name: string) => Promise<KubeObject | undefined>;
  /** The stored Secret, or undefined when there is none. @default no tokens bound to Secrets */
  readonly lookupSecret?: (namespace: string, name: string) => Promise<KubeObject | undefined>;
}

interface Claims {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The Secret the token is bound to. */
  readonly secret?: { readonly name: string; readonly uid: string };
}

const serviceAccountUser = (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`;

export class ServiceAccountTokens {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #keyId: string;
  readonly issuer: string;
  readonly apiAudiences: readonly string[];
  readonly #lookup: ServiceAccountTokenOptions['lookup'];
  readonly #lookupSecret: ServiceAccountTokenOptions['lookupSecret'];
  readonly #maxExpirationSeconds: number | undefined;

  constructor(options: ServiceAccountTokenOptions) {
    this.#privateKey = createPrivateKey(options.signingKey);
    this.#publicKey = createPublicKey(this.#privateKey);
    // As Kubernetes names its keys: a digest of the public key, so a verifier can tell rotated keys apart.
    this.#keyId = createHash('sha256')
      .update(this.#publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64url');
    this.issuer = options.issuer ?? defaultIssuer;
    this.apiAudiences = options.apiAudiences ?? [this.issuer];
    this.#lookup = options.lookup;
    this.#lookupSecret = options.lookupSecret;
    this.#maxExpirationSeconds = options.maxExpirationSeconds;
  }

  /** A signed token for a ServiceAccount. */
  async issue(
    sa: Claims,
    audiences: readonly string[],
    expirationSeconds: number,
  ): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = new Date((now + expirationSeconds) * 1000);
    const token = await new SignJWT({
      'kubernetes.io': {
        namespace: sa.namespace,
        serviceaccount: { name: sa.name, uid: sa.uid },
        ...(sa.secret === undefined ? {} : { secret: { name: sa.secret.name, uid: sa.secret.uid } }),
      },
    })
      .setProtectedHeader({ alg: 'ES256', kid: this.#keyId, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(serviceAccountUser(sa.namespace, sa.name))
      .setAudience([...audiences])
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + expirationSeconds)
      .setJti(randomUUID())
      .sign(this.#privateKey);
    return { token, expiresAt };
  }

  /**
   * The user a token stands for, or undefined when it is not one of this server's valid ServiceAccount tokens for
   * `audiences` (expired, tampered with, for another audience, or its ServiceAccount gone).
   */
  async authenticate(
    token: string,
    audiences: readonly string[] = this.apiAudiences,
  ): Promise<(UserInfo & { readonly uid: string; readonly audiences: string[] }) | undefined> {
    if (token.split('.').length !== 3) return undefined;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#publicKey, {
        issuer: this.issuer,
        audience: [...audiences],
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (e) {
      if (e instanceof joseErrors.JOSEError) return undefined;
      throw e;
    }
    const k8s = payload['kubernetes.io'];
    const sa = isPlainObject(k8s) ? k8s['serviceaccount'] : undefined;
    const namespace = isPlainObject(k8s) ? k8s['namespace'] : undefined;
    if (!isPlainObject(sa) || typeof namespace !== 'string') return undefined;
    const name = sa['name'];
    const uid = sa['uid'];
    if (typeof name !== 'string' || typeof uid !== 'string') return undefined;
    if (payload['sub'] !== serviceAccountUser(namespace, name)) return undefined;
    const stored = await this.#lookup(namespace, name);
    if (stored === undefined || stored.metadata.uid !== uid || stored.metadata.deletionTimestamp !== undefined)
      return undefined;
    const bound = isPlainObject(k8s) ? k8s['secret'] : undefined;
    if (bound !== undefined && !(await this.#boundSecretExists(namespace, bound))) return undefined;
    const aud = payload['aud'];
    const tokenAudiences = Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [String(aud)];
    return {
      name: serviceAccountUser(namespace, name),
      uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${String(payload['jti'] ?? '')}`] },
      audiences: tokenAudiences.filter((a) => audiences.includes(a)),
    };
  }

  /** Whether the Secret a token is bound to is still the one it was bound to. */
  async #boundSecretExists(namespace: string, bound: unknown): Promise<boolean> {
    if (!isPlainObject(bound) || typeof bound['name'] !== 'string' || this.#lookupSecret === undefined) return false;
    const secret = await this.#lookupSecret(namespace, bound['name']);
    return (
      secret !== undefined && secret.metadata.uid === bound['uid'] && secret.metadata.deletionTimestamp === undefined
    );
  }

  /** The Secret a TokenRequest's boundObjectRef names (the only kind berth binds to), checked as Kubernetes does. */
  async #boundSecret(namespace: string, ref: unknown): Promise<{ name: string; uid: string } | undefined> {
    if (ref === undefined || ref === null) return undefined;
    const r = isPlainObject(ref) ? ref : {};
    if (r['kind'] !== 'Secret' || (r['apiVersion'] !== undefined && r['apiVersion'] !== 'v1'))
      throw new ApiError(
        'BadRequest',
        `cannot bind a token to ${String(r['apiVersion'] ?? '')} ${String(r['kind'] ?? '')}: berth binds tokens only to a v1 Secret`,
      );
    const name = typeof r['name'] === 'string' ? r['name'] : '';
    const secret = name === '' ? undefined : await this.#lookupSecret?.(namespace, name);
    if (secret === undefined)
      throw new ApiError('NotFound', `secrets "${name}" not found`, { name, group: '', kind: 'secrets' });
    const uid = secret.metadata.uid ?? '';
    if (typeof r['uid'] === 'string' && r['uid'] !== '' && r['uid'] !== uid)
      throw new ApiError(
        'Conflict',
        `the UID in the bound object reference (${r['uid']}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    return { name, uid };
  }

  /** POST …/serviceaccounts/NAME/token (TokenRequest). */
  readonly tokenRequest: ReviewHandler = async (body, { namespace, name }) => {
    const spec = isPlainObject(body['spec']) ? body['spec'] : {};
    const audiences = Array.isArray(spec['audiences'])
      ? spec['audiences'].filter((a): a is string => typeof a === 'string')
      : [];
    const wanted = spec['expirationSeconds'];
    const expirationSeconds = typeof wanted === 'number' ? wanted : defaultExpirationSeconds;
    if (!Number.isInteger(expirationSeconds) || expirationSeconds < minExpirationSeconds)
      throw invalidTokenRequest(expirationSeconds, 'may not specify a duration less than 10 minutes');
    if (expirationSeconds > maxExpirationSeconds)
      throw invalidTokenRequest(expirationSeconds, 'may not specify a duration larger than 2^32 seconds');
    const sa = await this.#lookup(namespace ?? '', name ?? '');
    if (sa === undefined)
      throw new ApiError('NotFound', `serviceaccounts "${name ?? ''}" not found`, {
        name: name ?? '',
        group: '',
        kind: 'serviceaccounts',
      });
    const secret = await this.#boundSecret(namespace ?? '', spec['boundObjectRef']);
    const granted = audiences.length > 0 ? audiences : [...this.apiAudiences];
    const seconds = Math.min(expirationSeconds, this.#maxExpirationSeconds ?? expirationSeconds);
    const { token, expiresAt } = await this.issue(
      {
        namespace: namespace ?? '',
        name: name ?? '',
        uid: sa.metadata.uid ?? '',
        ...(secret === undefined ? {} : { secret }),
      },
      granted,
      seconds,
    );
    return {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: name ?? '', namespace: namespace ?? '', creationTimestamp: new Date().toISOString() },
      spec: {
        audiences: granted,
        expirationSeconds: seconds,
        boundObjectRef: secret === undefined ? null : { kind: 'Secret', apiVersion: 'v1', ...secret },
      },
      status: { token, expirationTimestamp: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    } as unknown as KubeObject;
  };
}

const invalidTokenRequest = (value: number, message: string) =>
  new ApiError(
    'Invalid',
    `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: ${value}: ${message}`,
    {
      group: 'authentication.k8s.io',
      kind: 'TokenRequest',
      causes: [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${value}: ${message}`,
          field: 'spec.expirationSeconds',
        },
      ],
    },
  );
