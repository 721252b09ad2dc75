// RBAC's kinds: a rule names verbs and what they apply to; a binding's roleRef names a role of an allowed kind and
// never changes (Kubernetes' rbac validation), so what a binding grants is only ever changed by a new binding.

import { invalid, notSupported, required, type FieldError } from '@berth/api';
import { isPlainObject, type KubeObject } from '../../objects/object.js';
import type { Strategy } from '../strategy.js';

export const rbacGroup = 'rbac.authorization.k8s.io';

function validateRules(obj: KubeObject): FieldError[] {
  const rules = obj['rules'];
  if (!Array.isArray(rules)) return [];
  const errors: FieldError[] = [];
  rules.forEach((rule: unknown, i) => {
    if (!isPlainObject(rule)) return;
    const list = (k: string) => (Array.isArray(rule[k]) ? (rule[k] as unknown[]) : []);
    const at = `rules[${i}]`;
    if (list('verbs').length === 0) errors.push(required(`${at}.verbs`, 'verbs must contain at least one value'));
    const urls = list('nonResourceURLs');
    if (urls.length > 0) {
      if (obj.metadata.namespace !== undefined)
        errors.push(invalid(`${at}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'));
      if (list('apiGroups').length > 0 || list('resources').length > 0)
        errors.push(
          invalid(`${at}.nonResourceURLs`, urls, 'rules cannot apply to both regular resources and non-resource URLs'),
        );
    } else {
      if (list('apiGroups').length === 0)
        errors.push(required(`${at}.apiGroups`, 'resource rules must supply at least one api group'));
      if (list('resources').length === 0)
        errors.push(required(`${at}.resources`, 'resource rules must supply at least one resource'));
    }
  });
  return errors;
}

const roleRefOf = (obj: KubeObject): Record<string, unknown> => {
  const ref = obj['roleRef'];
  return isPlainObject(ref) ? ref : {};
};

function validateBinding(obj: KubeObject, kinds: readonly string[]): FieldError[] {
  const ref = roleRefOf(obj);
  const errors: FieldError[] = [];
  if (ref['apiGroup'] !== rbacGroup) errors.push(notSupported('roleRef.apiGroup', ref['apiGroup'], [rbacGroup]));
  if (!kinds.includes(String(ref['kind']))) errors.push(notSupported('roleRef.kind', ref['kind'], kinds));
  if (typeof ref['name'] !== 'string' || ref['name'] === '') errors.push(required('roleRef.name'));
  const subjects = obj['subjects'];
  if (Array.isArray(subjects)) {
    subjects.forEach((s: unknown, i) => {
      if (!isPlainObject(s)) return;
      const kind = String(s['kind']);
      if (!['User', 'Group', 'ServiceAccount'].includes(kind))
        errors.push(notSupported(`subjects[${i}].kind`, s['kind'], ['ServiceAccount', 'User', 'Group']));
      if (kind === 'ServiceAccount' && obj.metadata.namespace === undefined && !s['namespace'])
        errors.push(required(`subjects[${i}].namespace`));
    });
  }
  return errors;
}

const immutableRoleRef = (next: KubeObject, prev: KubeObject): FieldError[] =>
  JSON.stringify(roleRefOf(next)) === JSON.stringify(roleRefOf(prev))
    ? []
    : [invalid('roleRef', roleRefOf(next), 'cannot change roleRef')];

/** RBAC names only need to be path segments (`system:node` is one): Kubernetes' ValidateRBACName. */
function validatePathSegmentName(name: string): string[] {
  const problems: string[] = [];
  if (name === '.' || name === '..') problems.push(`may not be '${name}'`);
  for (const c of ['/', '%']) if (name.includes(c)) problems.push(`may not contain '${c}'`);
  return problems;
}

export const roleStrategy: Strategy = { validate: validateRules, validateName: validatePathSegmentName };

export const roleBindingStrategy: Strategy = {
  validateName: validatePathSegmentName,
  validate: (obj) => validateBinding(obj, ['Role', 'ClusterRole']),
  validateUpdate: immutableRoleRef,
};

export const clusterRoleBindingStrategy: Strategy = {
  validateName: validatePathSegmentName,
  validate: (obj) => validateBinding(obj, ['ClusterRole']),
  validateUpdate: immutableRoleRef,
};
