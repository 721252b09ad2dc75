// Applying layer tars: file kinds, metadata, overlay whiteouts, and hostile tarballs that must stay contained,
// hand-written and generated (fast-check: ../ and absolute names, symlink and hard-link escapes, whiteouts through
// them, huge and garbage headers; the same code unpacks `berth build` contexts).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import tar from 'tar-stream';
import { applyLayer } from '../../src/unpack/extract-layer.js';
import { UnpackError } from '../../src/unpack/errors.js';
import { LayerStore } from '../../src/unpack/layer-store.js';

const execFileAsync = promisify(execFile);

type Entry = { header: tar.Header | (Partial<tar.Header> & { name: string }); body?: string };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(e.header, e.body ?? '', (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function* once(buffer: Buffer): AsyncIterable<Uint8Array> {
  // Small chunks, so headers and bodies straddle chunk boundaries as they do off the network.
  for (let i = 0; i < buffer.length; i += 1000) yield buffer.subarray(i, i + 1000);
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A directory outside every target, with a file the hostile layers aim at; its state is checked after each. */
const outside = await tempDir('berth-unpack-outside-');
await writeFile(join(outside, 'secret'), 'untouched');
async function assertOutsideUntouched(t: Test): Promise<void> {
  t.same((await readdir(outside)).sort(), ['secret'], 'nothing created outside the target');
  t.equal(await readFile(join(outside, 'secret'), 'utf8'), 'untouched', 'outside file unchanged');
  t.equal((await stat(join(outside, 'secret'))).nlink, 1, 'outside file not hard-linked');
  const { stdout } = await execFileAsync('getfattr', ['-d', '-m', '-', outside]);
  t.equal(stdout.trim(), '', 'no xattr set outside');
}

const mtime = new Date('2020-01-02T03:04:05Z');

t.test('files, dirs, symlinks, hard links, modes, owners, mtimes, xattrs; diffID is the tar sha256', async (t) => {
  const layer = await makeTar([
    { header: { name: 'etc/', type: 'directory', mode: 0o750, uid: 0, gid: 0, mtime } },
    { header: { name: 'etc/motd', type: 'file', mode: 0o640, uid: 1000, gid: 2000, mtime }, body: 'hello\n' },
    { header: { name: 'bin/tool', type: 'file', mode: 0o4755, mtime }, body: '#!/bin/sh\n' },
    { header: { name: 'bin/alias', type: 'symlink', linkname: '/bin/tool', mtime } },
    { header: { name: 'bin/hard', type: 'link', linkname: 'bin/tool' } },
    { header: { name: 'data/attr', type: 'file', mode: 0o644, pax: { 'SCHILY.xattr.user.berth': 'yes' } }, body: 'x' },
  ]);
  const root = await tempDir('berth-unpack-');
  const result = await applyLayer(once(gzipSync(layer)), root);
  t.equal(result.diffID, `sha256:${createHash('sha256').update(layer).digest('hex')}`);
  t.equal(result.size, layer.length);
  const motd = await stat(join(root, 'etc', 'motd'));
  t.equal(await readFile(join(root, 'etc', 'motd'), 'utf8'), 'hello\n');
  t.equal(motd.mode & 0o7777, 0o640);
  t.equal(motd.uid, 1000);
  t.equal(motd.gid, 2000);
  t.equal(motd.mtime.getTime(), mtime.getTime());
  const etc = await stat(join(root, 'etc'));
  t.equal(etc.mode & 0o7777, 0o750, 'directory mode applied');
  t.equal(etc.mtime.getTime(), mtime.getTime(), 'directory mtime applied after its children');
  t.equal((await stat(join(root, 'bin', 'tool'))).mode & 0o7777, 0o4755, 'setuid kept');
  t.equal(await readlink(join(root, 'bin', 'alias')), '/bin/tool');
  t.equal((await lstat(join(root, 'bin', 'alias'))).mtime.getTime(), mtime.getTime(), 'symlink mtime');
  t.equal(
    (await stat(join(root, 'bin', 'hard'))).ino,
    (await stat(join(root, 'bin', 'tool'))).ino,
    'hard link shares the inode',
  );
  const { stdout } = await execFileAsync('getfattr', ['--only-values', '-n', 'user.berth', join(root, 'data', 'attr')]);
  t.equal(stdout, 'yes');
});

t.test('uncompressed and zstd layers', async (t) => {
  const layer = await makeTar([{ header: { name: 'a', type: 'file', mode: 0o644 }, body: 'plain' }]);
  const plainRoot = await tempDir('berth-unpack-');
  await applyLayer(once(layer), plainRoot);
  t.equal(await readFile(join(plainRoot, 'a'), 'utf8'), 'plain');
  const zstdRoot = await tempDir('berth-unpack-');
  const raw = await tempDir('berth-zstd-');
  await writeFile(join(raw, 'l.tar'), layer);
  await execFileAsync('zstd', ['-q', join(raw, 'l.tar'), '-o', join(raw, 'l.tar.zst')]);
  const result = await applyLayer(once(await readFile(join(raw, 'l.tar.zst'))), zstdRoot);
  t.equal(await readFile(join(zstdRoot, 'a'), 'utf8'), 'plain');
  t.equal(result.diffID, `sha256:${createHash('sha256').update(layer).digest('hex')}`);
});

t.test('a layer that is not a tar (or not valid gzip) is LAYER_INVALID', async (t) => {
  const garbage = Buffer.alloc(4096, 7);
  await t.rejects(applyLayer(once(garbage), await tempDir('berth-unpack-')), { code: 'LAYER_INVALID' });
  const badGzip = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), garbage]);
  await t.rejects(applyLayer(once(badGzip), await tempDir('berth-unpack-')), { code: 'LAYER_INVALID' });
});

