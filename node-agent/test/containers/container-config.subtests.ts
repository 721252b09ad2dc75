// ContainerSpec → runtime config, the Pod way: command/args against the image's Entrypoint/Cmd, $(VAR) expansion,
// env sources and their errors, limits, users from the image's /etc/passwd, a securityContext's privileges.
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Container, ContainerSpec } from '@berth/api';
import { containerArgs, containerConfigFor, expandVariables } from '../../src/containers/container-config.js';
import { AgentError } from '../../src/containers/errors.js';
import { pullCredentials } from '../../src/containers/pull-secrets.js';
import type { ImageConfig } from '../../src/distribution/distribution.js';

const image = (config: NonNullable<ImageConfig['config']>): ImageConfig => ({
  config,
  rootfs: { type: 'layers', diff_ids: [] },
});
const ctr = (spec: Partial<ContainerSpec>): Container => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: { name: 'c', namespace: 'ns', uid: 'u-1', labels: { app: 'web' } },
  spec: { image: 'img', ...spec },
});
const noSources = { configMap: async () => undefined, secret: async () => undefined };

t.test('command replaces Entrypoint and drops Cmd; args alone replace Cmd', async (t) => {
  const img = image({ Entrypoint: ['/entry'], Cmd: ['default'] });
  t.same(containerArgs(ctr({}), img, new Map()), ['/entry', 'default']);
  t.same(containerArgs(ctr({ command: ['/bin/x'] }), img, new Map()), ['/bin/x']);
  t.same(containerArgs(ctr({ args: ['a'] }), img, new Map()), ['/entry', 'a']);
  t.same(containerArgs(ctr({ command: ['/bin/x'], args: ['$(A)', '$$(A)', '$(B)'] }), img, new Map([['A', '1']])), [
    '/bin/x',
    '1',
    '$(A)',
    '$(B)',
  ]);
  t.throws(() => containerArgs(ctr({}), image({}), new Map()), { code: 'CreateContainerConfigError' });
});

t.test('expandVariables follows Kubernetes: $$ escapes, unknown and unterminated references stay', async (t) => {
  const vars = new Map([['X', 'x']]);
  t.equal(expandVariables('a$(X)b', vars), 'axb');
  t.equal(expandVariables('$$(X)', vars), '$(X)');
  t.equal(expandVariables('$(Y)', vars), '$(Y)');
  t.equal(expandVariables('$(X', vars), '$(X');
  t.equal(expandVariables('cost $5', vars), 'cost $5');
});

t.test(
  'env: image, envFrom with prefix, env with references, fieldRef; missing sources are config errors',
  async (t) => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-config-test-'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const sources = {
      configMap: async (n: string) => (n === 'cm' ? { a: '1', 'bad key': 'x' } : undefined),
      secret: async (n: string) => (n === 's' ? { pw: 'p' } : undefined),
    };
    const c = ctr({
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
      env: [
        { name: 'PATH', value: '/x' },
        { name: 'REF', value: 'v=$(CM_a)' },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k', optional: true } } },
      ],
      resources: { limits: { memory: '64Mi', cpu: '250m', pids: '1k' } },
    });
    const config = await containerConfigFor(
      c,
      image({ Env: ['PATH=/usr/bin', 'HOME=/root'], Cmd: ['sh'] }),
      root,
      sources,
    );
    t.same(config.env, { PATH: '/x', HOME: '/root', CM_a: '1', REF: 'v=1', PW: 'p', APP: 'web' });
    t.same(config.resources, { memoryBytes: 64 * 1024 * 1024, cpuMillicores: 250, pids: 1000 });
    t.equal(config.hostname, 'c');
    const missing = await containerConfigFor(
      ctr({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }),
      image({ Cmd: ['sh'] }),
      root,
      noSources,
    ).catch((err: unknown) => err);
    t.ok(
      AgentError.isInstance(missing) && missing.code === 'CreateContainerConfigError',
      'a missing Secret is a CreateContainerConfigError',
    );
    t.match((missing as Error).message, /secret "nope" not found/);
    await t.rejects(
      containerConfigFor(ctr({ resources: { limits: { memory: 'lots' } } }), image({ Cmd: ['sh'] }), root, noSources),
      { code: 'CreateContainerConfigError' },
    );
  },
);

