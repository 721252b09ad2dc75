// The live table of served resources: built-ins plus every stored CRD, looked up by group/version/plural and
// enumerated for discovery and OpenAPI. It changes as CRDs are created and deleted.

import { crdToResources, type CustomResourceDefinition } from './crd.js';
import { builtinDefinitions } from './builtin-kinds.js';
import { groupVersion, type Resource } from './resource.js';
import type { Strategy } from './strategy.js';

export interface GroupInfo {
  readonly name: string;
  /** Served versions, preferred first. */
  readonly versions: string[];
}

/** Kubernetes' version priority: GA > beta > alpha, higher numbers first; others sort last alphabetically. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (m === null) return { rank: 0, major: 0, minor: 0 };
    return { rank: m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1, major: Number(m[1]), minor: Number(m[3] ?? 0) };
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa.rank !== pb.rank) return pb.rank - pa.rank;
  if (pa.rank === 0) return a.localeCompare(b);
  return pb.major - pa.major || pb.minor - pa.minor;
}

export class ResourceRegistry {
  /** gv -> plural -> resource */
  #byGroupVersion = new Map<string, Map<string, Resource>>();
  #crds = new Map<string, CustomResourceDefinition>();
  #generation = 0;
  #listeners = new Set<() => void>();

  constructor(private readonly strategyFor: (kind: string, group: string) => Strategy | undefined) {
    for (const def of builtinDefinitions()) this.#add(def, true);
  }

  /** Bumps whenever the set of resources changes; discovery and OpenAPI documents key their caches on it. */
  get generation(): number {
    return this.#generation;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether group/plural is one of the kinds the server serves itself (no CRD may take its place). */
  isBuiltin(group: string, plural: string): boolean {
    return this.all().some((r) => r.builtin && r.group === group && r.plural === plural);
  }

  get(group: string, version: string, plural: string): Resource | undefined {
    return this.#byGroupVersion.get(groupVersion({ group, version }))?.get(plural);
  }

  /** Any served version of a group/resource, preferring the storage version. */
  anyVersion(group: string, plural: string): Resource | undefined {
    const candidates = this.all().filter((r) => r.group === group && r.plural === plural);
    return candidates.find((r) => r.version === r.storageVersion) ?? candidates[0];
  }

  byKind(group: string, kind: string): Resource | undefined {
    const candidates = this.all().filter((r) => r.group === group && r.kind === kind);
    return candidates.find((r) => r.version === r.storageVersion) ?? candidates[0];
  }

  all(): Resource[] {
    return [...this.#byGroupVersion.values()].flatMap((m) => [...m.values()]);
  }

  resourcesOf(group: string, version: string): Resource[] {
    return [...(this.#byGroupVersion.get(groupVersion({ group, version }))?.values() ?? [])];
  }

  groups(): GroupInfo[] {
    const versions = new Map<string, Set<string>>();
    for (const r of this.all()) {
      if (r.group === '') continue;
      let set = versions.get(r.group);
      if (set === undefined) versions.set(r.group, (set = new Set()));
      set.add(r.version);
    }
    return [...versions.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, vs]) => ({ name, versions: [...vs].sort(compareVersions) }));
  }

  /** Serves a stored CRD (replacing its previous definition). */
  upsertCrd(crd: CustomResourceDefinition): void {
    if (this.isBuiltin(crd.spec.group, crd.spec.names.plural)) return;
    const name = crd.metadata.name ?? '';
    this.#remove(name);
    this.#add(crd, false);
    this.#crds.set(name, crd);
    this.#changed();
  }

  /** Names of the CRDs currently served. */
  crdNames(): string[] {
    return [...this.#crds.keys()];
  }

  removeCrd(name: string): void {
    if (this.#remove(name)) this.#changed();
  }

  #add(crd: CustomResourceDefinition, builtin: boolean): void {
    for (const r of crdToResources(crd, this.strategyFor, builtin)) {
      const gv = groupVersion(r);
      let m = this.#byGroupVersion.get(gv);
      if (m === undefined) this.#byGroupVersion.set(gv, (m = new Map()));
      m.set(r.plural, r);
    }
  }

  #remove(name: string): boolean {
    const old = this.#crds.get(name);
    if (old === undefined) return false;
    this.#crds.delete(name);
    for (const v of old.spec.versions) {
      const gv = groupVersion({ group: old.spec.group, version: v.name });
      const m = this.#byGroupVersion.get(gv);
      m?.delete(old.spec.names.plural);
      if (m?.size === 0) this.#byGroupVersion.delete(gv);
    }
    return true;
  }

  #changed(): void {
    this.#generation++;
    for (const l of this.#listeners) l();
  }
}
