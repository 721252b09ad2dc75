// Runs `berth up` in its own process for the API benchmarks (so the load generator's CPU is not the server's),
// and gives them what they share: the ~1 KB Container they write, an HTTPS client pool trusting the server's CA,
// percentiles, and per-process CPU and RSS read from /proc.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, Pool } from 'undici';
import { parse } from 'yaml';
import { freePort } from '@berth/testkit';

const repo = fileURLToPath(new URL('..', import.meta.url));

/** user+system CPU seconds a process has used (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s). */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are counted from its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds of a process, the children it has reaped, and its live descendants with theirs (berth's host tools
 * and the tools it reaped): the whole cost of what berth ran, wherever it ran it.
 */
export async function treeCpuSeconds(pid: number): Promise<number> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0; // gone meanwhile
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let total = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tasks) {
    const children = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '');
    for (const child of children.split(' ').filter((c) => c !== '')) total += await treeCpuSeconds(Number(child));
  }
  return total;
}

/** VmRSS of a process and its live descendants (berth's host tools), each measured on its own, in bytes. */
export async function treeRss(pid: number): Promise<number> {
  let total = await processRss(pid).catch(() => 0);
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tasks) {
    const children = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '');
    for (const child of children.split(' ').filter((c) => c !== '')) total += await treeRss(Number(child));
  }
  return total;
}

/** VmRSS of a process in bytes. */
export async function processRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU seconds this (load generator) process has used. */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface BerthOptions {
  /** 'built' runs cli/dist/main.js (after `npx tsc -b`); 'src' runs cli/src/main.ts through tsx. */
  readonly entry?: 'built' | 'src';
  /** Write a V8 CPU profile of the server into this directory when it stops. */
  readonly cpuProfDir?: string;
  /** Pin the server to these CPUs (taskset -c LIST), e.g. "0". */
  readonly cpus?: string;
  /** Extra flags for the server's node, e.g. --max-semi-space-size=2, to try a setting without editing berth. */
  readonly nodeArgs?: readonly string[];
  /** Extra arguments for `berth up` itself. */
  readonly upArgs?: readonly string[];
  /**
   * Run berth up's node agent. Off by default: it would adopt the benchmark's Containers and try to pull their
   * (non-loopback) images, adding writes to what is measured and reaching for an address outside this machine.
   */
  readonly agent?: boolean;
  /** The checkout whose build runs (another worktree, for a before/after in one run). @default this one */
  readonly repo?: string;
}

export interface BerthProcess {
  readonly url: string;
  readonly pid: number;
  readonly token: string;
  readonly caCert: string;
  /** The admin kubeconfig `berth up --kubeconfig` wrote, for kubectl and berth's other processes. */
  readonly kubeconfig: string;
  /** From spawn until GET /readyz answered 200. */
  readonly spawnToReadyMs: number;
  cpuSeconds(): Promise<number>;
  /** CPU of the server, what it reaped and its live descendants (treeCpuSeconds). */
  treeCpuSeconds(): Promise<number>;
  rss(): Promise<number>;
  /** SIGTERM (so a CPU profile is written), wait for exit, remove the data dir. */
  close(): Promise<void>;
}

