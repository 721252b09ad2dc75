// Names a kind the way the API addresses it: group, version, plural, scope; and builds its REST paths.

/** A kind as a caller names it: by apiVersion and kind (resolved through discovery), or by its REST coordinates. */
export type KindRef =
  | { readonly apiVersion: string; readonly kind: string }
  | {
      readonly group: string;
      readonly version: string;
      readonly plural: string;
      readonly namespaced: boolean;
      readonly kind?: string;
    };

/** A kind resolved to what its REST paths need. */
export interface Resource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** Empty when the kind was named by plural and discovery was not asked. */
  readonly kind: string;
  readonly namespaced: boolean;
}

export function apiVersionOf(r: { readonly group: string; readonly version: string }): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** The collection (no name) or object path; a cluster-wide list of a namespaced kind omits `namespace`. */
export function resourcePath(r: Resource, namespace?: string, name?: string, subresource?: string): string {
  let p = groupVersionPath(r.group, r.version);
  if (r.namespaced && namespace !== undefined && namespace !== '') p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}

/** A stable string naming a kind, for maps keyed by kind. */
export function resourceId(r: Resource): string {
  return `${r.plural}.${r.version}.${r.group}`;
}
