// `berth build | tag | push | commit | rmi` as a user types them, against a real berth (API server,
// controllers with the image build controller, a node agent with crun) and a loopback registry: a multi-stage build
// uploaded and followed, run, edited and rebuilt from the edited step, rebuilt unchanged with 0 steps run, pushed;
// a container committed and its file found in the new image; the pushed image pulled by digest onto a second node
// with a clean data dir and run there; a RUN's output shown while it runs; `berth save` read by skopeo and
// skopeo's archive loaded back; contexts from a git URL and from a GitRepository on a loopback git daemon.
// Needs root, crun, conmon, skopeo, git.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type V1ConfigMap } from '@kubernetes/client-node';
import t from 'tap';
import { type Container, gitContextConfigMapName, type Image } from '@berth/api';
import {
  eventually,
  freePort,
  pushBusybox,
  pushTwoPlatformBusybox,
  startRegistry,
  startTestAgent,
  startTestCluster,
} from '@berth/testkit';
import { berth, berthBackground } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image: busybox } = cluster;
const registry = busybox.split('/')[0] ?? '';
const custom = server.kubeConfig().makeApiClient(CustomObjectsApi);
const where = { group: 'berth.dev', version: 'v1alpha1', namespace: 'default' };

const getImage = async (name: string): Promise<Image> =>
  (await custom.getNamespacedCustomObject({ ...where, plural: 'images', name })) as Image;

/** Creates the Image `name` with `spec` through the API, as a user's manifest would (no CLI). */
const createImage = (name: string, spec: Image['spec']): Promise<unknown> =>
  custom.createNamespacedCustomObject({
    ...where,
    plural: 'images',
    body: { apiVersion: 'berth.dev/v1alpha1', kind: 'Image', metadata: { name }, spec },
  });

/** The Image `name` once a node has settled it, Ready or Failed (the last one read when `ms` runs out). */
async function settledImage(name: string, ms: number): Promise<Image | undefined> {
  let image: Image | undefined;
  await eventually(async () => {
    image = await getImage(name);
    return image.status?.phase === 'Ready' || image.status?.phase === 'Failed';
  }, ms);
  return image;
}

