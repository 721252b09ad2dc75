// The value transformer of encrypted resources, in kube-apiserver's storage format: `k8s:enc:aesgcm:v1:<key>:`
// then nonce, ciphertext and tag (base64 here, as the store holds text), the storage key as additional
// authenticated data so a ciphertext cannot be moved to another object. Reading tries the key the value names;
// a value without the prefix is plaintext (written before encryption was turned on).

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BerthError } from '@berth/api';
import type { AesGcmKey, EncryptionConfig } from './encryption-config.js';

const marker = 'k8s:enc:aesgcm:v1:';

export class DecryptionError extends BerthError<'BERTH_STORAGE_DECRYPT_FAILED'> {
  constructor(key: string, why: string, options?: { cause?: unknown }) {
    super('BERTH_STORAGE_DECRYPT_FAILED', `cannot decrypt ${key}: ${why}`, options);
  }
}

export class Envelope {
  readonly #write: AesGcmKey | undefined;
  readonly #keys: ReadonlyMap<string, AesGcmKey>;

  constructor(config: EncryptionConfig) {
    const first = config.providers[0];
    this.#write = first?.kind === 'aesgcm' ? first.keys[0] : undefined;
    this.#keys = new Map(config.providers.flatMap((p) => (p.kind === 'aesgcm' ? p.keys.map((k) => [k.name, k]) : [])));
  }

  /** The name of the key new writes use, undefined when they are written in plaintext. */
  get writeKey(): string | undefined {
    return this.#write?.name;
  }

  /** The key a stored value was written with, undefined for plaintext. */
  static keyOf(stored: string): string | undefined {
    if (!stored.startsWith(marker)) return undefined;
    return stored.slice(marker.length, stored.indexOf(':', marker.length));
  }

  seal(storageKey: string, plaintext: string): string {
    const key = this.#write;
    if (key === undefined) return plaintext;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.secret, nonce);
    cipher.setAAD(Buffer.from(storageKey));
    const body = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${marker}${key.name}:${body.toString('base64')}`;
  }

  open(storageKey: string, stored: string): string {
    if (!stored.startsWith(marker)) return stored;
    const name = Envelope.keyOf(stored) ?? '';
    const key = this.#keys.get(name);
    if (key === undefined) throw new DecryptionError(storageKey, `no key named ${JSON.stringify(name)}`);
    const body = Buffer.from(stored.slice(marker.length + name.length + 1), 'base64');
    if (body.length < 28) throw new DecryptionError(storageKey, 'value too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.secret, body.subarray(0, 12));
      decipher.setAAD(Buffer.from(storageKey));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString('utf8');
    } catch (e) {
      throw new DecryptionError(storageKey, 'authentication failed', { cause: e });
    }
  }
}
