// Real crun + conmon (root): containers run with their config and limits, report exits, and leave nothing after delete.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { eventually } from '@berth/testkit';
import { readLogEntries } from '../../src/logs/k8s-file.js';
import { isRuntimeError } from '../../src/runtime/errors.js';
import { cgroupsPathFor } from '../../src/runtime/oci-spec.js';
import { IdRanges } from '../../src/user-namespaces/id-ranges.js';
import { setUp } from './harness.js';

const h = await setUp(t);
const exitedOrZombie = /^\d+ \(.*\) [ZX] /s;
// conmon is re-parented to init, which may reap it a moment later: a zombie counts as gone.
async function alive(pid: number | undefined): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !exitedOrZombie.test(stat);
}
const exited = (s: { status: string }) => s.status === 'exited';

t.test('echo: output lands in the log with stdout and stderr told apart', async (t) => {
  const st = await h.run('echo', { args: ['sh', '-c', 'echo to-out; echo to-err >&2'] });
  const done = await h.waitFor(st.id, exited);
  t.equal(done.exitCode, 0);
  t.equal(done.reason, 'Completed');
  const entries = [];
  for await (const e of readLogEntries(h.rt.logFiles(st.id))) entries.push(e);
  t.same(
    entries.map((e) => [e.stream, e.text]),
    [
      ['stdout', 'to-out'],
      ['stderr', 'to-err'],
    ],
  );
  t.match(entries[0]?.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});

t.test('logs: a follow streams lines as they come and ends when the container exits', async (t) => {
  const st = await h.run('follow', { args: ['sh', '-c', 'for i in 1 2 3; do echo "n $i"; sleep 0.2; done'] });
  let body = '';
  const t0 = performance.now();
  for await (const chunk of h.rt.logs(st.id, { follow: true })) body += String(chunk);
  t.equal(body, 'n 1\nn 2\nn 3\n');
  t.ok(performance.now() - t0 >= 300, 'it waited for the lines still to come');
  let tail = '';
  for await (const chunk of h.rt.logs(st.id, { tailLines: 1, timestamps: true })) tail += String(chunk);
  t.match(tail, /^\S+Z n 3\n$/);
});

t.test('env, working directory, hostname and user reach the process', async (t) => {
  const st = await h.run('env', {
    args: [
      'sh',
      '-c',
      'echo "$GREETING"; pwd; hostname; id -u; id -g; cat /etc/resolv.conf | grep -c nameserver || true',
    ],
    env: { GREETING: 'hello there' },
    cwd: '/tmp',
    hostname: 'web-1',
    user: { uid: 1000, gid: 1000 },
  });
  await h.waitFor(st.id, exited);
  const lines = (await h.logText(st.id))
    .trim()
    .split('\n')
    .map((l) => l.split(' ').slice(3).join(' '));
  t.same(lines, ['hello there', '/tmp', 'web-1', '1000', '1000', '0'], 'no resolver leaks in from the host');
});

t.test(
  'hardening is in force inside: seccomp, no-new-privileges, capabilities, masked paths, read-only rootfs',
  async (t) => {
    const st = await h.run('harden', {
      args: [
        'sh',
        '-c',
        [
          'grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/self/status',
          'unshare -U true 2>/dev/null; echo "unshare=$?"',
          'wc -c < /proc/timer_list',
          'touch /newfile 2>/dev/null; echo "write=$?"',
          'ulimit -Hn',
        ].join('; '),
      ],
      readonlyRootfs: true,
    });
    await h.waitFor(st.id, exited);
    const out = (await h.logText(st.id))
      .split('\n')
      .map((l) => l.split(' ').slice(3).join(' '))
      .join('\n');
    t.match(out, /Seccomp:\s+2/);
    t.match(out, /NoNewPrivs:\s+1/);
    t.match(out, /CapEff:\s+00000000800405fb/, "Podman's default set, narrower than Docker's");
    t.match(out, /unshare=[1-9]/, 'unshare is refused');
    t.match(out, /^0$/m, '/proc/timer_list is masked');
    t.match(out, /write=1/, 'the rootfs is read-only');
    t.match(out, new RegExp(`^${h.host.nofileHardLimit}$`, 'm'), "nofile hard limit is the agent's own");
  },
);

t.test(
  'mount, a module load, setting the clock and adding a link are refused with EPERM; host processes unseen',
  async (t) => {
    const id = await h.newId('refused');
    // Any bytes will do: the kernel refuses the load before it reads the module.
    await writeFile(path.join(h.root, 'containers', id, 'rootfs', 'tmp', 'm.ko'), 'not a module');
    const before = Date.now();
    const st = await h.rt.run(id, {
      args: [
        'sh',
        '-c',
        [
          'mount -t tmpfs tmpfs /mnt 2>&1; echo "mount=$?"',
          'insmod /tmp/m.ko 2>&1; echo "insmod=$?"',
          'date -s "2001-02-03 04:05:06" 2>&1; echo "date=$?"',
          'ip link add berthx0 type dummy 2>&1; echo "link=$?"',
          'echo "processes=$(ls -d /proc/[0-9]* | wc -l) init=$(tr -d \'\\0\' < /proc/1/cmdline)"',
        ].join('; '),
      ],
    });
    await h.waitFor(st.id, exited);
    const out = (await h.logText(st.id))
      .split('\n')
      .map((l) => l.split(' ').slice(3).join(' '))
      .join('\n');
    // busybox words EPERM from mount(2) as "permission denied (are you root?)", the others with strerror(EPERM).
    t.match(out, /mount: permission denied \(are you root\?\)\nmount=[1-9]/, 'mount(2) is refused');
    t.match(out, /insmod: .*Operation not permitted\ninsmod=[1-9]/, 'a module load is refused');
    // busybox goes on to print the date it could not set.
    t.match(out, /date: can't set date: Operation not permitted\n/, 'setting the clock is refused');
    t.match(out, /RTNETLINK answers: Operation not permitted\nlink=[1-9]/, 'adding a link is refused');
    t.ok(Date.now() >= before && new Date().getFullYear() > 2001, "the node's clock did not move");
    const seen = /processes=(\d+) init=(.*)/.exec(out);
    t.ok(Number(seen?.[1]) <= 5, `it sees its own few processes, not the node's (${seen?.[1]})`);
    t.match(seen?.[2], /^sh-c/, 'its first process is pid 1');
  },
);

t.test('a user namespace of its own: root inside is an unprivileged id on the node; binds are idmapped', async (t) => {
  const ranges = new IdRanges({ dataRoot: h.root, leaseDir: path.join(h.root, 'userns-leases') });
  const id = await h.newId('userns');
  const range = ranges.allocate(id);
  t.teardown(() => ranges.release(id));
  const rootfs = path.join(h.root, 'containers', id, 'rootfs');
  // A plain directory is the rootfs here (the overlay snapshotter idmaps its layers): it is the range's own.
  await mkdir(path.join(rootfs, 'data'));
  await promisify(execFile)('chown', ['-R', `${range.hostId}:${range.hostId}`, rootfs]);
  const volume = path.join(h.root, `volume-${id}`);
  await mkdir(volume);
  await writeFile(path.join(volume, 'from-node'), 'x');
  const st = await h.rt.run(id, {
    args: [
      'sh',
      '-c',
      'id -u; cat /proc/self/uid_map; stat -c "seen=%u" /data/from-node; echo hi > /data/written; echo done; sleep 60',
    ],
    userNamespace: range,
    mounts: [{ destination: '/data', source: volume }],
  });
  const text = async () => (await h.logText(st.id)).split('\n').map((l) => l.split(' ').slice(3).join(' '));
  t.ok(await eventually(async () => (await text()).includes('done'), 30_000), 'it ran');
  const lines = await text();
  t.equal(lines[0], '0', 'id -u is 0 inside');
  t.match(lines[1], new RegExp(`^\\s*0\\s+${range.hostId}\\s+65536$`), 'uid_map shows the range');
  t.ok(range.hostId >= 2 ** 30, `the range starts at ${range.hostId}, far from the node's own ids`);
  const status = await readFile(`/proc/${st.pid}/status`, 'utf8');
  t.match(
    status,
    new RegExp(`^Uid:\\t${range.hostId}\\t${range.hostId}\\t`, 'm'),
    'on the node it runs as the mapped uid',
  );
  t.equal(lines[2], 'seen=0', "the node's root owns the Volume's files, and so does the container's root");
  t.equal(statSync(path.join(volume, 'written')).uid, 0, "what it wrote is the node root's on disk: no chown");
  const exec = await h.rt.exec(st.id, { args: ['sh', '-c', 'id -u; cat /proc/self/uid_map'] });
  let execOut = '';
  exec.stdout.on('data', (chunk: Buffer) => {
    execOut += chunk.toString();
  });
  t.equal(await exec.exitCode, 0);
  t.match(execOut, new RegExp(`^0\\n\\s*0\\s+${range.hostId}\\s+65536\\n$`), 'an exec joins its user namespace');
  await h.rt.delete(st.id, { force: true });
  t.ok(existsSync(path.join(volume, 'written')), 'the delete unmounted the bind before removing anything');
  t.notOk(existsSync(path.join(h.root, 'userns-mounts', id)), 'no idmapped mount point is left');
});

t.test(
  'capabilities a spec drops or adds reach the process; privileged may mount; a Localhost seccomp profile holds',
  async (t) => {
    const script =
      'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; mount -t tmpfs tmpfs /tmp 2>&1; echo "mount=$?"; mkdir /tmp/d 2>&1; echo "mkdir=$?"';
    const outputOf = async (config: Omit<Parameters<typeof h.rt.run>[1], 'args'>) => {
      const st = await h.run('privs', { args: ['sh', '-c', script], ...config });
      await h.waitFor(st.id, exited);
      return (await h.logText(st.id))
        .split('\n')
        .map((l) => l.split(' ').slice(3).join(' '))
        .join('\n');
    };
    const none = await outputOf({ capabilities: { drop: ['ALL'] } });
    t.match(none, /CapEff:\s+0000000000000000/, 'drop ALL leaves none');
    t.match(none, /mount=[1-9]/);
    const admin = await outputOf({ capabilities: { add: ['SYS_ADMIN'] } });
    t.match(admin, /CapEff:\s+00000000802405fb/, 'the default set and CAP_SYS_ADMIN');
    t.match(admin, /mount=0/, 'CAP_SYS_ADMIN may mount: seccomp lets mount(2) through as Docker does');
    const privileged = await outputOf({ privileged: true });
    const own = /^CapBnd:\s*([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'))?.[1] ?? '';
    t.match(privileged, new RegExp(`CapEff:\\s+${own}`), `every capability the agent has (${own})`);
    t.match(privileged, /NoNewPrivs:\s+0/);
    t.match(privileged, /Seccomp:\s+0/, 'no seccomp filter');
    t.match(privileged, /mount=0/);
    const profile = await outputOf({
      seccomp: {
        localhost: {
          defaultAction: 'SCMP_ACT_ALLOW',
          architectures: [],
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
        },
      },
    });
    t.match(profile, /Seccomp:\s+2/);
    t.match(
      profile,
      /mkdir: can't create directory '\/tmp\/d': Operation not permitted\nmkdir=1/,
      'a Localhost profile',
    );
    t.match(none, /mkdir=0/);
  },
);

t.test("memory, cpu and pids limits are in the container's cgroups", async (t) => {
  const st = await h.run('limits', {
    args: ['sleep', '30'],
    resources: { memoryBytes: 64 * 1024 * 1024, cpuMillicores: 500, pids: 32 },
  });
  t.equal(st.status, 'running');
  const mem = h.host.cgroups.v1.get('memory') ?? '';
  t.equal(
    (await readFile(path.join(mem, 'berth', st.id, 'memory.limit_in_bytes'), 'utf8')).trim(),
    String(64 * 1024 * 1024),
  );
  t.equal(
    (
      await readFile(path.join(mem, 'berth', st.id, 'memory.memsw.limit_in_bytes'), 'utf8').catch(() =>
        String(64 * 1024 * 1024),
      )
    ).trim(),
    String(64 * 1024 * 1024),
    'no swap beyond the limit',
  );
  const cpu = h.host.cgroups.v1.get('cpu') ?? '';
  t.equal((await readFile(path.join(cpu, 'berth', st.id, 'cpu.cfs_quota_us'), 'utf8')).trim(), '50000');
  const pids = h.host.cgroups.v1.get('pids') ?? '';
  t.equal((await readFile(path.join(pids, 'berth', st.id, 'pids.max'), 'utf8')).trim(), '32');
  const stopped = await h.rt.stop(st.id, 0);
  t.equal(stopped.exitCode, 137);
});

t.test('the pids limit stops a fork bomb at the limit', async (t) => {
  const st = await h.run('pids', {
    args: ['sh', '-c', 'for i in $(seq 1 20); do sleep 30 & done; wait'],
    resources: { pids: 8 },
  });
  const done = await h.waitFor(st.id, exited);
  // A shell whose fork fails gives up: the forks beyond the limit were refused by the kernel.
  t.match(await h.logText(st.id), /can't fork|Resource temporarily unavailable/, 'forks beyond the limit fail');
  t.not(done.exitCode, 0);
  t.equal((await h.rt.stop(st.id, 0)).status, 'exited');
});

t.test('a memory hog is OOM-killed and the state says so', async (t) => {
  const st = await h.run('oom', {
    args: ['sh', '-c', 'x=a; while true; do x="$x$x"; done'],
    resources: { memoryBytes: 16 * 1024 * 1024 },
  });
  const done = await h.waitFor(st.id, exited, 20_000);
  t.equal(done.status, 'exited');
  t.equal(done.oomKilled, true);
  t.equal(done.reason, 'OOMKilled');
  t.equal(done.exitCode, 137);
});

t.test('stop: SIGTERM first, SIGKILL after the grace period', async (t) => {
  // pid 1 without a handler ignores SIGTERM: stop must wait out the grace period, then kill.
  const stubborn = await h.run('stop-hard', { args: ['sleep', '60'] });
  const t0 = performance.now();
  const s1 = await h.rt.stop(stubborn.id, 1);
  const took = performance.now() - t0;
  t.equal(s1.exitCode, 137);
  t.ok(took >= 1000 && took < 10_000, `took ${Math.round(took)} ms for a 1 s grace period`);

  const polite = await h.run('stop-soft', {
    args: ['sh', '-c', 'trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done'],
  });
  await new Promise((r) => setTimeout(r, 200));
  const t1 = performance.now();
  const s2 = await h.rt.stop(polite.id, 10);
  t.equal(s2.exitCode, 0, 'exited on its own after SIGTERM');
  t.ok(performance.now() - t1 < 8000, 'without waiting for the 10 s grace period');
  t.match(await h.logText(polite.id), /bye/);
  t.ok(s2.finishedAt !== undefined && s2.startedAt !== undefined && s2.finishedAt >= s2.startedAt);
});

t.test('pause freezes every process of the container (the freezer cgroup) and resume thaws it', async (t) => {
  const st = await h.run('pause', { args: ['sh', '-c', 'while :; do sleep 0.05; done'] });
  t.teardown(() => h.rt.delete(st.id, { force: true }));
  const freezer = path.join('/sys/fs/cgroup/freezer', cgroupsPathFor(st.id), 'freezer.state');
  const cgroupV1 = existsSync(path.dirname(freezer));
  const frozen = async () =>
    cgroupV1
      ? (await readFile(freezer, 'utf8')).trim()
      : (await readFile(path.join('/sys/fs/cgroup', cgroupsPathFor(st.id), 'cgroup.freeze'), 'utf8')).trim();
  await h.rt.pause(st.id);
  t.equal(await frozen(), cgroupV1 ? 'FROZEN' : '1', 'the cgroup is frozen');
  t.equal((await h.rt.state(st.id)).status, 'running', 'a paused container still counts as running');
  await h.rt.resume(st.id);
  t.equal(await frozen(), cgroupV1 ? 'THAWED' : '0');
  await h.rt.kill(st.id, 'SIGKILL');
  await h.waitFor(st.id, exited);
  t.match(await h.rt.pause(st.id).catch((e: unknown) => e), { code: 'ContainerNotRunning' });
});

t.test('exit codes and kill', async (t) => {
  const st = await h.run('exit', { args: ['sh', '-c', 'exit 42'] });
  t.equal((await h.waitFor(st.id, exited)).exitCode, 42);
  t.equal((await h.rt.state(st.id)).reason, 'Error');
  const k = await h.run('kill', { args: ['sh', '-c', 'trap "exit 7" USR1; while true; do sleep 0.1; done'] });
  await new Promise((r) => setTimeout(r, 200));
  await h.rt.kill(k.id, 'SIGUSR1');
  t.equal((await h.waitFor(k.id, exited)).exitCode, 7);
  await t.rejects(h.rt.kill(k.id, 'SIGTERM'), { code: 'ContainerNotRunning' });
});

t.test('a command that does not exist is a CommandNotFound error, leaving nothing behind', async (t) => {
  const id = await h.newId('nocmd');
  const err = await h.rt.run(id, { args: ['/no/such/program'] }).catch((e: unknown) => e);
  t.ok(isRuntimeError(err, 'CommandNotFound'), `got ${String(err)}`);
  t.match((err as Error).message, /no\/such\/program/);
  const err2 = await h.rt.run(await h.newId('nocmd2'), { args: ['no-such-command'] }).catch((e: unknown) => e);
  t.ok(isRuntimeError(err2, 'CommandNotFound'), `got ${String(err2)}`);
  await t.rejects(h.rt.state(id), { code: 'ContainerNotFound' });
  t.notOk(existsSync(path.join(h.host.cgroups.v1.get('memory') ?? '', 'berth', id)));
});

t.test('impossible limits and bad config are refused before anything runs', async (t) => {
  const id = await h.newId('bad');
  await t.rejects(h.rt.run(id, { args: ['true'], resources: { memoryBytes: 1024 } }), { code: 'ImpossibleLimits' });
  await t.rejects(h.rt.run(id, { args: ['true'], resources: { pids: 0 } }), { code: 'ImpossibleLimits' });
  await t.rejects(h.rt.run(id, { args: [] }), { code: 'InvalidConfig' });
  await t.rejects(h.rt.run('Bad/Id', { args: ['true'] }), { code: 'InvalidConfig' });
  await t.rejects(h.rt.state(id), { code: 'ContainerNotFound' });
});

t.test('delete removes process, cgroups, bundle, sockets and logs, but not the rootfs', async (t) => {
  const st = await h.run('del', {
    args: ['sh', '-c', 'echo x > /tmp/written; sleep 60'],
    resources: { memoryBytes: 32 << 20, pids: 10 },
  });
  t.equal(st.status, 'running');
  await t.rejects(h.rt.delete(st.id), { code: 'ContainerRunning' }, 'refuses a running container without force');
  await h.rt.delete(st.id, { force: true });
  t.notOk(existsSync(`/proc/${st.pid}`), 'process gone');
  t.notOk(await alive(st.conmonPid), 'conmon gone');
  for (const mount of new Set(h.host.cgroups.v1.values()))
    t.notOk(existsSync(path.join(mount, 'berth', st.id)), `no cgroup under ${mount}`);
  const left = await readdir(h.rt.containerDir(st.id));
  t.same(left, ['rootfs'], "only the snapshotter's rootfs remains");
  t.notOk(existsSync(path.join(h.root, 'attach', st.id)));
  t.notOk(existsSync(path.join(h.runtimeRoot, st.id)), 'runtime state gone');
  t.same((await h.rt.list()).map((s) => s.id).includes(st.id), false);
});