t.test('whiteouts become 0/0 char devices, opaque dirs get trusted.overlay.opaque', async (t) => {
  const layer = await makeTar([
    { header: { name: 'etc/.wh.gone', type: 'file', mode: 0o644 } },
    { header: { name: 'var/cache/', type: 'directory', mode: 0o755 } },
    { header: { name: 'var/cache/.wh..wh..opq', type: 'file', mode: 0o644 } },
    { header: { name: 'var/cache/kept', type: 'file', mode: 0o644 }, body: 'k' },
  ]);
  const root = await tempDir('berth-unpack-');
  await applyLayer(once(gzipSync(layer)), root);
  const whiteout = await lstat(join(root, 'etc', 'gone'));
  t.ok(whiteout.isCharacterDevice(), 'whiteout is a character device');
  t.equal(whiteout.rdev, 0, 'device 0/0');
  t.same(await readdir(join(root, 'etc')), ['gone'], 'no .wh. file left');
  t.same(await readdir(join(root, 'var', 'cache')), ['kept'], 'opaque marker not left as a file');
  const { stdout } = await execFileAsync('getfattr', [
    '--only-values',
    '-n',
    'trusted.overlay.opaque',
    join(root, 'var', 'cache'),
  ]);
  t.equal(stdout, 'y');
});

