// CustomResourceDefinitions: their shape, their validation, and how one becomes the served resources of its
// versions.

import {
  invalid,
  isDNS1035Label,
  isDNS1123Label,
  required,
  type CustomResourceDefinition,
  type FieldError,
} from '@berth/api';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import type { JSONSchemaProps } from '../schema/json-schema.js';
import {
  checkSchemaDefaults,
  checkSchemaPatterns,
  checkSchemaRules,
  checkSchemaShape,
  checkStructural,
} from '../schema/schema-checks.js';
import type { PrinterColumn, Resource } from './resource.js';
import { defaultStrategy, type Strategy } from './strategy.js';

export type { CustomResourceDefinition } from '@berth/api';

const openSchema: JSONSchemaProps = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

/** Columns every custom resource gets when its CRD names none (Kubernetes shows NAME and AGE). */
const defaultColumns: PrinterColumn[] = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];

/** The served resources of a CRD, one per served version, in the CRD's version order. */
export function crdToResources(
  crd: CustomResourceDefinition,
  strategyFor: (kind: string, group: string) => Strategy | undefined,
  builtin: boolean,
): Resource[] {
  const { group, names, scope } = crd.spec;
  const storage = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name ?? '';
  return crd.spec.versions
    .filter((v) => v.served)
    .map((v) => ({
      group,
      version: v.name,
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced: scope === 'Namespaced',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      schema: v.schema?.openAPIV3Schema ?? openSchema,
      subresources: {
        status: v.subresources?.status !== undefined,
        ...(v.subresources?.scale === undefined ? {} : { scale: v.subresources.scale }),
      },
      printerColumns: v.additionalPrinterColumns ?? (builtin ? [] : defaultColumns),
      selectableFields: (v.selectableFields ?? []).map((f) => f.jsonPath.replace(/^\./, '')),
      builtin,
      storageVersion: storage,
      strategy: strategyFor(names.kind, group) ?? defaultStrategy,
    }));
}

/**
 * The checks Kubernetes makes on a CRD before serving it (the ones that would break serving). The schema has
 * checked types by now only if it ran first, so every read here tolerates any shape.
 */
export function validateCrd(obj: KubeObject, reservedNames: ReadonlySet<string>): FieldError[] {
  const problems: FieldError[] = [];
  const spec = obj['spec'];
  // A mistyped part is reported by the CRD schema's own type check; it is skipped here.
  if (!isPlainObject(spec)) return spec === undefined ? [required('spec')] : [];
  const names = isPlainObject(spec['names']) ? spec['names'] : {};
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const group = text(spec['group']);
  const plural = text(names['plural']);
  const singular = text(names['singular']);
  const kind = text(names['kind']);
  if (group === undefined || group === '') problems.push(required('spec.group'));
  if (plural === undefined || plural === '') problems.push(required('spec.names.plural'));
  if (kind === undefined || kind === '') problems.push(required('spec.names.kind'));
  const expectedName = `${plural ?? ''}.${group ?? ''}`;
  if (obj.metadata.name !== expectedName)
    problems.push(invalid('metadata.name', obj.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  if (reservedNames.has(expectedName) || group === 'apiextensions.k8s.io' || group === 'coordination.k8s.io') {
    problems.push(
      invalid('spec.group', group, `${expectedName} is served by the API server itself and cannot be redefined`),
    );
  }
  if (group !== undefined && group !== '' && !group.includes('.'))
    problems.push(invalid('spec.group', group, 'should be a domain with at least one dot'));
  for (const [field, value] of [
    ['plural', plural],
    ['singular', singular],
  ] as const) {
    if (value !== undefined && value !== '')
      for (const why of isDNS1123Label(value)) problems.push(invalid(`spec.names.${field}`, value, why));
  }
  if (kind !== undefined && kind !== '' && !/^[A-Za-z][A-Za-z0-9]*$/.test(kind))
    problems.push(invalid('spec.names.kind', kind, 'must be a valid kind name'));
  const versions = Array.isArray(spec['versions']) ? (spec['versions'] as unknown[]) : [];
  if (versions.length === 0)
    problems.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => isPlainObject(v) && v['storage'] === true).length !== 1) {
    problems.push(
      invalid(
        'spec.versions',
        versions.map((v) => (isPlainObject(v) ? v['name'] : v)),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  versions.forEach((v, i) => {
    if (!isPlainObject(v)) return;
    const name = text(v['name']) ?? '';
    for (const why of isDNS1035Label(name)) problems.push(invalid(`spec.versions[${i}].name`, v['name'], why));
    const schema = isPlainObject(v['schema']) ? v['schema']['openAPIV3Schema'] : undefined;
    if (schema === undefined)
      problems.push(required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    else {
      const at = `spec.versions[${i}].schema.openAPIV3Schema`;
      const shape = checkSchemaShape(schema, at);
      if (shape.length > 0) problems.push(...shape);
      else {
        const patterns = checkSchemaPatterns(schema, at);
        // Defaults are validated with the schema's patterns, so only once those compile.
        problems.push(
          ...checkStructural(schema, at),
          ...patterns,
          ...(patterns.length === 0 ? checkSchemaDefaults(schema, at) : []),
          ...checkSchemaRules(schema, at),
        );
      }
    }
  });
  return problems;
}

/** A CRD's status as a real server reports it once the CRD is served (for a malformed CRD, which validation refuses next, none). */
export function establishedStatus(crd: CustomResourceDefinition, now: string): Record<string, unknown> {
  const spec: unknown = crd.spec;
  if (!isPlainObject(spec) || !isPlainObject(spec['names']) || !Array.isArray(spec['versions'])) return {};
  const names = crd.spec.names;
  const kind = typeof names.kind === 'string' ? names.kind : '';
  const condition = (type: string, reason: string, message: string) => ({
    type,
    status: 'True',
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    acceptedNames: {
      ...names,
      listKind: names.listKind ?? `${kind}List`,
      singular: names.singular ?? kind.toLowerCase(),
    },
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
    storedVersions: crd.spec.versions.filter((v) => isPlainObject(v) && v.storage).map((v) => v.name),
  };
}

export const crdStrategyBase: Strategy = defaultStrategy;
