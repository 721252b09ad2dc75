// `berth cp`: files between a Container and this machine through the API, as kubectl cp does: a tar stream over
// the exec subresource (`tar cf -` in the container to copy out, `tar xf -` to copy in), so it needs `tar` in the
// image. Paths follow docker cp: into an existing directory, else under the destination's own name.

import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as tar from 'tar';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { resolveContainer } from '../docker/resolve.js';
import { CliError, LocalFileError, UsageError } from '../errors.js';
import { remoteCommand } from '../streams/remote-command.js';

/** `NAME:PATH` as a container path; undefined for a local one (docker's rule: a colon before any slash). */
function containerSide(arg: string): { ref: string; path: string } | undefined {
  const colon = arg.indexOf(':');
  if (colon <= 0 || arg.slice(0, colon).includes('/')) return undefined;
  return { ref: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

const isDirectory = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

export async function cp(
  source: string,
  destination: string,
  options: { readonly namespace?: string },
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const from = containerSide(source);
  const to = containerSide(destination);
  if ((from === undefined) === (to === undefined))
    throw new UsageError('copying needs one side in a container (NAME:PATH) and one on this machine');
  const api = await connectToApi(options.namespace);
  const client = new ApiClient(api);
  const side = (from ?? to)!;
  const name = (await resolveContainer(client, side.ref)).metadata.name ?? '';
  if (side.path === '' || !side.path.startsWith('/'))
    throw new UsageError(`the path in the container must be absolute: ${side.path}`);
  const stderr = new PassThrough();
  let said = '';
  stderr.on('data', (b: Buffer) => (said += b.toString()));
  const failed = (code: number | undefined) =>
    new CliError(
      'BERTH_CLI_API',
      `copying failed in container ${name} (tar exit code ${code ?? 'unknown'}): ${said.trim().split('\n')[0] ?? ''}`,
    );

  if (from !== undefined) {
    // Out: the container tars the path; it lands in a directory beside the destination, then takes its name.
    const target = resolve(destination);
    const into = await isDirectory(target);
    const base = basename(from.path.replace(/\/+$/, '')) || '/';
    const work = await mkdtemp(join(into ? target : dirname(target), '.berth-cp-')).catch((e: unknown) => {
      throw new LocalFileError(`cannot write to ${destination}: ${(e as Error).message}`, e);
    });
    try {
      const unpack = tar.x({ cwd: work });
      // Settled either way, so a failed copy's empty stream is not an unhandled rejection.
      const done = new Promise<Error | undefined>((ok) => {
        unpack.on('finish', () => ok(undefined));
        unpack.on('error', ok);
      });
      const stdout = new PassThrough();
      stdout.pipe(unpack as unknown as NodeJS.WritableStream);
      const code = await remoteCommand(
        api,
        {
          subresource: 'exec',
          name,
          command: ['tar', 'cf', '-', '-C', dirname(from.path), base],
          stdin: false,
          tty: false,
        },
        { stdin: process.stdin, stdout, stderr },
      );
      stdout.end();
      if (code !== 0) throw failed(code);
      const broken = await done;
      if (broken !== undefined) throw new LocalFileError(`cannot unpack what ${name} sent: ${broken.message}`, broken);
      await rename(join(work, base), into ? join(target, base) : target);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return;
  }

  // In: this side tars the path; the container unpacks it into the destination directory, or beside it and renames.
  const local = resolve(source);
  await stat(local).catch((e: unknown) => {
    throw new LocalFileError(`could not find the file ${source}: ${(e as Error).message}`, e);
  });
  const base = basename(local);
  const pack = Readable.from(tar.c({ cwd: dirname(local), portable: true }, [base]));
  const script =
    'if [ -d "$1" ]; then exec tar xf - -C "$1"; fi; ' +
    't=$(mktemp -d "$(dirname "$1")/.berth-cp-XXXXXX") && tar xf - -C "$t" && mv "$t/$2" "$1"; s=$?; rm -rf "$t"; exit $s';
  const code = await remoteCommand(
    api,
    { subresource: 'exec', name, command: ['sh', '-c', script, 'sh', to!.path, base], stdin: true, tty: false },
    { stdin: pack, stdout: err, stderr },
  );
  if (code !== 0) throw failed(code);
}
