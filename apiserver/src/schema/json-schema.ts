// Kind schemas are Kubernetes' JSONSchemaProps (OpenAPI v3 as CRDs write it), typed in @berth/api; field paths
// are rendered here the way Kubernetes renders them in errors.

export type { JSONSchemaProps } from '@berth/api';

/** Renders a field path the Kubernetes way: `spec.ports[0].name`, `metadata.labels[app]`. */
export function fieldPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}
