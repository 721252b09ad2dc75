// The audit policy (audit.k8s.io/v1 Policy): the first rule that matches a request sets how much of it is logged
// (None, Metadata, Request, RequestResponse). Whatever the policy says, Secrets and tokens are never logged beyond
// Metadata, so their data cannot reach the log. `defaultAuditPolicy` is berth's: every write at Request, reads of
// Secrets and streams into containers (exec, attach, port-forward) at Metadata, other reads and the components'
// heartbeats not at all.

import { BerthError } from '@berth/api';
import { parse } from 'yaml';
import type { UserInfo } from '../authentication/authenticator.js';
import type { RequestInfo } from '../request-chain/request-info.js';

export const auditLevels = ['None', 'Metadata', 'Request', 'RequestResponse'] as const;
export type AuditLevel = (typeof auditLevels)[number];

export interface GroupResources {
  readonly group?: string;
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
}

export interface PolicyRule {
  readonly level: AuditLevel;
  readonly users?: readonly string[];
  readonly userGroups?: readonly string[];
  readonly verbs?: readonly string[];
  readonly resources?: readonly GroupResources[];
  readonly namespaces?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

export interface AuditPolicy {
  readonly rules: readonly PolicyRule[];
}

export class AuditPolicyError extends BerthError<'BERTH_AUDIT_POLICY_INVALID'> {
  constructor(message: string) {
    super('BERTH_AUDIT_POLICY_INVALID', message);
  }
}

/** Reads a Policy document (YAML or JSON). */
export function parseAuditPolicy(text: string): AuditPolicy {
  const doc = parse(text) as { kind?: unknown; rules?: unknown } | null;
  if (doc?.kind !== 'Policy') throw new AuditPolicyError('an audit policy must be of kind Policy');
  const rules = Array.isArray(doc.rules) ? (doc.rules as PolicyRule[]) : [];
  for (const r of rules)
    if (!(auditLevels as readonly string[]).includes(String(r.level)))
      throw new AuditPolicyError(
        `audit policy rule level ${JSON.stringify(r.level)} is not one of ${auditLevels.join(', ')}`,
      );
  return { rules };
}

const reads = ['get', 'list', 'watch'];
const components = ['system:kube-controller-manager'];
export const defaultAuditPolicy: AuditPolicy = {
  rules: [
    { level: 'None', nonResourceURLs: ['/healthz*', '/livez*', '/readyz*', '/version*', '/openapi*', '/api*'] },
    {
      level: 'None',
      users: components,
      verbs: ['update', 'patch', ...reads],
      resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
    },
    {
      level: 'None',
      userGroups: ['system:nodes'],
      verbs: ['update', 'patch', ...reads],
      resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
    },
    {
      level: 'Metadata',
      resources: [
        { group: '', resources: ['secrets', 'serviceaccounts/token'] },
        { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
      ],
    },
    // A stream into a container is a GET, but what is done through it is a write: always logged.
    {
      level: 'Metadata',
      resources: [
        { group: '', resources: ['pods/exec', 'pods/attach', 'pods/portforward'] },
        { group: 'berth.dev', resources: ['containers/exec', 'containers/attach', 'containers/portforward'] },
      ],
    },
    { level: 'None', verbs: reads },
    { level: 'Request' },
  ],
};

/** Kubernetes' wildcard: a trailing `*` matches any rest. */
const pathMatches = (pattern: string, path: string) =>
  pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : pattern === path;

function resourceMatches(rule: readonly GroupResources[], r: NonNullable<RequestInfo['resource']>): boolean {
  const full = r.subresource === undefined ? r.resource : `${r.resource}/${r.subresource}`;
  return rule.some((g) => {
    if ((g.group ?? '') !== r.group) return false;
    const names = g.resources ?? [];
    const resourceOk =
      names.length === 0 ||
      names.some(
        (n) =>
          n === '*' ||
          n === full ||
          (n === `${r.resource}/*` && r.subresource !== undefined) ||
          (n.startsWith('*/') && n.slice(2) === r.subresource),
      );
    const namesOk = (g.resourceNames ?? []).length === 0 || (g.resourceNames ?? []).includes(r.name ?? '');
    return resourceOk && namesOk;
  });
}

function matches(rule: PolicyRule, user: UserInfo | undefined, info: RequestInfo): boolean {
  if (rule.users !== undefined && !rule.users.includes(user?.name ?? '')) return false;
  if (rule.userGroups !== undefined && !rule.userGroups.some((g) => user?.groups.includes(g))) return false;
  if (rule.verbs !== undefined && !rule.verbs.includes(info.verb)) return false;
  const r = info.resource;
  if (rule.nonResourceURLs !== undefined || rule.resources !== undefined || rule.namespaces !== undefined) {
    if (r === undefined) return (rule.nonResourceURLs ?? []).some((p) => pathMatches(p, info.path));
    if (rule.resources !== undefined && !resourceMatches(rule.resources, r)) return false;
    if (rule.namespaces !== undefined && !rule.namespaces.includes(r.namespace ?? '')) return false;
    if (rule.resources === undefined && rule.namespaces === undefined) return false;
  }
  return true;
}

/** What is never logged past Metadata: objects whose bodies hold secret data or credentials. */
function holdsSecrets(info: RequestInfo): boolean {
  const r = info.resource;
  if (r === undefined) return false;
  if (r.group === '' && r.resource === 'secrets') return true;
  if (r.group === '' && r.resource === 'serviceaccounts' && r.subresource === 'token') return true;
  return r.group === 'authentication.k8s.io' && r.resource === 'tokenreviews';
}

/** The level a request is logged at. */
export function auditLevel(policy: AuditPolicy, user: UserInfo | undefined, info: RequestInfo): AuditLevel {
  const level = policy.rules.find((rule) => matches(rule, user, info))?.level ?? 'None';
  return holdsSecrets(info) && (level === 'Request' || level === 'RequestResponse') ? 'Metadata' : level;
}
