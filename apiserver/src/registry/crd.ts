// CustomResourceDefinitions: their shape, their validation, and how one becomes the served resources of its
// versions.

import { invalid, isDNS1035Label, isDNS1123Label, required, type CustomResourceDefinition, type FieldError } from '@berth/api';
import type { KubeObject } from '../objects/object.js';
import type { JSONSchemaProps } from '../schema/json-schema.js';
import { checkSchemaPatterns } from '../schema/schema-checks.js';
import type { PrinterColumn, Resource } from './resource.js';
import { defaultStrategy, type Strategy } from './strategy.js';

export type { CustomResourceDefinition } from '@berth/api';

const openSchema: JSONSchemaProps = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

/** Columns every custom resource gets when its CRD names none (Kubernetes shows NAME and AGE). */
const defaultColumns: PrinterColumn[] = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];

/** The served resources of a CRD, one per served version, in the CRD's version order. */
export function crdToResources(crd: CustomResourceDefinition, strategyFor: (kind: string, group: string) => Strategy | undefined, builtin: boolean): Resource[] {
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

/** The checks Kubernetes makes on a CRD before serving it (the ones that would break serving). */
export function validateCrd(obj: KubeObject, reservedNames: ReadonlySet<string>): FieldError[] {
  const crd = obj as unknown as CustomResourceDefinition;
  const problems: FieldError[] = [];
  const spec = crd.spec;
  if (spec === undefined) return problems;
  const expectedName = `${spec.names?.plural}.${spec.group}`;
  if (crd.metadata.name !== expectedName) problems.push(invalid('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  if (reservedNames.has(expectedName) || spec.group === 'apiextensions.k8s.io' || spec.group === 'coordination.k8s.io') {
    problems.push(invalid('spec.group', spec.group, `${expectedName} is served by the API server itself and cannot be redefined`));
  }
  if (!spec.group?.includes('.')) problems.push(invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  for (const [field, value] of [['plural', spec.names?.plural], ['singular', spec.names?.singular]] as const) {
    if (value !== undefined) for (const why of isDNS1123Label(value)) problems.push(invalid(`spec.names.${field}`, value, why));
  }
  if (spec.names?.kind !== undefined && !/^[A-Za-z][A-Za-z0-9]*$/.test(spec.names.kind)) problems.push(invalid('spec.names.kind', spec.names.kind, 'must be a valid kind name'));
  const versions = spec.versions ?? [];
  if (versions.length === 0) problems.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage).length !== 1) {
    problems.push(invalid('spec.versions', versions.map((v) => v.name), 'must have exactly one version marked as storage version'));
  }
  versions.forEach((v, i) => {
    for (const why of isDNS1035Label(v.name ?? '')) problems.push(invalid(`spec.versions[${i}].name`, v.name, why));
    if (v.schema?.openAPIV3Schema === undefined) problems.push(required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    else problems.push(...checkSchemaPatterns(v.schema.openAPIV3Schema, `spec.versions[${i}].schema.openAPIV3Schema`));
  });
  return problems;
}

/** A CRD's status as a real server reports it once the CRD is served. */
export function establishedStatus(crd: CustomResourceDefinition, now: string): Record<string, unknown> {
  const condition = (type: string, reason: string, message: string) => ({ type, status: 'True', lastTransitionTime: now, reason, message });
  return {
    acceptedNames: { ...crd.spec.names, listKind: crd.spec.names.listKind ?? `${crd.spec.names.kind}List`, singular: crd.spec.names.singular ?? crd.spec.names.kind.toLowerCase() },
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
    storedVersions: crd.spec.versions.filter((v) => v.storage).map((v) => v.name),
  };
}

export const crdStrategyBase: Strategy = defaultStrategy;
