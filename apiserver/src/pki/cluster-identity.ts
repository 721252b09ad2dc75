// The cluster's identity shared through the store, as k3s shares it through its datastore: the first server seals
// its CA, admin token, ServiceAccount signing key and Secrets encryption config with the server token every server
// is given, and stores them; a later server opens them into its own data dir, so every server issues and accepts
// the same credentials (one kubeconfig, one ServiceAccount token, one Secrets key for all).

import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { readFile, rm, writeFile, mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError } from '@berth/api';
import { encryptionConfigFile, ensureEncryptionConfig } from '../encryption/encryption-config.js';
import type { Store } from '../storage/interface.js';
import { ensurePki } from './pki.js';

/** Outside `/registry/`: never served as an object, but kept (and backed up) with the cluster. */
export const clusterIdentityKey = '/berth/cluster-identity';

/** The server token does not open the identity another server stored (k3s: "bootstrap data … wrong token"). */
export class ClusterTokenError extends BerthError<'BERTH_CLUSTER_TOKEN_MISMATCH'> {
  constructor(cause?: unknown) {
    super(
      'BERTH_CLUSTER_TOKEN_MISMATCH',
      'the server token does not open the cluster identity stored by the first server (give every server the same --token)',
      { cause },
    );
  }
}

/** The files that make up the identity, relative to the data dir. */
const identityFiles = {
  caCert: 'pki/ca.crt',
  caKey: 'pki/ca.key',
  adminToken: 'pki/admin.token',
  serviceAccountKey: 'pki/service-account.key',
  encryptionConfig: 'encryption-config.yaml',
} as const;
type Identity = Record<keyof typeof identityFiles, string>;

interface Sealed {
  readonly kind: 'berth-cluster-identity';
  readonly salt: string;
  readonly iv: string;
  readonly tag: string;
  readonly data: string;
}

const deriveKey = (token: string, salt: Buffer) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(token, salt, 32, { N: 2 ** 15, maxmem: 64 * 1024 * 1024 }, (e, key) => (e ? reject(e) : resolve(key))),
  );

async function seal(identity: Identity, token: string): Promise<string> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(token, salt), iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(identity), 'utf8'), cipher.final()]);
  const sealed: Sealed = {
    kind: 'berth-cluster-identity',
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return JSON.stringify(sealed);
}

async function open(text: string, token: string): Promise<Identity> {
  const sealed = JSON.parse(text) as Sealed;
  const decipher = createDecipheriv(
    'aes-256-gcm',
    await deriveKey(token, Buffer.from(sealed.salt, 'base64')),
    Buffer.from(sealed.iv, 'base64'),
  );
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  try {
    const plain = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as Identity;
  } catch (e) {
    throw new ClusterTokenError(e);
  }
}

async function readIdentity(dataDir: string): Promise<Identity> {
  const entries = await Promise.all(
    Object.entries(identityFiles).map(async ([k, file]) => [k, await readFile(join(dataDir, file), 'utf8')] as const),
  );
  return Object.fromEntries(entries) as Identity;
}

/** Writes the shared identity into the data dir; a serving certificate of another CA is dropped to be reissued. */
async function writeIdentity(dataDir: string, identity: Identity): Promise<void> {
  const ownCa = await readFile(join(dataDir, identityFiles.caCert), 'utf8').catch(() => undefined);
  if (ownCa !== identity.caCert) {
    await rm(join(dataDir, 'pki/server.crt'), { force: true });
    await rm(join(dataDir, 'pki/server.key'), { force: true });
  }
  for (const [k, file] of Object.entries(identityFiles)) {
    const path = join(dataDir, file);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(`${path}.tmp-${process.pid}`, identity[k as keyof Identity], { mode: 0o600 });
    await rename(`${path}.tmp-${process.pid}`, path);
  }
}

/**
 * Makes the data dir hold the cluster's identity: the one in the store (opened with `token`), or, for the first
 * server, this data dir's own (made if missing), which it then stores. Returns which of the two happened.
 */
export async function shareClusterIdentity(store: Store, dataDir: string, token: string): Promise<'joined' | 'first'> {
  for (;;) {
    const stored = await store.get(clusterIdentityKey);
    if (stored !== undefined) {
      await writeIdentity(dataDir, await open(stored.value, token));
      return 'joined';
    }
    await ensurePki(dataDir, []);
    await ensureEncryptionConfig(encryptionConfigFile(dataDir));
    const sealed = await seal(await readIdentity(dataDir), token);
    const result = await store.create(clusterIdentityKey, () => sealed);
    if (result.ok) return 'first';
    // Another server stored its identity first: take that one.
  }
}