t.test('hostile layers never write outside the target', async (t) => {
  const cases: { name: string; entries: Entry[]; error?: string; inside?: (root: string) => Promise<unknown> }[] = [
    {
      name: 'a ../ path is refused',
      entries: [{ header: { name: `../../../../../../..${outside}/pwned`, type: 'file', mode: 0o644 }, body: 'x' }],
      error: 'LAYER_PATH_ESCAPE',
    },
    {
      name: 'an absolute path lands inside',
      entries: [{ header: { name: `${outside}/pwned`, type: 'file', mode: 0o644 }, body: 'x' }],
      inside: async (root) => t.equal(await readFile(join(root, outside, 'pwned'), 'utf8'), 'x'),
    },
    {
      name: 'a file through an absolute symlinked parent lands inside',
      entries: [
        { header: { name: 'evil', type: 'symlink', linkname: outside } },
        { header: { name: 'evil/pwned', type: 'file', mode: 0o644 }, body: 'x' },
      ],
      inside: async (root) => t.equal(await readFile(join(root, outside, 'pwned'), 'utf8'), 'x'),
    },
    {
      name: 'a file through a ../ symlinked parent stays inside',
      entries: [
        { header: { name: 'a/b/', type: 'directory', mode: 0o755 } },
        { header: { name: 'a/b/up', type: 'symlink', linkname: `../../../../../../../../..${outside}` } },
        { header: { name: 'a/b/up/pwned', type: 'file', mode: 0o644 }, body: 'x' },
      ],
      inside: async (root) => t.equal(await readFile(join(root, outside, 'pwned'), 'utf8'), 'x'),
    },
    {
      name: 'a chain of symlinks stays inside',
      entries: [
        { header: { name: 'one', type: 'symlink', linkname: 'two/..' } },
        { header: { name: 'two', type: 'symlink', linkname: '/../../..' } },
        { header: { name: 'one/x/pwned', type: 'file', mode: 0o644 }, body: 'x' },
      ],
      inside: async (root) => t.equal(await readFile(join(root, 'x', 'pwned'), 'utf8'), 'x'),
    },
    {
      name: 'a file replacing a symlink does not write through it',
      entries: [
        { header: { name: 'secret', type: 'symlink', linkname: join(outside, 'secret') } },
        { header: { name: 'secret', type: 'file', mode: 0o644 }, body: 'overwritten' },
      ],
      inside: async (root) => t.equal(await readFile(join(root, 'secret'), 'utf8'), 'overwritten'),
    },
    {
      name: 'a hard link to ../ is refused',
      entries: [{ header: { name: 'h', type: 'link', linkname: `../../../../../../..${outside}/secret` } }],
      error: 'LAYER_PATH_ESCAPE',
    },
    {
      name: 'a hard link through a symlinked parent resolves inside (and fails: no such file there)',
      entries: [
        { header: { name: 'evil', type: 'symlink', linkname: outside } },
        { header: { name: 'h', type: 'link', linkname: 'evil/secret' } },
      ],
      error: 'LAYER_INVALID',
    },
    {
      name: 'a whiteout through a symlinked parent lands inside',
      entries: [
        { header: { name: 'evil', type: 'symlink', linkname: outside } },
        { header: { name: 'evil/.wh.secret', type: 'file', mode: 0o644 } },
      ],
      inside: async (root) => t.ok((await lstat(join(root, outside, 'secret'))).isCharacterDevice()),
    },
    {
      name: 'an opaque marker through a symlinked parent marks the inside dir',
      entries: [
        { header: { name: 'evil', type: 'symlink', linkname: outside } },
        { header: { name: 'evil/.wh..wh..opq', type: 'file', mode: 0o644 } },
      ],
      inside: async (root) => {
        const { stdout } = await execFileAsync('getfattr', [
          '--only-values',
          '-n',
          'trusted.overlay.opaque',
          join(root, outside),
        ]);
        t.equal(stdout, 'y');
      },
    },
    {
      name: 'a whiteout under a directory later replaced by a symlink is not applied through it',
      entries: [
        { header: { name: 'x/', type: 'directory', mode: 0o755 } },
        { header: { name: 'x/.wh.secret', type: 'file', mode: 0o644 } },
        { header: { name: 'x', type: 'symlink', linkname: outside } },
      ],
      inside: async (root) => t.equal(await readlink(join(root, 'x')), outside),
    },
    {
      name: 'an opaque marker under a directory later replaced by a symlink is not applied through it',
      entries: [
        { header: { name: 'x/', type: 'directory', mode: 0o755 } },
        { header: { name: 'x/.wh..wh..opq', type: 'file', mode: 0o644 } },
        { header: { name: 'x', type: 'symlink', linkname: outside } },
      ],
      inside: async (root) => t.equal(await readlink(join(root, 'x')), outside),
    },
    {
      name: 'a directory entry through a symlink does not chmod the outside',
      entries: [
        { header: { name: 'evil', type: 'symlink', linkname: outside } },
        { header: { name: 'evil/', type: 'directory', mode: 0o777 } },
      ],
      inside: async (root) =>
        t.ok((await lstat(join(root, 'evil'))).isDirectory(), 'the symlink was replaced by a directory'),
    },
  ];
  const before = (await stat(outside)).mode;
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const root = await tempDir('berth-unpack-');
      const run = applyLayer(once(await makeTar(c.entries)), root);
      if (c.error !== undefined) {
        const error = await run.then(
          () => undefined,
          (e: unknown) => e,
        );
        t.ok(UnpackError.isInstance(error), 'an UnpackError');
        t.equal((error as UnpackError).code, c.error);
      } else {
        await run;
        await c.inside?.(root);
      }
      await assertOutsideUntouched(t);
      t.equal((await stat(outside)).mode, before, 'outside dir mode unchanged');
    });
  }
});

