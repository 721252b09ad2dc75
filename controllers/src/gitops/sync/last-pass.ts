// When a Sync last applied whole, and what: a small file per Sync under the data dir whose mtime is the time and
// whose content names the generation, revision and artifact digest. A pass caused by the Sync's own status write
// (or by anything else within the interval) finds nothing new and is skipped, so a change costs one pass, not
// two; like the source's FETCH_HEAD it is state on disk, not memory kept per key, and losing it only costs a pass.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function lastPassPath(dataDir: string, namespace: string, name: string): string {
  return join(dataDir, 'syncs', namespace, name);
}

/** The last recorded pass, or undefined. */
export async function readLastPass(path: string): Promise<{ at: number; key: string } | undefined> {
  try {
    const [info, key] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    return { at: info.mtimeMs, key };
  } catch {
    return undefined;
  }
}

export async function recordPass(path: string, key: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, key);
}

export async function forgetPass(path: string): Promise<void> {
  await rm(path, { force: true });
}
