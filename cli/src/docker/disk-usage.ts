// docker system df's figures from what the nodes' agents measured (metrics.berth.dev NodeDiskUsage) and the
// namespace's objects: images are the nodes' (a daemon's images are not namespaced either), Containers and
// Volumes the namespace's, sized by uid and by name. Pure: the command fetches, this adds up.

import type { Container, Image, Volume } from '@berth/api';

/** One node's report, as the API server relays its agent's /stats/disk. */
export interface NodeDiskUsage {
  readonly metadata: { readonly name: string };
  readonly images?: readonly {
    readonly digest: string;
    readonly config: string;
    readonly names: readonly string[];
    readonly layers: readonly string[];
    readonly created?: string;
  }[];
  readonly layers?: readonly { readonly digest: string; readonly bytes: number }[];
  readonly containers?: readonly { readonly uid: string; readonly bytes: number }[];
  readonly volumes?: readonly { readonly namespace: string; readonly name: string; readonly bytes: number }[];
  readonly buildCache?: readonly { readonly layer: string; readonly bytes: number }[];
}

export interface ImageUsage {
  readonly node: string;
  readonly digest: string;
  readonly id: string;
  /** Its names: the node's own, the Image objects' and the Containers' that resolved to it. */
  readonly references: readonly string[];
  readonly created?: string;
  readonly size: number;
  /** Bytes of layers another image on the node also has. */
  readonly shared: number;
  readonly containers: number;
}

export interface DiskUsage {
  readonly images: readonly ImageUsage[];
  readonly imagesSize: number;
  readonly imagesReclaimable: number;
  readonly containers: readonly { readonly container: Container; readonly size: number | undefined }[];
  readonly volumes: readonly { readonly volume: Volume; readonly size: number | undefined; readonly links: number }[];
  /** Each cached step's layer; `shared` when an image on its node has that layer too. */
  readonly buildCache: readonly { readonly layer: string; readonly size: number; readonly shared: boolean }[];
  readonly buildCacheSize: number;
  readonly buildCacheReclaimable: number;
}

const digestOf = (reference: string | undefined): string | undefined =>
  /@(sha256:[0-9a-f]{64})$/.exec(reference ?? '')?.[1];

const sum = (xs: Iterable<number>): number => {
  let n = 0;
  for (const x of xs) n += x;
  return n;
};

export function diskUsage(
  reports: readonly NodeDiskUsage[],
  objects: {
    readonly containers: readonly Container[];
    readonly images: readonly Image[];
    readonly volumes: readonly Volume[];
  },
): DiskUsage {
  // The names the API gives a digest: an Image object's spec.image, a Container's spec.image once it resolved.
  const namesOf = new Map<string, Set<string>>();
  const name = (digest: string | undefined, reference: string) => {
    if (digest === undefined) return;
    const set = namesOf.get(digest) ?? new Set<string>();
    set.add(reference);
    namesOf.set(digest, set);
  };
  for (const i of objects.images) name(i.status?.digest, i.spec.image);
  for (const c of objects.containers) name(digestOf(c.status?.imageID), c.spec.image);
  // Containers by node and image digest: an image is in use on the node its Containers run on.
  const using = new Map<string, number>();
  for (const c of objects.containers) {
    const digest = digestOf(c.status?.imageID);
    if (digest === undefined) continue;
    const key = `${c.spec.nodeName ?? ''}\n${digest}`;
    using.set(key, (using.get(key) ?? 0) + 1);
  }
  const containerBytes = new Map<string, number>();
  const volumeBytes = new Map<string, number>();
  const images: ImageUsage[] = [];
  let imagesSize = 0;
  let imagesReclaimable = 0;
  const buildCache: { layer: string; size: number; shared: boolean }[] = [];
  let buildCacheSize = 0;
  let buildCacheReclaimable = 0;
  for (const r of reports) {
    const node = r.metadata.name;
    for (const c of r.containers ?? []) containerBytes.set(c.uid, c.bytes);
    for (const v of r.volumes ?? []) volumeBytes.set(`${v.namespace}/${v.name}`, v.bytes);
    const layerBytes = new Map((r.layers ?? []).map((l) => [l.digest, l.bytes]));
    const bytes = (layer: string) => layerBytes.get(layer) ?? 0;
    // How many of the node's images have each layer, and how many of those are in use.
    const holders = new Map<string, number>();
    const activeLayers = new Set<string>();
    for (const i of r.images ?? []) {
      for (const l of new Set(i.layers)) holders.set(l, (holders.get(l) ?? 0) + 1);
      if ((using.get(`${node}\n${i.digest}`) ?? 0) > 0) for (const l of i.layers) activeLayers.add(l);
    }
    for (const i of r.images ?? []) {
      const unique = new Set(i.layers);
      images.push({
        node,
        digest: i.digest,
        id: i.config,
        references: [...new Set([...i.names, ...(namesOf.get(i.digest) ?? [])])].sort(),
        ...(i.created === undefined ? {} : { created: i.created }),
        size: sum([...unique].map(bytes)),
        shared: sum([...unique].filter((l) => (holders.get(l) ?? 0) > 1).map(bytes)),
        containers: using.get(`${node}\n${i.digest}`) ?? 0,
      });
    }
    imagesSize += sum([...holders.keys()].map(bytes));
    imagesReclaimable += sum([...holders.keys()].filter((l) => !activeLayers.has(l)).map(bytes));
    // A cached step's layer that no image has is what removing the cache would free.
    const cached = new Map((r.buildCache ?? []).map((e) => [e.layer, e.bytes]));
    for (const e of r.buildCache ?? [])
      buildCache.push({ layer: e.layer, size: e.bytes, shared: holders.has(e.layer) });
    buildCacheSize += sum(cached.values());
    buildCacheReclaimable += sum([...cached].filter(([l]) => !holders.has(l)).map(([, b]) => b));
  }
  const measured = reports.length > 0;
  const links = new Map<string, number>();
  for (const c of objects.containers)
    for (const v of c.spec.volumes ?? [])
      if (v.volumeRef !== undefined) links.set(v.volumeRef.name, (links.get(v.volumeRef.name) ?? 0) + 1);
  return {
    images,
    imagesSize,
    imagesReclaimable,
    containers: objects.containers.map((container) => ({
      container,
      size: containerBytes.get(container.metadata.uid ?? '') ?? (measured ? 0 : undefined),
    })),
    volumes: objects.volumes.map((volume) => ({
      volume,
      size:
        volumeBytes.get(`${volume.metadata.namespace ?? ''}/${volume.metadata.name ?? ''}`) ??
        (measured ? 0 : undefined),
      links: Math.max(links.get(volume.metadata.name ?? '') ?? 0, (volume.status?.usedBy ?? []).length),
    })),
    buildCache,
    buildCacheSize,
    buildCacheReclaimable,
  };
}
