// Finding a Container by what a docker user types: its name, or a prefix of its id (`berth ps -q` prints ids).

import type { Container } from '@berth/api';
import type { ApiClient } from '../api/client.js';
import { CliError } from '../errors.js';
import { shortId } from './container-state.js';

/** The Container named `ref`, else the one whose id starts with `ref`; throws docker's "No such container". */
export async function resolveContainer(client: ApiClient, ref: string): Promise<Container> {
  const byName = await client.find<Container>('containers', ref);
  if (byName !== undefined) return byName;
  if (/^[0-9a-f]{3,32}$/.test(ref)) {
    const matches = (await client.list<Container>('containers')).filter((c) =>
      (c.metadata.uid ?? '').replace(/-/g, '').startsWith(ref),
    );
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1)
      throw new CliError(
        'BERTH_CLI_API',
        `multiple containers found with provided prefix: ${ref} (${matches.map(shortId).join(', ')})`,
      );
  }
  throw new CliError('BERTH_CLI_API', `No such container: ${ref}`);
}
