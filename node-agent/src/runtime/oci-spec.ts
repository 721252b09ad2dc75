// Turns a ContainerConfig into the OCI runtime spec (config.json) crun runs, with Docker-like hardening.
import path from 'node:path';
import { RuntimeError } from './errors.js';
import type { ContainerConfig } from './runtime.js';
import { defaultSeccompProfile, type SeccompProfile } from './seccomp.js';

/** The parts of the OCI runtime spec berth writes (runtime-spec 1.0). */
export interface OciSpec {
  readonly ociVersion: string;
  readonly process: OciProcess;
  readonly root: { readonly path: string; readonly readonly: boolean };
  readonly hostname: string;
  readonly mounts: readonly OciMount[];
  readonly linux: {
    readonly namespaces: ReadonlyArray<{ readonly type: string; readonly path?: string }>;
    readonly cgroupsPath: string;
    readonly resources: OciResources;
    readonly maskedPaths: readonly string[];
    readonly readonlyPaths: readonly string[];
    readonly seccomp?: SeccompProfile;
    readonly uidMappings?: readonly OciIdMapping[];
    readonly gidMappings?: readonly OciIdMapping[];
  };
}

export interface OciIdMapping {
  readonly containerID: number;
  readonly hostID: number;
  readonly size: number;
}

export interface OciProcess {
  readonly terminal: boolean;
  readonly user: { readonly uid: number; readonly gid: number; readonly additionalGids?: readonly number[] };
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly capabilities: {
    readonly bounding: readonly string[];
    readonly effective: readonly string[];
    readonly permitted: readonly string[];
    readonly inheritable: readonly string[];
    readonly ambient: readonly string[];
  };
  readonly rlimits: ReadonlyArray<{ readonly type: string; readonly hard: number; readonly soft: number }>;
  readonly noNewPrivileges: boolean;
  readonly consoleSize?: { readonly height: number; readonly width: number };
}

export interface OciMount {
  readonly destination: string;
  readonly type: string;
  readonly source: string;
  readonly options: readonly string[];
}

export interface OciResources {
  readonly devices: ReadonlyArray<{
    readonly allow: boolean;
    readonly type?: string;
    readonly major?: number;
    readonly minor?: number;
    readonly access: string;
  }>;
  readonly memory?: { readonly limit: number; readonly swap: number };
  readonly cpu?: { readonly quota: number; readonly period: number };
  readonly pids?: { readonly limit: number };
}

export interface OciSpecOptions {
  /** Absolute path of the container's root filesystem. */
  readonly rootfs: string;
  /** Host files bind-mounted (read-only) over /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  readonly etcFiles: { readonly hosts: string; readonly hostname: string; readonly resolvConf: string };
  /** The agent's own hard RLIMIT_NOFILE: a container may not ask for more (root lacks CAP_SYS_RESOURCE here). */
  readonly nofileHardLimit: number;
  /** The agent's own bounding set: a privileged container gets these (no process can pass on more). @default all */
  readonly boundingCapabilities?: readonly string[];
}

/** The capability names of a /proc/<pid>/status mask (`CapBnd:\t000001fffeffffff`). */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

/**
 * Podman's default set: Docker's minus NET_RAW, MKNOD and AUDIT_WRITE, which ordinary programs do not
 * need and which raw sockets, device nodes and audit spoofing would use.
 */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
] as const;

/** Every capability Linux 5.9+ knows (to CAP_CHECKPOINT_RESTORE), what a privileged container holds. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

const capName = (c: string): string => {
  const upper = c.toUpperCase();
  return upper === 'ALL' || upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
};
const knownCapability = (c: string): boolean => c === 'ALL' || (ALL_CAPABILITIES as readonly string[]).includes(c);

/**
 * The capabilities a config holds, as containerd applies a securityContext's: `ALL` added or dropped first, then
 * each capability added, then each dropped.
 */
export function capabilitiesFor(config: ContainerConfig, bounding: readonly string[] = ALL_CAPABILITIES): string[] {
  if (config.privileged === true) return [...bounding].sort();
  const add = (config.capabilities?.add ?? []).map(capName);
  const drop = (config.capabilities?.drop ?? []).map(capName);
  let caps = new Set<string>(DEFAULT_CAPABILITIES);
  if (add.includes('ALL')) caps = new Set(ALL_CAPABILITIES);
  if (drop.includes('ALL')) caps = new Set();
  for (const c of add) if (c !== 'ALL') caps.add(c);
  for (const c of drop) caps.delete(c);
  return [...caps].sort();
}

/** Docker's masked and read-only /proc and /sys paths. */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
] as const;
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CFS_PERIOD_US = 100_000;
/** The kernel refuses CFS quotas under 1 ms. */
const MIN_CFS_QUOTA_US = 1_000;
/** Below this a container cannot even start its runtime's init (Docker uses the same floor). */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** Ids become cgroup, file and socket names. */
const ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