const dir = await mkdtemp(join(tmpdir(), 'berth-build-cli-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await writeFile(
  join(dir, 'Dockerfile'),
  `FROM ${busybox} AS build
ARG WHO=nobody
RUN echo base > /base.txt
COPY name.txt /
RUN echo "hi from $(cat /name.txt) for $WHO" > /out.txt
FROM ${busybox}
COPY --from=build /out.txt /app/out.txt
CMD ["cat", "/app/out.txt"]
`,
);
await writeFile(join(dir, 'name.txt'), 'berth');
await writeFile(join(dir, '.dockerignore'), 'secret\n');
await writeFile(join(dir, 'secret'), 'not sent');
const app = `${registry}/demo/app:v1`;

t.test(
  'build: steps followed, run, edited and rebuilt from the edit, rebuilt unchanged with nothing run',
  async (t) => {
    const first = await berth(server, ['build', '-t', app, '--build-arg', 'WHO=tests', '--push', dir]);
    t.equal(first.code, 0, first.stderr);
    t.match(first.stdout, /^Sending build context to berth \(3 files, \d+ bytes\)\n/, 'the ignored file is not sent');
    t.match(first.stdout, new RegExp(`Step 1 : FROM ${busybox} AS build\n`));
    t.match(first.stdout, /Step 3 : RUN echo base > \/base.txt\n ---> Ran in \d+\.\d\ds\n/);
    t.match(first.stdout, /Successfully built [0-9a-f]{12} \(4 steps ran, 0 cached, [\d.]+s\)\nSuccessfully tagged /);
    t.match(first.stdout, new RegExp(`Pushed ${app}@sha256:`));
    t.comment(first.stdout.trim().split('\n').at(-3) ?? '');

    const ran = await berth(server, ['run', '--name', 'app-run', app]);
    t.equal(ran.code, 0, ran.stderr);
    t.equal(ran.stdout, 'hi from berth for tests\n', 'the built image runs its CMD');

    await writeFile(join(dir, 'name.txt'), 'an edit');
    const edited = await berth(server, ['build', '-t', app, '--build-arg', 'WHO=tests', dir]);
    t.equal(edited.code, 0, edited.stderr);
    t.match(
      edited.stdout,
      /Step 3 : RUN echo base > \/base.txt\n ---> Using cache\n/,
      'the step before the edit is cached',
    );
    t.match(edited.stdout, /Step 4 : COPY name.txt \/\n ---> Ran in/, 'the edited COPY runs');
    t.match(edited.stdout, /\(3 steps ran, 1 cached/);
    t.comment(edited.stdout.trim().split('\n').at(-2) ?? '');

    const again = await berth(server, ['build', '-t', app, '--build-arg', 'WHO=tests', dir]);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /\(0 steps ran, 4 cached/, 'the unchanged rebuild runs nothing');
    t.comment(again.stdout.trim().split('\n').at(-2) ?? '');
  },
);

t.test('tag and push: the same digest under a new name in the registry', async (t) => {
  const v2 = `${registry}/demo/app:v2`;
  const tagged = await berth(server, ['tag', app, v2]);
  t.equal(tagged.code, 0, tagged.stderr);
  const pushed = await berth(server, ['push', v2]);
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(
    pushed.stdout,
    new RegExp(
      `^The push refers to repository \\[${registry}/demo/app\\]\n([0-9a-f]{12}: (Preparing|Pushing|Pushed|Layer already exists)\n)+v2: digest: sha256:[0-9a-f]{64} size: \\d+\n$`,
    ),
  );
  const v1 = await getImage((await imageNamed(app)) ?? '');
  t.match(pushed.stdout, v1.status?.digest ?? 'missing', 'the tag names the same manifest');
  t.match(pushed.stdout, /: Layer already exists\n/, 'the base layer build --push sent is not sent again');

  // A repository the registry has no blob of: each layer is pushed, in docker push's words.
  const copy = `${registry}/demo/copy:v1`;
  t.equal((await berth(server, ['tag', app, copy])).code, 0);
  const fresh = await berth(server, ['push', copy]);
  t.equal(fresh.code, 0, fresh.stderr);
  const lines = fresh.stdout.trimEnd().split('\n');
  t.equal(lines[0], `The push refers to repository [${registry}/demo/copy]`);
  t.match(lines.at(-1), /^v1: digest: sha256:[0-9a-f]{64} size: \d+$/);
  const steps = new Map<string, string[]>();
  for (const line of lines.slice(1, -1)) {
    const [id = '', state = ''] = line.split(': ');
    t.match(id, /^[0-9a-f]{12}$/, line);
    steps.set(id, [...(steps.get(id) ?? []), state]);
  }
  t.ok(steps.size >= 2, `every layer of the two-stage image: ${fresh.stdout}`);
  for (const [id, seen] of steps) t.equal(seen.at(-1), 'Pushed', `${id}: ${seen.join(' → ')}`);
});

async function imageNamed(reference: string): Promise<string | undefined> {
  const list = (await custom.listNamespacedCustomObject({ ...where, plural: 'images' })) as { items: Image[] };
  return list.items.find((i) => i.spec.image === reference)?.metadata.name;
}

t.test('commit: a container that wrote a file becomes an image with the file; rmi removes the name', async (t) => {
  const writer = await berth(server, [
    'run',
    '-d',
    '--name',
    'writer',
    busybox,
    'sh',
    '-c',
    'echo written > /data.txt; sleep 60',
  ]);
  t.equal(writer.code, 0, writer.stderr);
  await eventually(async () => {
    const c = (await custom.getNamespacedCustomObject({ ...where, plural: 'containers', name: 'writer' })) as Container;
    return c.status?.phase === 'Running';
  }, 30_000);
  const committed = `${registry}/demo/committed:1`;
  // The file is written by the container's first command: wait until it is in its writable layer.
  await eventually(async () => {
    const c = (await custom.getNamespacedCustomObject({ ...where, plural: 'containers', name: 'writer' })) as Container;
    return (
      (await readFile(join(cluster.agent.root, 'containers', c.metadata.uid ?? '', 'upper', 'data.txt'), 'utf8').catch(
        () => '',
      )) === 'written\n'
    );
  }, 10_000);
  const commit = await berth(server, ['commit', '-c', 'CMD ["cat", "/data.txt"]', '-m', 'a file', 'writer', committed]);
  t.equal(commit.code, 0, commit.stderr);
  t.match(commit.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const made = await getImage((await imageNamed(committed)) ?? '');
  t.match(made.status?.message, /\(paused for \d+ ms\)$/, 'the container was frozen while its layer was read');
  const alive = await berth(server, ['exec', 'writer', 'cat', '/data.txt']);
  t.equal(alive.stdout, 'written\n', 'and thawed after: it still answers');
  const ran = await berth(server, ['run', '--name', 'committed-run', committed]);
  t.equal(ran.code, 0, ran.stderr);
  t.equal(ran.stdout, 'written\n', 'the committed image has the file and the changed CMD');

  const rmi = await berth(server, ['rmi', committed]);
  t.equal(rmi.code, 0, rmi.stderr);
  t.match(rmi.stdout, new RegExp(`^Untagged: ${committed}\nDeleted: sha256:`));
  await eventually(async () => {
    const names = JSON.parse(await readFile(join(cluster.agent.root, 'images', 'names.json'), 'utf8')) as {
      reference: string;
    }[];
    return !names.some((n) => n.reference === committed);
  }, 10_000);
  t.pass('the node dropped the local name');
});

t.test(
  "a registry with htpasswd auth: berth login credentials serve the build's base pull, its push and the agent's pull",
  async (t) => {
    const htpasswd = join(dir, '..', `berth-htpasswd-${process.pid}`);
    const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', 'alice', 's3cret']);
    await writeFile(htpasswd, stdout);
    t.teardown(() => rm(htpasswd, { force: true }));
    const privateRegistry = await startRegistry(t, { htpasswd });
    await pushBusybox(t, privateRegistry.address, { BERTH_REGISTRY_CREDS: 'alice:s3cret' });
    const ctx = await mkdtemp(join(tmpdir(), 'berth-build-private-'));
    t.teardown(() => rm(ctx, { recursive: true, force: true }));
    await writeFile(
      join(ctx, 'Dockerfile'),
      `FROM ${privateRegistry.address}/library/busybox:latest\nRUN echo private > /p.txt\nCMD ["cat", "/p.txt"]\n`,
    );
    const target = `${privateRegistry.address}/demo/private:1`;

    const login = await berth(server, ['login', '-u', 'alice', '-p', 's3cret', privateRegistry.address]);
    t.equal(login.code, 0, login.stderr);
    const built = await berth(server, ['build', '-t', target, '--push', ctx]);
    t.equal(built.code, 0, built.stderr);
    t.match(built.stdout, new RegExp(`Pushed ${target}@sha256:`), 'the push used the login Secret too');
    const digest = /@(sha256:[0-9a-f]{64})/.exec(built.stdout)?.[1] ?? '';

    // A push with no Secret named (an Image tagging the built one, made without the CLI) fails, saying why.
    await createImage('private-push-anonymous', {
      image: `${privateRegistry.address}/demo/nocreds:1`,
      from: { image: target },
      push: true,
    });
    const noCreds = await settledImage('private-push-anonymous', 30_000);
    t.equal(noCreds?.status?.phase, 'Failed');
    t.match(
      noCreds?.status?.message,
      `registry ${privateRegistry.address} requires credentials to push demo/nocreds; give a dockerconfigjson Secret`,
    );
    // berth pull names the login Secret in the Image it records; its pull policy Always resolves the tag at the
    // registry though the node has the image (the agent, under its node credentials, reads the Secret).
    const pulled = await berth(server, ['pull', target]);
    t.equal(pulled.code, 0, pulled.stderr);
    t.match(pulled.stdout, `Digest: ${digest}\n`, "the agent pulled the pushed image with the Image's pull Secret");
  },
);

t.test("build: each RUN's output is shown as it runs, after its step's line; a failing RUN's output too", async (t) => {
  const ctx = await mkdtemp(join(tmpdir(), 'berth-build-output-'));
  t.teardown(() => rm(ctx, { recursive: true, force: true }));
  // The step's own sleep is the workload (its first line must show while it still runs), not a test's wait.
  await writeFile(
    join(ctx, 'Dockerfile'),
    `FROM ${busybox}\nRUN echo marker-1 && echo to-stderr >&2 && sleep 5 && echo marker-2\n`,
  );
  const build = berthBackground(server, ['build', '-t', `${registry}/demo/output:1`, ctx]);
  t.teardown(() => build.stop());
  let seen = '';
  await eventually(() => {
    seen = build.output();
    return seen.includes('marker-1\n');
  }, 90_000);
  // stdout and stderr are two pipes: their lines may come in either order.
  t.match(seen, /Step 2 : RUN echo marker-1 .*\n(to-stderr\n)?marker-1\n/, 'the output follows its step');
  t.notMatch(seen, /^marker-2$/m, 'shown while the step still runs');
  const done = await build.exited;
  t.equal(done.code, 0, done.stderr);
  t.match(done.stdout, /\nto-stderr\n/, 'stderr too');
  t.match(done.stdout, /\nmarker-1\n(.*\n)*marker-2\n ---> Ran in \d+\.\d\ds\nSuccessfully built /);

  await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nRUN echo before-failing && exit 3\n`);
  const failed = await berth(server, ['build', '-t', `${registry}/demo/output:2`, ctx]);
  t.not(failed.code, 0);
  t.match(failed.stdout, /Step 2 : RUN echo before-failing && exit 3\nbefore-failing\n/);
  t.match(failed.stderr, /exited with code 3/);
});

t.test(
  'save and load: an OCI layout tarball skopeo reads (OCI and docker archive), loaded back under its name',
  async (t) => {
    const run = promisify(execFile);
    const file = join(dir, '..', `berth-save-${process.pid}.tar`);
    const renamed = join(dir, '..', `berth-save-${process.pid}-renamed.tar`);
    t.teardown(() => Promise.all([rm(file, { force: true }), rm(renamed, { force: true })]));
    const v2 = `${registry}/demo/app:v2`;
    const saved = await berth(server, ['save', app, v2, '-o', file]);
    t.equal(saved.code, 0, saved.stderr);
    const digest = (await getImage((await imageNamed(app)) ?? '')).status?.digest;
    const entries = (await run('tar', ['-tf', file])).stdout.split('\n');
    t.ok(
      ['oci-layout', 'index.json', 'manifest.json'].every((e) => entries.includes(e)),
      entries.join(' '),
    );
    t.ok(entries.includes(`blobs/sha256/${(digest ?? '').replace('sha256:', '')}`), "the app's manifest is a blob");
    const index = JSON.parse((await run('tar', ['-xOf', file, 'index.json'])).stdout) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    t.same(
      index.manifests.map((m) => [m.digest, m.annotations?.['org.opencontainers.image.ref.name']]),
      [
        [digest, 'v1'],
        [digest, 'v2'],
      ],
      'both names of the one manifest (its blobs once)',
    );
    t.equal(index.manifests[0]?.annotations?.['io.containerd.image.name'], app);

    // The peers read it: skopeo as an OCI archive (by its ref name) and as docker's archive (manifest.json).
    const raw = await run('skopeo', ['inspect', '--raw', `oci-archive:${file}:v1`]);
    t.equal(
      `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`,
      digest,
      'the same manifest, byte for byte',
    );
    const docker = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${file}:${app}`])).stdout) as {
      Layers: string[];
    };
    t.ok(docker.Layers.length >= 2, 'docker-archive lists its layers');

    // skopeo's own archive of it, under a new name, loads back and runs.
    await run('skopeo', ['copy', '--quiet', `oci-archive:${file}:v2`, `oci-archive:${renamed}:loaded/app:v9`]);
    const loaded = await berth(server, ['load', '-i', renamed]);
    t.equal(loaded.code, 0, loaded.stderr);
    t.equal(loaded.stdout, 'Loaded image: loaded/app:v9\n');
    const ran = await berth(server, ['run', '--name', 'loaded-run', 'loaded/app:v9']);
    t.equal(ran.code, 0, ran.stderr);
    t.match(ran.stdout, /^hi from an edit for tests\n$/, 'the loaded image runs');

    // A blob whose bytes are not its digest: refused, nothing named.
    const bad = join(dir, '..', `berth-save-${process.pid}-bad.tar`);
    t.teardown(() => rm(bad, { force: true }));
    await writeFile(bad, await corruptArchive());
    const refused = await berth(server, ['load', '-i', bad]);
    t.not(refused.code, 0);
    t.match(refused.stderr, /digest/i);
  },
);

