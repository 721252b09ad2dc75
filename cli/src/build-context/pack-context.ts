// Packs a build context for upload: the directory's files minus what `.dockerignore` excludes (docker's rules, by
// @balena/dockerignore), as a gzip tar with the files' modes and times; the Dockerfile and .dockerignore always go.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import dockerignore from '@balena/dockerignore';
import tar from 'tar-stream';
import { CliError } from '../errors.js';

// CommonJS (`module.exports = factory`) typed as an ES default export: at run time the default import is the factory.
const ignore = dockerignore as unknown as typeof dockerignore.default;

/** What fits in one ConfigMap under the API server's 3 MiB request limit, after base64. */
export const maxContextBytes = 2 * 1024 * 1024;

export interface PackedContext {
  readonly bytes: Buffer;
  readonly files: number;
}

export async function packContext(dir: string, dockerfile: string): Promise<PackedContext> {
  const text = await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const matcher = ignore({ ignorecase: false }).add(
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
  const keep = new Set([dockerfile, '.dockerignore']);
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  let files = 0;
  let total = 0;
  const entry = (header: Partial<tar.Header> & { name: string }, data?: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry(header as tar.Header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(rel === '' ? dir : join(dir, rel))).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (!keep.has(path) && matcher.ignores(path)) continue;
      const st = await lstat(join(dir, path));
      const common = { name: path, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 };
      if (st.isDirectory()) {
        await entry({ ...common, type: 'directory' });
        await visit(path);
      } else if (st.isSymbolicLink()) {
        await entry({ ...common, type: 'symlink', linkname: await readlink(join(dir, path)) });
      } else if (st.isFile()) {
        total += st.size;
        if (total > 4 * maxContextBytes) throw tooLarge(total);
        await entry({ ...common, type: 'file', size: st.size }, await readFile(join(dir, path)));
        files++;
      }
    }
  };
  try {
    await readFile(join(dir, dockerfile));
  } catch {
    throw new CliError('BERTH_CLI_IO', `cannot read ${dockerfile} in the build context ${dir}`, { exitCode: 1 });
  }
  await visit('');
  pack.finalize();
  await ended;
  const bytes = gzipSync(Buffer.concat(chunks));
  if (bytes.length > maxContextBytes) throw tooLarge(bytes.length);
  return { bytes, files };
}

function tooLarge(bytes: number): CliError {
  return new CliError(
    'BERTH_CLI_IO',
    `the build context is too large to upload (${bytes} bytes, at most ${maxContextBytes} compressed): list what the build does not need in .dockerignore`,
    { exitCode: 1 },
  );
}
