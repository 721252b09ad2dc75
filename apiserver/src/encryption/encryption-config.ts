// The EncryptionConfiguration file (apiserver.config.k8s.io/v1, as kube-apiserver's --encryption-provider-config):
// which resources are encrypted at rest and with which keys, the first provider writing and all of them reading.
// `ensureEncryptionConfig` makes one with a fresh aesgcm key in the data dir; `rotateEncryptionKey` puts a new key
// first and keeps the old ones, so what they encrypted stays readable until the server re-encrypts it.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError } from '@berth/api';
import { parse, stringify } from 'yaml';

export interface AesGcmKey {
  readonly name: string;
  /** 32 random bytes. */
  readonly secret: Buffer;
}

/** Providers in order: the first writes; `identity` reads (and, first, writes) plaintext. */
export type Provider = { readonly kind: 'aesgcm'; readonly keys: readonly AesGcmKey[] } | { readonly kind: 'identity' };

export interface EncryptionConfig {
  /** Plural resource names with their group (`secrets`, `widgets.example.com`). */
  readonly resources: readonly string[];
  readonly providers: readonly Provider[];
}

export class EncryptionConfigError extends BerthError<'BERTH_ENCRYPTION_CONFIG_INVALID'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BERTH_ENCRYPTION_CONFIG_INVALID', message, options);
  }
}

export const encryptionConfigFile = (dataDir: string): string => join(dataDir, 'encryption-config.yaml');

type Rec = Record<string, unknown>;

/** Reads an EncryptionConfiguration (one resources entry, aesgcm and identity providers). */
export function parseEncryptionConfig(text: string): EncryptionConfig {
  const doc = parse(text) as Rec | null;
  if (doc?.['kind'] !== 'EncryptionConfiguration')
    throw new EncryptionConfigError('not an EncryptionConfiguration (kind must be EncryptionConfiguration)');
  const entries = Array.isArray(doc['resources']) ? (doc['resources'] as Rec[]) : [];
  const entry = entries[0];
  if (entry === undefined || entries.length !== 1)
    throw new EncryptionConfigError('resources must hold exactly one entry');
  const resources = Array.isArray(entry['resources']) ? entry['resources'].map(String) : [];
  const providers = (Array.isArray(entry['providers']) ? (entry['providers'] as Rec[]) : []).map((p): Provider => {
    if (p['identity'] !== undefined) return { kind: 'identity' };
    const aes = p['aesgcm'] as { keys?: unknown } | undefined;
    if (aes === undefined) throw new EncryptionConfigError(`unsupported provider ${Object.keys(p).join(', ')}`);
    const keys = (Array.isArray(aes.keys) ? (aes.keys as Rec[]) : []).map((k) => {
      const secret = Buffer.from(String(k['secret'] ?? ''), 'base64');
      if (secret.length !== 32) throw new EncryptionConfigError(`aesgcm key ${String(k['name'])} must be 32 bytes`);
      return { name: String(k['name'] ?? ''), secret };
    });
    if (keys.length === 0) throw new EncryptionConfigError('aesgcm needs at least one key');
    return { kind: 'aesgcm', keys };
  });
  if (resources.length === 0 || providers.length === 0)
    throw new EncryptionConfigError('resources and providers must not be empty');
  return { resources, providers };
}

export function formatEncryptionConfig(config: EncryptionConfig): string {
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [
      {
        resources: config.resources,
        providers: config.providers.map((p) =>
          p.kind === 'identity'
            ? { identity: {} }
            : { aesgcm: { keys: p.keys.map((k) => ({ name: k.name, secret: k.secret.toString('base64') })) } },
        ),
      },
    ],
  });
}

const newKey = (name: string): AesGcmKey => ({ name, secret: randomBytes(32) });

async function writePrivate(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

/** Loads `path`, first writing one that encrypts Secrets with a fresh aesgcm key when there is none. */
export async function ensureEncryptionConfig(path: string): Promise<EncryptionConfig> {
  try {
    return parseEncryptionConfig(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const config: EncryptionConfig = {
    resources: ['secrets'],
    providers: [{ kind: 'aesgcm', keys: [newKey('key1')] }, { kind: 'identity' }],
  };
  await writePrivate(path, formatEncryptionConfig(config));
  return config;
}

/** Puts a new aesgcm key first (writing), keeping the old keys (reading); returns the new key's name. */
export async function rotateEncryptionKey(path: string): Promise<string> {
  const config = parseEncryptionConfig(await readFile(path, 'utf8'));
  const aes = config.providers.find((p) => p.kind === 'aesgcm');
  const old = aes?.kind === 'aesgcm' ? aes.keys : [];
  let n = old.length + 1;
  while (old.some((k) => k.name === `key${n}`)) n++;
  const key = newKey(`key${n}`);
  const providers: Provider[] = [
    { kind: 'aesgcm', keys: [key, ...old] },
    ...config.providers.filter((p) => p.kind !== 'aesgcm'),
  ];
  await writePrivate(path, formatEncryptionConfig({ ...config, providers }));
  return key.name;
}