/** An image layout whose one manifest blob holds other bytes than its name says. */
async function corruptArchive(): Promise<Buffer> {
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  const hex = 'a'.repeat(64);
  pack.entry({ name: 'oci-layout' }, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  pack.entry({ name: `blobs/sha256/${hex}` }, '{"not":"the bytes of its digest"}');
  // Still uploading when the blob is refused: the refusal must come back, not a reset connection.
  pack.entry({ name: 'padding' }, Buffer.alloc(32 * 1024 * 1024));
  pack.entry(
    { name: 'index.json' },
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${hex}`,
          size: 33,
          annotations: { 'io.containerd.image.name': 'docker.io/library/corrupt:1' },
        },
      ],
    }),
  );
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

t.test(
  'git contexts: a file:// URL with #ref:subdir, a GitRepository served by a git daemon on loopback',
  async (t) => {
    const run = promisify(execFile);
    const repo = await mkdtemp(join(tmpdir(), 'berth-build-git-'));
    t.teardown(() => rm(repo, { recursive: true, force: true }));
    const git = (...args: string[]) =>
      run('git', ['-C', join(repo, 'app'), '-c', 'user.name=berth', '-c', 'user.email=berth@localhost', ...args]);
    await run('git', ['init', '--quiet', '-b', 'main', join(repo, 'app')]);
    await mkdir(join(repo, 'app', 'web'), { recursive: true });
    await writeFile(
      join(repo, 'app', 'web', 'Dockerfile'),
      `FROM ${busybox}\nCOPY msg.txt /\nCMD ["cat", "/msg.txt"]\n`,
    );
    await writeFile(join(repo, 'app', 'web', 'msg.txt'), 'from git\n');
    await git('add', '.');
    await git('commit', '--quiet', '-m', 'web');

    const fromUrl = `${registry}/demo/from-git:1`;
    const built = await berth(server, ['build', '-t', fromUrl, `file://${join(repo, 'app')}#main:web`]);
    t.equal(built.code, 0, built.stderr);
    t.match(built.stdout, /Step 2 : COPY msg.txt \/\n ---> Ran in/, "the subdir's files are the context");

    const missing = await berth(server, [
      'build',
      '-t',
      `${registry}/demo/from-git:2`,
      `file://${repo}/nothing-here#main`,
    ]);
    t.not(missing.code, 0);
    t.match(missing.stderr, /the git context could not be fetched: git fetch: /);

    // A GitRepository (the gitops source kind) over git://, from a git daemon on loopback.
    await git('commit', '--quiet', '--allow-empty', '-m', 'second');
    const port = await freePort();
    const daemon = spawn(
      'git',
      ['daemon', '--reuseaddr', '--export-all', `--base-path=${repo}`, '--listen=127.0.0.1', `--port=${port}`, repo],
      { stdio: 'ignore' },
    );
    t.teardown(() => {
      daemon.kill();
    });
    await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      30_000,
    );
    await custom.createNamespacedCustomObject({
      ...where,
      plural: 'gitrepositories',
      body: {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'GitRepository',
        metadata: { name: 'app-source' },
        spec: { url: `git://127.0.0.1:${port}/app`, ref: { branch: 'main' } },
      },
    });
    await createImage('from-git-repository', {
      image: `${registry}/demo/from-git-repository:1`,
      build: { contextGitRepository: { name: 'app-source', path: 'web' } },
    });
    const image = await settledImage('from-git-repository', 90_000);
    t.equal(image?.status?.phase, 'Ready', image?.status?.message ?? '');
    const head = (await git('rev-parse', 'HEAD')).stdout.trim();
    const context = (await server
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({
        namespace: 'default',
        name: gitContextConfigMapName('from-git-repository', 1),
      })) as V1ConfigMap;
    t.equal(
      context.metadata?.annotations?.['berth.dev/git-revision'],
      `GitRepository app-source (git://127.0.0.1:${port}/app)@sha1:${head}`,
      "the branch's head was fetched",
    );
    t.equal(context.metadata?.ownerReferences?.[0]?.name, 'from-git-repository', 'the upload goes with its Image');
  },
);

