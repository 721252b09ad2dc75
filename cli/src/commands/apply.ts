// `berth apply -f FILE|DIR|-`: server-side apply of each object, as `kubectl apply --server-side` does (the server
// merges by field ownership; the CLI keeps no last-applied annotation).

import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { ApiStatusError, CliError } from '../errors.js';
import { discoverResources, qualifiedName, resourceOfKind, resourcePath } from '../resources/discovery.js';
import { readManifests } from '../resources/manifests.js';

export interface ApplyOptions {
  readonly namespace?: string;
  readonly filename: readonly string[];
  readonly forceConflicts?: boolean;
  readonly fieldManager?: string;
}

export async function apply(
  options: ApplyOptions,
  io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream } = process,
): Promise<void> {
  const objects = await readManifests(options.filename, io.stdin);
  const client = new ApiClient(await connectToApi(options.namespace));
  const resources = await discoverResources(client);
  const manager = options.fieldManager ?? 'berth-cli';
  for (const object of objects) {
    const r = resourceOfKind(resources, object.apiVersion, object.kind);
    const name = object.metadata.name ?? '';
    const namespace = r.namespaced ? (object.metadata.namespace ?? client.namespace) : undefined;
    const query = `?fieldManager=${encodeURIComponent(manager)}${options.forceConflicts === true ? '&force=true' : ''}`;
    try {
      await client.request(
        'PATCH',
        `${resourcePath(r, namespace, name)}${query}`,
        object,
        'application/apply-patch+yaml',
      );
    } catch (e) {
      if (ApiStatusError.isInstance(e) && e.status === 409)
        throw new CliError(
          'BERTH_CLI_API',
          `Apply failed with conflicts on ${qualifiedName(r, name)}: ${e.message} (--force-conflicts takes the fields over)`,
          { cause: e },
        );
      throw e;
    }
    io.stdout.write(`${qualifiedName(r, name)} serverside-applied\n`);
  }
}
