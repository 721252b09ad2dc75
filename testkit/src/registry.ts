// Test fixture: a real docker-registry on a free loopback port (via hack/registry.sh), torn down with the test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { runHackScript } from './hack-script.js';
import type { Teardown } from './teardown.js';

export interface RegistryOptions {
  readonly htpasswd?: string;
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly token?: {
    readonly realm: string;
    readonly service: string;
    readonly issuer: string;
    readonly rootCertBundle: string;
  };
}

export interface TestRegistry {
  /** 127.0.0.1:<port> */
  readonly address: string;
  readonly port: number;
  /** The state dir; blobs live under storage/docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data. */
  readonly dir: string;
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

export async function startRegistry(t: Teardown, options: RegistryOptions = {}): Promise<TestRegistry> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-test-'));
  const args = ['start', '--port', String(port), '--dir', dir];
  if (options.htpasswd !== undefined) args.push('--htpasswd', options.htpasswd);
  if (options.tls !== undefined) args.push('--tls', options.tls.cert, options.tls.key);
  if (options.token !== undefined)
    args.push(
      '--token',
      options.token.realm,
      options.token.service,
      options.token.issuer,
      options.token.rootCertBundle,
    );
  const stop = async (): Promise<void> => {
    await runHackScript('registry.sh', ['stop', '--port', String(port), '--dir', dir]);
  };
  t.teardown(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  await runHackScript('registry.sh', args);
  return {
    address: `127.0.0.1:${port}`,
    port,
    dir,
    blobDataPath: (digest) => {
      const hex = digest.slice('sha256:'.length);
      return join(dir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    stop,
  };
}
