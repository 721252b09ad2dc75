// `berth version`: the client's version and the server's (its /version), laid out as docker version prints.

import { goArchitecture } from '@berth/api/helpers';
import { connectToApi, userAgent } from '../api-connection.js';
import { ApiClient } from '../api/client.js';

const line = (key: string, value: string) => ` ${`${key}:`.padEnd(18)} ${value}\n`;

export async function version(
  options: { readonly format?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const clientVersion = /\/([^ ]+) /.exec(userAgent())?.[1] ?? '0.0.0';
  const client = {
    Version: clientVersion,
    ApiVersion: 'berth.dev/v1alpha1',
    NodeVersion: process.version,
    Os: process.platform,
    Arch: goArchitecture(process.arch),
  };
  let server: Record<string, string> | undefined;
  let failure: unknown;
  try {
    server = await new ApiClient(await connectToApi(undefined)).version();
  } catch (e) {
    failure = e;
  }
  if (options.format === 'json') {
    out.write(`${JSON.stringify({ Client: client, Server: server ?? null })}\n`);
  } else if (options.format !== undefined) {
    // `{{.Client.Version}}` and `{{.Server.gitVersion}}`.
    out.write(
      `${options.format.replace(/\{\{\s*\.(Client|Server)\.([A-Za-z]+)\s*\}\}/g, (_m, side: string, key: string) => String((side === 'Client' ? (client as Record<string, string>) : (server ?? {}))[key] ?? ''))}\n`,
    );
  } else {
    out.write(
      `Client:\n${line('Version', client.Version)}${line('API version', client.ApiVersion)}${line('Node version', client.NodeVersion)}${line('OS/Arch', `${client.Os}/${client.Arch}`)}`,
    );
    if (server !== undefined)
      out.write(
        `\nServer: berth\n${line('Version', server['gitVersion'] ?? '')}${line('Git commit', server['gitCommit'] ?? '')}${line('Built', server['buildDate'] ?? '')}${line('Go version', server['goVersion'] ?? '')}${line('OS/Arch', server['platform'] ?? '')}`,
      );
  }
  // docker prints the client part, then the error, when the server cannot be reached.
  if (failure !== undefined) throw failure;
}