export function cgroupsPathFor(id: string): string {
  return `/berth/${id}`;
}

export function checkContainerId(id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new RuntimeError(
      'InvalidConfig',
      `container id ${JSON.stringify(id)} must be 1-64 of [a-z0-9_.-], starting with a letter or digit`,
    );
  }
}

function isNonNegativeInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Checks the config before any I/O; every problem is reported at once. */
export function validateContainerConfig(config: ContainerConfig): void {
  const invalid: string[] = [];
  const impossible: string[] = [];
  if (config.args.length === 0 || config.args[0] === '') invalid.push('args must name a command');
  if (config.cwd !== undefined && !path.isAbsolute(config.cwd))
    invalid.push(`cwd ${JSON.stringify(config.cwd)} must be absolute`);
  for (const name of Object.keys(config.env ?? {})) {
    if (name === '' || name.includes('=')) invalid.push(`env name ${JSON.stringify(name)} is not valid`);
  }
  const user = config.user;
  if (user !== undefined && (!isNonNegativeInteger(user.uid) || !isNonNegativeInteger(user.gid)))
    invalid.push('user uid and gid must be non-negative integers');
  for (const m of config.mounts ?? []) {
    if (!path.isAbsolute(m.destination))
      invalid.push(`mount destination ${JSON.stringify(m.destination)} must be absolute`);
    if ((m.type ?? 'bind') === 'bind' && (m.source === undefined || !path.isAbsolute(m.source)))
      invalid.push(`bind mount to ${m.destination} needs an absolute source`);
  }
  const unknown = [...(config.capabilities?.add ?? []), ...(config.capabilities?.drop ?? [])]
    .map(capName)
    .filter((c) => !knownCapability(c));
  if (unknown.length > 0) invalid.push(`unknown capabilities: ${unknown.join(', ')}`);
  const userns = config.userNamespace;
  if (userns !== undefined) {
    if (!isNonNegativeInteger(userns.hostId) || !Number.isSafeInteger(userns.size) || userns.size < 1)
      invalid.push('userNamespace hostId and size must be integers, size at least 1');
    if (user !== undefined && (user.uid >= userns.size || user.gid >= userns.size))
      invalid.push(`user ${user.uid}:${user.gid} is outside the user namespace's ${userns.size} ids`);
    if (config.network?.kind === 'host')
      invalid.push("a user namespace of the container's own cannot share the host's network");
  }
  if (config.hostname !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(config.hostname))
    invalid.push(`hostname ${JSON.stringify(config.hostname)} is not valid`);
  const r = config.resources ?? {};
  if (r.memoryBytes !== undefined && (!isNonNegativeInteger(r.memoryBytes) || r.memoryBytes < MIN_MEMORY_BYTES)) {
    impossible.push(`memory limit ${r.memoryBytes} bytes is below the minimum of ${MIN_MEMORY_BYTES} (6Mi)`);
  }
  if (
    r.cpuMillicores !== undefined &&
    (!Number.isFinite(r.cpuMillicores) || (r.cpuMillicores * CFS_PERIOD_US) / 1000 < MIN_CFS_QUOTA_US)
  ) {
    impossible.push(`cpu limit ${r.cpuMillicores}m is below the minimum of 10m`);
  }
  if (r.pids !== undefined && (!Number.isSafeInteger(r.pids) || r.pids < 1))
    impossible.push(`pids limit ${r.pids} must be at least 1`);
  if (invalid.length > 0) throw new RuntimeError('InvalidConfig', invalid.join('; '));
  if (impossible.length > 0) throw new RuntimeError('ImpossibleLimits', impossible.join('; '));
}

function resources(config: ContainerConfig): OciResources {
  const r = config.resources ?? {};
  return {
    // Deny every device, then allow the ones a container's /dev has (as Docker does); privileged: every one.
    devices:
      config.privileged === true
        ? [{ allow: true, access: 'rwm' }]
        : [
            { allow: false, access: 'rwm' },
            ...(
              [
                [1, 3],
                [1, 5],
                [1, 7],
                [1, 8],
                [1, 9],
                [5, 0],
                [5, 1],
                [5, 2],
              ] as const
            ).map(([major, minor]) => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
            { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
          ],
    ...(r.memoryBytes === undefined ? {} : { memory: { limit: r.memoryBytes, swap: r.memoryBytes } }),
    ...(r.cpuMillicores === undefined
      ? {}
      : { cpu: { quota: Math.round((r.cpuMillicores * CFS_PERIOD_US) / 1000), period: CFS_PERIOD_US } }),
    ...(r.pids === undefined ? {} : { pids: { limit: r.pids } }),
  };
}

function mounts(config: ContainerConfig, options: OciSpecOptions): OciMount[] {
  const list: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', config.privileged === true ? 'rw' : 'ro'],
    },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
    {
      destination: '/etc/hosts',
      type: 'bind',
      source: options.etcFiles.hosts,
      options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
    },
    {
      destination: '/etc/hostname',
      type: 'bind',
      source: options.etcFiles.hostname,
      options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
    },
    {
      destination: '/etc/resolv.conf',
      type: 'bind',
      source: options.etcFiles.resolvConf,
      options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
    },
  ];
  for (const m of config.mounts ?? []) {
    if ((m.type ?? 'bind') === 'tmpfs') {
      list.push({
        destination: m.destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', ...(m.readOnly === true ? ['ro'] : [])],
      });
    } else {
      list.push({
        destination: m.destination,
        type: 'bind',
        source: m.source ?? '',
        options: ['rbind', 'nosuid', 'nodev', m.readOnly === true ? 'ro' : 'rw'],
      });
    }
  }
  return list;
}