/** `berth up --data-dir <fresh temp dir> --listen 127.0.0.1:<free port>`, ready to serve. */
export async function startBerth(options: BerthOptions = {}): Promise<BerthProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-api-'));
  const port = await freePort();
  const kubeconfig = join(dir, 'bench-kubeconfig');
  const nodeArgs: string[] = [...(options.nodeArgs ?? [])];
  if (options.cpuProfDir !== undefined) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  const root = options.repo ?? repo;
  if (options.entry === 'src') nodeArgs.push('--conditions=berth-src', '--import=tsx', join(root, 'cli/src/main.ts'));
  else nodeArgs.push(join(root, 'cli/dist/main.js'));
  const args = [
    ...nodeArgs,
    'up',
    '--data-dir',
    join(dir, 'data'),
    '--listen',
    `127.0.0.1:${port}`,
    '--kubeconfig',
    kubeconfig,
    ...(options.agent === true ? [] : ['--no-agent']),
    ...(options.upArgs ?? []),
  ];
  const [command, argv] =
    options.cpus === undefined
      ? [process.execPath, args]
      : ['/usr/bin/taskset', ['-c', options.cpus, process.execPath, ...args]];
  const started = performance.now();
  const proc = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], cwd: root });
  // Keep the server's stderr out of the tables (Koa logs every reset watch connection); show its tail if it dies.
  let stderr = '';
  let stopping = false;
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  proc.once('exit', (code, signal) => {
    if (!stopping)
      process.stderr.write(
        `berth up exited (${code ?? signal}) during the benchmark; its stderr ended with:\n${stderr}\n`,
      );
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const pid = proc.pid;
  if (pid === undefined) throw new Error('berth did not start');
  const url = `https://127.0.0.1:${port}`;
  // /readyz is public, and the CA does not exist until the server made it: poll without verifying.
  const probe = new Agent({ connect: { rejectUnauthorized: false }, pipelining: 0 });
  let spawnToReadyMs = -1;
  try {
    for (const until = Date.now() + 30_000; Date.now() < until; ) {
      if (proc.exitCode !== null) throw new Error(`berth up exited with ${proc.exitCode}: ${stderr}`);
      try {
        const res = await probe.request({ origin: url, path: '/readyz', method: 'GET' });
        await res.body.text();
        if (res.statusCode === 200) {
          spawnToReadyMs = performance.now() - started;
          break;
        }
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    await probe.close();
  }
  const stop = async (): Promise<void> => {
    stopping = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  if (spawnToReadyMs < 0) {
    await stop();
    throw new Error('berth up was not ready within 30 s');
  }
  // The kubeconfig is written just after the server listens.
  let config: string | undefined;
  for (let i = 0; config === undefined && i < 500; i++) {
    config = await readFile(kubeconfig, 'utf8').catch(() => undefined);
    if (config === undefined) await new Promise((r) => setTimeout(r, 10));
  }
  if (config === undefined) throw new Error('berth up wrote no kubeconfig');
  const kc = parse(config) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const caCert = Buffer.from(kc.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString('utf8');
  const token = kc.users[0]?.user.token ?? '';
  return {
    url,
    pid,
    token,
    caCert,
    kubeconfig,
    spawnToReadyMs,
    cpuSeconds: () => processCpuSeconds(pid),
    treeCpuSeconds: () => treeCpuSeconds(pid),
    rss: () => processRss(pid),
    close: stop,
  };
}

/** A keep-alive HTTPS pool of `connections` sockets to the server, verifying it with its CA. */
export function httpsPool(berth: BerthProcess, connections: number): Pool {
  return new Pool(berth.url, {
    connections,
    pipelining: 1,
    connect: { ca: berth.caCert },
    keepAliveTimeout: 60_000,
  });
}

export const containersPath = '/apis/berth.dev/v1alpha1/namespaces/default/containers';

/** A ~1 KB berth Container; `annotations` lets a benchmark carry e.g. a send timestamp. */
export function container(name: string, annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {
      name,
      namespace: 'default',
      labels: { app: 'bench', tier: 'backend', release: 'stable' },
      annotations: { 'bench.berth.dev/note': 'x'.repeat(380), ...annotations },
    },
    spec: {
      image: 'registry.local/bench/app:1.0',
      command: ['/bin/app', '--serve', '--port=8080'],
      env: [
        { name: 'MODE', value: 'bench' },
        { name: 'LEVEL', value: 'info' },
      ],
      resources: { limits: { cpu: '250m', memory: '128Mi' } },
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    },
  };
}

/** The value at quantile q of ascending `sorted`. */
/** Creates `count` Containers `c-0000`… in `default` through `pool`, 16 at a time. */
export async function createContainers(berth: BerthProcess, pool: Pool, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const name = `c-${String(next++).padStart(4, '0')}`;
        const res = await pool.request({
          path: containersPath,
          method: 'POST',
          headers: { authorization: `Bearer ${berth.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(container(name)),
        });
        await res.body.text();
        if (res.statusCode !== 201) throw new Error(`create ${name}: ${res.statusCode}`);
      }
    }),
  );
}

export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;
}

export const col = (v: number | string, width: number, digits = 0): string =>
  (typeof v === 'number' ? v.toFixed(digits) : v).padStart(width);

/**
 * Sums of one counter of berth's /metrics so far: each sample matching `sample` (its labels in group 1, its value in
 * group 2) is added to the key `keyOf` makes from its labels.
 */
export async function metricCounts(
  berth: BerthProcess,
  sample: RegExp,
  keyOf: (labels: ReadonlyMap<string, string>) => string,
): Promise<Map<string, number>> {
  const pool = httpsPool(berth, 1);
  try {
    const res = await pool.request({
      method: 'GET',
      path: '/metrics',
      headers: { authorization: `Bearer ${berth.token}` },
    });
    const counts = new Map<string, number>();
    for (const m of (await res.body.text()).matchAll(sample)) {
      const labels = new Map([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1] ?? '', l[2] ?? '']));
      const key = keyOf(labels);
      counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
    }
    return counts;
  } finally {
    await pool.close();
  }
}

/** `after - before` per unit of work, those at or above `least` per unit, most first, as "key n.nn, …". */
export function perUnit(before: Map<string, number>, after: Map<string, number>, units: number, least: number): string {
  return [...after]
    .map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / units] as const)
    .filter(([, v]) => v >= least)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}

/** berth's API requests so far, by verb and resource (its /metrics apiserver_request_total, every code); watches left out. */
export async function apiRequests(berth: BerthProcess): Promise<Map<string, number>> {
  const counts = await metricCounts(berth, /^apiserver_request_total\{([^}]*)\} (\S+)$/gm, (labels) => {
    const sub = labels.get('subresource') ?? '';
    return `${labels.get('verb')} ${labels.get('resource')}${sub === '' ? '' : `/${sub}`}`;
  });
  for (const k of counts.keys()) if (k.startsWith('WATCH')) counts.delete(k);
  return counts;
}
