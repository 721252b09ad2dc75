// Image pull from a loopback registry: berth's ImageStore beside skopeo, umoci, GNU tar and podman, cold and warm.
//
//   node --conditions=berth-src --import=tsx bench/image-pull.ts [--runs N] [--no-podman] [--image busybox|multi]
//
// Starts its own registry (hack/registry.sh, free port) and pushes two images: busybox (hack/busybox-image.sh,
// one layer, 285 entries, most of them symlinks) and "multi", built here (busybox plus three layers: 1,000 small
// text files, 6 MiB of incompressible data, and a layer with symlinks, a hard link and a whiteout). Then, N times
// per image, in an order rotated every round so no peer always goes first:
//
//   cold, each into a fresh empty directory:
//     berth pull        ImageStore.pull: download + verify + unpack (what a container start needs)
//     berth fetch       manifest, config and layers into a content store, verified, not unpacked
//     skopeo            `skopeo copy docker:// oci:` (download only): the issue's goal row, ≤ 1.2×
//     skopeo+umoci      the same, then `umoci raw unpack` (download + unpack, like berth pull)
//     skopeo+tar        the same, then `tar -xzf` of each layer (an unpack floor: no whiteouts, no checks)
//     podman            `podman pull` into a fresh --root (overlay driver): download + unpack + its storage
//   warm, the same image again into the same store (unchanged tag: a manifest request, nothing else to do):
//     berth pull, skopeo copy, podman pull
//
// Prints medians of wall time and of CPU (user + system, all threads; a child's as `times` reports it), and
// ratios of berth's pull to each peer. CPU moves less than wall time on a loaded machine. Every child runs under
// one `bash` that times it from inside ($EPOCHREALTIME) and reports its CPU (`times`). Trees are removed at the end, not after each run: on a journal-less ext4 (this machine)
// creating an inode scans every inode freed in its group in the last 30 s, so deleting each run's tree would slow
// the next run's creates (every peer's alike). BENCH_VERBOSE=1 prints every sample.
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
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
const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(argValue('--runs') ?? 15);
const withPodman = !process.argv.includes('--no-podman');
const onlyImage = argValue('--image');
const warmup = 2;

interface Sample {
  wall: number;
  cpu: number;
}

interface BenchImage {
  readonly name: string;
  readonly title: string;
  readonly reference: string;
  /** Layer blob digests (hex), base first, for the tar peer. */
  readonly layers: readonly string[];
}

/**
 * Runs `script` under bash (-e); returns its wall time, taken inside the shell ($EPOCHREALTIME, so neither Node's
 * spawn nor bash's own start is counted: on a loaded machine those alone took 0.5–1 s), and its children's CPU
 * from bash's `times`.
 */
async function timedShell(script: string, args: readonly string[]): Promise<Sample> {
  const { stdout } = await execFileAsync(
    'bash',
    ['-ec', `start=$EPOCHREALTIME\n${script}\nend=$EPOCHREALTIME\ntimes\necho "$start $end"`, 'bench', ...args],
    { maxBuffer: 1 << 20 },
  );
  const lines = stdout.trim().split('\n');
  const [start, end] = (lines.at(-1) ?? '').split(' ').map(Number);
  // `times` prints the shell's own user/sys, then its children's: "0m0.016s 0m0.021s".
  const children = lines.at(-2) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wall: ((end ?? 0) - (start ?? 0)) * 1000, cpu: ((seconds[0] ?? 0) + (seconds[1] ?? 0)) * 1000 };
}

async function timedInProcess(work: () => Promise<unknown>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await work();
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

/** Deterministic bytes: zlib cannot shrink AES-CTR output, and the same seed gives the same image digest. */
function noise(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Tars `dir` reproducibly (as hack/busybox-image.sh does), gzips it, stores it in the layout; returns its descriptor. */
async function addLayer(layout: string, dir: string): Promise<{ digest: string; size: number; diffID: string }> {
  const tarFile = `${dir}.tar`;
  await execFileAsync('tar', [
    '-C',
    dir,
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '-cf',
    tarFile,
    '.',
  ]);
  const diffID = `sha256:${createHash('sha256')
    .update(await readFile(tarFile))
    .digest('hex')}`;
  await execFileAsync('gzip', ['-n', '-6', tarFile]);
  const gz = await readFile(`${tarFile}.gz`);
  const hex = createHash('sha256').update(gz).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), gz);
  return { digest: `sha256:${hex}`, size: gz.length, diffID };
}

