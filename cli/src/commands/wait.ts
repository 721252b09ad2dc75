// `berth wait`: blocks until each Container has stopped and prints its exit code, as docker wait does (a `--rm`
// one's too, though it is removed as it exits).

import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { resolveContainer } from '../docker/resolve.js';
import type { Container } from '@berth/api';
import { waitFor } from '../api/wait.js';
import { exitOutcome } from '../docker/container-state.js';
import { CliError } from '../errors.js';

export async function wait(
  refs: readonly string[],
  options: { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  for (const ref of refs) {
    const c = await resolveContainer(client, ref);
    const name = c.metadata.name ?? '';
    // Watched from the read above, so a `--rm` container's exit is seen even when it is removed right after.
    const code = await waitFor<Container, number>(
      client,
      'containers',
      name,
      (x, last) => {
        if (x !== undefined) return exitOutcome(x, name);
        const final = last === undefined ? undefined : exitOutcome(last, name);
        if (final === undefined) throw new CliError('BERTH_CLI_API', `container ${name} was removed before it exited`);
        return final;
      },
      24 * 3600_000,
      c,
    );
    out.write(`${code}\n`);
  }
}
