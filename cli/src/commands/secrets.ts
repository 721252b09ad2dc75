// `berth secrets rotate-key`: a new key encrypts Secrets from the next start of `berth up` on, which then
// re-encrypts every stored Secret with it; the old keys stay in the file so nothing sealed with them is lost.
import { resolve } from 'node:path';
import { encryptionConfigFile, rotateEncryptionKey } from '@berth/apiserver';

export async function rotateKey(opts: { dataDir: string }): Promise<string> {
  const file = encryptionConfigFile(resolve(opts.dataDir));
  const name = await rotateEncryptionKey(file);
  return `berth secrets: ${name} now encrypts Secrets (${file}); restart berth up to re-encrypt the stored ones\n`;
}
