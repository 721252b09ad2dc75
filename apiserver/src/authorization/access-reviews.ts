// The authorization questions a client may ask (authorization.k8s.io/v1): may I (SelfSubjectAccessReview), may
// they (SubjectAccessReview, LocalSubjectAccessReview), and what may I do in a namespace (SelfSubjectRulesReview,
// `kubectl auth can-i --list`). Answered from the same authorizer and rules every request is decided by.

import { invalid, type FieldError } from '@berth/api';
import type { UserInfo } from '../authentication/authenticator.js';
import { badRequest, invalid as invalidObject } from '../errors/api-error.js';
import type { ReviewHandler } from '../handlers/reviews.js';
import type { Verb } from '../http/request-info.js';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import { asContainerRequest } from '../pod-view/pod-authorization.js';
import type { RequestInfo } from '../request-chain/request-info.js';
import type { Authorizer } from './authorizer.js';
import { nodeNameOf } from './node/node-authorizer.js';
import type { PolicyRule } from './rbac/policy-rule.js';
import { privilegedGroup, type RbacAuthorizer } from './rbac/rbac-authorizer.js';

const group = 'authorization.k8s.io';
const record = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The JSON type Go's decoder names in its unmarshal errors. */
const jsonType = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v;

/** The fields of a review's spec and the Go struct each belongs to, so a wrong type is worded as Go words it. */
const stringFields: Readonly<Record<string, readonly string[]>> = {
  resourceAttributes: ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'],
  nonResourceAttributes: ['path', 'verb'],
};
const structOf: Readonly<Record<string, string>> = {
  resourceAttributes: 'ResourceAttributes',
  nonResourceAttributes: 'NonResourceAttributes',
};

/**
 * A spec of the wrong shape is a 400, as Kubernetes' decoder answers it before any validation: `spec` and the
 * attributes are objects, their fields strings, `groups` a list of strings, `extra` a map of lists of strings.
 */
function checkTypes(kind: string, body: KubeObject): Record<string, unknown> {
  const cannot = (struct: string, field: string, value: unknown, type: string) =>
    badRequest(
      `${kind} in version "v1" cannot be handled as a ${kind}: json: cannot unmarshal ${jsonType(value)} into Go struct field ${struct}.${field} of type ${type}`,
    );
  const spec = body['spec'];
  if (spec === undefined || spec === null) return {};
  if (!isPlainObject(spec)) throw cannot(kind, 'spec', spec, `v1.${kind}Spec`);
  for (const [attributes, fields] of Object.entries(stringFields)) {
    const a = spec[attributes];
    if (a === undefined || a === null) continue;
    if (!isPlainObject(a)) throw cannot(`${kind}Spec`, `spec.${attributes}`, a, `v1.${structOf[attributes]}`);
    for (const f of fields) {
      const v = a[f];
      if (v !== undefined && v !== null && typeof v !== 'string')
        throw cannot(structOf[attributes]!, `spec.${attributes}.${f}`, v, 'string');
    }
  }
  for (const f of ['user', 'uid', 'namespace']) {
    const v = spec[f];
    if (v !== undefined && v !== null && typeof v !== 'string') throw cannot(`${kind}Spec`, `spec.${f}`, v, 'string');
  }
  const groups = spec['groups'];
  if (groups !== undefined && groups !== null) {
    if (!Array.isArray(groups)) throw cannot(`${kind}Spec`, 'spec.groups', groups, '[]string');
    const bad = groups.find((g) => typeof g !== 'string');
    if (bad !== undefined) throw cannot(`${kind}Spec`, 'spec.groups', bad, 'string');
  }
  const extra = spec['extra'];
  if (extra !== undefined && extra !== null) {
    if (!isPlainObject(extra)) throw cannot(`${kind}Spec`, 'spec.extra', extra, 'map[string]v1.ExtraValue');
    for (const v of Object.values(extra))
      if (v !== null && (!Array.isArray(v) || v.some((s) => typeof s !== 'string')))
        throw cannot(`${kind}Spec`, 'spec.extra', v, 'v1.ExtraValue');
  }
  return spec;
}

