// Building images from Dockerfiles on the busybox base with real crun and overlayfs: multi-stage, the layer cache
// (an unchanged rebuild runs nothing, an edited file rebuilds from its COPY), .dockerignore, whiteouts, failures, image GC,
// SHELL, STOPSIGNAL and FROM --platform (choosing from a two-platform index pushed to the loopback registry).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { pushBusybox, pushTwoPlatformBusybox, startRegistry } from '@berth/testkit';
import { Builder } from '../../src/build/builder.js';
import type { BuildProgress } from '../../src/build/build.js';
import { BuildError } from '../../src/build/errors.js';
import { prepareHost } from '../../src/host/prepare-host.js';
import { collectImageGarbage } from '../../src/images/image-gc.js';
import { ImageStore } from '../../src/images/image-store.js';
import { ConmonRuntime } from '../../src/runtime/conmon-runtime.js';
import { OverlaySnapshotter } from '../../src/snapshots/overlay.js';

const run = promisify(execFile);
const registry = await startRegistry(t);
await pushBusybox(t, registry.address);
const base = `${registry.address}/library/busybox:latest`;

const root = await mkdtemp(join(tmpdir(), 'berth-build-test-'));
const host = await prepareHost();
const images = new ImageStore({ root });
const buildRoot = join(root, 'build');
const runtime = new ConmonRuntime({ host, root: buildRoot, runtimeRoot: join(root, 'run') });
const snapshots = new OverlaySnapshotter(buildRoot);
const builder = new Builder({ root, images, snapshots, runtime });
t.teardown(async () => {
  await images.close();
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${root}/`));
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

/** Runs `reference` (built here) once with its own CMD and returns what it printed. */
async function runImage(reference: string, args?: string[]): Promise<string> {
  const image = await images.local(reference);
  if (image === undefined) throw new Error(`${reference} is not on this node`);
  const id = `run-${Math.random().toString(16).slice(2, 10)}`;
  const snapshot = await snapshots.prepare(id, image.layers.map((l) => l.dir).reverse());
  try {
    const c = image.config.config;
    await runtime.run(id, {
      args: args ?? [...(c?.Entrypoint ?? []), ...(c?.Cmd ?? [])],
      env: Object.fromEntries((c?.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      cwd: c?.WorkingDir || '/',
      rootfs: snapshot.rootfs,
    });
    let out = '';
    for await (const chunk of runtime.logs(id, { follow: true, pollMs: 20 }) as AsyncIterable<Buffer>) out += chunk;
    return out;
  } finally {
    await runtime.delete(id, { force: true });
    await snapshots.remove(id);
  }
}

async function context(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-build-ctx-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const multiStage = `ARG BASE=${base}
FROM \${BASE} AS build
ARG GREETING=hello
WORKDIR /src
COPY greeting.txt ./
RUN echo "$GREETING from $(cat greeting.txt)" > /out.txt
FROM \${BASE}
LABEL org.opencontainers.image.title=demo
ENV APP=demo
COPY --from=build /out.txt /app/out.txt
COPY . /ctx/
RUN rm /bin/vi && mkdir -p /data && echo kept > /data/f
WORKDIR /app
EXPOSE 8080
CMD ["cat", "/app/out.txt"]
`;

t.test('a multi-stage build runs, and its rebuild takes every layer from the cache', async (t) => {
  const dir = await context({
    Dockerfile: multiStage,
    'greeting.txt': 'berth',
    '.dockerignore': 'secret.txt\n*.log\n',
    'secret.txt': 'do not send',
    'debug.log': 'x',
    'sub/keep.txt': 'kept',
  });
  const events: BuildProgress[] = [];
  const first = await builder.build({
    context: dir,
    tags: ['demo/app:v1'],
    buildArgs: { GREETING: 'hi' },
    onProgress: (e) => events.push(e),
  });
  t.equal(first.steps.length, 14, 'every instruction of both stages is a step');
  t.same(
    first.steps.filter((s) => s.cached !== undefined).map((s) => [s.instruction.split(' ')[0], s.cached]),
    [
      ['WORKDIR', false],
      ['COPY', false],
      ['RUN', false],
      ['COPY', false],
      ['COPY', false],
      ['RUN', false],
    ],
    'a cold build runs every layer step (WORKDIR /src is made as a layer, /app exists by then)',
  );
  t.ok(
    events.some((e) => e.kind === 'step' && e.status === 'running' && e.instruction.startsWith('FROM')),
    'progress names each step',
  );
  t.equal(await runImage('demo/app:v1'), 'hi from berth\n', 'the image runs its CMD with the first stage output');
  const listing = await runImage('demo/app:v1', [
    'sh',
    '-c',
    'ls /ctx; ls /ctx/sub; test -e /bin/vi || echo vi-gone; cat /data/f; echo $APP; pwd',
  ]);
  t.equal(
    listing,
    'Dockerfile\ngreeting.txt\nsub\nkeep.txt\nvi-gone\nkept\ndemo\n/app\n',
    '.dockerignore left out secret.txt and *.log; rm left a whiteout',
  );
  const config = (await images.local('demo/app:v1'))?.config.config;
  t.same(config?.ExposedPorts, { '8080/tcp': {} });
  t.equal(config?.Labels?.['org.opencontainers.image.title'], 'demo');

  const again = await builder.build({ context: dir, tags: ['demo/app:v1'], buildArgs: { GREETING: 'hi' } });
  const ran = again.steps.filter((s) => s.cached === false);
  t.equal(ran.length, 0, 'the unchanged rebuild ran 0 steps');
  t.same(again.layers, first.layers, 'and gives the same layers');
  t.comment(`cold build ${Math.round(first.ms)} ms, warm rebuild ${Math.round(again.ms)} ms`);

  await writeFile(join(dir, 'greeting.txt'), 'an edit');
  const edited = await builder.build({ context: dir, tags: ['demo/app:v2'], buildArgs: { GREETING: 'hi' } });
  t.same(
    edited.steps.filter((s) => s.cached !== undefined).map((s) => [s.instruction.split(' ')[0], s.cached]),
    [
      ['WORKDIR', true],
      ['COPY', false],
      ['RUN', false],
      ['COPY', false],
      ['COPY', false],
      ['RUN', false],
    ],
    'editing the copied file rebuilds from its COPY on',
  );
  t.equal(await runImage('demo/app:v2'), 'hi from an edit\n');

  const args = await builder.build({ context: dir, tags: ['demo/app:v3'], buildArgs: { GREETING: 'hey' } });
  t.same(
    args.steps.filter((s) => s.stage === 0 && s.cached !== undefined).map((s) => s.cached),
    [true, true, false],
    'a changed build arg reruns the RUN that sees it, not the COPY before it',
  );
  const nocache = await builder.build({ context: dir, noCache: true, buildArgs: { GREETING: 'hey' } });
  t.notOk(
    nocache.steps.some((s) => s.cached === true),
    '--no-cache runs everything',
  );
});

t.test('FROM scratch with a target stage and ADD of a local archive', async (t) => {
  const dir = await context({
    Dockerfile: `FROM ${base} AS tools\nRUN mkdir -p /pkg/bin && cp /bin/busybox /pkg/bin/ && ln -s busybox /pkg/bin/sh && ln -s busybox /pkg/bin/cat\nFROM scratch AS final\nCOPY --from=tools /pkg/ /\nADD files.tar /opt/\nCMD ["/bin/cat", "/opt/a.txt"]\nFROM final AS extra\nRUN false\n`,
  });
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'a.txt'), 'from the archive\n');
  await run('tar', ['-C', join(dir, 'src'), '-cf', join(dir, 'files.tar'), 'a.txt']);
  const result = await builder.build({ context: dir, target: 'final', tags: ['demo/scratch:1'] });
  t.equal(result.layers.length, 2, 'two layers on scratch: the copied tools and the archive');
  t.notOk(
    result.steps.some((s) => s.instruction === 'RUN false'),
    'the stage after the target is not built',
  );
  t.equal(await runImage('demo/scratch:1'), 'from the archive\n');
});

t.test('--build-arg SOURCE_DATE_EPOCH makes a rebuild byte for byte the same, as BuildKit', async (t) => {
  const dir = await context({ Dockerfile: 'FROM scratch\nCOPY a.txt /\n', 'a.txt': 'same bytes\n' });
  const build = async (args: Record<string, string>) => {
    // A fresh mtime on the copied file each time: only the epoch can make the layers agree.
    await writeFile(join(dir, 'a.txt'), 'same bytes\n');
    return builder.build({ context: dir, noCache: true, buildArgs: args });
  };
  const pinned = { SOURCE_DATE_EPOCH: '1700000000' };
  const first = await build(pinned);
  const second = await build(pinned);
  t.equal(second.digest, first.digest, 'the same manifest digest');
  const config = JSON.parse((await images.content.readBlob(first.imageID)).toString()) as { created: string };
  t.equal(config.created, '2023-11-14T22:13:20.000Z');
  const unpinned = await builder.build({ context: dir });
  t.not(unpinned.layers[0]?.digest, first.layers[0]?.digest, "a build without it takes not the epoch's layer");
  t.equal((await build(pinned)).digest, first.digest);
  t.match(await builder.build({ context: dir, buildArgs: { SOURCE_DATE_EPOCH: 'yesterday' } }).catch((e) => e), {
    code: 'BUILD_INVALID',
    message: /SOURCE_DATE_EPOCH=yesterday/,
  });
});

t.test("a base's ONBUILD triggers run in the build on it, from its context, and are not kept", async (t) => {
  const parent = await context({
    Dockerfile: `FROM ${base}\nONBUILD RUN echo triggered > /onbuild.txt\nONBUILD COPY child.txt /from-child.txt\n`,
  });
  await builder.build({ context: parent, tags: ['demo/onbuild-base:1'] });
  const child = await context({
    Dockerfile: 'FROM demo/onbuild-base:1\nCMD ["cat", "/onbuild.txt", "/from-child.txt"]\n',
    'child.txt': "the child's file\n",
  });
  const result = await builder.build({ context: child, tags: ['demo/onbuild-child:1'] });
  t.equal(await runImage('demo/onbuild-child:1'), "triggered\nthe child's file\n");
  t.match(
    result.steps.map((s) => s.instruction),
    ['FROM demo/onbuild-base:1', /^RUN echo triggered/, /^COPY child.txt/, /^CMD/],
  );
  const config = JSON.parse((await images.content.readBlob(result.imageID)).toString()) as {
    config: { OnBuild?: unknown };
  };
  t.notOk(config.config.OnBuild, 'the triggers do not pass on to the grandchild');
});

t.test('bad input fails with the line and a clear message, and tags nothing', async (t) => {
  const failing = await context({ Dockerfile: `FROM ${base}\nRUN echo before-failing && exit 3\n` });
  const err = await builder.build({ context: failing, tags: ['demo/bad:1'] }).catch((e: unknown) => e);
  t.ok(BuildError.isInstance(err), 'a BuildError');
  t.equal((err as BuildError).code, 'RUN_FAILED');
  t.match((err as Error).message, /line 2: RUN .* exited with code 3:\nbefore-failing/);
  t.equal(await images.names.get('demo/bad:1'), undefined, 'no partial image is tagged');

  const target = await context({ Dockerfile: `FROM ${base} AS one\n` });
  t.match(await builder.build({ context: target, target: 'nope' }).catch((e: unknown) => e), {
    code: 'STAGE_NOT_FOUND',
    message: 'target stage nope is not in the Dockerfile',
  });

  const syntax = await context({ Dockerfile: `FROM ${base}\nFROBNICATE x\n` });
  const err2 = await builder.build({ context: syntax }).catch((e: unknown) => e);
  t.match(err2, { code: 'DOCKERFILE_SYNTAX', line: 2 });

  const missing = await context({ Dockerfile: `FROM ${base}\nCOPY nope.txt /\n` });
  t.match(await builder.build({ context: missing }).catch((e: unknown) => e), { code: 'COPY_SOURCE_MISSING', line: 2 });
  const outside = await context({ Dockerfile: `FROM ${base}\nCOPY ../etc/passwd /\n` });
  t.match(await builder.build({ context: outside }).catch((e: unknown) => e), { code: 'COPY_OUTSIDE_CONTEXT' });
  const unreachable = await context({ Dockerfile: 'FROM 127.0.0.1:1/nothing:latest\n' });
  t.match(await builder.build({ context: unreachable }).catch((e: unknown) => e), {
    code: 'BASE_IMAGE_FAILED',
    line: 1,
  });
});

t.test(
  'a Dockerfile in the common shape of public ones: a builder stage, a system user, --chown by name',
  async (t) => {
    const dir = await context({
      Dockerfile: `# syntax=docker/dockerfile:1
FROM ${base} AS builder
WORKDIR /src
COPY . .
RUN set -eux; \\
    mkdir -p /out; \\
    for f in *.txt; do tr a-z A-Z < "$f" > "/out/$f"; done
FROM ${base}
LABEL maintainer="berth tests"
# busybox-static has no adduser: the user is written the way scratch-based images write theirs.
RUN echo 'app:x:1001:1001::/srv:/bin/sh' >> /etc/passwd && echo 'app:x:1001:' >> /etc/group
COPY --from=builder --chown=app:app /out /srv
USER app
WORKDIR /srv
EXPOSE 8080/tcp
HEALTHCHECK --interval=5s CMD ["test", "-f", "/srv/hello.txt"]
ENTRYPOINT ["httpd", "-f", "-p", "8080", "-h", "/srv"]
`,
      'hello.txt': 'hello world',
      '.dockerignore': 'Dockerfile\n',
    });
    const result = await builder.build({ context: dir, tags: ['demo/site:1'] });
    t.equal(result.layers.length, 3, 'busybox, the user, the site');
    t.equal(
      await runImage('demo/site:1', [
        'sh',
        '-c',
        "cat hello.txt; echo; ls -n /srv/hello.txt | awk '{print $3}'; ls /srv",
      ]),
      'HELLO WORLD\n1001\nhello.txt\n',
      'the file was built in the first stage and owned by the user the second made (--chown by name)',
    );
    const config = (await images.local('demo/site:1'))?.config.config;
    t.same(config?.Entrypoint, ['httpd', '-f', '-p', '8080', '-h', '/srv']);
    t.equal(config?.User, 'app');
  },
);

t.test(
  'Dockerfiles in the shape of two public ones (an exporter and a server on a vendor busybox base), offline',
  async (t) => {
    // The vendor's base names resolve to the test busybox by local names, as a pre-pulled base would.
    const pulled = await images.pull(base);
    for (const vendor of ['quay.io/prometheus/busybox-linux-amd64:glibc', 'quay.io/prometheus/busybox:latest'])
      await images.names.set(vendor, pulled.digest);
    const script = (name: string) => `#!/bin/sh\necho "${name} $*"\n`;
    const exporter = await context({
      // Global ARGs in the FROM line, declared again in the stage for a COPY path; two sources into a directory.
      Dockerfile: `ARG ARCH="amd64"
ARG OS="linux"
FROM quay.io/prometheus/busybox-\${OS}-\${ARCH}:glibc
LABEL maintainer="berth tests <tests@berth.invalid>"

ARG ARCH="amd64"
ARG OS="linux"
COPY .build/\${OS}-\${ARCH}/exporter /bin/exporter

# Licence files go in too
COPY LICENSE NOTICE /license/

EXPOSE      9100
USER        nobody
ENTRYPOINT  [ "/bin/exporter" ]
`,
      '.build/linux-amd64/exporter': script('exporter'),
      LICENSE: 'licence text',
      NOTICE: 'notice text',
    });
    await run('chmod', ['755', join(exporter, '.build/linux-amd64/exporter')]);
    const e = await builder.build({ context: exporter, tags: ['demo/exporter:1'] });
    t.equal(e.layers.length, 3, 'the base and two COPY layers');
    t.equal(
      await runImage('demo/exporter:1', ['sh', '-c', '/bin/exporter --web; ls /license']),
      'exporter --web\nLICENSE\nNOTICE\n',
    );
    const ec = (await images.local('demo/exporter:1'))?.config.config;
    t.same([ec?.User, ec?.Entrypoint, ec?.ExposedPorts], ['nobody', ['/bin/exporter'], { '9100/tcp': {} }]);

    const server = await context({
      // Aligned arguments, the legacy `LABEL key "value"` form, directories copied with a trailing slash, one RUN of
      // `&&`-joined commands over continuation lines (busybox-static has no adduser: the user is appended), a JSON CMD
      // over continuation lines.
      Dockerfile: `FROM        quay.io/prometheus/busybox:latest
LABEL maintainer "berth tests <tests@berth.invalid>"

COPY server                          /bin/server
COPY servertool                      /bin/servertool
COPY examples/server.yml             /etc/server/server.yml
COPY console_libraries/              /usr/share/server/console_libraries/
COPY consoles/                       /usr/share/server/consoles/

RUN ln -s /usr/share/server/console_libraries /usr/share/server/consoles/ /etc/server/ && \\
    echo 'server:x:1000:1000::/server:/bin/sh' >> /etc/passwd && \\
    echo 'server:x:1000:' >> /etc/group && \\
    mkdir -p /server && \\
    chown -R server:server /etc/server /server

EXPOSE     9090
VOLUME     [ "/server" ]
WORKDIR    /server
ENTRYPOINT [ "/bin/server" ]
USER       server
CMD        [ "--config.file=/etc/server/server.yml", \\
             "--storage.path=/server" ]
`,
      server: script('server'),
      servertool: script('servertool'),
      'examples/server.yml': 'scrape: []\n',
      'console_libraries/menu.lib': 'menu',
      'consoles/index.html': '<html></html>',
    });
    await run('chmod', ['755', join(server, 'server'), join(server, 'servertool')]);
    const r = await builder.build({ context: server, tags: ['demo/server:1'] });
    t.equal(r.steps.filter((s) => s.cached === false).length, 6, 'five COPY layers and the RUN');
    t.equal(
      await runImage('demo/server:1', [
        'sh',
        '-c',
        "cd /etc/server && ls -n . | grep -v ^total | awk '{print $3, $9, $10, $11}'; cat consoles/index.html; echo; ls -dn /server | awk '{print $3}'",
      ]),
      [
        '1000 console_libraries -> /usr/share/server/console_libraries',
        '1000 consoles -> /usr/share/server/consoles/',
        '1000 server.yml  ',
        '<html></html>',
        '1000',
        '',
      ].join('\n'),
      'the links made, the files owned by the user the RUN added',
    );
    const rc = (await images.local('demo/server:1'))?.config.config;
    t.same(
      [
        rc?.User,
        rc?.WorkingDir,
        rc?.Entrypoint,
        rc?.Cmd,
        (rc as { Volumes?: unknown } | undefined)?.Volumes,
        rc?.Labels?.maintainer,
      ],
      [
        'server',
        '/server',
        ['/bin/server'],
        ['--config.file=/etc/server/server.yml', '--storage.path=/server'],
        { '/server': {} },
        'berth tests <tests@berth.invalid>',
      ],
    );
  },
);

