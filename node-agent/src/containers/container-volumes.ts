// Maps a Container's volumes and volumeMounts onto the runtime's bind mounts, resolving each source on this node.
//
// A Volume is looked up (missing, being deleted, or bound to another node is a CreateContainerConfigError naming
// it, which the queue retries); its directory is made on first use. An emptyDir is made for this container. A
// subPath is resolved inside its volume and refused if it leaves it. A ConfigMap or Secret becomes files, one per
// key, always read-only, refreshed by `refreshProjected` while the container runs (as the kubelet's periodic sync).
// hostPath volumes only under the directories the node's admin allows (none by default). An empty Volume mounted
// (whole, not a subPath) over a directory the image has content at gets that content first, as Docker fills a new
// named volume; a mount path with a symlink in the image is not copied from (it could point anywhere on the host).
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { toBytes, type Container, type ContainerVolume, type Volume } from '@berth/api';
import type { ContainerMount } from '../runtime/runtime.js';
import { VolumeError } from '../volumes/errors.js';
import { hostPathSource } from '../volumes/host-path.js';
import { volumeNode } from '../volumes/volume-refs.js';
import type { Volumes } from '../volumes/volumes.js';
import { AgentError } from './errors.js';

/** Reads objects of the Container's namespace (undefined when one does not exist). */
export interface VolumeSources {
  volume(name: string): Promise<Volume | undefined>;
  configMap(name: string): Promise<Record<string, string> | undefined>;
  /** A Secret's data as bytes: a key may hold binary. */
  secret(name: string): Promise<Record<string, Uint8Array> | undefined>;
  /**
   * Takes a Volume that names no node for this one (status.nodeName), conditional on the copy given; false when
   * another node took it first.
   */
  claim(v: Volume): Promise<boolean>;
}

const configError = (message: string, cause?: unknown) =>
  new AgentError('CreateContainerConfigError', message, cause === undefined ? {} : { cause });

interface Source {
  readonly dir: string;
  readonly readOnly: boolean;
  /** The Volume's namespace and name, for a volumeRef. */
  readonly volume?: { readonly namespace: string; readonly name: string };
}

/** What resolving a Container's mounts needs of the node. */
export interface MountContext {
  readonly nodeName: string;
  readonly volumes: Volumes;
  readonly sources: VolumeSources;
  /** Directories hostPath volumes may use; empty (the default) refuses every hostPath. */
  readonly hostPathPrefixes: readonly string[];
  /** The container's root filesystem (the image, before it runs), for a Volume's copy-up. */
  readonly rootfs?: string;
}

/**
 * `mountPath` inside `rootfs` when it is a directory reached without a symlink (the image's content there, never
 * a path a link in the image could send outside it); undefined otherwise.
 */
async function imageDirectory(rootfs: string, mountPath: string): Promise<string | undefined> {
  let current = rootfs;
  for (const component of mountPath.split('/').filter((x) => x !== '' && x !== '.')) {
    if (component === '..') return undefined;
    current = path.join(current, component);
    const st = await lstat(current).catch(() => undefined);
    if (st === undefined || st.isSymbolicLink() || !st.isDirectory()) return undefined;
  }
  return current === rootfs ? undefined : current;
}

/** Writes a ConfigMap or Secret volume's files; undefined when `entry` is neither. */
async function project(
  c: Container,
  entry: ContainerVolume,
  volumes: Volumes,
  sources: VolumeSources,
): Promise<{ dir: string; changed: boolean } | undefined> {
  const ref =
    entry.configMap !== undefined
      ? { ...entry.configMap, kind: 'configmap' }
      : entry.secret !== undefined
        ? { ...entry.secret, kind: 'secret', name: entry.secret.secretName }
        : undefined;
  if (ref === undefined) return undefined;
  const data = ref.kind === 'configmap' ? await sources.configMap(ref.name) : await sources.secret(ref.name);
  if (data === undefined && ref.optional !== true)
    throw configError(`${ref.kind} "${ref.name}" not found (volume ${entry.name})`);
  const mode = ref.defaultMode ?? 0o644;
  const files = Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, { data: v, mode }]));
  // A Secret's files live on a tmpfs so they never reach the node's disk, as the kubelet keeps them.
  return volumes.project(c.metadata.uid ?? '', entry.name, files, { memory: ref.kind === 'secret' });
}

