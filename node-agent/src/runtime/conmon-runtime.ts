// The Runtime on crun (or runc) supervised by conmon: every container's state lives in files under the data root.
//
// Layout of `<root>/containers/<id>/` (rootfs/, upper/, work/ belong to the snapshotter):
//   config.json     OCI bundle config          berth.json     created/started times, options
//   conmon.pid      conmon's pid               container.pid  the container's first process
//   exit/<id>       exit status, written by conmon when the process ends (mtime = finishedAt)
//   container.log   k8s-file log (+ .1 after rotation)
//   ctl, winsz      conmon's control fifos     attach         conmon's attach socket
//   hosts, hostname, resolv.conf               bind-mounted over /etc
//   oom             created by conmon when the memory cgroup reports an OOM kill
import type { Readable } from 'node:stream';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { access, readFile, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkInteger } from '@berth/api';
import { attachToContainer, writeConmonControl } from '../exec/attach-session.js';
import { execInContainer } from '../exec/exec-session.js';
import { v1CgroupDir } from '../host/cgroup-layout.js';
import type { HostReport } from '../host/prepare-host.js';
import { posixSpawn } from '../host/posix-spawn.js';
import { runCommand } from '../host/run-command.js';
import { createLogStream, type LogReadOptions } from '../logs/k8s-file.js';
import { rotateLogIfLarger, rotatedLogPath } from '../logs/rotation.js';
import { userNamespaceFd } from '../user-namespaces/userns-fd.js';
import { RuntimeError } from './errors.js';
import { bindsDir, idmapBinds, searchableFrom, unmountBinds } from './idmapped-binds.js';
import {
  capabilitiesOfMask,
  cgroupsPathFor,
  checkContainerId,
  containerConfigToOciSpec,
  defaultHostname,
  hostsFileFor,
  resolvConfFor,
  type OciSpec,
} from './oci-spec.js';
import type {
  AttachOptions,
  ContainerConfig,
  ContainerState,
  DeleteOptions,
  ExecOptions,
  LogRotationPolicy,
  Runtime,
  StdioSession,
} from './runtime.js';

export interface ConmonRuntimeOptions {
  /** What prepareHost found: tools, cgroup layout, own limits. */
  readonly host: HostReport;
  /** The data root. @default '/var/lib/berth/node' */
  readonly root?: string;
  /** crun's state directory (`--root`). @default '/run/berth/crun' */
  readonly runtimeRoot?: string;
  /** conmon replaces a log larger than this with an empty one; a backstop for when the agent cannot rotate. @default 64 MiB */
  readonly logSizeMax?: number;
  /** How long to wait for conmon to report the created container. @default 30 s */
  readonly createTimeoutMs?: number;
}

/** What berth.json holds. */
interface ContainerRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly tty: boolean;
  readonly stdin: boolean;
}

/**
 * `sh -c` script conmon runs as its runtime for run(): argv is `<runtime> --root=… create <create options> <id>`;
 * `create` becomes `run --detach`, which takes the same options (--bundle, --pid-file, --console-socket, …).
 */
const RUN_DETACHED = '[ "$3" = create ] || exec "$@"; rt=$1; root=$2; shift 3; exec "$rt" "$root" run --detach "$@"';

const OWNED_BY_SNAPSHOTTER = new Set(['rootfs', 'upper', 'work']);

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

// The files a start writes and a state read reads are a few hundred bytes each on a local disk (and /proc): they
// are read and written synchronously, each a system call or two. Awaited one by one they cost a start ~35 ms
// under load (each a trip through libuv's pool, which the store's fsyncs share, and back through the event loop;
// bench/container-start-trace.ts), against well under a millisecond of the main thread done here.

/** The file's text; undefined when it does not exist. */
function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    // ESRCH: a /proc/<pid> file whose process exited while being read.
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return undefined;
    throw err;
  }
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

