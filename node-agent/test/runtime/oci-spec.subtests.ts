// The OCI spec berth writes: namespaces, cgroup limits, hardening, and refusals of impossible configs.
import t from 'tap';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  MASKED_PATHS,
  containerConfigToOciSpec,
  hostsFileFor,
  resolvConfFor,
  type OciSpecOptions,
} from '../../src/runtime/oci-spec.js';

const opts: OciSpecOptions = {
  rootfs: '/data/containers/c1/rootfs',
  etcFiles: { hosts: '/d/hosts', hostname: '/d/hostname', resolvConf: '/d/resolv.conf' },
  nofileHardLimit: 20000,
};
const DOCKER_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

t.test('a full config becomes the expected spec', async (t) => {
  const spec = containerConfigToOciSpec(
    'c1',
    {
      args: ['httpd', '-f'],
      env: { A: '1', PATH: '/bin' },
      cwd: '/srv',
      user: { uid: 1000, gid: 1000 },
      hostname: 'web',
      resources: { cpuMillicores: 250, memoryBytes: 64 * 1024 * 1024, pids: 100 },
      readonlyRootfs: true,
      mounts: [
        { destination: '/data', source: '/vol/data', readOnly: true },
        { destination: '/scratch', type: 'tmpfs' },
      ],
    },
    opts,
  );
  t.same(spec.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  t.equal(spec.linux.cgroupsPath, '/berth/c1');
  t.same(spec.linux.resources.memory, { limit: 67108864, swap: 67108864 }, 'swap equals memory: no swap escape');
  t.same(spec.linux.resources.cpu, { quota: 25000, period: 100000 });
  t.same(spec.linux.resources.pids, { limit: 100 });
  t.equal(spec.process.noNewPrivileges, true);
  t.same(spec.process.env, ['PATH=/bin', 'A=1']);
  t.equal(spec.process.cwd, '/srv');
  t.same(spec.process.user, { uid: 1000, gid: 1000 });
  t.equal(spec.hostname, 'web');
  t.same(spec.root, { path: opts.rootfs, readonly: true });
  for (const cap of spec.process.capabilities.bounding)
    t.ok(DOCKER_CAPS.includes(cap), `${cap} is in Docker's default set`);
  t.same(spec.process.capabilities.inheritable, []);
  t.same(spec.process.capabilities.ambient, []);
  t.same([...DEFAULT_CAPABILITIES].sort(), [...spec.process.capabilities.effective].sort());
  t.same(
    spec.process.rlimits,
    [{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }],
    "never above the agent's own hard limit",
  );
  t.same(spec.linux.maskedPaths, [...MASKED_PATHS]);
  t.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
  const dests = spec.mounts.map((m) => m.destination);
  for (const d of [
    '/proc',
    '/dev',
    '/dev/pts',
    '/dev/shm',
    '/dev/mqueue',
    '/sys',
    '/etc/hosts',
    '/etc/hostname',
    '/etc/resolv.conf',
    '/data',
    '/scratch',
  ])
    t.ok(dests.includes(d), `mounts ${d}`);
  t.same(spec.mounts.find((m) => m.destination === '/data')?.options, ['rbind', 'nosuid', 'nodev', 'ro']);
  t.equal(spec.linux.seccomp?.defaultAction, 'SCMP_ACT_ALLOW');
  const denied = (spec.linux.seccomp?.syscalls ?? [])
    .filter((r) => r.action === 'SCMP_ACT_ERRNO' && r.args === undefined)
    .flatMap((r) => r.names);
  for (const s of ['mount', 'unshare', 'setns', 'ptrace', 'bpf', 'keyctl', 'kexec_load', 'init_module', 'clone3'])
    t.ok(denied.includes(s), `seccomp refuses ${s}`);
  t.ok(
    (spec.linux.seccomp?.syscalls ?? []).some((r) => r.names.includes('clone') && r.args?.[0]?.value === 0x10000000),
    'clone(CLONE_NEWUSER) refused',
  );
});

t.test('defaults: a loopback-only network namespace, root user, / and a short hostname', async (t) => {
  const spec = containerConfigToOciSpec('abcdef0123456789', { args: ['sh'] }, { ...opts, nofileHardLimit: 1 << 30 });
  t.same(
    spec.linux.namespaces.find((n) => n.type === 'network'),
    { type: 'network' },
  );
  t.equal(spec.hostname, 'abcdef012345');
  t.equal(spec.process.cwd, '/');
  t.same(spec.process.user, { uid: 0, gid: 0 });
  t.equal(spec.process.rlimits[0]?.hard, 1_048_576);
  t.notOk('memory' in spec.linux.resources);
  const joined = containerConfigToOciSpec(
    'c2',
    { args: ['sh'], network: { kind: 'namespace', path: '/run/netns/x' } },
    opts,
  );
  t.same(
    joined.linux.namespaces.find((n) => n.type === 'network'),
    { type: 'network', path: '/run/netns/x' },
  );
});

t.test('resolv.conf never points at the host resolver; hosts has the hostname', async (t) => {
  t.notMatch(resolvConfFor([]), /nameserver/);
  t.match(resolvConfFor(['10.88.0.1']), /^nameserver 10\.88\.0\.1$/m);
  t.match(hostsFileFor('web', [['10.0.0.2', 'db', 'db.local']]), /127\.0\.1\.1\tweb\n[\s\S]*10\.0\.0\.2\tdb db\.local/);
});

t.test('impossible limits and invalid configs are refused with every problem', async (t) => {
  t.throws(() => containerConfigToOciSpec('c1', { args: ['x'], resources: { memoryBytes: 4096, pids: -1 } }, opts), {
    code: 'ImpossibleLimits',
    message: /memory limit 4096[\s\S]*pids limit -1/,
  });
  t.throws(() => containerConfigToOciSpec('c1', { args: ['x'], resources: { cpuMillicores: 5 } }, opts), {
    code: 'ImpossibleLimits',
  });
  t.throws(() => containerConfigToOciSpec('c1', { args: [], cwd: 'rel' }, opts), {
    code: 'InvalidConfig',
    message: /args[\s\S]*cwd/,
  });
  t.throws(() => containerConfigToOciSpec('../escape', { args: ['x'] }, opts), { code: 'InvalidConfig' });
  t.throws(
    () => containerConfigToOciSpec('c1', { args: ['x'], mounts: [{ destination: '/d', source: 'relative' }] }, opts),
    { code: 'InvalidConfig' },
  );
});

t.test('securityContext privileges: capabilities added then dropped, privileged, Unconfined seccomp', async (t) => {
  const caps = (capabilities: { add?: string[]; drop?: string[] }) =>
    containerConfigToOciSpec('c3', { args: ['sh'], capabilities }, opts).process.capabilities;
  t.same(caps({ drop: ['ALL'] }).effective, [], 'drop ALL leaves none');
  t.same(caps({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] }).bounding, ['CAP_NET_BIND_SERVICE'], "restricted's one");
  t.same(caps({ add: ['net_admin'], drop: ['CAP_CHOWN'] }).permitted, [
    ...[...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'), 'CAP_NET_ADMIN'].sort(),
  ]);
  t.equal(caps({ add: ['ALL'], drop: ['SYS_ADMIN'] }).bounding.length, ALL_CAPABILITIES.length - 1);
  t.throws(() => caps({ add: ['CAP_FLY'] }), { code: 'InvalidConfig', message: /unknown capabilities: CAP_FLY/ });

  const plain = containerConfigToOciSpec('c4', { args: ['sh'] }, opts);
  const denied = (spec: typeof plain) => spec.linux.seccomp?.syscalls[0]?.names ?? [];
  t.ok(denied(plain).includes('mount'), 'mount is refused by default');
  const admin = containerConfigToOciSpec('c5', { args: ['sh'], capabilities: { add: ['SYS_ADMIN'] } }, opts);
  t.notOk(denied(admin).includes('mount'), 'CAP_SYS_ADMIN makes mount(2) allowed again, as in Docker');
  t.ok(denied(admin).includes('init_module'), 'but not module loads');

  const privileged = containerConfigToOciSpec('c6', { args: ['sh'], privileged: true }, opts);
  t.same(privileged.process.capabilities.effective, [...ALL_CAPABILITIES].sort());
  t.equal(privileged.linux.seccomp, undefined, 'no seccomp filter');
  t.same([privileged.linux.maskedPaths, privileged.linux.readonlyPaths], [[], []], 'nothing masked');
  t.same(privileged.linux.resources.devices, [{ allow: true, access: 'rwm' }], 'every device');
  t.equal(privileged.process.noNewPrivileges, false);
  t.ok(privileged.mounts.find((m) => m.destination === '/sys')?.options.includes('rw'), '/sys is writable');
  t.equal(plain.process.noNewPrivileges, true);
  t.equal(
    containerConfigToOciSpec('c7', { args: ['sh'], allowPrivilegeEscalation: true }, opts).process.noNewPrivileges,
    false,
  );
  t.equal(containerConfigToOciSpec('c8', { args: ['sh'], seccomp: 'Unconfined' }, opts).linux.seccomp, undefined);
});