async function sourceOf(
  c: Container,
  name: string,
  { nodeName, volumes, sources, hostPathPrefixes }: MountContext,
): Promise<Source> {
  const lookup = (n: string) => sources.volume(n);
  const namespace = c.metadata.namespace ?? '';
  const entry = (c.spec.volumes ?? []).find((v) => v.name === name);
  if (entry === undefined) throw configError(`volumeMounts: volume "${name}" is not in spec.volumes`);
  if (entry.volumeRef !== undefined) {
    const ref = entry.volumeRef;
    const v = await lookup(ref.name);
    if (v === undefined) throw configError(`volume "${ref.name}" not found (volume ${name})`);
    if (v.metadata.deletionTimestamp !== undefined)
      throw configError(`volume "${ref.name}" is being deleted (volume ${name})`);
    const node = volumeNode(v);
    if (node !== undefined && node !== nodeName)
      throw configError(`volume "${ref.name}" is bound to node "${node}", not this node "${nodeName}"`);
    // Claimed before its directory is made, so two nodes never both hold data for one Volume.
    if (node === undefined && !(await sources.claim(v)))
      throw configError(`volume "${ref.name}" was taken by another node`);
    let capacityBytes: number | undefined;
    if (v.spec?.capacity !== undefined) {
      try {
        capacityBytes = toBytes(v.spec.capacity);
      } catch (err) {
        throw configError(`volume "${ref.name}": spec.capacity: ${(err as Error).message}`, err);
      }
    }
    return {
      dir: await volumes.ensure(namespace, ref.name, capacityBytes === undefined ? {} : { capacityBytes }),
      readOnly: ref.readOnly === true || v.spec?.accessMode === 'ReadOnlyMany',
      volume: { namespace, name: ref.name },
    };
  }
  if (entry.emptyDir !== undefined) {
    const limit = entry.emptyDir.sizeLimit;
    let sizeBytes: number | undefined;
    if (limit !== undefined) {
      try {
        sizeBytes = toBytes(limit);
      } catch (err) {
        throw configError(`volume ${name}: emptyDir.sizeLimit: ${(err as Error).message}`, err);
      }
    }
    const dir = await volumes.emptyDir(c.metadata.uid ?? '', name, {
      memory: entry.emptyDir.medium === 'Memory',
      ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    });
    return { dir, readOnly: false };
  }
  if (entry.hostPath !== undefined)
    return {
      dir: await hostPathSource(entry.hostPath.path, entry.hostPath.type ?? '', hostPathPrefixes),
      readOnly: false,
    };
  const projected = await project(c, entry, volumes, sources);
  if (projected !== undefined) return { dir: projected.dir, readOnly: true };
  throw configError(`volume ${name} names no source (volumeRef, emptyDir, configMap or secret)`);
}

/** The bind mounts of `c`'s volumeMounts, in their order; every source exists on this node when it returns. */
export async function containerMounts(c: Container, context: MountContext): Promise<ContainerMount[]> {
  const { volumes } = context;
  const resolved = new Map<string, Source>();
  const mounts: ContainerMount[] = [];
  for (const [index, m] of (c.spec.volumeMounts ?? []).entries()) {
    let source = resolved.get(m.name);
    let dir: string;
    try {
      if (source === undefined) {
        source = await sourceOf(c, m.name, context);
        resolved.set(m.name, source);
      }
      const whole = m.subPath === undefined || m.subPath === '';
      dir = whole ? source.dir : await volumes.bindSubPath(c.metadata.uid ?? '', index, source.dir, m.subPath ?? '');
      if (whole && source.volume !== undefined && context.rootfs !== undefined) {
        const from = await imageDirectory(context.rootfs, m.mountPath);
        if (from !== undefined) await volumes.copyUp(source.volume.namespace, source.volume.name, from);
      }
    } catch (err) {
      if (VolumeError.isInstance(err)) throw configError(`volume ${m.name}: ${err.message}`, err);
      throw err;
    }
    mounts.push({
      destination: m.mountPath,
      source: dir,
      type: 'bind',
      readOnly: source.readOnly || m.readOnly === true,
    });
  }
  return mounts;
}

/**
 * Rewrites the ConfigMap and Secret volumes of a running container whose objects changed; one gone since start
 * keeps its last files (as the kubelet does). Returns the names of the volumes that changed.
 */
export async function refreshProjected(c: Container, volumes: Volumes, sources: VolumeSources): Promise<string[]> {
  const changed: string[] = [];
  for (const entry of c.spec.volumes ?? []) {
    if (entry.configMap === undefined && entry.secret === undefined) continue;
    const lenient: VolumeSources = {
      ...sources,
      configMap: async (n) => (await sources.configMap(n)) ?? (entry.configMap?.optional === true ? {} : undefined),
      secret: async (n) => (await sources.secret(n)) ?? (entry.secret?.optional === true ? {} : undefined),
    };
    try {
      if ((await project(c, entry, volumes, lenient))?.changed === true) changed.push(entry.name);
    } catch (err) {
      if (!AgentError.isInstance(err)) throw err;
    }
  }
  return changed;
}
