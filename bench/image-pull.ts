// Image pull from a loopback registry into an empty store: berth's ImageStore vs `skopeo copy` to an OCI dir.
//
//   node --import=tsx bench/image-pull.ts [--runs N]
//
// Starts its own registry (hack/registry.sh, free port), pushes the busybox image, then alternates the two
// pulls N times, each into a fresh empty directory. berth's pull also unpacks the layer (what a container
// start needs); skopeo only stores blobs, so a third line fetches blobs only (like for like). Prints
// medians and ratios (goal: berth ≤ 1.2× skopeo). BENCH_VERBOSE=1 prints every sample.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalContentStore } from '../node-agent/src/content/local-store.js';
import { ImageStore } from '../node-agent/src/images/image-store.js';
import { RegistryClient } from '../node-agent/src/distribution/client.js';
import { parseReference } from '../node-agent/src/distribution/reference.js';
import { freePort } from '@berth/testkit';
import { median } from './timing.js';

const execFileAsync = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const warmup = 2;

const port = await freePort();
const work = await mkdtemp(join(tmpdir(), 'berth-bench-pull-'));
const registryArgs = ['--port', String(port), '--dir', join(work, 'registry')];
try {
  await execFileAsync(join(repo, 'hack', 'registry.sh'), ['start', ...registryArgs]);
  await execFileAsync(join(repo, 'hack', 'busybox-image.sh'), [`127.0.0.1:${port}`], {
    env: { ...process.env, BERTH_BUSYBOX_OCI: join(work, 'layout') },
  });
  const image = `127.0.0.1:${port}/library/busybox:latest`;
  const berth: number[] = [];
  const fetchOnly: number[] = [];
  const skopeo: number[] = [];
  // Like for like with skopeo: manifest, config and layer into a content store, verified, not unpacked.
  const fetchBlobs = async (root: string): Promise<void> => {
    const client = new RegistryClient();
    const content = new LocalContentStore(root);
    const ref = parseReference(image);
    const resolved = await client.resolve(ref);
    for (const descriptor of [resolved.manifest.config, ...resolved.manifest.layers]) {
      const writer = await content.writer({ ref: descriptor.digest, digest: descriptor.digest, size: descriptor.size });
      await writer.write((await client.fetchBlob(ref, descriptor)).body);
      await writer.commit();
    }
    await client.close();
  };
  for (let i = 0; i < warmup + runs; i++) {
    const root = await mkdtemp(join(work, 'berth-'));
    const store = new ImageStore({ root });
    let start = performance.now();
    await store.pull(image);
    const berthMs = performance.now() - start;
    await store.close();
    const fetchRoot = await mkdtemp(join(work, 'fetch-'));
    start = performance.now();
    await fetchBlobs(fetchRoot);
    const fetchMs = performance.now() - start;
    const dest = await mkdtemp(join(work, 'skopeo-'));
    start = performance.now();
    await execFileAsync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${image}`, `oci:${dest}:latest`]);
    const skopeoMs = performance.now() - start;
    if (i >= warmup) {
      berth.push(berthMs);
      fetchOnly.push(fetchMs);
      skopeo.push(skopeoMs);
    }
    await rm(root, { recursive: true, force: true });
    await rm(fetchRoot, { recursive: true, force: true });
    await rm(dest, { recursive: true, force: true });
  }
  const b = median(berth);
  const s = median(skopeo);
  if (process.env.BENCH_VERBOSE)
    for (const [name, xs] of [
      ['pull', berth],
      ['fetch', fetchOnly],
      ['skopeo', skopeo],
    ] as const)
      console.log(name, xs.map((x) => x.toFixed(0)).join(' '));
  console.log(`image pull, busybox (1 layer, ${runs} runs each, medians, loopback registry)`);
  console.log(`  berth ImageStore.pull (download + verify + unpack): ${b.toFixed(1)} ms`);
  const f = median(fetchOnly);
  console.log(`  berth fetch only (download + verify, no unpack):     ${f.toFixed(1)} ms`);
  console.log(`  skopeo copy docker:// → oci: (download only):        ${s.toFixed(1)} ms`);
  console.log(
    `  ratio berth pull / skopeo: ${(b / s).toFixed(2)}× (goal ≤ 1.2×); berth fetch only / skopeo: ${(f / s).toFixed(2)}×`,
  );
} finally {
  await execFileAsync(join(repo, 'hack', 'registry.sh'), ['stop', ...registryArgs]).catch(() => {});
  await rm(work, { recursive: true, force: true });
}
