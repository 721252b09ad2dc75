// Pod Security Admission for Containers: every Container is held to its namespace's level
// (`pod-security.kubernetes.io/enforce`, baseline when unset), a refusal a 403 worded as Kubernetes words it;
// `…/warn` adds warnings, and a Service's template is checked for warnings only (Kubernetes enforces on Pods, not
// on the workloads that make them). Namespaces with a label naming no level are refused.

import { notSupported } from '@berth/api';
import { ApiError, invalid } from '../../errors/api-error.js';
import type { KubeObject } from '../../objects/object.js';
import type { AdmissionAttributes, ValidatingAdmission } from '../admission.js';
import { containerNameAnnotation } from '../../pod-view/pod-projection.js';
import { describe, isLevel, levels, violations, type CheckOptions, type Level } from './levels.js';

const labelPrefix = 'pod-security.kubernetes.io/';
const modes = ['enforce', 'warn', 'audit'] as const;

export interface PodSecurityOptions {
  /** The level of a namespace without an enforce label (kube-apiserver's PodSecurityConfiguration defaults). @default 'baseline' */
  readonly defaultLevel?: Level;
  /** Directories hostPath volumes may name below restricted. @default none */
  readonly allowedHostPaths?: readonly string[];
}

/** A namespace's labels, undefined when it does not exist. */
export type NamespaceLabels = (namespace: string) => Promise<Readonly<Record<string, string>> | undefined>;

const specOf = (a: AdmissionAttributes): { spec: unknown; name: string } | undefined => {
  if (a.resource.group !== 'berth.dev') return undefined;
  const spec = a.object['spec'] as Record<string, unknown> | undefined;
  // A Pod's container is named as the Pod's spec named it (kept on the Container it became).
  if (a.resource.plural === 'containers')
    return { spec, name: a.object.metadata.annotations?.[containerNameAnnotation] ?? a.name };
  if (a.resource.plural === 'services') {
    const template = spec?.['template'] as { spec?: unknown } | undefined;
    return { spec: template?.spec, name: a.name };
  }
  return undefined;
};

const sameSpec = (a: KubeObject | undefined, b: KubeObject): boolean =>
  a !== undefined && JSON.stringify(a['spec']) === JSON.stringify(b['spec']);

export function podSecurity(namespaceLabels: NamespaceLabels, options: PodSecurityOptions = {}): ValidatingAdmission {
  const defaultLevel = options.defaultLevel ?? 'baseline';
  const checks: CheckOptions = { allowedHostPaths: options.allowedHostPaths ?? [] };
  return {
    name: 'PodSecurity',
    async validate(a) {
      if (a.operation === 'DELETE' || a.subresource !== undefined) return;
      if (a.resource.group === '' && a.resource.plural === 'namespaces') return checkNamespaceLabels(a);
      const target = specOf(a);
      if (target === undefined || a.user === undefined) return;
      // An update that leaves the spec alone (labels, finalizers) is no new risk.
      if (a.operation === 'UPDATE' && sameSpec(a.oldObject, a.object)) return;
      const labels = (await namespaceLabels(a.namespace ?? '')) ?? {};
      const level = (mode: string, fallback: Level | undefined) => {
        const value = labels[`${labelPrefix}${mode}`];
        return isLevel(value) ? value : fallback;
      };
      const spec = (target.spec ?? {}) as Parameters<typeof violations>[2];
      const enforce = level('enforce', defaultLevel) ?? defaultLevel;
      const warn = level('warn', undefined);
      const warnings: string[] = [];
      const refused = violations(enforce, target.name, spec, checks);
      if (refused.length > 0) {
        if (a.resource.plural === 'containers')
          throw new ApiError(
            'Forbidden',
            `containers.berth.dev "${a.name}" is forbidden: violates PodSecurity "${enforce}:latest": ${describe(refused)}`,
            { name: a.name, group: 'berth.dev', kind: 'containers' },
          );
        warnings.push(`would violate PodSecurity "${enforce}:latest": ${describe(refused)}`);
      }
      if (warn !== undefined && warn !== enforce) {
        const found = violations(warn, target.name, spec, checks);
        if (found.length > 0) warnings.push(`would violate PodSecurity "${warn}:latest": ${describe(found)}`);
      }
      return warnings;
    },
  };
}

function checkNamespaceLabels(a: AdmissionAttributes): void {
  const labels = a.object.metadata.labels ?? {};
  const problems = modes.flatMap((mode) => {
    const key = `${labelPrefix}${mode}`;
    const value = labels[key];
    return value === undefined || isLevel(value) ? [] : [notSupported(`metadata.labels[${key}]`, value, levels)];
  });
  if (problems.length > 0) throw invalid('namespaces', '', a.name, problems);
}