/** busybox plus three layers of generated files, as an OCI layout, pushed as bench/multi:latest. */
async function pushMultiImage(work: string, busyboxLayout: string, registry: string): Promise<BenchImage> {
  const layout = join(work, 'multi-layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  const busyboxIndex = JSON.parse(await readFile(join(busyboxLayout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const baseDigest = busyboxIndex.manifests[0]?.digest.slice('sha256:'.length) ?? '';
  const baseManifest = JSON.parse(await readFile(join(busyboxLayout, 'blobs', 'sha256', baseDigest), 'utf8')) as {
    config: { digest: string };
    layers: { digest: string; size: number; mediaType: string }[];
  };
  const baseConfig = JSON.parse(
    await readFile(join(busyboxLayout, 'blobs', 'sha256', baseManifest.config.digest.slice(7)), 'utf8'),
  ) as { rootfs: { diff_ids: string[] } };
  const base = baseManifest.layers[0];
  if (base === undefined) throw new Error('busybox layout has no layer');
  await writeFile(
    join(layout, 'blobs', 'sha256', base.digest.slice(7)),
    await readFile(join(busyboxLayout, 'blobs', 'sha256', base.digest.slice(7))),
  );
  const trees = join(work, 'multi-trees');
  // An application: 40 directories of 25 small source-like files (compressible).
  const app = join(trees, 'app');
  for (let d = 0; d < 40; d++) {
    await mkdir(join(app, 'srv', 'app', `module-${d}`, 'lib'), { recursive: true });
    for (let f = 0; f < 25; f++) {
      const lines = Array.from(
        { length: 20 + ((d * 25 + f) % 80) },
        (_, i) => `export function handler${d}_${f}_${i}(input) { return input.value * ${i} + ${d}; }\n`,
      );
      await writeFile(join(app, 'srv', 'app', `module-${d}`, 'lib', `file-${f}.js`), lines.join(''));
    }
  }
  // Data: three 2 MiB files zlib cannot shrink.
  const data = join(trees, 'data');
  await mkdir(join(data, 'srv', 'data'), { recursive: true });
  for (let i = 0; i < 3; i++) await writeFile(join(data, 'srv', 'data', `blob-${i}.bin`), noise(`multi-${i}`, 2 << 20));
  // Configuration: files, symlinks, a hard link, and a whiteout of one application file.
  const conf = join(trees, 'conf');
  await mkdir(join(conf, 'etc', 'app'), { recursive: true });
  await mkdir(join(conf, 'srv', 'app', 'module-0', 'lib'), { recursive: true });
  for (let i = 0; i < 30; i++) {
    await writeFile(join(conf, 'etc', 'app', `setting-${i}.conf`), `name=setting-${i}\nvalue=${i * 7}\n`);
    await symlink(`setting-${i}.conf`, join(conf, 'etc', 'app', `alias-${i}.conf`));
  }
  await link(join(conf, 'etc', 'app', 'setting-0.conf'), join(conf, 'etc', 'app', 'hardlink.conf'));
  await writeFile(join(conf, 'srv', 'app', 'module-0', 'lib', '.wh.file-0.js'), '');
  const layers = [
    { digest: base.digest, size: base.size, diffID: baseConfig.rootfs.diff_ids[0] ?? '' },
    await addLayer(layout, app),
    await addLayer(layout, data),
    await addLayer(layout, conf),
  ];
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    }),
  );
  const configHex = createHash('sha256').update(config).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', configHex), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${configHex}`,
        size: config.length,
      },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.size,
      })),
    }),
  );
  const manifestHex = createHash('sha256').update(manifest).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', manifestHex), manifest);
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${manifestHex}`,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
  const reference = `${registry}/bench/multi:latest`;
  await execFileAsync('skopeo', [
    'copy',
    '-q',
    '--preserve-digests',
    '--dest-tls-verify=false',
    `oci:${layout}:latest`,
    `docker://${reference}`,
  ]);
  await rm(trees, { recursive: true, force: true });
  return {
    name: 'multi',
    title: 'multi (4 layers: busybox + 1,000 text files + 6 MiB of noise + links and a whiteout)',
    reference,
    layers: layers.map((l) => l.digest.slice(7)),
  };
}

