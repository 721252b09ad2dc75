// Decodes the few Kubernetes protobuf bodies kubectl sends for built-in kinds (`kubectl create namespace`,
// `create configmap`, `create secret`): the `k8s\0` envelope and the fields those commands set. Anything else
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
    default:
      throw new ApiError(
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf is accepted only for Namespace, ConfigMap and Secret)`,
      );
  }
}

const opt = <T>(key: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [key]: v });
