// The built-in kinds that need behaviour beyond their schema; every other kind uses the default strategy.

import { forbidden, invalid, tooLong, type FieldError } from '@berth/api';
import { isPlainObject, nowTimestamp, type KubeObject } from '../objects/object.js';
import { establishedStatus, validateCrd, type CustomResourceDefinition } from './crd.js';
import { applyReset } from './status-strategy.js';
import type { Strategy } from './strategy.js';
import { builtinDefinitions } from './builtin-kinds.js';

/** The finalizer Kubernetes puts on every namespace: its contents must be deleted first. */
export const namespaceFinalizer = 'kubernetes';
/** The finalizer that holds a CRD until all its custom resources are deleted. */
export const crdCleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

// Kubernetes' NamespaceLifecycle admission refuses to delete default, kube-system and kube-public; berth also keeps
// kube-node-lease (node heartbeats) and berth-system, which it creates only at bootstrap and would not bring back.
const namespaceStrategy: Strategy = {
  prepareForCreate(obj) {
    // The namespace controller's token is always there; finalizers the creator names are kept beside it.
    obj['spec'] = { finalizers: [...new Set([...(specFinalizers(obj) ?? []), namespaceFinalizer])] };
    obj['status'] = { phase: 'Active' };
  },
  prepareForUpdate(next, prev) {
    // spec.finalizers is changed only through the finalize step of namespace deletion.
    next['spec'] = prev['spec'];
  },
  pendingFinalizers: (obj) => [...(obj.metadata.finalizers ?? []), ...(specFinalizers(obj) ?? [])],
  onTerminating(obj) {
    obj['status'] = { ...(isPlainObject(obj['status']) ? obj['status'] : {}), phase: 'Terminating' };
  },
  returnsDeletedObject: true,
  undeletable: new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'berth-system']),
  deleteCollection: false,
  finalize: {
    // PUT …/finalize changes spec.finalizers and nothing else (the namespace controller's last step).
    prepareForUpdate(next, prev) {
      const finalizers = specFinalizers(next) ?? [];
      const resourceVersion = next.metadata.resourceVersion;
      applyReset({ allBut: [] }, next, prev);
      next['spec'] = { ...(isPlainObject(prev['spec']) ? prev['spec'] : {}), finalizers };
      // The caller's resourceVersion stays: it is the precondition of the write.
      if (resourceVersion === undefined) delete next.metadata.resourceVersion;
      else next.metadata.resourceVersion = resourceVersion;
    },
    getResetFields: () => ({ allBut: ['spec'] }),
  },
};

const specFinalizers = (obj: KubeObject): string[] | undefined => {
  const spec = obj['spec'];
  return isPlainObject(spec) && Array.isArray(spec['finalizers']) ? (spec['finalizers'] as string[]) : undefined;
};

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const secretKey = /^[-._a-zA-Z0-9]+$/;
const configKeyMessage =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

const secretStrategy: Strategy = {
  canonicalize(obj) {
    const stringData = obj['stringData'];
    if (isPlainObject(stringData)) {
      const data = isPlainObject(obj['data']) ? obj['data'] : {};
      for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      obj['data'] = data;
    }
    delete obj['stringData'];
    if (obj['type'] === undefined) obj['type'] = 'Opaque';
  },
  validate(obj) {
    const problems: FieldError[] = [];
    const data = obj['data'];
    if (isPlainObject(data)) {
      let size = 0;
      for (const [k, v] of Object.entries(data)) {
        if (!secretKey.test(k)) {
          problems.push(invalid(`data[${k}]`, k, configKeyMessage));
        }
        if (typeof v === 'string' && !base64.test(v)) {
          problems.push(invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
        }
        size += typeof v === 'string' ? v.length : 0;
      }
      if (size > (1024 * 1024 * 4) / 3) problems.push(tooLong('data', 1024 * 1024));
    }
    return problems;
  },
  validateUpdate: immutableData,
};

const configMapStrategy: Strategy = {
  validate(obj) {
    const problems: FieldError[] = [];
    for (const field of ['data', 'binaryData']) {
      const data = obj[field];
      if (!isPlainObject(data)) continue;
      for (const k of Object.keys(data)) {
        if (!secretKey.test(k)) {
          problems.push(invalid(`${field}[${k}]`, k, configKeyMessage));
        }
      }
    }
    return problems;
  },
  validateUpdate: immutableData,
};

/** ConfigMaps and Secrets marked `immutable: true` refuse changes to their data. */
function immutableData(next: KubeObject, prev: KubeObject): FieldError[] {
  if (prev['immutable'] !== true) return [];
  const same = JSON.stringify([next['data'], next['binaryData'], next['immutable']]) === JSON.stringify([prev['data'], prev['binaryData'], prev['immutable']]);
  return same ? [] : [forbidden('data', 'field is immutable when `immutable` is set')];
}

const crdStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), crdCleanupFinalizer])];
    obj['status'] = establishedStatus(obj as unknown as CustomResourceDefinition, nowTimestamp());
  },
  prepareForUpdate(next, prev) {
    const names = JSON.stringify((next as unknown as CustomResourceDefinition).spec?.names);
    if (names !== JSON.stringify((prev as unknown as CustomResourceDefinition).spec?.names)) {
      next['status'] = establishedStatus(next as unknown as CustomResourceDefinition, nowTimestamp());
    }
  },
  validate: (obj) => validateCrd(obj, builtinCrdNames),
  validateUpdate(next, prev) {
    const a = next as unknown as CustomResourceDefinition;
    const b = prev as unknown as CustomResourceDefinition;
    const problems: FieldError[] = [];
    if (a.spec?.group !== b.spec?.group) problems.push(invalid('spec.group', a.spec?.group, 'field is immutable'));
    if (a.spec?.scope !== b.spec?.scope) problems.push(invalid('spec.scope', a.spec?.scope, 'field is immutable'));
    return problems;
  },
};

const eventStrategy: Strategy = {
  prepareForCreate(obj) {
    if (obj['firstTimestamp'] === undefined && obj['eventTime'] === undefined) obj['firstTimestamp'] = nowTimestamp();
    if (obj['lastTimestamp'] === undefined && obj['eventTime'] === undefined) obj['lastTimestamp'] = obj['firstTimestamp'];
    if (obj['count'] === undefined) obj['count'] = 1;
  },
  fieldsOf(obj) {
    const src = obj['source'];
    return { source: isPlainObject(src) && typeof src['component'] === 'string' ? src['component'] : '' };
  },
};

/** As Kubernetes' node strategy: a Node may be created with its status (kubelet registers in one call). */
const nodeStrategy: Strategy = { statusOnCreate: true };

/** The built-in resources as CRD names (`configmaps`, `leases.coordination.k8s.io`): no CRD may claim them. */
const builtinCrdNames = new Set(builtinDefinitions().map((d) => d.metadata.name ?? ''));

const strategies = new Map<string, Strategy>([
  ['/Namespace', namespaceStrategy],
  ['/Secret', secretStrategy],
  ['/ConfigMap', configMapStrategy],
  ['/Event', eventStrategy],
  ['/Node', nodeStrategy],
  ['apiextensions.k8s.io/CustomResourceDefinition', crdStrategy],
]);

export const strategyFor = (kind: string, group: string): Strategy | undefined => strategies.get(`${group}/${kind}`);
