// Starts a host tool from the agent's own process with glibc's posix_spawn(3) (through koffi, as mount-syscall.ts
// calls mount(2)), its stdio on pipes the event loop reads.
//
// Why not child_process.spawn: libuv forks, and a fork copies the page tables of a process of the agent's size with
// its event loop stopped (5-40 ms at 257 MB here, 170 ms under load). posix_spawn clones with CLONE_VM|CLONE_VFORK:
// nothing is copied, and the caller waits only until the child execs (0.2-1 ms at the same size; measured side by
// side in one process); that caller is one of koffi's worker threads, so the event loop does not wait at all. Nor the spawn helper: its process must be scheduled before it forks, which on a loaded
// machine cost a start 8-96 ms between the agent's request and conmon's exec (bench/container-start-trace.ts).
//
// Children are reaped here, not by libuv (it waits only for its own): on every SIGCHLD (and every 250 ms while one
// runs, which also holds the process open as spawn()'s children do) each child still running is asked with
// waitpid(WNOHANG).
import { accessSync, constants as fsConstants } from 'node:fs';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const posixSpawnFn = libc.func(
  'int posix_spawn(_Out_ int *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)',
);
const actionsInit = libc.func('int posix_spawn_file_actions_init(void *actions)');
const actionsDestroy = libc.func('int posix_spawn_file_actions_destroy(void *actions)');
const actionsOpen = libc.func(
  'int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int oflag, int mode)',
);
const actionsDup2 = libc.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)');
const actionsChdir = libc.func('int posix_spawn_file_actions_addchdir_np(void *actions, const char *path)');
const attrInit = libc.func('int posix_spawnattr_init(void *attr)');
const attrDestroy = libc.func('int posix_spawnattr_destroy(void *attr)');
const attrSetFlags = libc.func('int posix_spawnattr_setflags(void *attr, short flags)');
const attrSetSigDefault = libc.func('int posix_spawnattr_setsigdefault(void *attr, void *sigset)');
const attrSetSigMask = libc.func('int posix_spawnattr_setsigmask(void *attr, void *sigset)');
const sigFillSet = libc.func('int sigfillset(void *sigset)');
const sigEmptySet = libc.func('int sigemptyset(void *sigset)');
const pipe2Fn = libc.func('int pipe2(_Out_ int *fds, int flags)');
const closeFn = libc.func('int close(int fd)');
const waitpidFn = libc.func('int waitpid(int pid, _Out_ int *status, int options)');

// glibc's values (spawn.h, fcntl.h, wait.h on Linux).
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;
const WNOHANG = 1;
// Opaque glibc structs, allocated with room to spare (80, 336 and 128 bytes on x86_64 and aarch64).
const ACTIONS_SIZE = 256;
const ATTR_SIZE = 512;
const SIGSET_SIZE = 256;

export interface SpawnedTool {
  readonly pid: number;
  /** The parent's ends of the pipes asked for, by child fd (0: written to, the others read). */
  readonly pipes: ReadonlyMap<number, net.Socket>;
  /** Settles when the tool has exited and been reaped. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface PosixSpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** A session of its own (setsid), as spawn()'s `detached`. */
  readonly detached?: boolean;
  /** Child fds 0.. and what each gets: a pipe to this process, or /dev/null. */
  readonly stdio: readonly ('pipe' | 'ignore')[];
}

const running = new Map<number, (status: { code: number | null; signal: NodeJS.Signals | null }) => void>();
let listening = false;
/** While a child runs: holds the process open as a child of spawn()'s does, and re-checks in case a signal merged. */
let keepAlive: NodeJS.Timeout | undefined;

function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return (entry?.[0] as NodeJS.Signals | undefined) ?? null;
}

