// Makes this host able to run containers, idempotently: cgroup layout fix-ups and finding crun/runc, conmon.
import { access, constants, readFile } from 'node:fs/promises';
import path from 'node:path';
import { RuntimeError } from '../runtime/errors.js';
import { detectCgroupLayout, type CgroupLayout } from './cgroup-layout.js';
import { runCommand } from './run-command.js';

export interface ToolInfo {
  readonly path: string;
  /** First line of `--version`, e.g. `crun version 1.8.1`. */
  readonly version: string;
}

export interface HostReport {
  readonly cgroups: CgroupLayout;
  /** What prepareHost changed on this run, in words; empty when the host was already ready. */
  readonly actions: readonly string[];
  readonly runtime: ToolInfo & { readonly name: 'crun' | 'runc' };
  readonly conmon: ToolInfo;
  /** Python 3, used to pass pty fds and seqpacket sockets that Node cannot handle; undefined if absent. */
  readonly python: string | undefined;
  /** The agent's own hard RLIMIT_NOFILE; containers never get more. */
  readonly nofileHardLimit: number;
}

export interface PrepareHostOptions {
  /** Where cgroup hierarchies live. @default '/sys/fs/cgroup' */
  readonly cgroupRoot?: string;
  /** Search path for the tools. @default process.env.PATH plus the sbin dirs */
  readonly searchPath?: string;
  /** Prefer this runtime; the other is the fallback. @default 'crun' */
  readonly preferRuntime?: 'crun' | 'runc';
}

async function findExecutable(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

async function toolVersion(file: string): Promise<string> {
  const r = await runCommand(file, ['--version']);
  return (r.stdout.split('\n')[0] ?? '').trim();
}

/** Reads the hard limit of one resource from /proc/self/limits (Node has no getrlimit). */
export async function ownHardLimit(resource: 'Max open files' | 'Max processes'): Promise<number> {
  const text = await readFile('/proc/self/limits', 'utf8');
  for (const line of text.split('\n')) {
    if (!line.startsWith(resource)) continue;
    const fields = line.slice(resource.length).trim().split(/\s+/);
    const hard = fields[1];
    if (hard === 'unlimited') return Number.MAX_SAFE_INTEGER;
    if (hard !== undefined && /^\d+$/.test(hard)) return Number(hard);
  }
  throw new RuntimeError('HostNotReady', `cannot read the hard limit "${resource}" from /proc/self/limits`);
}

/**
 * crun 1.8 refuses a v1 host whose hugetlb controller is bound to the v2 hierarchy beside it;
 * giving hugetlb its own v1 hierarchy first satisfies it. flock makes concurrent agents (and tests)
 * mount it once instead of stacking mounts.
 */
async function mountHugetlbV1(cgroupRoot: string): Promise<void> {
  const target = path.join(cgroupRoot, 'hugetlb');
  const script = `mountpoint -q "$1" || { mkdir -p "$1" && mount -t cgroup -o hugetlb cgroup "$1"; }`;
  const r = await runCommand('flock', ['/run/berth-host-prepare.lock', 'sh', '-c', script, 'sh', target]);
  if (r.code !== 0) {
    throw new RuntimeError(
      'HostNotReady',
      `mounting a v1 hugetlb cgroup hierarchy at ${target} failed: ${r.stderr.trim()}`,
      {
        stderr: r.stderr,
      },
    );
  }
}

async function kernelHasController(name: string): Promise<boolean> {
  const text = await readFile('/proc/cgroups', 'utf8');
  return text.split('\n').some((l) => {
    const f = l.split('\t');
    return f[0] === name && f[3] === '1';
  });
}

/** Detects the cgroup layout, fixes what crun needs, finds the tools. Safe to call on every agent start. */
export async function prepareHost(options: PrepareHostOptions = {}): Promise<HostReport> {
  const cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup';
  const searchPath = options.searchPath ?? `${process.env['PATH'] ?? ''}:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin`;
  const actions: string[] = [];

  let cgroups = await detectCgroupLayout();
  if (cgroups.mode !== 'v2' && !cgroups.v1.has('hugetlb') && (await kernelHasController('hugetlb'))) {
    await mountHugetlbV1(cgroupRoot);
    cgroups = await detectCgroupLayout();
    if (!cgroups.v1.has('hugetlb')) {
      throw new RuntimeError('HostNotReady', 'mounted a v1 hugetlb hierarchy but mountinfo does not show it');
    }
    actions.push(
      `mounted a v1 hugetlb cgroup hierarchy at ${cgroups.v1.get('hugetlb') ?? ''} (crun rejects hugetlb on the v2 side of a hybrid host)`,
    );
  }
  if (cgroups.mode !== 'v2' && !cgroups.v1.has('memory')) {
    throw new RuntimeError(
      'HostNotReady',
      'cgroup v1 host without a memory hierarchy: memory limits cannot be enforced',
    );
  }

  const order: Array<'crun' | 'runc'> = options.preferRuntime === 'runc' ? ['runc', 'crun'] : ['crun', 'runc'];
  let runtime: HostReport['runtime'] | undefined;
  for (const name of order) {
    const found = await findExecutable(name, searchPath);
    if (found !== undefined) {
      runtime = { name, path: found, version: await toolVersion(found) };
      break;
    }
  }
  if (runtime === undefined)
    throw new RuntimeError(
      'HostNotReady',
      'neither crun nor runc is installed (hack/install-debian-deps.sh installs both)',
    );
  const conmonPath = await findExecutable('conmon', searchPath);
  if (conmonPath === undefined)
    throw new RuntimeError('HostNotReady', 'conmon is not installed (hack/install-debian-deps.sh installs it)');
  const conmon = { path: conmonPath, version: await toolVersion(conmonPath) };

  // Only the distribution's python: version managers' shims depend on the caller's environment.
  const python = (await findExecutable('python3', '/usr/bin:/bin')) ?? undefined;

  return { cgroups, actions, runtime, conmon, python, nofileHardLimit: await ownHardLimit('Max open files') };
}
