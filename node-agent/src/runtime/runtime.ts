// The container runtime's contract: what the agent asks of it, in the agent's words, with no OCI or crun in sight.
import type { Readable, Writable } from 'node:stream';
import type { LogReadOptions } from '../logs/k8s-file.js';
import type { SeccompProfile } from './seccomp.js';

/** How much of the machine a container may use; absent means unlimited. */
export interface ContainerResources {
  /** CPU time in thousandths of a core (500 = half a core); becomes a CFS quota over a 100 ms period. */
  readonly cpuMillicores?: number;
  /** Memory limit in bytes; swap is capped at the same value so a container cannot escape into swap. */
  readonly memoryBytes?: number;
  /** Maximum number of processes and threads. */
  readonly pids?: number;
}

export interface ContainerMount {
  /** Absolute path inside the container. */
  readonly destination: string;
  /** Host path for a bind mount; ignored for tmpfs. */
  readonly source?: string;
  /** @default 'bind' */
  readonly type?: 'bind' | 'tmpfs';
  /** @default false */
  readonly readOnly?: boolean;
}

/** The container's network namespace: a fresh one with only loopback, one someone else made (CNI), or the host's. */
export type ContainerNetwork =
  | { readonly kind: 'loopback' }
  | { readonly kind: 'namespace'; readonly path: string }
  | { readonly kind: 'host' };

/**
 * Everything the runtime needs to run one container. Narrow on purpose: the agent maps a Container's
 * spec onto this, and `containerConfigToOciSpec` maps this onto the OCI runtime spec.
 */