/** A raw ustar header (for what tar-stream's packer will not write: huge long-name headers, bad sizes). */
function rawHeader(name: string, type: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\x0000', 257, 'latin1');
  h.write('        ', 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

t.test('generated hostile tarballs: contained, and refused only as UnpackErrors', async (t) => {
  const seed = Number(process.env['BERTH_TAR_FUZZ_SEED'] ?? 20261201);
  const numRuns = Number(process.env['BERTH_TAR_FUZZ_RUNS'] ?? 100);
  const segment = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'evil', 'secret', 'x') },
    { weight: 3, arbitrary: fc.constantFrom('..', '.', '', '.wh.secret', '.wh..wh..opq', '.wh.a') },
    fc.constant('n'.repeat(120)),
    fc.string({ maxLength: 6 }),
  );
  const path = fc.oneof(
    { weight: 5, arbitrary: fc.array(segment, { minLength: 1, maxLength: 5 }).map((p) => p.join('/')) },
    fc.array(segment, { maxLength: 3 }).map((p) => `${outside}/${p.join('/')}`),
    fc.array(segment, { maxLength: 3 }).map((p) => `../../../../../../..${outside}/${p.join('/')}`),
  );
  const target = fc.oneof(
    path,
    fc.constantFrom(outside, join(outside, 'secret'), '/', '..', '../..', '/proc/self/root'),
  );
  const entry: fc.Arbitrary<Entry> = fc.oneof(
    fc.record({ name: path, body: fc.string({ maxLength: 20 }) }).map(({ name, body }) => ({
      header: { name, type: 'file' as const, mode: 0o644 },
      body,
    })),
    path.map((name) => ({ header: { name: `${name}/`, type: 'directory' as const, mode: 0o777 } })),
    fc.record({ name: path, linkname: target }).map(({ name, linkname }) => ({
      header: { name, type: 'symlink' as const, linkname },
    })),
    fc.record({ name: path, linkname: target }).map(({ name, linkname }) => ({
      header: { name, type: 'link' as const, linkname },
    })),
  );
  /** What is appended after the generated entries: nothing, garbage, a huge long-name header, a bad size. */
  const tail = fc.oneof(
    { weight: 6, arbitrary: fc.constant(Buffer.alloc(0)) },
    fc.uint8Array({ minLength: 512, maxLength: 1024 }).map((b) => Buffer.from(b)),
    fc.constantFrom('x', 'g', 'L', 'K').map((type) => rawHeader('././@LongLink', type, 64 * 1024 * 1024)),
    fc.constant(Buffer.concat([rawHeader('truncated', '0', 1 << 30), Buffer.alloc(512, 1)])),
  );
  const seen = { applied: 0, refused: 0 };
  let findings: string[] = [];
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), tail, async (entries, extra) => {
      const root = await mkdtemp(join(tmpdir(), 'berth-unpack-fuzz-'));
      try {
        const archive = Buffer.concat([(await makeTar(entries)).subarray(0, -1024), extra, Buffer.alloc(1024)]);
        await applyLayer(once(archive), root).then(
          () => seen.applied++,
          (e: unknown) => {
            if (!UnpackError.isInstance(e)) findings.push(`not an UnpackError: ${String(e)}`);
            seen.refused++;
          },
        );
        const names = (await readdir(outside)).sort();
        if (names.length !== 1 || names[0] !== 'secret') findings.push(`outside now holds ${names.join(', ')}`);
        if ((await readFile(join(outside, 'secret'), 'utf8')) !== 'untouched') findings.push('outside file changed');
        if ((await stat(join(outside, 'secret'))).nlink !== 1) findings.push('outside file hard-linked');
        if (findings.length > 0) {
          const found = findings;
          findings = [];
          throw new Error(`${found.join('; ')} (entries ${JSON.stringify(entries.map((e) => e.header))})`);
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    }),
    { seed, numRuns },
  );
  await assertOutsideUntouched(t);
  t.ok(seen.applied > 0 && seen.refused > 0, `applied ${seen.applied}, refused ${seen.refused} (seed ${seed})`);
});

t.test('a layer store unpacks once and never leaves a half layer', async (t) => {
  const root = await tempDir('berth-layers-');
  const store = new LayerStore(root);
  const good = gzipSync(await makeTar([{ header: { name: 'f', type: 'file', mode: 0o644 }, body: 'ok' }]));
  const digest = `sha256:${createHash('sha256').update(good).digest('hex')}`;
  let opened = 0;
  const open = async () => {
    opened++;
    const { Readable } = await import('node:stream');
    return Readable.from([good]);
  };
  const [a, b] = await Promise.all([store.unpack(digest, open), store.unpack(digest, open)]);
  t.equal(opened, 1, 'concurrent unpacks share one');
  t.equal(a.dir, b.dir);
  t.equal(await readFile(join(a.dir, 'f'), 'utf8'), 'ok');
  await store.unpack(digest, open);
  t.equal(opened, 1, 'a finished layer is reused');
  t.same(await new LayerStore(root).get(digest), a, 'found again by a new store (agent restart)');

  const bad = gzipSync(
    await makeTar([
      { header: { name: 'first', type: 'file', mode: 0o644 }, body: 'x' },
      { header: { name: '../escape', type: 'file', mode: 0o644 }, body: 'x' },
    ]),
  );
  const badDigest = `sha256:${createHash('sha256').update(bad).digest('hex')}`;
  const { Readable } = await import('node:stream');
  await t.rejects(
    store.unpack(badDigest, async () => Readable.from([bad])),
    { code: 'LAYER_PATH_ESCAPE' },
  );
  t.equal(await store.get(badDigest), undefined, 'no layer recorded');
  t.same(await readdir(join(root, 'layers', 'tmp')), [], 'temp dir cleaned');

  const otherDigest = `sha256:${'1'.repeat(64)}`;
  await t.rejects(
    store.unpack(otherDigest, async () => Readable.from([good]), { diffID: `sha256:${'0'.repeat(64)}` }),
    { code: 'DIGEST_MISMATCH' },
  );
  t.equal(await store.get(otherDigest), undefined, 'a layer with the wrong diffID is not kept');
  await store.remove(digest);
  t.equal(await store.get(digest), undefined, 'removed');
});
