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

const percent = /^[0-9]+%$/;

/** maxSurge and maxUnavailable as Kubernetes validates a Deployment's (ValidateRollingUpdateDeployment). */
function rollingUpdateErrors(spec: Record<string, unknown>): FieldError[] {
  const strategy = isPlainObject(spec['strategy']) ? spec['strategy'] : {};
  const ru = isPlainObject(strategy['rollingUpdate']) ? strategy['rollingUpdate'] : undefined;
  if (ru === undefined) return [];
  const problems: FieldError[] = [];
  const zero: Record<string, boolean> = {};
  for (const key of ['maxSurge', 'maxUnavailable']) {
    const v = ru[key];
    const path = `spec.strategy.rollingUpdate.${key}`;
    if (v === undefined) continue;
    if (typeof v === 'number') {
      if (v < 0) problems.push(invalid(path, v, 'must be greater than or equal to 0'));
      zero[key] = v === 0;
    } else if (typeof v === 'string') {
      if (!percent.test(v)) {
        problems.push(
          invalid(
            path,
            v,
            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
          ),
        );
      } else {
        zero[key] = Number.parseInt(v, 10) === 0;
        if (key === 'maxUnavailable' && Number.parseInt(v, 10) > 100)
          problems.push(invalid(path, v, 'must not be greater than 100%'));
      }
    }
  }
  // Defaults: maxSurge 1, maxUnavailable 0 (crds/service.yaml); both 0 could never make progress.
  if ((zero['maxSurge'] ?? false) && (zero['maxUnavailable'] ?? true))
    problems.push(
      invalid(
        'spec.strategy.rollingUpdate.maxUnavailable',
        ru['maxUnavailable'] ?? 0,
        'may not be 0 when `maxSurge` is 0',
      ),
    );
  return problems;
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
    const problems: FieldError[] = rollingUpdateErrors(spec);
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
