// `berth delete KIND NAME... | -f FILE`: deletes the objects and, as kubectl does by default, waits until they
// are gone (their finalizers done: a Container's node has taken it down).

import { setTimeout as sleep } from 'node:timers/promises';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { ApiStatusError, StreamError, UsageError } from '../errors.js';
import {
  discoverResources,
  qualifiedName,
  resolveResource,
  resourceOfKind,
  resourcePath,
  type ResourceInfo,
} from '../resources/discovery.js';
import { readManifests } from '../resources/manifests.js';

export interface DeleteOptions {
  readonly namespace?: string;
  readonly filename: readonly string[];
  readonly wait: boolean;
  readonly ignoreNotFound?: boolean;
}

const notFound = (e: unknown) => ApiStatusError.isInstance(e) && e.status === 404;

export async function deleteObjects(
  args: readonly string[],
  options: DeleteOptions,
  io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream } = process,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const resources = await discoverResources(client);
  const targets: { r: ResourceInfo; namespace: string | undefined; name: string }[] = [];
  if (options.filename.length > 0) {
    if (args.length > 0) throw new UsageError('give either -f or KIND NAME..., not both');
    for (const o of await readManifests(options.filename, io.stdin)) {
      const r = resourceOfKind(resources, o.apiVersion, o.kind);
      targets.push({
        r,
        namespace: r.namespaced ? (o.metadata.namespace ?? client.namespace) : undefined,
        name: o.metadata.name ?? '',
      });
    }
  } else {
    const [kind, ...names] = args;
    if (kind === undefined || names.length === 0) throw new UsageError('berth delete needs KIND NAME... or -f FILE');
    const r = resolveResource(resources, kind);
    for (const name of names) targets.push({ r, namespace: client.namespace, name });
  }
  const deleted: { path: string; what: string }[] = [];
  for (const { r, namespace, name } of targets) {
    const path = resourcePath(r, namespace, name);
    try {
      await client.request('DELETE', path);
    } catch (e) {
      if (notFound(e) && options.ignoreNotFound === true) continue;
      throw e;
    }
    io.stdout.write(`${qualifiedName(r, name)} deleted\n`);
    deleted.push({ path, what: qualifiedName(r, name) });
  }
  // All deleted before any wait, as kubectl: a Network's finalizer may wait for a Container later in the file.
  if (options.wait) await Promise.all(deleted.map(({ path, what }) => gone(client, path, what)));
}

/** Polls until the object is gone (a finalizer may hold it a while). */
async function gone(client: ApiClient, path: string, what: string): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  while (Date.now() < deadline) {
    try {
      await client.request('GET', path);
    } catch (e) {
      if (notFound(e)) return;
      throw e;
    }
    await sleep(100);
  }
  throw new StreamError(`timed out waiting for ${what} to be deleted`);
}