t.test('heredocs, RUN --network none and host, ADD of a loopback URL with --checksum', async (t) => {
  const body = 'served over loopback\n';
  const server = createServer((req, res) => {
    if (req.url !== '/files/tool.txt') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/files/tool.txt`;
  const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const dir = await context({
    Dockerfile: `FROM ${base}
ENV GREETING=hello
RUN <<EOF
set -e
mkdir -p /h
echo "script ran as $(id -u)" > /h/script.txt
EOF
RUN <<EOF
#!/usr/bin/awk -f
BEGIN { print "awk ran the script" > "/h/shebang.txt" }
EOF
RUN cat <<EOT > /h/fed.txt
fed to cat: $GREETING
EOT
COPY <<EOT /h/copied.txt
$GREETING from COPY
EOT
COPY <<"EOT" <<EOR /h/dir/
$GREETING stays
EOT
second
EOR
ADD --checksum=${sum} ${url} /opt/
ADD ${url} /opt/renamed.txt
RUN --network=host wget -q -O /h/host.txt ${url}
RUN if wget -q -O /dev/null ${url}; then echo reached; else echo isolated; fi > /h/none.txt
`,
  });
  t.match(await builder.build({ context: dir }).catch((e: unknown) => e), {
    code: 'BUILD_INVALID',
    line: 25,
    message: /RUN --network=host is not allowed on this node/,
  });
  const result = await builder.build({ context: dir, tags: ['demo/features:1'], allowNetworkHost: true });
  t.equal(result.steps.length, 11);
  t.equal(
    await runImage('demo/features:1', [
      'sh',
      '-c',
      'cd /h && cat script.txt shebang.txt fed.txt copied.txt dir/EOT dir/EOR host.txt none.txt /opt/tool.txt /opt/renamed.txt && stat -c "%a %Y" /opt/tool.txt',
    ]),
    [
      'script ran as 0',
      'awk ran the script',
      'fed to cat: hello',
      'hello from COPY',
      '$GREETING stays',
      'second',
      'served over loopback',
      'isolated',
      'served over loopback',
      'served over loopback',
      `600 ${Date.parse('2026-12-01T10:00:00Z') / 1000}`,
      '',
    ].join('\n'),
    'RUN <<EOF ran the body as a script (with its #! interpreter when it names one); a heredoc fed cat; COPY heredocs expand unless quoted; ADD got the URL 0600 with its Last-Modified; --network=host reached the host loopback, the default did not',
  );
  const again = await builder.build({ context: dir, tags: ['demo/features:1'], allowNetworkHost: true });
  t.equal(again.steps.filter((s) => s.cached === false).length, 0, 'an unchanged rebuild (same URL body) runs nothing');

  const wrong = await context({ Dockerfile: `FROM ${base}\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /opt/\n` });
  t.match(await builder.build({ context: wrong }).catch((e: unknown) => e), {
    code: 'ADD_URL_FAILED',
    line: 2,
    message: /checksum mismatch: expected sha256:0+, got sha256:[0-9a-f]{64}/,
  });
  const bridge = await context({ Dockerfile: `FROM ${base}\nRUN --network=bridge true\n` });
  t.match(await builder.build({ context: bridge }).catch((e: unknown) => e), { code: 'DOCKERFILE_SYNTAX', line: 2 });
  const missing = await context({ Dockerfile: `FROM ${base}\nADD ${url.replace('tool', 'none')} /opt/\n` });
  t.match(await builder.build({ context: missing }).catch((e: unknown) => e), {
    code: 'ADD_URL_FAILED',
    message: /HTTP 404/,
  });
});

t.test('a commit keeps extended attributes: file capabilities and user.* attributes reach the layer', async (t) => {
  const upper = await mkdtemp(join(tmpdir(), 'berth-build-upper-'));
  t.teardown(() => rm(upper, { recursive: true, force: true }));
  await mkdir(join(upper, 'bin'));
  await writeFile(join(upper, 'bin', 'ping'), 'x');
  await writeFile(join(upper, 'bin', 'su'), 'x');
  await run('setcap', ['cap_net_raw+ep', join(upper, 'bin', 'ping')]);
  // cap_setuid is bit 7: its capability value has a 0x80 byte, which is not UTF-8 text.
  await run('setcap', ['cap_setuid,cap_sys_nice+ep', join(upper, 'bin', 'su')]);
  await run('setfattr', ['-n', 'user.origin', '-v', 'berth', join(upper, 'bin')]);
  await images.names.set('demo/caps-base:1', (await images.pull(base)).digest);
  const committed = await builder.commit({ image: 'demo/caps-base:1', upper, tags: ['demo/caps:1'] });
  const image = await images.local('demo/caps:1');
  const top = image?.layers.at(-1);
  t.equal(image?.layers.length, 2, 'the busybox layer and the committed one');
  const getcap = async (dir: string) =>
    (await run('getcap', [join(dir, 'bin', 'ping'), join(dir, 'bin', 'su')])).stdout.replaceAll(`${dir}/`, '');
  t.equal(
    await getcap(top?.dir ?? ''),
    'bin/ping cap_net_raw=ep\nbin/su cap_setuid,cap_sys_nice=ep\n',
    'the unpacked layer has both capability sets',
  );
  t.equal((await run('getfattr', ['--only-values', '-n', 'user.origin', join(top?.dir ?? '', 'bin')])).stdout, 'berth');
  // What docker and containerd read: GNU tar honours SCHILY.xattr records as they do.
  const blob = join(root, 'content', 'blobs', 'sha256', (committed.layers.at(-1)?.digest ?? '').slice(7));
  const out = await mkdtemp(join(tmpdir(), 'berth-build-untar-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await run('tar', ['--xattrs', '--xattrs-include=*', '-xzf', blob, '-C', out]);
  t.match(await getcap(out), /^bin\/ping cap_net_raw=ep\n/, 'GNU tar reads the capability from SCHILY.xattr');

  const stage = await context({ Dockerfile: `FROM demo/caps:1 AS caps\nFROM ${base}\nCOPY --from=caps /bin/ /bin/\n` });
  const copied = await builder.build({ context: stage, tags: ['demo/caps-copied:1'] });
  const copiedTop = (await images.local('demo/caps-copied:1'))?.layers.at(-1)?.dir ?? '';
  t.equal(copied.layers.length, 2);
  t.equal(
    await getcap(copiedTop),
    'bin/ping cap_net_raw=ep\nbin/su cap_setuid,cap_sys_nice=ep\n',
    'COPY --from a stage keeps the capabilities, as BuildKit does',
  );
});

t.test(
  'SHELL runs the shell form through its command, STOPSIGNAL is kept, FROM --platform picks from an index',
  async (t) => {
    const dir = await context({
      Dockerfile: `FROM --platform=$BUILDPLATFORM ${base} AS tools
RUN echo tools > /tools.txt
FROM --platform=linux/amd64 ${base}
SHELL ["/bin/busybox", "env", "FROM_SHELL=yes", "/bin/sh", "-c"]
RUN echo "shell $FROM_SHELL" > /shell.txt
RUN ["/bin/sh", "-c", "echo exec \${FROM_SHELL:-untouched} >> /shell.txt"]
COPY --from=tools /tools.txt /
STOPSIGNAL SIGINT
CMD ["cat", "/shell.txt", "/tools.txt"]
`,
    });
    await builder.build({ context: dir, tags: ['demo/shell:1'] });
    t.equal(
      await runImage('demo/shell:1'),
      'shell yes\nexec untouched\ntools\n',
      'the shell form ran through SHELL, the exec form did not',
    );
    const config = (await images.local('demo/shell:1'))?.config;
    t.equal(config?.config?.StopSignal, 'SIGINT');
    t.same((config?.config as { Shell?: string[] } | undefined)?.Shell, [
      '/bin/busybox',
      'env',
      'FROM_SHELL=yes',
      '/bin/sh',
      '-c',
    ]);

    const multi = `${registry.address}/demo/two-platforms:1`;
    const digests = await pushTwoPlatformBusybox(registry.address, 'demo/two-platforms', '1');
    for (const [platform, architecture] of [
      ['linux/arm64', 'arm64'],
      ['$TARGETPLATFORM', 'amd64'],
    ] as const) {
      const picked = await context({ Dockerfile: `FROM --platform=${platform} ${multi}\nLABEL picked=yes\n` });
      const built = await builder.build({ context: picked, tags: [`demo/picked:${architecture}`] });
      t.equal(
        (await images.local(`demo/picked:${architecture}`))?.config.architecture,
        architecture,
        `--platform=${platform} took the ${architecture} manifest`,
      );
      t.ok(built.digest !== digests.amd64 && built.digest !== digests.arm64, 'a new image on it');
    }
    const bad = await context({ Dockerfile: `FROM --platform=amd64 ${base}\n` });
    t.match(await builder.build({ context: bad }).catch((e: unknown) => e), { code: 'DOCKERFILE_SYNTAX', line: 1 });
  },
);

t.test('a multi-platform index is pushed with each of its manifests; one a node lacks is named', async (t) => {
  const source = `${registry.address}/demo/multi:1`;
  const digests = await pushTwoPlatformBusybox(registry.address, 'demo/multi', '1');
  for (const architecture of ['amd64', 'arm64']) await images.pull(source, { platform: { os: 'linux', architecture } });
  const pushed = await images.push(digests.index, `${registry.address}/demo/multi-copy:2`);
  t.equal(pushed.digest, digests.index);
  const v2 = `http://${registry.address}/v2/demo/multi-copy`;
  const index = await fetch(`${v2}/manifests/2`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
  const body = Buffer.from(await index.arrayBuffer());
  t.equal(`sha256:${createHash('sha256').update(body).digest('hex')}`, digests.index, 'the tag names the same index');
  for (const d of [digests.amd64, digests.arm64]) {
    const head = await fetch(`${v2}/manifests/${d}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    t.equal(head.status, 200, `its manifest ${d} is there too`);
  }

  // A node that pulled only one platform cannot push the other's manifest to a repository without it.
  const onlyArm = new ImageStore({ root: join(root, 'only-arm') });
  t.teardown(() => onlyArm.close());
  await onlyArm.pull(source, { platform: { os: 'linux', architecture: 'arm64' } });
  const refused = await onlyArm
    .push(digests.index, `${registry.address}/demo/multi-partial:1`)
    .catch((e: unknown) => e);
  t.match(refused, { message: new RegExp(`lists ${digests.amd64} \\(linux/amd64\\), which this node does not hold`) });
  // …but to one that has it (the first copy), it can.
  const again = await onlyArm.push(digests.index, `${registry.address}/demo/multi-copy:3`);
  t.equal(again.digest, digests.index);
});

t.test('image GC removes what no named image references; named images still run', async (t) => {
  const before = new Set<string>();
  await images.content.walk((i) => {
    before.add(i.digest);
  });
  const names = await images.names.list();
  const kept = await images.local('demo/app:v2');
  const result = await collectImageGarbage(
    images,
    root,
    names.map((n) => n.digest),
    { force: true, minAgeMs: 0 },
  );
  t.ok(result.removed.length > 0, `unreferenced blobs removed (${result.removed.length}, ${result.freedBytes} bytes)`);
  for (const layer of kept?.layers ?? [])
    t.notOk(result.removed.includes(layer.digest), 'a named image keeps its layers');
  t.ok(result.removed.every((d) => before.has(d)));
  t.equal(await runImage('demo/app:v2'), 'hi from an edit\n', 'and still runs');
  const untouched = await collectImageGarbage(images, root, [], { highThresholdPercent: 100, minAgeMs: 0 });
  t.same(untouched.removed, [], 'below the high threshold nothing goes');
});
