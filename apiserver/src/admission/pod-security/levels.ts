// The Pod Security Standards (privileged, baseline, restricted) translated to a Container's spec: each check names
// what it forbids in Pod Security Admission's own words, so a refusal reads as Kubernetes' does.

import { posix } from 'node:path';

export const levels = ['privileged', 'baseline', 'restricted'] as const;
export type Level = (typeof levels)[number];
export const isLevel = (v: unknown): v is Level => typeof v === 'string' && (levels as readonly string[]).includes(v);

/** Docker's default capability set: adding one of these is no escape (Kubernetes' baseline list). */
export const defaultCapabilities: ReadonlySet<string> = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

/** One check that failed: Kubernetes' short reason and the detail in parentheses. */
export interface Violation {
  readonly reason: string;
  readonly detail: string;
}

/** The fields of a Container spec the checks read (a Container's spec, or a Service's template spec). */
interface Spec {
  readonly networkMode?: unknown;
  readonly hostUsers?: unknown;
  readonly securityContext?: {
    readonly privileged?: unknown;
    readonly runAsNonRoot?: unknown;
    readonly runAsUser?: unknown;
    readonly allowPrivilegeEscalation?: unknown;
    readonly capabilities?: { readonly add?: unknown; readonly drop?: unknown };
    readonly seccompProfile?: { readonly type?: unknown };
  };
  readonly volumes?: unknown;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s) => typeof s === 'string') : []);
const capName = (c: string): string => c.toUpperCase().replace(/^CAP_/, '');

export interface CheckOptions {
  /** Directories a hostPath volume may name at baseline (berth's own allowance; Kubernetes allows none). */
  readonly allowedHostPaths: readonly string[];
}

const inside = (root: string, p: string): boolean => {
  const rel = posix.relative(posix.resolve(root), posix.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !posix.isAbsolute(rel));
};

/** What `spec` (of the container `name`) does that `level` forbids, in the order Kubernetes lists them. */
export function violations(level: Level, name: string, spec: Spec, options: CheckOptions): Violation[] {
  if (level === 'privileged') return [];
  const out: Violation[] = [];
  const sc = spec.securityContext ?? {};
  const c = `container "${name}"`;
  if (spec.networkMode === 'host') out.push({ reason: 'host namespaces', detail: 'hostNetwork=true' });
  if (sc.privileged === true)
    out.push({ reason: 'privileged', detail: `${c} must not set securityContext.privileged=true` });
  const added = strings(sc.capabilities?.add).map(capName);
  const extra = added.filter((a) => !defaultCapabilities.has(a));
  if (extra.length > 0)
    out.push({
      reason: 'non-default capabilities',
      detail: `${c} must not include ${extra.map((e) => `"${e}"`).join(', ')} in securityContext.capabilities.add`,
    });
  const volumes = Array.isArray(spec.volumes) ? (spec.volumes as Record<string, unknown>[]) : [];
  const hostPaths = volumes.filter((v) => v !== null && typeof v === 'object' && v['hostPath'] !== undefined);
  const forbiddenHostPaths = hostPaths.filter((v) => {
    const path = (v['hostPath'] as { path?: unknown } | null)?.path;
    if (level === 'restricted' || typeof path !== 'string' || !path.startsWith('/')) return true;
    if (path.split('/').includes('..')) return true;
    return !options.allowedHostPaths.some((root) => inside(root, path));
  });
  if (forbiddenHostPaths.length > 0)
    out.push({
      reason: level === 'restricted' ? 'restricted volume types' : 'hostPath volumes',
      detail: `${forbiddenHostPaths.length === 1 ? 'volume' : 'volumes'} ${forbiddenHostPaths.map((v) => `"${String(v['name'])}"`).join(', ')}${level === 'restricted' ? ' uses restricted volume type "hostPath"' : ''}`,
    });
  const seccomp = sc.seccompProfile?.type;
  if (seccomp === 'Unconfined')
    out.push({
      reason: 'seccompProfile',
      detail: `${c} must not set securityContext.seccompProfile.type to "Unconfined"`,
    });
  if (level === 'baseline') return out;
  if (sc.allowPrivilegeEscalation !== false)
    out.push({
      reason: 'allowPrivilegeEscalation != false',
      detail: `${c} must set securityContext.allowPrivilegeEscalation=false`,
    });
  const dropsAll = strings(sc.capabilities?.drop).map(capName).includes('ALL');
  const beyond = added.filter((a) => a !== 'NET_BIND_SERVICE');
  if (!dropsAll || beyond.length > 0)
    out.push({
      reason: 'unrestricted capabilities',
      detail: [
        ...(dropsAll ? [] : [`${c} must set securityContext.capabilities.drop=["ALL"]`]),
        ...(beyond.length === 0
          ? []
          : [`${c} must not include ${beyond.map((e) => `"${e}"`).join(', ')} in securityContext.capabilities.add`]),
      ].join('; '),
    });
  // Root in a user namespace of its own is an unprivileged id on the node: restricted lets it be root
  // (Kubernetes' UserNamespacesPodSecurityStandards); every level allows hostUsers: false.
  const ownUsers = spec.hostUsers === false;
  if (sc.runAsNonRoot !== true && !ownUsers)
    out.push({ reason: 'runAsNonRoot != true', detail: `${c} must set securityContext.runAsNonRoot=true` });
  if (sc.runAsUser === 0 && !ownUsers) out.push({ reason: 'runAsUser=0', detail: `${c} must not set runAsUser=0` });
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost' && seccomp !== 'Unconfined')
    out.push({
      reason: 'seccompProfile',
      detail: `${c} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    });
  return out;
}

/** `reason (detail), reason (detail)`, as Pod Security Admission joins them. */
export const describe = (vs: readonly Violation[]): string => vs.map((v) => `${v.reason} (${v.detail})`).join(', ');