function reap(): void {
  const status = new Int32Array(1);
  for (const [pid, settle] of running) {
    if ((waitpidFn(pid, status, WNOHANG) as number) !== pid) continue;
    running.delete(pid);
    const s = status[0] ?? 0;
    const termsig = s & 0x7f;
    settle(termsig === 0 ? { code: (s >> 8) & 0xff, signal: null } : { code: null, signal: signalName(termsig) });
  }
  if (running.size === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/** As spawn() finds `file`: a name without a slash is looked up on the PATH of the env it will run with. */
function resolveFile(file: string, env: NodeJS.ProcessEnv): string {
  if (file.includes('/')) return file;
  for (const dir of (env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir === '' ? '.' : dir, file);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // next directory
    }
  }
  return file;
}

/** An Error shaped as spawn()'s own (code, errno, syscall, path), so callers' checks keep working. */
function spawnError(errno: number, file: string): Error {
  const code = Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? `E${errno}`;
  return Object.assign(new Error(`spawn ${file} ${code}`), {
    code,
    errno: -errno,
    syscall: `spawn ${file}`,
    path: file,
  });
}

function pipe(): [number, number] {
  const fds = new Int32Array(2);
  // Close-on-exec: a tool spawned beside this one must not inherit this pipe and hold it open.
  if ((pipe2Fn(fds, O_CLOEXEC) as number) !== 0) throw spawnError(koffi.errno(), 'pipe2');
  return [fds[0] ?? -1, fds[1] ?? -1];
}

/** posix_spawn on one of koffi's worker threads: resolves with its return value (an errno) and the pid. */
function spawnOnWorker(
  file: string,
  actions: Buffer,
  attr: Buffer,
  argv: readonly (string | null)[],
  envp: readonly (string | null)[],
): Promise<{ err: number; pid: number }> {
  const pid = [0];
  return new Promise((resolve, reject) =>
    posixSpawnFn.async(pid, file, actions, attr, argv, envp, (error: unknown, err: number) => {
      if (error !== null && error !== undefined) reject(error);
      else resolve({ err, pid: pid[0] ?? 0 });
    }),
  );
}

/** Starts `file args`; rejects as spawn() reports a tool that cannot start (ENOENT, EACCES, …). */
export async function posixSpawn(
  file: string,
  args: readonly string[],
  options: PosixSpawnOptions,
): Promise<SpawnedTool> {
  if (!listening) {
    // An unref'd signal handle: it keeps no process alive.
    process.on('SIGCHLD', reap);
    listening = true;
  }
  const env = options.env ?? process.env;
  const actions = Buffer.alloc(ACTIONS_SIZE);
  const attr = Buffer.alloc(ATTR_SIZE);
  actionsInit(actions);
  attrInit(attr);
  const ours = new Map<number, number>();
  const theirs: number[] = [];
  try {
    options.stdio.forEach((kind, fd) => {
      if (kind === 'ignore') {
        actionsOpen(actions, fd, '/dev/null', fd === 0 ? O_RDONLY : O_WRONLY, 0);
        return;
      }
      const [r, w] = pipe();
      const [child, parent] = fd === 0 ? [r, w] : [w, r];
      theirs.push(child);
      ours.set(fd, parent);
      // dup2 clears close-on-exec on the copy: the child keeps exactly this fd.
      actionsDup2(actions, child, fd);
    });
    if (options.cwd !== undefined) actionsChdir(actions, options.cwd);
    // Signals ignored here (Node ignores SIGPIPE) or blocked are not the tool's: defaults and an empty mask.
    const all = Buffer.alloc(SIGSET_SIZE);
    const none = Buffer.alloc(SIGSET_SIZE);
    sigFillSet(all);
    sigEmptySet(none);
    attrSetSigDefault(attr, all);
    attrSetSigMask(attr, none);
    attrSetFlags(
      attr,
      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (options.detached === true ? POSIX_SPAWN_SETSID : 0),
    );
    const envp = [
      ...Object.entries(env)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${v}`),
      null,
    ];
    // Not on the event loop's thread: the caller of a vfork waits until the child has exec'd, which on a loaded
    // machine took 21 ms a spawn (1 s of the agent's main thread over 50 starts at load 27, --cpu-prof).
    // glibc reports a failed exec (and a failed chdir) as the return value.
    const { err, pid: spawned } = await spawnOnWorker(
      resolveFile(file, env),
      actions,
      attr,
      [file, ...args, null],
      envp,
    );
    if (err !== 0) throw spawnError(err, file);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      running.set(spawned, resolve),
    );
    keepAlive ??= setInterval(reap, 250);
    // It may have exited before the handler was there to hear it.
    setImmediate(reap);
    const pipes = new Map<number, net.Socket>();
    for (const [fd, parent] of ours)
      pipes.set(fd, new net.Socket({ fd: parent, readable: fd !== 0, writable: fd === 0 }));
    // Owned by the sockets now.
    ours.clear();
    return { pid: spawned, pipes, exited };
  } finally {
    for (const fd of theirs) closeFn(fd);
    for (const fd of ours.values()) closeFn(fd);
    actionsDestroy(actions);
    attrDestroy(attr);
  }
}
