// `berth port NAME [PORT[/PROTO]]`: a Container's published ports as docker port prints them
// (`80/tcp -> 127.0.0.1:8080`), from its spec.

import type { Container } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { resolveContainer } from '../docker/resolve.js';
import { CliError } from '../errors.js';

export async function port(
  ref: string,
  wanted: string | undefined,
  options: { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const c: Container = await resolveContainer(new ApiClient(await connectToApi(options.namespace)), ref);
  const lines = (c.spec.ports ?? []).flatMap((p) => {
    if (p.hostPort === undefined) return [];
    const key = `${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`;
    if (wanted !== undefined && wanted !== key && wanted !== String(p.containerPort)) return [];
    // With a port asked for, docker prints only the host side.
    const host = `${p.hostIP ?? '127.0.0.1'}:${p.hostPort}`;
    return [wanted === undefined ? `${key} -> ${host}` : host];
  });
  if (wanted !== undefined && lines.length === 0)
    throw new CliError(
      'BERTH_CLI_API',
      `No public port '${wanted.includes('/') ? wanted : `${wanted}/tcp`}' published for ${ref}`,
    );
  out.write(lines.map((l) => `${l}\n`).join(''));
}
