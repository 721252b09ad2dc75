// LocalContentStore passes the content store conformance suite, and lays its files out as documented.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { sha256Digest } from '../../src/content/digest.js';
import { LocalContentStore } from '../../src/content/local-store.js';
import { contentStoreConformance } from './content-store-conformance.js';

contentStoreConformance(t, 'LocalContentStore', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'berth-content-test-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  return new LocalContentStore(join(root, 'content'));
});

t.test('LocalContentStore lays blobs out as <root>/blobs/sha256/<hex> and cleans its ingest', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'berth-content-test-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const store = new LocalContentStore(root);
  const data = Buffer.from('hello');
  const digest = sha256Digest(data);
  const w = await store.writer({ ref: digest, digest, size: 5 });
  await w.write([data]);
  await w.commit();
  t.same(await readdir(join(root, 'blobs', 'sha256')), [digest.slice(7)]);
  t.same(await readdir(join(root, 'ingest')), []);
});
