// Test fixture: the reproducible one-layer busybox image (hack/busybox-image.sh), pushed to a test registry.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHackScript } from './hack-script.js';
import type { Teardown } from './teardown.js';

/** Builds and pushes the busybox test image to `address`; returns its manifest digest. */
export async function pushBusybox(
  t: Teardown,
  address: string,
  extraEnv: Record<string, string> = {},
): Promise<string> {
  // Each push gets its own OCI layout dir, so parallel test files never rewrite each other's.
  const layout = await mkdtemp(join(tmpdir(), 'berth-busybox-oci-'));
  t.teardown(() => rm(layout, { recursive: true, force: true }));
  const stdout = await runHackScript('busybox-image.sh', [address], { BERTH_BUSYBOX_OCI: layout, ...extraEnv });
  return stdout.trim().split('\n').pop() ?? '';
}
