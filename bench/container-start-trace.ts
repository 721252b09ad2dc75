// A trace of single container starts through the API: `berth up` (with its node agent) runs under
// `strace -f --seccomp-bpf` watching only execve and mount, so every process berth spawns and every mount it makes
// is timed with little overhead, beside the client's own view (create sent, 201, each watch event of the Container).
//
//   npx tsc -b && node --conditions=berth-src --import=tsx bench/container-start-trace.ts [--runs N] [--network none|bridge]
//        [--entry built|src]
//
// Prints, for the last of N starts (the first ones warm the image and the JIT), one line per step in milliseconds
// from the create request: the API hops seen by the watch (bound, finalizer, status writes), each spawn (what
// ran, when it started, how long it lived or until it exec'd away) and each mount. Needs root. Indicative: strace
// itself adds a little to every spawn.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import type { Container } from '@berth/api';
import { freePort } from '@berth/testkit';
import { parse } from 'yaml';
import { containersIn, sleeper } from './agent-cluster.js';

const execFileAsync = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 4);
const entry = arg('--entry') === 'src' ? 'src' : 'built';
const network = arg('--network') === 'bridge' ? undefined : 'none';

interface Mark {
  readonly at: number; // epoch ms
  readonly what: string;
}

/** strace -ttt lines → spawns (pid, first execve, exit or next execve) and mounts, as marks. */
function straceMarks(text: string, from: number, to: number): Mark[] {
  const marks: Mark[] = [];
  const exec = new Map<string, { at: number; file: string }>();
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+) (.*)$/.exec(line);
    if (m === null) continue;
    const [, pid = '', t = '', rest = ''] = m;
    const at = Number(t) * 1000;
    // A forked child runs what its parent ran until it execs (crun's children mount inside the container).
    const fork = /(?:clone3?|v?fork)(?: resumed>)?.*\) = (\d+)$/.exec(rest);
    if (fork !== null) {
      const parent = exec.get(pid);
      // A vfork's child (posix_spawn) execs before its parent's clone returns: what it exec'd stays.
      if (parent !== undefined && !exec.has(fork[1] ?? ''))
        exec.set(fork[1] ?? '', { at: Number.NaN, file: parent.file });
      continue;
    }
    const e = /^execve\("([^"]+)", \[(.*?)\]/.exec(rest);
    if (e !== null && !rest.includes('= -1')) {
      const prev = exec.get(pid);
      if (prev !== undefined && prev.at >= from && prev.at <= to)
        marks.push({ at: prev.at, what: `spawn ${prev.file} (${(at - prev.at).toFixed(1)} ms until it exec'd)` });
      const argv = (e[2] ?? '').replace(/"/g, '').split(', ').slice(0, 3).join(' ');
      exec.set(pid, { at, file: argv });
      continue;
    }
    if (rest.startsWith('mount(')) {
      const end = rest.lastIndexOf(') = ');
      // The runtime's own mounts inside the new container are its business: only what berth (or mount(8)) mounts.
      const by = exec.get(pid)?.file ?? 'node';
      if (at >= from && at <= to && !by.includes('crun') && !by.includes('conmon'))
        marks.push({ at, what: `mount by ${by.split(' ')[0]}: ${rest.slice(6, 50)}… ${rest.slice(end + 2)}` });
      continue;
    }
    if (rest.startsWith('+++ exited') || rest.startsWith('+++ killed')) {
      const prev = exec.get(pid);
      if (prev !== undefined && prev.at >= from && prev.at <= to)
        marks.push({ at: prev.at, what: `spawn ${prev.file} (${(at - prev.at).toFixed(1)} ms to exit)` });
      exec.delete(pid);
    }
  }
  for (const [, prev] of exec)
    if (prev.at >= from && prev.at <= to) marks.push({ at: prev.at, what: `spawn ${prev.file} (still running)` });
  return marks;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/container-start-trace needs root (strace, crun, overlay)');
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-trace-'));
  const registryPort = await freePort();
  const registryDir = join(work, 'registry');
  await execFileAsync(join(repo, 'hack', 'registry.sh'), [
    'start',
    '--port',
    String(registryPort),
    '--dir',
    registryDir,
  ]);
  await execFileAsync(join(repo, 'hack', 'busybox-image.sh'), [`127.0.0.1:${registryPort}`], {
    env: { ...process.env, BERTH_BUSYBOX_OCI: join(work, 'oci') },
  });
  const image = `127.0.0.1:${registryPort}/library/busybox:latest`;
  const port = await freePort();
  const kubeconfig = join(work, 'kubeconfig');
  const traceFile = join(work, 'strace.txt');
  const main =
    entry === 'src'
      ? ['--conditions=berth-src', '--import=tsx', join(repo, 'cli/src/main.ts')]
      : [join(repo, 'cli/dist/main.js')];
  const up = spawn(
    'strace',
    [
      '-f',
      '--seccomp-bpf',
      '-ttt',
      '-q',
      '-e',
      'signal=none',
      '-e',
      'trace=execve,mount,clone,clone3,fork,vfork',
      '-s',
      '200',
      '-o',
      traceFile,
      process.execPath,
      ...main,
      'up',
      '--data-dir',
      join(work, 'data'),
      '--listen',
      `127.0.0.1:${port}`,
      '--kubeconfig',
      kubeconfig,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'], cwd: repo },
  );
  let abort: (() => void) | undefined;
  try {
    for (const until = Date.now() + 60_000; ; ) {
      if (Date.now() > until) throw new Error('berth up did not write its kubeconfig within 60 s');
      const text = await readFile(kubeconfig, 'utf8').catch(() => '');
      if (text !== '' && parse(text) !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const marks: Mark[] = [];
    let waiter: { name: string; until: (c: Container | undefined) => boolean; resolve: () => void } | undefined;
    const req = await new Watch(kc).watch(
      '/apis/berth.dev/v1alpha1/namespaces/default/containers',
      {},
      (type: string, c: Container) => {
        const at = Date.now();
        const w = waiter;
        if (w !== undefined && c.metadata.name === w.name) {
          marks.push({
            at,
            what: `watch ${type} rv ${c.metadata.resourceVersion}: node ${c.spec.nodeName ?? '-'}, finalizers ${(c.metadata.finalizers ?? []).length}, phase ${c.status?.phase ?? '-'} ${c.status?.reason ?? ''}`,
          });
          if (w.until(type === 'DELETED' ? undefined : c)) w.resolve();
        }
      },
      () => undefined,
    );
    abort = () => req.abort();
    const until = (name: string, pred: (c: Container | undefined) => boolean): Promise<void> =>
      new Promise((resolve) => {
        waiter = { name, until: pred, resolve };
      });
    let from = 0;
    let to = 0;
    for (let round = 0; round < runs; round++) {
      // The node agent registers after berth is up; the first create may wait for it.
      const name = `trace-${round}`;
      marks.length = 0;
      const running = until(name, (c) => c?.status?.phase === 'Running');
      from = Date.now();
      marks.push({ at: from, what: 'create sent' });
      await api.createNamespacedCustomObject({ ...containersIn, body: sleeper(name, image, { networkMode: network }) });
      marks.push({ at: Date.now(), what: 'create answered 201' });
      await running;
      to = Date.now();
      const gone = until(name, (c) => c === undefined);
      await api.deleteNamespacedCustomObject({ ...containersIn, name });
      await gone;
    }
    // strace writes as it goes; give it a moment to flush the last lines.
    await new Promise((r) => setTimeout(r, 300));
    const all = [...marks.filter((m) => m.at <= to), ...straceMarks(await readFile(traceFile, 'utf8'), from, to)].sort(
      (a, b) => a.at - b.at,
    );
    console.log(`one start, create → Running by watch: ${to - from} ms (round ${runs} of ${runs})`);
    for (const m of all) console.log(`  +${(m.at - from).toFixed(1).padStart(6)} ms  ${m.what}`);
  } finally {
    abort?.();
    // strace's child is berth: SIGTERM it (its agent leaves containers running; every round removed its own).
    const children = await readFile(`/proc/${up.pid}/task/${up.pid}/children`, 'utf8').catch(() => '');
    for (const pid of children
      .trim()
      .split(' ')
      .filter((p) => p !== ''))
      process.kill(Number(pid), 'SIGTERM');
    await new Promise((r) => up.once('exit', r));
    await execFileAsync(join(repo, 'hack', 'registry.sh'), [
      'stop',
      '--port',
      String(registryPort),
      '--dir',
      registryDir,
    ]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
