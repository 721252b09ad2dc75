// Escalation prevention (Kubernetes' rbac registry policy): writing a Role or ClusterRole needs every rule it
// holds, or the `escalate` verb on it; writing a binding needs every rule of the role it binds, or the `bind`
// verb on that role. Runs as a validating admission plugin, where the writer and the object are known.

import type { UserInfo } from '../../authentication/authenticator.js';
import type { AdmissionAttributes, ValidatingAdmission } from '../../admission/admission.js';
import { ApiError } from '../../errors/api-error.js';
import { jsonEqual, type KubeObject } from '../../objects/object.js';
import { compactString, readRule, uncovered, type PolicyRule } from './policy-rule.js';
import { privilegedGroup, type RbacAuthorizer } from './rbac-authorizer.js';

const rbacGroup = 'rbac.authorization.k8s.io';
/** What an aggregation rule may gather is anything: setting one needs every permission. */
const fullAuthority: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

export function escalationCheck(authorizer: RbacAuthorizer): ValidatingAdmission {
  return {
    name: 'RBACEscalation',
    validate(a: AdmissionAttributes) {
      if (a.operation === 'DELETE' || a.user === undefined || a.resource.group !== rbacGroup) return;
      if (a.user.groups.includes(privilegedGroup)) return;
      // The garbage collector drops finalizers and owner references of objects whose rules it need not hold.
      if (onlyGcFieldsChange(a)) return;
      const plural = a.resource.plural;
      const namespace = a.namespace ?? '';
      if (plural === 'roles' || plural === 'clusterroles') {
        const may = (verb: string) =>
          authorizer.authorizeAttributes({
            user: a.user!,
            verb,
            resourceRequest: true,
            namespace,
            apiGroup: rbacGroup,
            resource: plural,
            subresource: '',
            name: a.name,
            path: '',
          }).allowed;
        if (may('escalate')) return;
        const rules = Array.isArray(a.object['rules'])
          ? (a.object['rules'] as unknown[]).flatMap((r) => readRule(r) ?? [])
          : [];
        const requested = a.object['aggregationRule'] === undefined ? rules : [...rules, ...fullAuthority];
        confirmNoEscalation(authorizer, a.user, namespace, requested, a, plural);
        return;
      }
      if (plural === 'rolebindings' || plural === 'clusterrolebindings') {
        const ref = (a.object['roleRef'] ?? {}) as Record<string, unknown>;
        const kind = String(ref['kind'] ?? '');
        const name = String(ref['name'] ?? '');
        const bind = authorizer.authorizeAttributes({
          user: a.user,
          verb: 'bind',
          resourceRequest: true,
          namespace,
          apiGroup: rbacGroup,
          resource: kind === 'Role' ? 'roles' : 'clusterroles',
          subresource: '',
          name,
          path: '',
        });
        if (bind.allowed) return;
        const rules = authorizer.index.roleRules(kind, namespace, name);
        // Without `bind`, the role must exist for its rules to be compared: Kubernetes answers NotFound.
        if (rules === undefined)
          throw new ApiError(
            'NotFound',
            `${kind === 'Role' ? 'roles' : 'clusterroles'}.${rbacGroup} "${name}" not found`,
            {
              name,
              group: rbacGroup,
              kind: kind === 'Role' ? 'roles' : 'clusterroles',
            },
          );
        confirmNoEscalation(authorizer, a.user, namespace, rules, a, plural);
      }
    },
  };
}

/** Kubernetes' IsOnlyMutatingGCFields: an update that changes nothing but ownerReferences and finalizers. */
function onlyGcFieldsChange(a: AdmissionAttributes): boolean {
  if (a.operation !== 'UPDATE' || a.oldObject === undefined) return false;
  const withoutGcFields = (o: KubeObject) => {
    const { ownerReferences: _o, finalizers: _f, managedFields: _m, resourceVersion: _r, ...meta } = o.metadata;
    return { ...o, metadata: meta };
  };
  return jsonEqual(withoutGcFields(a.object), withoutGcFields(a.oldObject));
}

function confirmNoEscalation(
  authorizer: RbacAuthorizer,
  user: UserInfo,
  namespace: string,
  requested: readonly PolicyRule[],
  a: AdmissionAttributes,
  plural: string,
): void {
  const missing = uncovered(authorizer.index.rulesFor(user, namespace), requested);
  if (missing.length === 0) return;
  const groups = `[${user.groups.map((g) => JSON.stringify(g)).join(' ')}]`;
  throw forbidden(
    a,
    plural,
    `user "${user.name}" (groups=${groups}) is attempting to grant RBAC permissions not currently held:\n${missing.map(compactString).join('\n')}`,
  );
}

function forbidden(a: AdmissionAttributes, plural: string, why: string): ApiError {
  const object: KubeObject = a.object;
  const name = object.metadata.name ?? a.name;
  return new ApiError('Forbidden', `${plural}.${rbacGroup} "${name}" is forbidden: ${why}`, {
    name,
    group: rbacGroup,
    kind: plural,
  });
}