function parsePid(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Alive and not a zombie (a reaped-but-unwaited process counts as gone). */
function processAlive(pid: number): boolean {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Guards against pid reuse: the pid must still be in this container's cgroup. */
function inCgroup(pid: number, cgroupsPath: string): boolean {
  const text = readOptional(`/proc/${pid}/cgroup`);
  return text?.split('\n').some((l) => l.endsWith(`:${cgroupsPath}`)) ?? false;
}

/** The pids in a cgroup and in every cgroup below it; none once it is gone. */
async function cgroupPids(dir: string): Promise<number[]> {
  const procs = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  const own = procs
    .split('\n')
    .map((line) => parsePid(line))
    .filter((pid): pid is number => pid !== undefined);
  const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const below = await Promise.all(
    children.filter((e) => e.isDirectory()).map((e) => cgroupPids(path.join(dir, e.name))),
  );
  return [...own, ...below.flat()];
}

function isConmonOf(pid: number, id: string): boolean {
  const cmdline = readOptional(`/proc/${pid}/cmdline`);
  return cmdline?.split('\0').some((a, i, all) => a === '--cid' && all[i + 1] === id) ?? false;
}

/** crun's wording when the process's executable is missing or not executable. */
const COMMAND_NOT_FOUND =
  /executable file `[^`]*` not found|exec(?:ve)?[^\n]*(No such file or directory|Permission denied)|not found in \$PATH/;
/** How long a pause waits for the freezer to stop every process. */
const FREEZE_TIMEOUT_MS = 10_000;
const IMPOSSIBLE_LIMIT = /(memory|cpu|pids)\.[a-z_.]+[^\n]*(Invalid argument|Device or resource busy)/;

function classifyRuntimeFailure(what: string, message: string): RuntimeError {
  const text = message.trim();
  if (COMMAND_NOT_FOUND.test(text))
    return new RuntimeError('CommandNotFound', `${what}: the command does not exist in the container (${text})`, {
      stderr: text,
    });
  if (IMPOSSIBLE_LIMIT.test(text))
    return new RuntimeError('ImpossibleLimits', `${what}: the kernel refused a resource limit (${text})`, {
      stderr: text,
    });
  return new RuntimeError('RuntimeFailed', `${what} failed: ${text === '' ? 'no message' : text}`, { stderr: text });
}

let bounding: string[] | undefined;
/** The agent's own bounding set, read once: what a privileged container can be given. */
function ownBoundingSet(): string[] {
  bounding ??= capabilitiesOfMask(
    /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0',
  );
  return bounding;
}

export class ConmonRuntime implements Runtime {
  readonly root: string;
  readonly runtimeRoot: string;
  readonly #host: HostReport;
  readonly #logSizeMax: number;
  readonly #createTimeoutMs: number;

  constructor(options: ConmonRuntimeOptions) {
    checkInteger('ConmonRuntime', 'logSizeMax', options.logSizeMax);
    checkInteger('ConmonRuntime', 'createTimeoutMs', options.createTimeoutMs);
    this.#host = options.host;
    this.root = options.root ?? '/var/lib/berth/node';
    this.runtimeRoot = options.runtimeRoot ?? '/run/berth/crun';
    this.#logSizeMax = options.logSizeMax ?? 64 * 1024 * 1024;
    this.#createTimeoutMs = options.createTimeoutMs ?? 30_000;
  }

  containerDir(id: string): string {
    return path.join(this.root, 'containers', id);
  }

  logPath(id: string): string {
    return path.join(this.containerDir(id), 'container.log');
  }

  /** The log of the run before the current one, kept by `delete` with `keepLog`. */
  previousLogPath(id: string): string {
    return path.join(this.containerDir(id), 'previous.log');
  }

  #socketDir(): string {
    return path.join(this.root, 'attach');
  }

  #exitFile(id: string): string {
    return path.join(this.containerDir(id), 'exit', id);
  }

  #record(id: string): ContainerRecord {
    checkContainerId(id);
    const text = readOptional(path.join(this.containerDir(id), 'berth.json'));
    if (text === undefined) throw new RuntimeError('ContainerNotFound', `container ${id} does not exist`);
    return JSON.parse(text) as ContainerRecord;
  }

  async #runtime(args: readonly string[]) {
    return runCommand(this.#host.runtime.path, [`--root=${this.runtimeRoot}`, ...args]);
  }

  create(id: string, config: ContainerConfig): Promise<ContainerState> {
    return this.#make(id, config, false);
  }

  /** The bundle and conmon; `started`: the runtime also starts the process (one `run --detach`, no `start`). */
  async #make(id: string, config: ContainerConfig, started: boolean): Promise<ContainerState> {
    checkContainerId(id);
    const dir = this.containerDir(id);
    const rootfs = config.rootfs ?? path.join(dir, 'rootfs');
    const hostname = config.hostname ?? defaultHostname(id);
    const etcFiles = {
      hosts: path.join(dir, 'hosts'),
      hostname: path.join(dir, 'hostname'),
      resolvConf: path.join(dir, 'resolv.conf'),
    };
    // Validates before anything touches the disk.
    let spec = containerConfigToOciSpec(id, config, {
      rootfs,
      etcFiles,
      nofileHardLimit: this.#host.nofileHardLimit,
      boundingCapabilities: ownBoundingSet(),
    });
    try {
      if (!statSync(rootfs).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      throw new RuntimeError('InvalidConfig', `root filesystem ${rootfs} is missing`, { cause: err });
    }
    if (readOptional(path.join(dir, 'berth.json')) !== undefined) {
      throw new RuntimeError('ContainerExists', `container ${id} already exists`);
    }
    for (const d of [path.join(dir, 'exit'), this.#socketDir(), this.runtimeRoot]) mkdirSync(d, { recursive: true });
    writeFileSync(etcFiles.hosts, hostsFileFor(hostname, config.hosts));
    writeFileSync(etcFiles.hostname, `${hostname}\n`);
    writeFileSync(etcFiles.resolvConf, resolvConfFor(config.dnsServers));
    if (config.userNamespace !== undefined) {
      const usernsFd = await userNamespaceFd(config.userNamespace);
      const binds = bindsDir(this.root, id);
      spec = { ...spec, mounts: idmapBinds(binds, spec.mounts, usernsFd) };
      for (const target of [rootfs, path.join(binds, '0')]) searchableFrom(this.root, target);
    }
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
    const createdAt = new Date().toISOString();
    const record: ContainerRecord = {
      id,
      createdAt,
      ...(started ? { startedAt: createdAt } : {}),
      tty: config.tty === true,
      stdin: config.stdin === true,
    };
    writeAtomic(path.join(dir, 'berth.json'), JSON.stringify(record));
    try {
      await this.#spawnConmon(id, record, started);
    } catch (err) {
      await this.delete(id, { force: true }).catch(() => undefined);
      throw err;
    }
    return this.state(id);
  }

  /** Starts conmon, which double-forks away from the agent, runs `crun create` (or `run`), and reports the pid on a pipe. */
  async #spawnConmon(id: string, record: ContainerRecord, started: boolean): Promise<number> {
    const dir = this.containerDir(id);
    // conmon knows only `create`; to start in the same runtime process it runs a shell that turns that into
    // `run --detach` (same options, same pid file) and execs the runtime: no second spawn from the agent.
    const runtime = started
      ? ['/bin/sh', '-c', RUN_DETACHED, 'run-detached', this.#host.runtime.path].flatMap((a, i) =>
          i === 0 ? ['--runtime', a] : ['--runtime-arg', a],
        )
      : ['--runtime', this.#host.runtime.path];
    const args = [
      '--cid',
      id,
      '--cuuid',
      id,
      '--name',
      id,
      ...runtime,
      '--runtime-arg',
      `--root=${this.runtimeRoot}`,
      '--bundle',
      dir,
      '--conmon-pidfile',
      path.join(dir, 'conmon.pid'),
      '--container-pidfile',
      path.join(dir, 'container.pid'),
      '--exit-dir',
      path.join(dir, 'exit'),
      '--log-path',
      `k8s-file:${this.logPath(id)}`,
      '--log-size-max',
      String(this.#logSizeMax),
      '--socket-dir-path',
      this.#socketDir(),
      ...(record.tty ? ['--terminal'] : []),
      ...(record.stdin ? ['--stdin', '--leave-stdin-open'] : []),
    ];
    const options = {
      cwd: dir, // conmon drops its `oom` marker in its working directory
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3' },
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RuntimeError(
              'RuntimeFailed',
              `conmon did not report container ${id} within ${this.#createTimeoutMs} ms`,
            ),
          ),
        this.#createTimeoutMs,
      );
    });
    let reported: { line: string; stderr: string };
    try {
      reported = await Promise.race([startWithSyncPipe(this.#host.conmon.path, args, options), timeout]);
    } catch (err) {
      if (RuntimeError.isInstance(err)) throw err;
      throw new RuntimeError('RuntimeFailed', `conmon could not start: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    const message = reported.line;
    // Closed without a word: conmon itself failed (bad flag, missing runtime) before forking.
    if (message.trim() === '')
      throw new RuntimeError('RuntimeFailed', `conmon failed: ${reported.stderr.trim() || 'no message'}`, {
        stderr: reported.stderr,
      });
    const report = JSON.parse(message) as { pid?: number; message?: string };
    if (report.pid === undefined || report.pid <= 0)
      throw classifyRuntimeFailure(`creating container ${id}`, report.message ?? '');
    return report.pid;
  }

  async start(id: string): Promise<ContainerState> {
    const record = this.#record(id);
    if (record.startedAt !== undefined)
      throw new RuntimeError('ContainerRunning', `container ${id} was already started`);
    const startedAt = new Date().toISOString();
    const r = await this.#runtime(['start', id]);
    if (r.code !== 0) throw classifyRuntimeFailure(`starting container ${id}`, r.stderr);
    writeAtomic(path.join(this.containerDir(id), 'berth.json'), JSON.stringify({ ...record, startedAt }));
    return this.state(id);
  }

  /** create + start in one runtime process under conmon (`run --detach`); a failure leaves nothing behind. */
  run(id: string, config: ContainerConfig): Promise<ContainerState> {
    return this.#make(id, config, true);
  }

  /** OOM kills counted by the container's v1 memory cgroup, or conmon's marker file once the cgroup is gone. */
  #oomKilled(id: string): boolean {
    const memoryDir = v1CgroupDir(this.#host.cgroups, 'memory', cgroupsPathFor(id));
    if (memoryDir !== undefined) {
      const control = readOptional(path.join(memoryDir, 'memory.oom_control'));
      const m = control === undefined ? null : /^oom_kill (\d+)$/m.exec(control);
      if (m !== null && Number(m[1]) > 0) return true;
    } else if (this.#host.cgroups.unifiedMount !== undefined) {
      const events = readOptional(path.join(this.#host.cgroups.unifiedMount, cgroupsPathFor(id), 'memory.events'));
      const m = events === undefined ? null : /^oom_kill (\d+)$/m.exec(events);
      if (m !== null && Number(m[1]) > 0) return true;
    }
    return readOptional(path.join(this.containerDir(id), 'oom')) !== undefined;
  }

  async state(id: string): Promise<ContainerState> {
    const record = this.#record(id);
    const dir = this.containerDir(id);
    const base = {
      id,
      createdAt: record.createdAt,
      startedAt: record.startedAt,
      logPath: this.logPath(id),
      previousLogPath: this.previousLogPath(id),
    };
    const exitText = readOptional(this.#exitFile(id));
    if (exitText !== undefined) {
      const exitCode = Number.parseInt(exitText.trim(), 10);
      const finishedAt = statSync(this.#exitFile(id)).mtime.toISOString();
      const oomKilled = this.#oomKilled(id);
      return {
        ...base,
        status: 'exited',
        pid: undefined,
        conmonPid: undefined,
        exitCode,
        finishedAt,
        oomKilled,
        reason: oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
      };
    }
    const pid = parsePid(readOptional(path.join(dir, 'container.pid')));
    const conmonPid = parsePid(readOptional(path.join(dir, 'conmon.pid')));
    const conmonAlive = conmonPid !== undefined && processAlive(conmonPid) && isConmonOf(conmonPid, id);
    const pidAlive = pid !== undefined && processAlive(pid) && inCgroup(pid, cgroupsPathFor(id));
    // Between the process dying and conmon writing the exit file, it still counts as running.
    const status = conmonAlive || pidAlive ? (record.startedAt === undefined ? 'created' : 'running') : 'unknown';
    return {
      ...base,
      status,
      pid: status === 'unknown' ? undefined : pid,
      conmonPid: conmonAlive ? conmonPid : undefined,
      exitCode: undefined,
      finishedAt: undefined,
      oomKilled: false,
      reason: undefined,
    };
  }

  /** The entries of `<root>/containers`, sorted; none before the first container. */
  async #entries(): Promise<string[]> {
    try {
      return (await readdir(path.join(this.root, 'containers'))).sort();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
  }

  async ids(): Promise<string[]> {
    const names = await this.#entries();
    // As list(): a directory without berth.json is a snapshot being prepared, or not ours.
    const ours = await Promise.all(
      names.map(async (name) => {
        try {
          checkContainerId(name);
          await access(path.join(this.containerDir(name), 'berth.json'));
          return true;
        } catch {
          return false;
        }
      }),
    );
    return names.filter((_, i) => ours[i]);
  }

  async list(): Promise<ContainerState[]> {
    const states: ContainerState[] = [];
    for (const name of await this.#entries()) {
      try {
        states.push(await this.state(name));
      } catch (err) {
        // A directory without berth.json is a snapshot being prepared, or not ours.
        if (!RuntimeError.isInstance(err) || (err.code !== 'ContainerNotFound' && err.code !== 'InvalidConfig'))
          throw err;
      }
    }
    return states;
  }

  async #waitForExit(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (readOptional(this.#exitFile(id)) !== undefined) return true;
      const st = await this.state(id);
      if (st.status === 'unknown') return true;
      if (Date.now() >= deadline) return false;
      await sleep(10);
    }
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<void> {
    const st = await this.state(id);
    if ((st.status !== 'running' && st.status !== 'created') || st.pid === undefined) {
      throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    }
    try {
      process.kill(st.pid, signal);
    } catch (err) {
      if (!isErrno(err, 'ESRCH')) throw err;
    }
  }

  async pause(id: string): Promise<void> {
    await this.#freezer(id, 'pause');
  }

  async resume(id: string): Promise<void> {
    await this.#freezer(id, 'resume');
  }

  async #freezer(id: string, verb: 'pause' | 'resume'): Promise<void> {
    const st = await this.state(id);
    if (st.status !== 'running') throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    const result = await this.#runtime([verb, id]);
    if (result.code !== 0)
      throw new RuntimeError('RuntimeFailed', `${verb} of container ${id} failed: ${result.stderr.trim()}`, {
        stderr: result.stderr,
      });
    if (verb === 'pause') await this.#untilFrozen(id);
  }

  /**
   * On cgroup v1, crun returns from `pause` while the freezer may still say FREEZING (a process in an
   * uninterruptible sleep, a busy machine). Paused means every process stopped, so wait for FROZEN, as runc's v1
   * freezer does; a cgroup that does not freeze in time is thawed again and the pause fails.
   */
  async #untilFrozen(id: string): Promise<void> {
    const dir = v1CgroupDir(this.#host.cgroups, 'freezer', cgroupsPathFor(id));
    if (dir === undefined) return; // v2's cgroup.freeze has no FREEZING state to wait out here
    const stateFile = path.join(dir, 'freezer.state');
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    let state = '';
    while (Date.now() < deadline) {
      state = (await readFile(stateFile, 'utf8').catch(() => 'FROZEN')).trim(); // gone: nothing left to freeze
      if (state === 'FROZEN') return;
      await sleep(10);
    }
    await this.#runtime(['resume', id]);
    throw new RuntimeError('RuntimeFailed', `pause of container ${id} failed: its freezer cgroup stayed ${state}`);
  }

  async stop(id: string, graceSeconds: number): Promise<ContainerState> {
    if (!Number.isFinite(graceSeconds) || graceSeconds < 0)
      throw new RuntimeError('InvalidConfig', `grace period ${graceSeconds} must be >= 0`);
    const st = await this.state(id);
    if (st.status !== 'running' && st.status !== 'created') return st;
    if (graceSeconds > 0) {
      await this.kill(id, 'SIGTERM').catch(() => undefined);
      if (await this.#waitForExit(id, graceSeconds * 1000)) return this.state(id);
    }
    await this.kill(id, 'SIGKILL').catch(() => undefined);
    if (!(await this.#waitForExit(id, 10_000)))
      throw new RuntimeError('RuntimeFailed', `container ${id} did not exit after SIGKILL`);
    return this.state(id);
  }

  async delete(id: string, options: DeleteOptions = {}): Promise<void> {
    checkContainerId(id);
    const dir = this.containerDir(id);
    let st: ContainerState | undefined;
    try {
      st = await this.state(id);
    } catch (err) {
      if (!RuntimeError.isInstance(err) || err.code !== 'ContainerNotFound') throw err;
    }
    if (st !== undefined && (st.status === 'running' || st.status === 'created')) {
      if (options.force !== true && st.status === 'running') {
        throw new RuntimeError('ContainerRunning', `container ${id} is running; stop it first or delete with force`);
      }
      if (st.pid !== undefined) {
        try {
          process.kill(st.pid, 'SIGKILL');
        } catch (err) {
          if (!isErrno(err, 'ESRCH')) throw err;
        }
      }
    }
    const del = await this.#runtime(['delete', '--force', id]);
    if (del.code !== 0 && !/does not exist|not found|No such file/i.test(del.stderr)) {
      throw new RuntimeError('RuntimeFailed', `deleting container ${id} failed: ${del.stderr.trim()}`, {
        stderr: del.stderr,
      });
    }
    // conmon exits once the process is gone and its output drained; wait so nothing writes after removal.
    const conmonPid = parsePid(readOptional(path.join(dir, 'conmon.pid')));
    if (conmonPid !== undefined && isConmonOf(conmonPid, id)) {
      const deadline = Date.now() + 5_000;
      while (processAlive(conmonPid) && Date.now() < deadline) await sleep(10);
      if (processAlive(conmonPid)) process.kill(conmonPid, 'SIGKILL');
    }
    // crun removes the cgroups; an interrupted create can leave empty ones behind.
    for (const mount of new Set(this.#host.cgroups.v1.values())) {
      await rmdir(path.join(mount, cgroupsPathFor(id))).catch(() => undefined);
    }
    if (this.#host.cgroups.unifiedMount !== undefined) {
      await rmdir(path.join(this.#host.cgroups.unifiedMount, cgroupsPathFor(id))).catch(() => undefined);
    }
    await rm(path.join(this.#socketDir(), id), { force: true });
    // Before anything is removed: nothing below may reach into a Volume through its idmapped bind.
    unmountBinds(bindsDir(this.root, id));
    let entries: string[] = [];
    try {
      entries = await readdir(dir);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (options.keepLog === 'previous') {
      // Only the run's live file: its rotated predecessor goes, as kubelet keeps one file per terminated container.
      await rename(this.logPath(id), this.previousLogPath(id)).catch((err: unknown) => {
        if (!isErrno(err, 'ENOENT')) throw err;
      });
    }
    const kept = new Set<string>();
    if (options.keepLog !== undefined) kept.add(path.basename(this.previousLogPath(id)));
    if (options.keepLog === 'append') {
      kept.add(path.basename(this.logPath(id)));
      kept.add(path.basename(rotatedLogPath(this.logPath(id))));
    }
    for (const entry of entries) {
      if (OWNED_BY_SNAPSHOTTER.has(entry) || kept.has(entry)) continue;
      await rm(path.join(dir, entry), { recursive: true, force: true });
    }
    await rmdir(dir).catch(() => undefined);
  }

  /** The running container's spec, and its first process's pid while that is alive in the container's cgroup. */
  async #running(id: string): Promise<{ spec: OciSpec; pid: number | undefined }> {
    const st = await this.state(id);
    if (st.status !== 'running') throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    const spec = JSON.parse(await readFile(path.join(this.containerDir(id), 'config.json'), 'utf8')) as OciSpec;
    return { spec, pid: st.pid !== undefined && inCgroup(st.pid, cgroupsPathFor(id)) ? st.pid : undefined };
  }

  async pids(id: string): Promise<number[]> {
    await this.#running(id);
    const cgroups = this.#host.cgroups;
    const cgroupsPath = cgroupsPathFor(id);
    const dir =
      v1CgroupDir(cgroups, 'pids', cgroupsPath) ??
      (cgroups.unifiedMount === undefined ? undefined : path.join(cgroups.unifiedMount, cgroupsPath));
    if (dir === undefined) throw new RuntimeError('HostNotReady', 'this host has no pids cgroup to list processes in');
    return cgroupPids(dir);
  }

  async exec(id: string, options: ExecOptions): Promise<StdioSession> {
    const { spec, pid } = await this.#running(id);
    return execInContainer(
      {
        id,
        runtimePath: this.#host.runtime.path,
        runtimeRoot: this.runtimeRoot,
        containerDir: this.containerDir(id),
        containerProcess: spec.process,
        // As the container sees it, with what is mounted over its /etc (a volume, a ConfigMap), as runc looks
        // users up inside the container; the bundle's rootfs only if its first process is gone.
        rootfs: pid === undefined ? path.resolve(this.containerDir(id), spec.root.path) : `/proc/${pid}/root`,
        python: this.#host.python,
      },
      options,
    );
  }

  async attach(id: string, options: AttachOptions = {}): Promise<StdioSession> {
    await this.#running(id);
    const record = this.#record(id);
    if (options.stdin === true && !record.stdin)
      throw new RuntimeError('InvalidConfig', `container ${id} was not started with stdin`);
    return attachToContainer(
      {
        socketPath: path.join(this.#socketDir(), id, 'attach'),
        ctlPath: path.join(this.containerDir(id), 'ctl'),
        tty: record.tty,
        python: this.#host.python,
      },
      options,
    );
  }

  async rotateLogs(policy: LogRotationPolicy): Promise<string[]> {
    checkInteger('rotateLogs', 'maxBytes', policy.maxBytes);
    const rotated: string[] = [];
    // The ids, not list(): each tick would read every container's pid files and /proc entries for nothing but their
    // log's path, on the thread a burst of starts is waiting for.
    for (const id of await this.ids()) {
      const ctl = path.join(this.containerDir(id), 'ctl');
      if (await rotateLogIfLarger(this.logPath(id), policy.maxBytes, () => writeConmonControl(ctl, '2 0 0\n')))
        rotated.push(id);
    }
    return rotated;
  }

  /** The container's log as text; `follow` ends by itself once the container is no longer running. */
  logs(id: string, options: LogReadOptions = {}): Readable {
    checkContainerId(id);
    return createLogStream(this.logFiles(id), {
      until: async () => {
        const st = await this.state(id).catch(() => undefined);
        return st === undefined || (st.status !== 'running' && st.status !== 'created');
      },
      ...options,
    });
  }

  /** Paths of a container's log files, oldest first (what the log reader takes). */
  logFiles(id: string): string[] {
    return [rotatedLogPath(this.logPath(id)), this.logPath(id)];
  }
}

/**
 * Starts `file args` detached with a pipe on fd 3 (posix_spawn from this process: host/posix-spawn.ts) and resolves
 * with the first line written to it ('' and all of stderr when it closed without one).
 */
async function startWithSyncPipe(
  file: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ line: string; stderr: string }> {
  const child = await posixSpawn(file, args, {
    ...options,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const syncPipe = child.pipes.get(3);
  const stderrPipe = child.pipes.get(2);
  let stderr = '';
  // conmon points its stderr at /dev/null once it runs on its own; until then this must not hold the agent open.
  stderrPipe?.unref();
  stderrPipe?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  stderrPipe?.on('error', () => undefined);
  const exited = child.exited.then(() => true);
  return new Promise((resolve, reject) => {
    if (syncPipe === undefined) return reject(new Error('conmon sync pipe missing'));
    let buf = '';
    syncPipe.on('error', reject);
    syncPipe.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      syncPipe.destroy();
      resolve({ line: buf.slice(0, nl), stderr });
    });
    // Closed without a line: conmon failed before it forked; all it said is on stderr once it has exited.
    syncPipe.on('end', () => {
      if (buf.trim() !== '') resolve({ line: buf, stderr });
      else
        void exited.then(() => {
          if (stderrPipe === undefined || stderrPipe.readableEnded || stderrPipe.destroyed)
            resolve({ line: '', stderr });
          else stderrPipe.once('close', () => resolve({ line: '', stderr }));
        });
    });
  });
}