/** Kubernetes' ValidateSubjectAccessReview & co.: every problem at once, a 422 naming each field. */
function validate(
  kind: string,
  body: KubeObject,
  spec: Record<string, unknown>,
  options: { subject: boolean; namespace?: string },
): void {
  const problems: FieldError[] = [];
  const resource = spec['resourceAttributes'] ?? undefined;
  const nonResource = spec['nonResourceAttributes'] ?? undefined;
  if (kind === 'SelfSubjectRulesReview') {
    // Only the namespace is asked for; nothing else to check.
  } else if (resource !== undefined && nonResource !== undefined)
    problems.push(
      invalid('spec.nonResourceAttributes', nonResource, 'cannot be specified in combination with resourceAttributes'),
    );
  else if (resource === undefined && nonResource === undefined)
    problems.push(
      invalid(
        'spec.resourceAttributes',
        null,
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    );
  if (
    options.subject &&
    text(spec['user']) === '' &&
    (Array.isArray(spec['groups']) ? spec['groups'] : []).length === 0
  )
    problems.push(invalid('spec.user', '', 'at least one of user or group must be specified'));
  if (options.namespace !== undefined) {
    if (nonResource !== undefined)
      problems.push(invalid('spec.nonResourceAttributes', nonResource, 'disallowed on this kind of request'));
    const asked = text(record(resource)['namespace']);
    if (resource !== undefined && asked !== options.namespace)
      problems.push(invalid('spec.resourceAttributes.namespace', asked, 'must match metadata.namespace'));
  }
  // The metadata of a question is empty (a client's `creationTimestamp: null` is Go's zero value).
  const meta = Object.entries(record(body.metadata)).filter(
    ([k, v]) => v !== null && k !== 'managedFields' && !(options.namespace !== undefined && k === 'namespace'),
  );
  if (meta.length > 0) problems.push(invalid('metadata', Object.fromEntries(meta), 'must be empty'));
  if (problems.length > 0) throw invalidObject(kind, group, '', problems);
}

function requestOf(spec: Record<string, unknown>): RequestInfo {
  const resource = spec['resourceAttributes'];
  if (isPlainObject(resource)) {
    const r = resource;
    const name = text(r['name']);
    const namespace = text(r['namespace']);
    const subresource = text(r['subresource']);
    return {
      method: 'POST',
      path: '',
      query: new URLSearchParams(),
      verb: text(r['verb']),
      resource: {
        group: text(r['group']),
        version: text(r['version']) || '*',
        resource: text(r['resource']),
        verb: text(r['verb']) as Verb,
        ...(name === '' ? {} : { name }),
        ...(namespace === '' ? {} : { namespace }),
        ...(subresource === '' ? {} : { subresource }),
      },
    };
  }
  const n = record(spec['nonResourceAttributes']);
  return {
    method: 'GET',
    path: text(n['path']),
    query: new URLSearchParams(),
    resource: undefined,
    verb: text(n['verb']),
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

/** Decided by the server's own authorizer chain (node authorizer, then RBAC), a Pod's as its Container's. */
const accessStatus = async (authorizer: Authorizer, user: UserInfo, spec: Record<string, unknown>) => {
  const decision = await authorizer.authorize(user, asContainerRequest(requestOf(spec)));
  return decision.allowed
    ? { allowed: true }
    : { allowed: false, ...(decision.reason ? { reason: decision.reason } : {}) };
};

const groupsOf = (spec: Record<string, unknown>): string[] =>
  Array.isArray(spec['groups']) ? spec['groups'].filter((g): g is string => typeof g === 'string') : [];

const subjectOf = (spec: Record<string, unknown>): UserInfo => {
  const extra = record(spec['extra']) as Record<string, string[]>;
  const uid = text(spec['uid']);
  return {
    name: text(spec['user']),
    groups: groupsOf(spec),
    ...(uid === '' ? {} : { uid }),
    ...(Object.keys(extra).length === 0 ? {} : { extra }),
  };
};

/**
 * The review handlers of authorization.k8s.io, keyed as the registry names their resources: access reviews ask
 * `authorizer` (the chain every request passes), the rules review lists what RBAC grants.
 */
export function accessReviews(authorizer: Authorizer, rbac: RbacAuthorizer): ReadonlyMap<string, ReviewHandler> {
  return new Map<string, ReviewHandler>([
    [
      `${group}/selfsubjectaccessreviews`,
      async (body, { user }) => {
        const kind = 'SelfSubjectAccessReview';
        const spec = checkTypes(kind, body);
        validate(kind, body, spec, { subject: false });
        return answer(body, kind, await accessStatus(authorizer, user, spec));
      },
    ],
    [
      `${group}/subjectaccessreviews`,
      async (body) => {
        const kind = 'SubjectAccessReview';
        const spec = checkTypes(kind, body);
        validate(kind, body, spec, { subject: true });
        return answer(body, kind, await accessStatus(authorizer, subjectOf(spec), spec));
      },
    ],
    [
      `${group}/localsubjectaccessreviews`,
      async (body, { namespace }) => {
        const kind = 'LocalSubjectAccessReview';
        const spec = checkTypes(kind, body);
        validate(kind, body, spec, { subject: true, namespace: namespace ?? '' });
        return answer(body, kind, await accessStatus(authorizer, subjectOf(spec), spec));
      },
    ],
    [
      `${group}/selfsubjectrulesreviews`,
      (body, { user }) => {
        const spec = checkTypes('SelfSubjectRulesReview', body);
        validate('SelfSubjectRulesReview', body, spec, { subject: false });
        const rules: PolicyRule[] = [
          ...(user.groups.includes(privilegedGroup)
            ? [
                { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
                { verbs: ['*'], nonResourceURLs: ['*'] },
              ]
            : []),
          ...rbac.index.rulesFor(user, text(spec['namespace'])),
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
          // As Kubernetes' Node authorizer answers RulesFor: a node's rights depend on what is bound to it.
          ...(nodeNameOf(user) === undefined
            ? { incomplete: false }
            : { incomplete: true, evaluationError: 'node authorizer does not support user rule resolution' }),
        });
      },
    ],
  ]);
}
