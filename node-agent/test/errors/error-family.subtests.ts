// Every error node-agent's subsystems throw on purpose is a BerthError: a stable string code, the wrapped cause,
// and a class check that goes by brand, so callers switch on codes and classes, never on messages.
import { BerthError, InvalidArgumentError, isBerthError } from '@berth/api';
import t from 'tap';
import {
  ContentError,
  ContentNotFound,
  ContentTooLarge,
  ContentWriterClosed,
  DigestMismatch,
  InvalidDigest,
} from '../../src/content/errors.js';
import { RegistryClient } from '../../src/distribution/client.js';
import {
  ImageNotFound,
  InvalidReference,
  NoMatchingPlatform,
  RegistryError,
  RegistryProtocolError,
  RegistryUnreachable,
  Unauthorized,
  UnsupportedMediaType,
} from '../../src/distribution/errors.js';
import { ImageStore } from '../../src/images/image-store.js';
import { readLogEntries } from '../../src/logs/k8s-file.js';
import { ConmonRuntime } from '../../src/runtime/conmon-runtime.js';
import { isRuntimeError, RuntimeError } from '../../src/runtime/errors.js';
import { SnapshotError } from '../../src/snapshots/errors.js';
import { StreamingError } from '../../src/streaming/streaming.js';
import { StreamingServer } from '../../src/streaming/streaming-server.js';
import { UnpackError } from '../../src/unpack/errors.js';
import type { HostReport } from '../../src/host/prepare-host.js';

const digest = `sha256:${'a'.repeat(64)}`;

t.test('each subsystem error is a BerthError with its stable code and its class name', async (t) => {
  const cause = new Error('underneath');
  const cases: [BerthError, string, string][] = [
    [new InvalidDigest('x'), 'INVALID_DIGEST', 'InvalidDigest'],
    [new ContentNotFound(digest), 'CONTENT_NOT_FOUND', 'ContentNotFound'],
    [new DigestMismatch(digest, digest), 'DIGEST_MISMATCH', 'DigestMismatch'],
    [new ContentTooLarge(digest, 1), 'CONTENT_TOO_LARGE', 'ContentTooLarge'],
    [new ContentWriterClosed('ref'), 'CONTENT_WRITER_CLOSED', 'ContentWriterClosed'],
    [new InvalidReference('m', { cause }), 'INVALID_REFERENCE', 'InvalidReference'],
    [new ImageNotFound('m', { cause }), 'IMAGE_NOT_FOUND', 'ImageNotFound'],
    [new Unauthorized('m', { cause }), 'UNAUTHORIZED', 'Unauthorized'],
    [new RegistryUnreachable('m', { cause }), 'REGISTRY_UNREACHABLE', 'RegistryUnreachable'],
    [new NoMatchingPlatform('m', { cause }), 'NO_MATCHING_PLATFORM', 'NoMatchingPlatform'],
    [new UnsupportedMediaType('m', { cause }), 'UNSUPPORTED_MEDIA_TYPE', 'UnsupportedMediaType'],
    [new RegistryProtocolError('m', { cause }), 'REGISTRY_ERROR', 'RegistryProtocolError'],
    [
      new RuntimeError('ContainerNotFound', 'm', { cause, stderr: 'crun said no' }),
      'ContainerNotFound',
      'RuntimeError',
    ],
    [new SnapshotError('MOUNT_FAILED', 'm', { cause }), 'MOUNT_FAILED', 'SnapshotError'],
    [new UnpackError('LAYER_INVALID', 'm', { cause }), 'LAYER_INVALID', 'UnpackError'],
    [new StreamingError('NotFound', 'm', { cause }), 'NotFound', 'StreamingError'],
    [new InvalidArgumentError('bad option'), 'BERTH_INVALID_ARGUMENT', 'InvalidArgumentError'],
  ];
  for (const [err, code, name] of cases) {
    t.ok(BerthError.isInstance(err), `${name} is a BerthError`);
    t.ok(err instanceof Error, `${name} is an Error`);
    t.equal(err.code, code, `${name}'s code`);
    t.equal(err.name, name, `${name}'s name is its class`);
    t.ok(isBerthError(err, code));
    if (err.message === 'm') t.equal(err.cause, cause, `${name} keeps its cause`);
  }
  t.equal(new RuntimeError('RuntimeFailed', 'm', { stderr: 'crun said no' }).stderr, 'crun said no');
  t.equal(new StreamingError('NotFound', 'm').httpCode, 404);
});

t.test('a subclass check tells the subsystems and the specific errors apart', async (t) => {
  const notFound = new ImageNotFound('m');
  t.ok(RegistryError.isInstance(notFound));
  t.ok(notFound instanceof RegistryError);
  t.ok(ImageNotFound.isInstance(notFound));
  t.notOk(Unauthorized.isInstance(notFound));
  t.notOk(notFound instanceof Unauthorized);
  t.notOk(ContentError.isInstance(notFound));
  const mismatch = new DigestMismatch(digest, digest);
  t.ok(ContentError.isInstance(mismatch) && mismatch instanceof ContentError);
  t.ok(DigestMismatch.isInstance(mismatch));
  t.notOk(ContentNotFound.isInstance(mismatch));
  t.notOk(RuntimeError.isInstance(new SnapshotError('MOUNT_FAILED', 'm')));
  t.notOk(BerthError.isInstance(new Error('plain')));
  t.notOk(
    BerthError.isInstance({ code: 'CONTENT_NOT_FOUND', message: 'looks alike' }),
    'a look-alike object is not one',
  );

  const gone = new RuntimeError('ContainerNotFound', 'm');
  t.ok(isRuntimeError(gone));
  t.ok(isRuntimeError(gone, 'ContainerNotFound'));
  t.notOk(isRuntimeError(gone, 'ContainerExists'));
  t.notOk(isRuntimeError(new Error('m')));
});

t.test('bad options are refused with InvalidArgumentError before any I/O', async (t) => {
  const host = {} as HostReport;
  const invalid = { code: 'BERTH_INVALID_ARGUMENT', name: 'InvalidArgumentError' };
  t.throws(() => new ImageStore({ root: '/nonexistent', concurrency: 0 }), invalid);
  t.throws(() => new ImageStore({ root: '/nonexistent', concurrency: 1.5 }), invalid);
  t.throws(() => new RegistryClient({ timeoutMs: 0 }), invalid, 'undici would read 0 as no timeout');
  t.throws(() => new ConmonRuntime({ host, root: '/nonexistent', createTimeoutMs: 0 }), invalid);
  t.throws(() => new ConmonRuntime({ host, root: '/nonexistent', logSizeMax: -1 }), invalid);
  await t.rejects(new ConmonRuntime({ host, root: '/nonexistent' }).rotateLogs({ maxBytes: 0 }), invalid);
  t.throws(
    () => new StreamingServer({ socketPath: 'relative.sock', lookup: () => undefined, runtime: {} as never }),
    invalid,
  );
  t.throws(
    () =>
      new StreamingServer({
        socketPath: '/nonexistent/s.sock',
        lookup: () => undefined,
        runtime: {} as never,
        pollMs: 0,
      }),
    invalid,
  );
  // The log files do not exist: the options are refused before anything is opened, even with no files at all.
  const first = (options: Parameters<typeof readLogEntries>[1]) => readLogEntries([], options).next();
  await t.rejects(first({ tailLines: -1 }), invalid);
  await t.rejects(first({ sinceSeconds: -1 }), invalid);
  await t.rejects(first({ follow: true, pollMs: 0 }), invalid);
  t.same(await first({ tailLines: 0 }), { done: true, value: undefined }, 'good options with no files read nothing');
});
