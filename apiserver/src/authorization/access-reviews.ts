// The authorization questions a client may ask (authorization.k8s.io/v1): may I (SelfSubjectAccessReview), may
// they (SubjectAccessReview, LocalSubjectAccessReview), and what may I do in a namespace (SelfSubjectRulesReview,
// `kubectl auth can-i --list`). Answered from the same authorizer and rules every request is decided by.

import type { UserInfo } from '../authentication/authenticator.js';
import { ApiError } from '../errors/api-error.js';
import type { ReviewHandler } from '../handlers/reviews.js';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import type { Attributes } from './attributes.js';
import type { PolicyRule } from './rbac/policy-rule.js';
import { asContainerAttributes } from '../pod-view/pod-authorization.js';
import { privilegedGroup, type RbacAuthorizer } from './rbac/rbac-authorizer.js';

const group = 'authorization.k8s.io';
const record = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

const invalid = (kind: string, field: string, message: string) =>
  new ApiError('Invalid', `${kind}.${group} "" is invalid: ${field}: ${message}`, {
    group,
    kind,
    causes: [{ reason: 'FieldValueInvalid', message, field }],
  });

function attributesFrom(kind: string, user: UserInfo, spec: Record<string, unknown>): Attributes {
  const resource = spec['resourceAttributes'];
  const nonResource = spec['nonResourceAttributes'];
  if ((resource === undefined) === (nonResource === undefined))
    throw invalid(
      kind,
      'spec.resourceAttributes',
      'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  if (resource !== undefined) {
    const r = record(resource);
    return {
      user,
      verb: text(r['verb']),
      resourceRequest: true,
      namespace: text(r['namespace']),
      apiGroup: text(r['group']),
      resource: text(r['resource']),
      subresource: text(r['subresource']),
      name: text(r['name']),
      path: '',
    };
  }
  const n = record(nonResource);
  return {
    user,
    verb: text(n['verb']),
    resourceRequest: false,
    namespace: '',
    apiGroup: '',
    resource: '',
    subresource: '',
    name: '',
    path: text(n['path']),
  };
}

function answer(body: KubeObject, kind: string, status: Record<string, unknown>): KubeObject {
  return {
    apiVersion: `${group}/v1`,
    kind,
    metadata: { ...body.metadata, creationTimestamp: null } as unknown as KubeObject['metadata'],
    spec: body['spec'] ?? {},
    status,
  };
}

const accessStatus = (authorizer: RbacAuthorizer, a: Attributes) => {
  const decision = authorizer.authorizeAttributes(asContainerAttributes(a));
  return decision.allowed
    ? { allowed: true }
    : { allowed: false, ...(decision.reason ? { reason: decision.reason } : {}) };
};

/** The review handlers of authorization.k8s.io, keyed as the registry names their resources. */
export function accessReviews(authorizer: RbacAuthorizer): ReadonlyMap<string, ReviewHandler> {
  return new Map<string, ReviewHandler>([
    [
      `${group}/selfsubjectaccessreviews`,
      (body, { user }) => {
        const kind = 'SelfSubjectAccessReview';
        return answer(body, kind, accessStatus(authorizer, attributesFrom(kind, user, record(body['spec']))));
      },
    ],
    [
      `${group}/subjectaccessreviews`,
      (body) => {
        const kind = 'SubjectAccessReview';
        const spec = record(body['spec']);
        const groups = Array.isArray(spec['groups']) ? spec['groups'].filter((g) => typeof g === 'string') : [];
        if (text(spec['user']) === '' && groups.length === 0)
          throw invalid(kind, 'spec.user', 'Invalid value: "": at least one of user or group must be specified');
        const subject: UserInfo = { name: text(spec['user']), groups };
        return answer(body, kind, accessStatus(authorizer, attributesFrom(kind, subject, spec)));
      },
    ],
    [
      `${group}/localsubjectaccessreviews`,
      (body, { namespace }) => {
        const kind = 'LocalSubjectAccessReview';
        const spec = record(body['spec']);
        const attributes = attributesFrom(kind, { name: text(spec['user']), groups: [] }, spec);
        if (attributes.namespace !== (namespace ?? ''))
          throw invalid(
            kind,
            'spec.resourceAttributes.namespace',
            `Invalid value: "${attributes.namespace}": must match metadata.namespace`,
          );
        const groups = Array.isArray(spec['groups']) ? spec['groups'].filter((g) => typeof g === 'string') : [];
        return answer(
          body,
          kind,
          accessStatus(authorizer, { ...attributes, user: { name: attributes.user.name, groups } }),
        );
      },
    ],
    [
      `${group}/selfsubjectrulesreviews`,
      (body, { user }) => {
        const spec = record(body['spec']);
        const rules: PolicyRule[] = [
          ...(user.groups.includes(privilegedGroup)
            ? [
                { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
                { verbs: ['*'], nonResourceURLs: ['*'] },
              ]
            : []),
          ...authorizer.index.rulesFor(user, text(spec['namespace'])),
        ];
        const nonEmpty = (k: string, list: readonly string[] | undefined) =>
          list !== undefined && list.length > 0 ? { [k]: list } : {};
        return answer(body, 'SelfSubjectRulesReview', {
          resourceRules: rules
            .filter((r) => (r.resources?.length ?? 0) > 0)
            .map((r) => ({
              verbs: r.verbs,
              ...nonEmpty('apiGroups', r.apiGroups),
              ...nonEmpty('resources', r.resources),
              ...nonEmpty('resourceNames', r.resourceNames),
            })),
          nonResourceRules: rules
            .filter((r) => (r.nonResourceURLs?.length ?? 0) > 0)
            .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
          incomplete: false,
        });
      },
    ],
  ]);
}