export interface ContainerConfig {
  /** argv; argv[0] is looked up in PATH (from `env`) inside the container. Must not be empty. */
  readonly args: readonly string[];
  /** @default {} (PATH gets a standard value when absent) */
  readonly env?: Readonly<Record<string, string>>;
  /** Absolute working directory inside the container. @default '/' */
  readonly cwd?: string;
  /** @default { uid: 0, gid: 0 } */
  readonly user?: { readonly uid: number; readonly gid: number; readonly additionalGids?: readonly number[] };
  /** @default the first 12 characters of the id */
  readonly hostname?: string;
  /** Give the process a terminal (stdout and stderr then share it). @default false */
  readonly tty?: boolean;
  /** Keep stdin open so `attach` can write to it. @default false */
  readonly stdin?: boolean;
  /** @default {} (no limits) */
  readonly resources?: ContainerResources;
  /** @default false */
  readonly readonlyRootfs?: boolean;
  /**
   * Capabilities added to, then dropped from, the default set, as containerd applies a securityContext's: `ALL` in
   * `add` is every capability, in `drop` none; names with or without `CAP_`. @default the default set
   */
  readonly capabilities?: { readonly add?: readonly string[]; readonly drop?: readonly string[] };
  /** Docker's --privileged: every capability and device, no seccomp, nothing masked, /sys writable. @default false */
  readonly privileged?: boolean;
  /** `Unconfined`: no seccomp filter; a profile: the node's own (Localhost). @default 'RuntimeDefault' */
  readonly seccomp?: 'RuntimeDefault' | 'Unconfined' | { readonly localhost: SeccompProfile };
  /** Let setuid programs gain privileges (no_new_privs off), as `allowPrivilegeEscalation: true`. @default false */
  readonly allowPrivilegeEscalation?: boolean;
  /** @default [] */
  readonly mounts?: readonly ContainerMount[];
  /** @default { kind: 'loopback' } */
  readonly network?: ContainerNetwork;
  /** Nameservers for /etc/resolv.conf. Never the host's. @default [] (no resolver until networking provides one) */
  readonly dnsServers?: readonly string[];
  /** Extra /etc/hosts lines as [ip, ...names]. @default [] */
  readonly hosts?: ReadonlyArray<readonly [string, ...string[]]>;
  /** Root filesystem directory. @default '<containerDir>/rootfs' (where the snapshotter mounts it) */
  readonly rootfs?: string;
  /**
   * A user namespace of the container's own: its ids 0..size-1 are the node's hostId..hostId+size-1 (uids and gids
   * alike), and bind mounts are idmapped through it where their filesystem allows. @default the node's namespace
   */
  readonly userNamespace?: { readonly hostId: number; readonly size: number };
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerState {
  readonly id: string;
  readonly status: ContainerStatus;
  /** Host pid of the container's first process, while it runs. */
  readonly pid: number | undefined;
  /** Host pid of the conmon supervising it, while it runs. */
  readonly conmonPid: number | undefined;
  /** Set once exited: the process's status, or 128+signal. */
  readonly exitCode: number | undefined;
  readonly createdAt: string;
  readonly startedAt: string | undefined;
  readonly finishedAt: string | undefined;
  /** The kernel's OOM killer killed a process of this container (memory.oom_control's oom_kill). */
  readonly oomKilled: boolean;
  /** Why it ended, in Kubernetes' words: `OOMKilled`, `Error` or `Completed`. */
  readonly reason: 'OOMKilled' | 'Error' | 'Completed' | undefined;
  /** Where its log is written (k8s-file format). */
  readonly logPath: string;
  /** Where the log of the run before this one is kept (`delete` with `keepLog`), if the runtime keeps one. */
  readonly previousLogPath?: string;
}

export interface ExecOptions {
  readonly args: readonly string[];
  /** Added to (and overriding) the container's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** @default the container's working directory */
  readonly cwd?: string;
  /**
   * Docker's `USER[:GROUP]`, names or ids, looked up in the container's own /etc/passwd and /etc/group (a name
   * neither lists is `UserNotFound`). @default the container's user
   */
  readonly user?: string;
  /** @default false */
  readonly tty?: boolean;
  /** Open a stdin stream; without it the process reads /dev/null. @default false */
  readonly stdin?: boolean;
  /** Initial terminal size when `tty`. */
  readonly size?: { readonly cols: number; readonly rows: number };
}

/** A live exec or attach session. Closing it stops the session (an exec'd process gets its terminal hung up). */
export interface StdioSession {
  /** Present when stdin was asked for; end() it to send EOF. */
  readonly stdin: Writable | undefined;
  readonly stdout: Readable;
  /** With a tty, stdout carries both streams and stderr stays empty. */
  readonly stderr: Readable;
  /** Terminal size change; a no-op without a tty. */
  resize(cols: number, rows: number): Promise<void>;
  /** Exit code of the exec'd process (128+signal when killed); for attach, resolves when the session ends. */
  readonly exitCode: Promise<number>;
  close(): Promise<void>;
}

export interface AttachOptions {
  /** @default false */
  readonly stdin?: boolean;
}

export interface DeleteOptions {
  /** Kill a running container first. @default false */
  readonly force?: boolean;
  /**
   * What becomes of this run's log for the container made next under the same id: `previous` keeps it as the
   * previous instance's (`previousLogPath`), as kubelet keeps the last terminated container's for `logs --previous`
   * (a restart); `append` keeps it (and its rotated file) for the next run to append to, as `docker start` of a
   * stopped container does. By default it goes.
   */
  readonly keepLog?: 'previous' | 'append';
}

export interface LogRotationPolicy {
  /** Rotate a container's log once it is larger than this. */
  readonly maxBytes: number;
}

/**
 * Runs containers on this node. Everything a runtime knows lives on disk under its data root, so a
 * new instance (a restarted agent) sees and manages what an earlier one started, without restarting it.
 */
export interface Runtime {
  /** Prepares the bundle and creates the container under its monitor; its process has not started yet. */
  create(id: string, config: ContainerConfig): Promise<ContainerState>;
  /** Starts a created container's process. */
  start(id: string): Promise<ContainerState>;
  /** create + start. */
  run(id: string, config: ContainerConfig): Promise<ContainerState>;
  /** Throws ContainerNotFound when nothing of `id` exists. */
  state(id: string): Promise<ContainerState>;
  /** Every container with files under the data root, running or not. */
  list(): Promise<ContainerState[]>;
  /** The ids list() would return, without reading any state (the orphan sweep before each start needs no more). */
  ids(): Promise<string[]>;
  /** SIGTERM, then SIGKILL after `graceSeconds`; resolves once it has exited. */
  stop(id: string, graceSeconds: number): Promise<ContainerState>;
  kill(id: string, signal: NodeJS.Signals): Promise<void>;
  /** Freezes every process of a running container (the cgroup freezer), as `docker pause` and `docker commit` do. */
  pause(id: string): Promise<void>;
  /** Thaws a paused container. */
  resume(id: string): Promise<void>;
  /** Removes process (with `force`), cgroups, bundle, sockets and logs; leaves the rootfs to the snapshotter. */
  delete(id: string, options?: DeleteOptions): Promise<void>;
  /** Host pids of every process of a running container (its cgroup's and those below it), as containerd's task.Pids. */
  pids(id: string): Promise<number[]>;
  exec(id: string, options: ExecOptions): Promise<StdioSession>;
  /** Connects to the container's own stdio: output from now on, and stdin if it was started with one. */
  attach(id: string, options?: AttachOptions): Promise<StdioSession>;
  /** The container's log as text (`follow`, `tailLines`, `sinceSeconds`, `timestamps`); a follow ends when the container does. */
  logs(id: string, options?: LogReadOptions): Readable;
  /** Rotates logs larger than the policy allows; the agent calls this periodically. */
  rotateLogs(policy: LogRotationPolicy): Promise<string[]>;
}
