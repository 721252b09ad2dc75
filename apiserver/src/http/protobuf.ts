// Decodes the few Kubernetes protobuf bodies kubectl sends for built-in kinds (`kubectl create namespace`,
// `create configmap`, `create secret`, `create role`/`rolebinding`, `auth can-i`, `auth whoami`, `create token`): the
// `k8s\0` envelope and the fields of those kinds (field numbers from k8s.io/api's generated.proto). Anything else
// is refused as an unsupported media type.

import { ApiError } from '../errors/api-error.js';

type Fields = Map<number, (Buffer | number)[]>;

/** Reads one protobuf message into field number → values (length-delimited as Buffers, varints as numbers). */
function readMessage(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw malformed();
      const b = buf[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw malformed();
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    let value: Buffer | number;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw malformed();
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 1) {
      pos += 8;
      continue;
    } else if (wire === 5) {
      pos += 4;
      continue;
    } else throw malformed();
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

const malformed = () => new ApiError('BadRequest', 'error decoding protobuf body: malformed message');

const str = (f: Fields, n: number): string | undefined => {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
};
const bool = (f: Fields, n: number): boolean | undefined => {
  const v = f.get(n)?.[0];
  return typeof v === 'number' ? v !== 0 : undefined;
};

function map(f: Fields, n: number, bytes: boolean): Record<string, string> | undefined {
  const entries = f.get(n);
  if (entries === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    if (!Buffer.isBuffer(e)) continue;
    const kv = readMessage(e);
    const k = str(kv, 1) ?? '';
    const v = kv.get(2)?.[0];
    out[k] = Buffer.isBuffer(v) ? (bytes ? v.toString('base64') : v.toString('utf8')) : '';
  }
  return out;
}

function objectMeta(buf: Buffer | number | undefined): Record<string, unknown> {
  if (!Buffer.isBuffer(buf)) return {};
  const f = readMessage(buf);
  const meta: Record<string, unknown> = {};
  for (const [n, key] of [
    [1, 'name'],
    [2, 'generateName'],
    [3, 'namespace'],
    [6, 'resourceVersion'],
  ] as const) {
    const v = str(f, n);
    if (v !== undefined && v !== '') meta[key] = v;
  }
  const labels = map(f, 11, false);
  if (labels !== undefined) meta['labels'] = labels;
  const annotations = map(f, 12, false);
  if (annotations !== undefined) meta['annotations'] = annotations;
  const finalizers = f
    .get(14)
    ?.filter(Buffer.isBuffer)
    .map((b) => b.toString('utf8'));
  if (finalizers !== undefined) meta['finalizers'] = finalizers;
  return meta;
}

/** Decodes a `k8s\0`-framed protobuf body of a Namespace, ConfigMap or Secret into its JSON form. */
export function decodeKubernetesProtobuf(body: Buffer): unknown {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0') throw malformed();
  const unknown = readMessage(body.subarray(4));
  const typeMeta = unknown.get(1)?.[0];
  const raw = unknown.get(2)?.[0];
  if (!Buffer.isBuffer(typeMeta) || !Buffer.isBuffer(raw)) throw malformed();
  const tm = readMessage(typeMeta);
  const apiVersion = str(tm, 1) ?? '';
  const kind = str(tm, 2) ?? '';
  const obj = readMessage(raw);
  const base = { apiVersion, kind, metadata: objectMeta(obj.get(1)?.[0]) };
  switch (`${apiVersion}/${kind}`) {
    case 'v1/Namespace':
      return base;
    case 'v1/ConfigMap':
      return {
        ...base,
        ...opt('data', map(obj, 2, false)),
        ...opt('binaryData', map(obj, 3, true)),
        ...opt('immutable', bool(obj, 4)),
      };
    case 'v1/Secret':
      return {
        ...base,
        ...opt('data', map(obj, 2, true)),
        ...opt('type', str(obj, 3)),
        ...opt('stringData', map(obj, 4, false)),
        ...opt('immutable', bool(obj, 5)),
      };
    default: {
      const schema = messageKinds.get(`${apiVersion}/${kind}`);
      if (schema !== undefined) return { ...base, ...decodeFields(obj, schema) };
      throw new ApiError(
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf is accepted only for Namespace, ConfigMap, Secret, ServiceAccount and the RBAC, review and token kinds)`,
      );
    }
  }
}

/** A message's fields by number: a name and how to read it (a nested message is its own schema; `[schema]` repeats). */
type FieldKind = 'string' | 'strings' | 'bool' | 'int' | 'stringMap' | MessageSchema | readonly [MessageSchema];
interface MessageSchema {
  readonly [field: number]: readonly [string, FieldKind];
}

function decodeFields(f: Fields, schema: MessageSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [n, [name, kind]] of Object.entries(schema) as [string, readonly [string, FieldKind]][]) {
    const values = f.get(Number(n));
    if (values === undefined || values.length === 0) continue;
    if (kind === 'string') out[name] = str(f, Number(n));
    else if (kind === 'bool') out[name] = bool(f, Number(n));
    else if (kind === 'int') out[name] = typeof values[0] === 'number' ? values[0] : undefined;
    else if (kind === 'strings') out[name] = values.filter(Buffer.isBuffer).map((b) => b.toString('utf8'));
    else if (kind === 'stringMap') out[name] = map(f, Number(n), false);
    else if (Array.isArray(kind))
      out[name] = values.filter(Buffer.isBuffer).map((b) => decodeFields(readMessage(b), kind[0] as MessageSchema));
    else if (Buffer.isBuffer(values[0])) out[name] = decodeFields(readMessage(values[0]), kind as MessageSchema);
  }
  return out;
}

const policyRule: MessageSchema = {
  1: ['verbs', 'strings'],
  2: ['apiGroups', 'strings'],
  3: ['resources', 'strings'],
  4: ['resourceNames', 'strings'],
  5: ['nonResourceURLs', 'strings'],
};
const labelSelector: MessageSchema = {
  1: ['matchLabels', 'stringMap'],
  2: ['matchExpressions', [{ 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'strings'] }]],
};
const binding: MessageSchema = {
  2: [
    'subjects',
    [{ 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] }],
  ],
  3: ['roleRef', { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] }],
};
const resourceAttributes: MessageSchema = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
};
const nonResourceAttributes: MessageSchema = { 1: ['path', 'string'], 2: ['verb', 'string'] };
const subjectAccessReviewSpec: MessageSchema = {
  1: ['resourceAttributes', resourceAttributes],
  2: ['nonResourceAttributes', nonResourceAttributes],
  3: ['user', 'string'],
  4: ['groups', 'strings'],
  6: ['uid', 'string'],
};

const messageKinds = new Map<string, MessageSchema>([
  [
    'v1/ServiceAccount',
    {
      2: [
        'secrets',
        [{ 1: ['kind', 'string'], 2: ['namespace', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] }],
      ],
      3: ['imagePullSecrets', [{ 1: ['name', 'string'] }]],
      4: ['automountServiceAccountToken', 'bool'],
    },
  ],
  ['rbac.authorization.k8s.io/v1/Role', { 2: ['rules', [policyRule]] }],
  [
    'rbac.authorization.k8s.io/v1/ClusterRole',
    { 2: ['rules', [policyRule]], 3: ['aggregationRule', { 1: ['clusterRoleSelectors', [labelSelector]] }] },
  ],
  ['rbac.authorization.k8s.io/v1/RoleBinding', binding],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', binding],
  [
    'authorization.k8s.io/v1/SelfSubjectAccessReview',
    {
      2: [
        'spec',
        { 1: ['resourceAttributes', resourceAttributes], 2: ['nonResourceAttributes', nonResourceAttributes] },
      ],
    },
  ],
  ['authorization.k8s.io/v1/SubjectAccessReview', { 2: ['spec', subjectAccessReviewSpec] }],
  ['authorization.k8s.io/v1/LocalSubjectAccessReview', { 2: ['spec', subjectAccessReviewSpec] }],
  ['authorization.k8s.io/v1/SelfSubjectRulesReview', { 2: ['spec', { 1: ['namespace', 'string'] }] }],
  ['authentication.k8s.io/v1/SelfSubjectReview', {}],
  ['authentication.k8s.io/v1/TokenReview', { 2: ['spec', { 1: ['token', 'string'], 2: ['audiences', 'strings'] }] }],
  [
    'authentication.k8s.io/v1/TokenRequest',
    {
      2: [
        'spec',
        {
          1: ['audiences', 'strings'],
          4: ['expirationSeconds', 'int'],
          3: [
            'boundObjectRef',
            { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] },
          ],
        },
      ],
    },
  ],
]);

const opt = <T>(key: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [key]: v });