t.test(
  "users: numeric, names from the image's /etc/passwd, securityContext wins, runAsNonRoot refuses root",
  async (t) => {
    const root = await mkdtemp(path.join(tmpdir(), 'berth-config-test-'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    await mkdir(path.join(root, 'etc'));
    await writeFile(
      path.join(root, 'etc', 'passwd'),
      'root:x:0:0::/root:/bin/sh\nweb:x:1000:1001::/home/web:/bin/sh\n',
    );
    await writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\nwheel:x:10:web\n');
    const run = (user: string, spec: Partial<ContainerSpec> = {}) =>
      containerConfigFor(ctr(spec), image({ User: user, Cmd: ['sh'] }), root, noSources);
    t.same((await run('')).user, { uid: 0, gid: 0 });
    // As docker (runc's GetExecUser): an id that passwd does not list gets gid 0; a name gets its groups too.
    t.same((await run('42')).user, { uid: 42, gid: 0, additionalGids: [0] });
    t.same((await run('web')).user, { uid: 1000, gid: 1001, additionalGids: [1001, 10] });
    t.same((await run('web:staff')).user, { uid: 1000, gid: 50, additionalGids: [50] });
    t.same((await run('web', { securityContext: { runAsUser: 7, runAsGroup: 8 } })).user, { uid: 7, gid: 8 });
    await t.rejects(run('nobody'), { code: 'CreateContainerConfigError', message: /unable to find user nobody/ });
    await t.rejects(run('', { securityContext: { runAsNonRoot: true } }), { code: 'CreateContainerConfigError' });
    // The image (or, for exec -u, the running container) writes /etc/passwd: a huge sparse one is not read whole.
    await truncate(path.join(root, 'etc', 'passwd'), 5 << 20);
    await t.rejects(run('web'), { code: 'CreateContainerConfigError', message: /passwd is larger than 4 MiB/ });
  },
);

t.test('image pull credentials come from the dockerconfigjson Secrets a Container names', async (t) => {
  const secrets: Record<string, { type: string; data: Record<string, string> }> = {
    a: {
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': JSON.stringify({ auths: { 'r.example:5000': { auth: 'YTpi' } } }) },
    },
    b: {
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': JSON.stringify({
          auths: { 'r.example:5000': { auth: 'other' }, other: { username: 'u', password: 'p' } },
        }),
      },
    },
    opaque: { type: 'Opaque', data: {} },
  };
  const read = async (n: string) => secrets[n];
  const withSecrets = (names: string[]) =>
    ({ ...ctr({}), spec: { image: 'img', imagePullSecrets: names.map((name) => ({ name })) } }) as unknown as Container;
  t.equal(await pullCredentials(ctr({}), read), undefined, 'none asked for');
  t.same(await pullCredentials(withSecrets(['a', 'missing', 'b']), read), {
    auths: { 'r.example:5000': { auth: 'YTpi' }, other: { username: 'u', password: 'p' } },
  });
  await t.rejects(pullCredentials(withSecrets(['opaque']), read), { code: 'ErrImagePull' });
});

t.test("a securityContext's capabilities, privileged, seccomp and privilege escalation reach the config", async (t) => {
  const run = (securityContext: NonNullable<ContainerSpec['securityContext']>) =>
    containerConfigFor(ctr({ securityContext }), image({ Cmd: ['sh'] }), '/nonexistent', noSources);
  const plain = await run({});
  t.same(
    [plain.capabilities, plain.privileged, plain.seccomp, plain.allowPrivilegeEscalation],
    [undefined, undefined, undefined, undefined],
    'nothing asked, nothing changed',
  );
  const asked = await run({
    capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
    privileged: true,
    seccompProfile: { type: 'Unconfined' },
    allowPrivilegeEscalation: true,
  });
  t.same(asked.capabilities, { add: ['NET_ADMIN'], drop: ['ALL'] });
  t.same([asked.privileged, asked.seccomp, asked.allowPrivilegeEscalation], [true, 'Unconfined', true]);
  await t.rejects(run({ seccompProfile: { type: 'Localhost', localhostProfile: 'x.json' } }), {
    code: 'CreateContainerConfigError',
    message: /this node has no directory of seccomp profiles/,
  });
});

t.test("a Localhost seccomp profile is read from the node's profile directory, and checked", async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-seccomp-test-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const profile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  await writeFile(path.join(root, 'no-mkdir.json'), JSON.stringify(profile));
  await writeFile(path.join(root, 'typo.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALOW' }));
  const run = (localhostProfile: string) =>
    containerConfigFor(
      ctr({ securityContext: { seccompProfile: { type: 'Localhost', localhostProfile } } }),
      image({ Cmd: ['sh'] }),
      '/nonexistent',
      noSources,
      { seccompRoot: root },
    );
  t.same((await run('no-mkdir.json')).seccomp, { localhost: profile });
  const refused = async (name: string, message: RegExp) =>
    t.rejects(run(name), { code: 'CreateContainerConfigError', message }, name);
  await refused('typo.json', /is no seccomp profile: defaultAction "SCMP_ACT_ALOW" is no seccomp action/);
  await refused('missing.json', /cannot read/);
  await refused('../etc/passwd', /must name a file under the node's seccomp directory/);
  await refused('/etc/passwd', /must name a file under the node's seccomp directory/);
});
