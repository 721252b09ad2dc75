// `berth wait`: blocks until each Container has stopped and prints its exit code, as docker wait does.

import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { resolveContainer } from '../docker/resolve.js';
import { exited } from './run.js';

export async function wait(
  refs: readonly string[],
  options: { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  for (const ref of refs) {
    const c = await resolveContainer(client, ref);
    out.write(`${await exited(client, c.metadata.name ?? '')}\n`);
  }
}