/** The layer digests of a one-manifest OCI layout, base first. */
async function layoutLayers(layout: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(
    await readFile(join(layout, 'blobs', 'sha256', index.manifests[0]?.digest.slice(7) ?? ''), 'utf8'),
  ) as { layers: { digest: string }[] };
  return manifest.layers.map((l) => l.digest.slice(7));
}

/** Like for like with skopeo: manifest, config and layers into a content store, verified, not unpacked. */
async function fetchBlobs(image: string, root: string): Promise<void> {
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
}

const skopeoCopy = 'skopeo copy -q --src-tls-verify=false "docker://$1" "oci:$2:latest"';
const podmanPull =
  'podman --root "$2/root" --runroot "$2/run" --storage-driver overlay pull -q --tls-verify=false "docker://$1" >/dev/null';

type Peer = 'berth' | 'fetch' | 'skopeo' | 'skopeo+umoci' | 'skopeo+tar' | 'podman';
const coldPeers: Peer[] = [
  'berth',
  'fetch',
  'skopeo',
  'skopeo+umoci',
  'skopeo+tar',
  ...(withPodman ? ['podman' as const] : []),
];
const warmPeers: Peer[] = ['berth', 'skopeo', ...(withPodman ? ['podman' as const] : [])];

async function benchImage(image: BenchImage, work: string): Promise<void> {
  const cold = new Map<Peer, Sample[]>(coldPeers.map((p) => [p, []]));
  const warm = new Map<Peer, Sample[]>(warmPeers.map((p) => [p, []]));
  const loads: number[] = [];
  const podmanRoots: string[] = [];
  for (let round = 0; round < warmup + runs; round++) {
    const measured = round >= warmup;
    loads.push(loadavg()[0] ?? 0);
    // Each peer's cold pull, then at once its warm pull into the same place, so an agent's open store and a
    // podman's fresh storage are both as a user meets them.
    const order = coldPeers.map((_, i) => coldPeers[(i + round) % coldPeers.length] as Peer);
    for (const peer of order) {
      // Short names: podman refuses a runroot path longer than 50 characters.
      const dir = await mkdtemp(join(work, `${image.name.slice(0, 1)}${coldPeers.indexOf(peer)}-`));
      let coldSample: Sample;
      let warmSample: Sample | undefined;
      switch (peer) {
        case 'berth': {
          const store = new ImageStore({ root: dir });
          coldSample = await timedInProcess(() => store.pull(image.reference));
          warmSample = await timedInProcess(() => store.pull(image.reference));
          await store.close();
          break;
        }
        case 'fetch':
          coldSample = await timedInProcess(() => fetchBlobs(image.reference, dir));
          break;
        case 'skopeo':
          coldSample = await timedShell(skopeoCopy, [image.reference, join(dir, 'oci')]);
          warmSample = await timedShell(skopeoCopy, [image.reference, join(dir, 'oci')]);
          break;
        case 'skopeo+umoci':
          coldSample = await timedShell(`${skopeoCopy}\numoci raw unpack --image "$2:latest" "$3" >/dev/null 2>&1`, [
            image.reference,
            join(dir, 'oci'),
            join(dir, 'rootfs'),
          ]);
          break;
        case 'skopeo+tar':
          coldSample = await timedShell(
            `${skopeoCopy}\nmkdir "$3"\nfor l in "\${@:4}"; do tar -C "$3" -xzf "$2/blobs/sha256/$l"; done`,
            [image.reference, join(dir, 'oci'), join(dir, 'rootfs'), ...image.layers],
          );
          break;
        case 'podman':
          podmanRoots.push(dir);
          coldSample = await timedShell(podmanPull, [image.reference, dir]);
          warmSample = await timedShell(podmanPull, [image.reference, dir]);
          break;
      }
      if (!measured) continue;
      cold.get(peer)?.push(coldSample);
      if (warmSample !== undefined) warm.get(peer)?.push(warmSample);
    }
  }
  await unmountUnder(podmanRoots);
  const med = (xs: readonly Sample[] | undefined, key: keyof Sample): number => median((xs ?? []).map((x) => x[key]));
  const labels: Record<Peer, string> = {
    berth: 'berth ImageStore.pull (download + verify + unpack)',
    fetch: 'berth fetch only (download + verify, no unpack)',
    skopeo: 'skopeo copy docker:// → oci: (download only)',
    'skopeo+umoci': 'skopeo copy + umoci raw unpack',
    'skopeo+tar': 'skopeo copy + tar -xzf each layer (no checks)',
    podman: 'podman pull, fresh --root (overlay)',
  };
  const warmLabels: Partial<Record<Peer, string>> = {
    berth: 'berth ImageStore.pull again (same store)',
    skopeo: 'skopeo copy again (same oci: dir)',
    podman: 'podman pull again (same --root)',
  };
  const row = (label: string, xs: readonly Sample[] | undefined): string =>
    `  ${label.padEnd(52)} ${med(xs, 'wall').toFixed(1).padStart(8)} ms ${med(xs, 'cpu').toFixed(1).padStart(8)} ms`;
  console.log(
    `\n${image.title}: ${runs} runs each, medians; load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
  console.log(`  ${'cold (empty store)'.padEnd(52)} ${'wall'.padStart(11)} ${'CPU'.padStart(11)}`);
  for (const peer of coldPeers) console.log(row(labels[peer], cold.get(peer)));
  console.log('  warm (image present, tag unchanged)');
  for (const peer of warmPeers) console.log(row(warmLabels[peer] ?? peer, warm.get(peer)));
  const ratio = (a: Sample[] | undefined, b: Sample[] | undefined, key: keyof Sample): string =>
    (med(a, key) / med(b, key)).toFixed(2);
  const b = cold.get('berth');
  const w = warm.get('berth');
  console.log(
    `  ratio berth pull / skopeo copy: cold ${ratio(b, cold.get('skopeo'), 'wall')}× wall (${ratio(b, cold.get('skopeo'), 'cpu')}× CPU), ` +
      `warm ${ratio(w, warm.get('skopeo'), 'wall')}× wall (${ratio(w, warm.get('skopeo'), 'cpu')}× CPU); goal ≤ 1.2×`,
  );
  console.log(
    `  ratio berth pull / skopeo + umoci: ${ratio(b, cold.get('skopeo+umoci'), 'wall')}× wall; / skopeo + tar: ` +
      `${ratio(b, cold.get('skopeo+tar'), 'wall')}× wall` +
      (withPodman
        ? `; / podman: cold ${ratio(b, cold.get('podman'), 'wall')}×, warm ${ratio(w, warm.get('podman'), 'wall')}× wall`
        : ''),
  );
  console.log(`  ratio berth fetch only / skopeo copy: ${ratio(cold.get('fetch'), cold.get('skopeo'), 'wall')}× wall`);
  if (process.env.BENCH_VERBOSE)
    for (const [kind, table] of [
      ['cold', cold],
      ['warm', warm],
    ] as const)
      for (const [peer, xs] of table)
        console.log(`  ${kind} ${peer}: ${xs.map((x) => `${x.wall.toFixed(0)}/${x.cpu.toFixed(0)}`).join(' ')}`);
}

/** podman leaves its overlay storage mounted; unmount whatever is under the given roots, deepest first. */
async function unmountUnder(roots: readonly string[]): Promise<void> {
  if (roots.length === 0) return;
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => roots.some((r) => point === r || point.startsWith(`${r}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await execFileAsync('umount', [point]).catch(() => {});
}

const port = await freePort();
const work = await mkdtemp(join(tmpdir(), 'berth-bench-pull-'));
const registryArgs = ['--port', String(port), '--dir', join(work, 'registry')];
try {
  await execFileAsync(join(repo, 'hack', 'registry.sh'), ['start', ...registryArgs]);
  const busyboxLayout = join(work, 'busybox-layout');
  await execFileAsync(join(repo, 'hack', 'busybox-image.sh'), [`127.0.0.1:${port}`], {
    env: { ...process.env, BERTH_BUSYBOX_OCI: busyboxLayout },
  });
  const images: BenchImage[] = [
    {
      name: 'busybox',
      title: 'busybox (1 layer, 285 entries: 268 symlinks)',
      reference: `127.0.0.1:${port}/library/busybox:latest`,
      layers: await layoutLayers(busyboxLayout),
    },
    await pushMultiImage(work, busyboxLayout, `127.0.0.1:${port}`),
  ];
  console.log(`image pull from a loopback registry; peers: ${[...new Set([...coldPeers, ...warmPeers])].join(', ')}`);
  for (const image of images) if (onlyImage === undefined || onlyImage === image.name) await benchImage(image, work);
} finally {
  await execFileAsync(join(repo, 'hack', 'registry.sh'), ['stop', ...registryArgs]).catch(() => {});
  await unmountUnder([work]);
  await rm(work, { recursive: true, force: true });
}
