// berth Services: the selector must be valid, non-empty and match the template's labels, and may not change, as
// Kubernetes validates a Deployment (apps/validation ValidateDeploymentSpec, ValidateDeploymentUpdate).

import { isDeepStrictEqual } from 'node:util';
import { invalid, labelSelectorFromMeta, matchesLabels, type FieldError, type LabelSelector } from '@berth/api';
import { isPlainObject } from '../../objects/object.js';
import type { Strategy } from '../strategy.js';

function specOf(obj: Record<string, unknown>): Record<string, unknown> {
  return isPlainObject(obj['spec']) ? obj['spec'] : {};
}

function templateLabels(spec: Record<string, unknown>): Record<string, string> {
  const template = isPlainObject(spec['template']) ? spec['template'] : {};
  const metadata = isPlainObject(template['metadata']) ? template['metadata'] : {};
  return isPlainObject(metadata['labels']) ? (metadata['labels'] as Record<string, string>) : {};
}

export const serviceStrategy: Strategy = {
  validate(obj) {
    const spec = specOf(obj);
    const selector = spec['selector'] as LabelSelector | undefined;
    if (!isPlainObject(selector)) return [];
    let parsed: ReturnType<typeof labelSelectorFromMeta>;
    try {
      parsed = labelSelectorFromMeta(selector);
    } catch (err) {
      return [invalid('spec.selector', selector, err instanceof Error ? err.message : String(err))];
    }
    // An empty selector would claim every Container of the namespace.
    if (parsed === null || parsed.length === 0)
      return [invalid('spec.selector', selector, 'empty selector is invalid for service')];
    const labels = templateLabels(spec);
    const problems: FieldError[] = [];
    if (!matchesLabels(parsed, labels))
      problems.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    return problems;
  },
  validateUpdate(next, prev) {
    const a = specOf(next)['selector'];
    const b = specOf(prev)['selector'];
    return isDeepStrictEqual(a, b) ? [] : [invalid('spec.selector', a, 'field is immutable')];
  },
};