function environment(config: ContainerConfig): string[] {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    ...(config.tty === true ? { TERM: 'xterm' } : {}),
    ...(config.env ?? {}),
  };
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

export function defaultHostname(id: string): string {
  return id.slice(0, 12);
}

/** The OCI spec for container `id`. Throws InvalidConfig or ImpossibleLimits before anything is written. */
export function containerConfigToOciSpec(id: string, config: ContainerConfig, options: OciSpecOptions): OciSpec {
  checkContainerId(id);
  validateContainerConfig(config);
  const caps = capabilitiesFor(config, options.boundingCapabilities);
  const privileged = config.privileged === true;
  const network = config.network ?? { kind: 'loopback' };
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: config.tty === true,
      user: {
        uid: config.user?.uid ?? 0,
        gid: config.user?.gid ?? 0,
        ...(config.user?.additionalGids === undefined ? {} : { additionalGids: config.user.additionalGids }),
      },
      args: config.args,
      env: environment(config),
      cwd: config.cwd ?? '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      // Never above the agent's own hard limit: the kernel refuses raising it without CAP_SYS_RESOURCE.
      rlimits: [
        {
          type: 'RLIMIT_NOFILE',
          hard: Math.min(options.nofileHardLimit, 1_048_576),
          soft: Math.min(options.nofileHardLimit, 1_048_576),
        },
      ],
      // Stricter than Docker's default: setuid programs gain nothing unless the spec asks for it.
      noNewPrivileges: !privileged && config.allowPrivilegeEscalation !== true,
    },
    root: { path: options.rootfs, readonly: config.readonlyRootfs === true },
    hostname: config.hostname ?? defaultHostname(id),
    mounts: mounts(config, options),
    linux: {
      namespaces: [
        // Listed first: crun makes the user namespace before the others, which it then owns.
        ...(config.userNamespace === undefined ? [] : [{ type: 'user' }]),
        { type: 'pid' },
        // No network entry at all is how OCI says "stay in the runtime's (the host's) namespace".
        ...(network.kind === 'host'
          ? []
          : [network.kind === 'namespace' ? { type: 'network', path: network.path } : { type: 'network' }]),
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
      cgroupsPath: cgroupsPathFor(id),
      resources: resources(config),
      maskedPaths: privileged ? [] : [...MASKED_PATHS],
      readonlyPaths: privileged ? [] : [...READONLY_PATHS],
      ...seccompOf(config, caps),
      ...(config.userNamespace === undefined ? {} : idMappings(config.userNamespace)),
    },
  };
}

function seccompOf(config: ContainerConfig, caps: readonly string[]): { seccomp?: SeccompProfile } {
  const wanted = config.seccomp;
  if (config.privileged === true || wanted === 'Unconfined') return {};
  if (typeof wanted === 'object') return { seccomp: wanted.localhost };
  return { seccomp: defaultSeccompProfile(process.arch, caps) };
}

function idMappings(range: { readonly hostId: number; readonly size: number }) {
  const mapping = [{ containerID: 0, hostID: range.hostId, size: range.size }];
  return { uidMappings: mapping, gidMappings: mapping };
}

/** /etc/hosts for the container: loopback and its own hostname, plus what the agent adds. */
export function hostsFileFor(hostname: string, extra: ContainerConfig['hosts'] = []): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.1.1\t${hostname}`];
  for (const [ip, ...names] of extra) lines.push(`${ip}\t${names.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** resolv.conf with only the given nameservers; empty means no resolver (never the host's, which is off-machine). */
export function resolvConfFor(nameservers: readonly string[] = []): string {
  if (nameservers.length === 0) return '# berth: no resolver until the container joins a network\n';
  return `${nameservers.map((n) => `nameserver ${n}`).join('\n')}\noptions ndots:0\n`;
}
