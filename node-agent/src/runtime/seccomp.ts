// The seccomp profile every container gets: allow by default, refuse the syscalls Docker's default profile leaves out.
//
// Why a denylist and not Docker's allowlist: an allowlist of ~350 syscalls must track every kernel and
// libc (a missing entry breaks programs in ways that are hard to see), while the syscalls that matter
// for escaping a container are few and well known. The cost: a syscall added by a future kernel is
// allowed until it is listed here. The filter names only the native architecture, so 32-bit
// (int 0x80) and x32 calls hit libseccomp's bad-arch action (kill) instead of slipping past the list.

/** libseccomp's actions and comparisons, as the OCI runtime spec names them. */
const ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
const OPS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompAction = (typeof ACTIONS)[number];

export interface SeccompArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo?: number;
  readonly op: (typeof OPS)[number];
}

export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[];
}

export interface SeccompProfile {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet?: number;
  readonly architectures: readonly string[];
  readonly syscalls: readonly SeccompRule[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * A node's own profile (a Localhost seccompProfile: OCI's linux.seccomp as JSON, as kubelet reads them), checked so
 * a typo is the Container's config error rather than crun's. Returns the problem in words, or the profile.
 */
export function parseSeccompProfile(text: string): SeccompProfile | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (!isObject(v)) return 'not a JSON object';
  const action = (a: unknown) => (ACTIONS as readonly unknown[]).includes(a);
  if (!action(v['defaultAction'])) return `defaultAction ${JSON.stringify(v['defaultAction'])} is no seccomp action`;
  if (v['defaultErrnoRet'] !== undefined && !isCount(v['defaultErrnoRet'])) return 'defaultErrnoRet must be a number';
  const architectures = v['architectures'] ?? [];
  if (!Array.isArray(architectures) || !architectures.every((a) => typeof a === 'string'))
    return 'architectures must be a list of names';
  const syscalls = v['syscalls'] ?? [];
  if (!Array.isArray(syscalls)) return 'syscalls must be a list';
  for (const [i, r] of syscalls.entries()) {
    if (!isObject(r)) return `syscalls[${i}] is not an object`;
    if (!Array.isArray(r['names']) || !r['names'].every((n) => typeof n === 'string'))
      return `syscalls[${i}].names must be a list of names`;
    if (!action(r['action'])) return `syscalls[${i}].action ${JSON.stringify(r['action'])} is no seccomp action`;
    if (r['errnoRet'] !== undefined && !isCount(r['errnoRet'])) return `syscalls[${i}].errnoRet must be a number`;
    const args = r['args'] ?? [];
    if (
      !Array.isArray(args) ||
      !args.every(
        (a) =>
          isObject(a) &&
          isCount(a['index']) &&
          isCount(a['value']) &&
          (a['valueTwo'] === undefined || isCount(a['valueTwo'])) &&
          (OPS as readonly unknown[]).includes(a['op']),
      )
    )
      return `syscalls[${i}].args must be {index, value, valueTwo?, op} comparisons`;
  }
  return v as unknown as SeccompProfile;
}

const EPERM = 1;
const ENOSYS = 38;

/** Refused outright: kernel modules, clocks, keyrings, mounts, namespaces, tracing, raw I/O, reboot. */
const DENIED = [
  'acct',
  'add_key',
  'bpf',
  'clock_adjtime',
  'clock_settime',
  'create_module',
  'delete_module',
  'finit_module',
  'fsconfig',
  'fsmount',
  'fsopen',
  'fspick',
  'get_kernel_syms',
  'get_mempolicy',
  'init_module',
  'io_uring_enter',
  'io_uring_register',
  'io_uring_setup',
  'ioperm',
  'iopl',
  'kcmp',
  'kexec_file_load',
  'kexec_load',
  'keyctl',
  'lookup_dcookie',
  'mbind',
  'mount',
  'mount_setattr',
  'move_mount',
  'move_pages',
  'name_to_handle_at',
  'nfsservctl',
  'open_by_handle_at',
  'open_tree',
  'perf_event_open',
  'pivot_root',
  'process_vm_readv',
  'process_vm_writev',
  'ptrace',
  'query_module',
  'quotactl',
  'quotactl_fd',
  'reboot',
  'request_key',
  'set_mempolicy',
  'setns',
  'settimeofday',
  'swapoff',
  'swapon',
  'syslog',
  'sysfs',
  '_sysctl',
  'umount2',
  'unshare',
  'uselib',
  'userfaultfd',
  'ustat',
  'vhangup',
] as const;

/** clone flags that make namespaces; clone() with any of them is refused (unshare and setns already are). */
const CLONE_NAMESPACE_FLAGS = [
  0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
] as const;

const NATIVE_ARCH: Readonly<Record<string, string>> = {
  x64: 'SCMP_ARCH_X86_64',
  arm64: 'SCMP_ARCH_AARCH64',
  ppc64: 'SCMP_ARCH_PPC64LE',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
};

/** The denied calls a capability a container was given makes its own again, as Docker's default profile has it. */
const ALLOWED_BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_SYS_ADMIN: [
    'bpf',
    'fsconfig',
    'fsmount',
    'fsopen',
    'fspick',
    'lookup_dcookie',
    'mount',
    'mount_setattr',
    'move_mount',
    'name_to_handle_at',
    'open_tree',
    'perf_event_open',
    'quotactl',
    'quotactl_fd',
    'setns',
    'swapoff',
    'swapon',
    'umount2',
    'unshare',
  ],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_MODULE: ['delete_module', 'finit_module', 'init_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_RAWIO: ['ioperm', 'iopl'],
  CAP_SYS_TIME: ['clock_adjtime', 'clock_settime', 'settimeofday'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
  CAP_DAC_READ_SEARCH: ['name_to_handle_at', 'open_by_handle_at'],
};

/** The default profile; `capabilities` the container holds re-allow the calls they stand for. */
export function defaultSeccompProfile(
  arch: string = process.arch,
  capabilities: readonly string[] = [],
): SeccompProfile {
  const native = NATIVE_ARCH[arch];
  if (native === undefined) throw new Error(`no seccomp architecture known for ${arch}`);
  const allowed = new Set(capabilities.flatMap((c) => ALLOWED_BY_CAPABILITY[c] ?? []));
  // Namespaces made by clone() stay refused unless the container may make them (CAP_SYS_ADMIN).
  const cloneRules = capabilities.includes('CAP_SYS_ADMIN') ? [] : CLONE_NAMESPACE_FLAGS;
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: [native],
    syscalls: [
      { names: DENIED.filter((n) => !allowed.has(n)), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      // clone3 passes flags in memory seccomp cannot read; ENOSYS makes libc fall back to clone().
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
      ...cloneRules.map((flag) => ({
        names: ['clone'],
        action: 'SCMP_ACT_ERRNO' as const,
        errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' as const }],
      })),
    ],
  };
}
