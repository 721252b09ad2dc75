// The built-in kinds of authorization and authentication: RBAC's Role, ClusterRole, RoleBinding and
// ClusterRoleBinding (stored), and the review kinds that are only ever created and never stored
// (SelfSubjectAccessReview, SubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview, TokenRequest, and
// CertificateSigningRequest, signed in its create: pki/node-certificates.ts).

import type { JSONSchemaProps } from '../schema/json-schema.js';
import type { Builtin } from './builtin-kinds.js';

const str = (description: string): JSONSchemaProps => ({ type: 'string', description });
const strings = (description: string): JSONSchemaProps => ({
  type: 'array',
  items: { type: 'string' },
  'x-kubernetes-list-type': 'atomic',
  description,
});
const envelope = (kind: string, description: string, properties: Record<string, JSONSchemaProps>): JSONSchemaProps => ({
  type: 'object',
  description,
  properties: {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str(`Kind is a string value representing the REST resource this object represents (${kind}).`),
    metadata: { type: 'object', description: "Standard object's metadata." },
    ...properties,
  },
});
const opaque = (description: string): JSONSchemaProps => ({
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  description,
});

const policyRule: JSONSchemaProps = {
  type: 'object',
  required: ['verbs'],
  description: 'PolicyRule holds information that describes a policy rule.',
  properties: {
    verbs: strings('Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule.'),
    apiGroups: strings('APIGroups is the name of the APIGroup that contains the resources.'),
    resources: strings("Resources is a list of resources this rule applies to. '*' represents all resources."),
    resourceNames: strings('ResourceNames is an optional white list of names that the rule applies to.'),
    nonResourceURLs: strings('NonResourceURLs is a set of partial urls that a user should have access to.'),
  },
};
const rules: JSONSchemaProps = {
  type: 'array',
  items: policyRule,
  'x-kubernetes-list-type': 'atomic',
  description: 'Rules holds all the PolicyRules for this Role',
};
const subjects: JSONSchemaProps = {
  type: 'array',
  'x-kubernetes-list-type': 'atomic',
  description: 'Subjects holds references to the objects the role applies to.',
  items: {
    type: 'object',
    required: ['kind', 'name'],
    properties: {
      kind: str('Kind of object being referenced: "User", "Group" or "ServiceAccount".'),
      apiGroup: str('APIGroup holds the API group of the referenced subject.'),
      name: str('Name of the object being referenced.'),
      namespace: str('Namespace of the referenced object (ServiceAccount).'),
    },
  },
};
const roleRef: JSONSchemaProps = {
  type: 'object',
  required: ['apiGroup', 'kind', 'name'],
  description: 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.',
  properties: {
    apiGroup: str('APIGroup is the group for the resource being referenced'),
    kind: str('Kind is the type of resource being referenced'),
    name: str('Name is the name of resource being referenced'),
  },
};
const createdAt = {
  name: 'Created At',
  type: 'string',
  jsonPath: '.metadata.creationTimestamp',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
} as const;
const bindingColumns: Builtin['columns'] = [
  { name: 'Role', type: 'string', jsonPath: '.roleRef.name', description: 'The role the binding grants.' },
  {
    name: 'Age',
    type: 'date',
    jsonPath: '.metadata.creationTimestamp',
    description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  },
];

const rbac = 'rbac.authorization.k8s.io';

export const rbacBuiltins: Builtin[] = [
  {
    group: rbac,
    version: 'v1',
    kind: 'Role',
    plural: 'roles',
    singular: 'role',
    namespaced: true,
    columns: [createdAt],
    schema: envelope('Role', 'Role is a namespaced, logical grouping of PolicyRules.', { rules }),
  },
  {
    group: rbac,
    version: 'v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    singular: 'clusterrole',
    namespaced: false,
    columns: [createdAt],
    schema: envelope('ClusterRole', 'ClusterRole is a cluster level, logical grouping of PolicyRules.', {
      rules,
      aggregationRule: {
        type: 'object',
        description: 'AggregationRule is an optional field that describes how to build the Rules for this ClusterRole.',
        properties: {
          clusterRoleSelectors: {
            type: 'array',
            'x-kubernetes-list-type': 'atomic',
            description: 'ClusterRoleSelectors holds a list of selectors which will be used to find ClusterRoles.',
            items: opaque('A label selector.'),
          },
        },
      },
    }),
  },
  {
    group: rbac,
    version: 'v1',
    kind: 'RoleBinding',
    plural: 'rolebindings',
    singular: 'rolebinding',
    namespaced: true,
    columns: bindingColumns,
    schema: envelope('RoleBinding', 'RoleBinding references a role, but does not contain it.', { subjects, roleRef }),
  },
  {
    group: rbac,
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    singular: 'clusterrolebinding',
    namespaced: false,
    columns: bindingColumns,
    schema: envelope('ClusterRoleBinding', 'ClusterRoleBinding references a ClusterRole, but not contain it.', {
      subjects,
      roleRef,
    }),
  },
  ...(
    [
      ['authorization.k8s.io', 'SelfSubjectAccessReview', false],
      ['authorization.k8s.io', 'SubjectAccessReview', false],
      ['authorization.k8s.io', 'LocalSubjectAccessReview', true],
      ['authorization.k8s.io', 'SelfSubjectRulesReview', false],
      ['authentication.k8s.io', 'SelfSubjectReview', false],
      ['authentication.k8s.io', 'TokenReview', false],
      ['certificates.k8s.io', 'CertificateSigningRequest', false],
    ] as const
  ).map(
    ([group, kind, namespaced]): Builtin => ({
      group,
      version: 'v1',
      kind,
      plural: `${kind.toLowerCase()}s`,
      singular: kind.toLowerCase(),
      namespaced,
      schema: envelope(kind, `${kind} is created to ask the server a question; it is never stored.`, {
        spec: opaque('The question.'),
        status: opaque('The answer, filled in by the server.'),
      }),
    }),
  ),
];