t.test('a multi-platform image: each platform pulled, tagged by its index digest, pushed whole', async (t) => {
  const digests = await pushTwoPlatformBusybox(registry, 'demo/multi', '1');
  const source = `${registry}/demo/multi:1`;
  // This node's platform by `berth pull`, the other through an Image naming it.
  await createImage('multi-arm64', { image: source, platform: 'linux/arm64' });
  const pulled = await berth(server, ['pull', source]);
  t.equal(pulled.code, 0, pulled.stderr);
  t.match(pulled.stdout, `Digest: ${digests.amd64}`);
  const arm = await settledImage('multi-arm64', 30_000);
  t.equal(arm?.status?.digest, digests.arm64, "spec.platform pulled the other platform's manifest");

  const target = `${registry}/demo/multi-pushed:1`;
  const tagged = await berth(server, ['tag', `${registry}/demo/multi@${digests.index}`, target]);
  t.equal(tagged.code, 0, tagged.stderr);
  const pushed = await berth(server, ['push', target]);
  t.equal(pushed.code, 0, pushed.stderr);
  t.match(pushed.stdout, `1: digest: ${digests.index} size: `);
  const v2 = `http://${registry}/v2/demo/multi-pushed`;
  const index = await fetch(`${v2}/manifests/1`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
  const body = Buffer.from(await index.arrayBuffer());
  t.equal(`sha256:${createHash('sha256').update(body).digest('hex')}`, digests.index, 'the tag names the index');
  for (const d of [digests.amd64, digests.arm64]) {
    const head = await fetch(`${v2}/manifests/${d}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    t.equal(head.status, 200, `with its manifest ${d}`);
  }
});

t.test('the pushed image, pulled by digest onto a second node with a clean data dir, runs there', async (t) => {
  const second = await startTestAgent(t, server, { adoptUnbound: false });
  const name = (await imageNamed(app)) ?? '';
  const digest = (await getImage(name)).status?.digest;
  const byDigest = `${registry}/demo/app@${digest ?? ''}`;
  await createImage('app-by-digest', { image: byDigest, nodeSelector: { 'kubernetes.io/hostname': second.nodeName } });
  const pulled = await settledImage('app-by-digest', 30_000);
  t.equal(pulled?.status?.phase, 'Ready', pulled?.status?.message ?? '');
  t.equal(pulled?.status?.digest, digest);
  t.same(
    pulled?.status?.nodes?.map((n) => n.nodeName),
    [second.nodeName],
  );
  await custom.createNamespacedCustomObject({
    ...where,
    plural: 'containers',
    body: {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name: 'on-second' },
      spec: {
        image: byDigest,
        nodeName: second.nodeName,
        restartPolicy: 'Never',
        networkMode: 'none',
        command: ['grep', '-q', 'hi from an edit', '/app/out.txt'],
      },
    },
  });
  let c: Container | undefined;
  await eventually(async () => {
    c = (await custom.getNamespacedCustomObject({ ...where, plural: 'containers', name: 'on-second' })) as Container;
    return c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';
  }, 60_000);
  t.equal(c?.status?.exitCode, 0, 'the image pulled back by digest runs on the clean node');
});
