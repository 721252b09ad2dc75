// The content store's contract as a test suite (as containerd's core/content/testsuite): every ContentStore
// implementation runs it: a blob is invisible until a commit that checks size and digest, commit ends the
// writer, an interrupted ingest resumes, abort drops it, writers of one ref queue.
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import type { ContentStore, Info } from '../../src/content/content.js';
import { sha256Digest } from '../../src/content/digest.js';
import { ContentError } from '../../src/content/errors.js';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return ContentError.isInstance(error) ? error.code : `not a ContentError: ${String(error)}`;
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function listed(store: ContentStore): Promise<string[]> {
  const seen: Info[] = [];
  await store.walk((info) => void seen.push(info));
  return seen.map((i) => i.digest);
}

/**
 * The suite every ContentStore implementation passes. `makeStore` gives a fresh, empty store for one subtest
 * (registering its cleanup on that subtest).
 */
export function contentStoreConformance(t: Test, name: string, makeStore: (t: Test) => Promise<ContentStore>): void {
  t.test(`${name}: a blob is invisible until committed, then readable`, async (t) => {
    const store = await makeStore(t);
    const data = randomBytes(200_000);
    const digest = sha256Digest(data);
    const writer = await store.writer({ ref: 'r1', digest, size: data.length });
    await writer.write([data.subarray(0, 1000), data.subarray(1000)]);
    t.equal(writer.offset, data.length);
    t.equal(await store.info(digest), undefined, 'not visible before commit');
    t.same(await listed(store), []);
    t.equal(await codeOf(store.reader(digest)), 'CONTENT_NOT_FOUND');
    const info = await writer.commit();
    t.equal(info.size, data.length);
    t.equal((await store.info(digest))?.size, data.length);
    t.same(await readAll(await store.reader(digest)), data);
    t.same(await store.readBlob(digest), data);
    t.same(await listed(store), [digest]);
    t.equal(await store.delete(digest), true);
    t.equal(await store.delete(digest), false);
    t.equal(await store.info(digest), undefined);
  });

  t.test(`${name}: wrong bytes are refused at commit and not kept`, async (t) => {
    const store = await makeStore(t);
    const data = randomBytes(1000);
    const digest = sha256Digest(data);
    const bad = await store.writer({ ref: 'r2', digest, size: 1000 });
    await bad.write([randomBytes(1000)]);
    t.equal(await codeOf(bad.commit()), 'DIGEST_MISMATCH');
    t.equal(await store.info(digest), undefined);
    const again = await store.writer({ ref: 'r2', digest, size: 1000 });
    t.equal(again.offset, 0, 'bad bytes dropped, not resumed');
    t.equal(await codeOf(again.write([randomBytes(1001)])), 'CONTENT_TOO_LARGE', 'never more than the expected size');
    const short = await store.writer({ ref: 'r2', digest, size: 1000 });
    await short.write([data.subarray(0, 10)]);
    t.equal(await codeOf(short.commit()), 'DIGEST_MISMATCH', 'short content fails');
    t.equal(await codeOf(store.writer({ ref: 'x', digest: 'sha256:nothex' })), 'INVALID_DIGEST');
  });

  t.test(`${name}: an interrupted ingest resumes from its offset`, async (t) => {
    const store = await makeStore(t);
    const data = randomBytes(50_000);
    const digest = sha256Digest(data);
    const first = await store.writer({ ref: 'resume', digest, size: data.length });
    await first.write([data.subarray(0, 12_345)]);
    await first.close();
    t.equal(await store.info(digest), undefined, 'closed is not committed');
    const second = await store.writer({ ref: 'resume', digest, size: data.length });
    t.equal(second.offset, 12_345);
    await second.write([data.subarray(second.offset)]);
    await second.commit();
    t.same(await store.readBlob(digest), data);
    await store.abort('resume');
  });

  t.test(`${name}: writers of one ref queue; concurrent ingests of one digest leave one good blob`, async (t) => {
    const store = await makeStore(t);
    const data = randomBytes(300_000);
    const digest = sha256Digest(data);
    const order: string[] = [];
    const a = await store.writer({ ref: 'same', digest, size: data.length });
    const bPromise = store.writer({ ref: 'same', digest, size: data.length }).then((w) => {
      order.push('b opened');
      return w;
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push('a commits');
    await a.write([data]);
    await a.commit();
    const b = await bPromise;
    t.same(order, ['a commits', 'b opened'], 'second writer waited for the first');
    t.ok(await store.info(digest), 'the second writer can see the blob is there');
    await b.close();
    // Different refs, same digest, in parallel: each verifies, the rename is atomic, the result is whole.
    await store.delete(digest);
    await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const w = await store.writer({ ref: `p${i}`, digest, size: data.length });
        for (let off = 0; off < data.length; off += 7_000) await w.write([data.subarray(off, off + 7_000)]);
        await w.commit();
      }),
    );
    t.same(await store.readBlob(digest), data);
  });
  t.test(`${name}: commit always ends the writer, whether it succeeded or not`, async (t) => {
    const store = await makeStore(t);
    const data = randomBytes(100);
    const digest = sha256Digest(data);
    const good = await store.writer({ ref: 'end-ok', digest, size: data.length });
    await good.write([data]);
    await good.commit();
    t.equal(await codeOf(good.write([data])), 'CONTENT_WRITER_CLOSED', 'no write after a commit');
    t.equal(await codeOf(good.commit()), 'CONTENT_WRITER_CLOSED', 'no second commit');
    const other = randomBytes(100);
    const bad = await store.writer({ ref: 'end-bad', digest: sha256Digest(other), size: other.length });
    await bad.write([data]);
    t.equal(await codeOf(bad.commit()), 'DIGEST_MISMATCH');
    t.equal(await codeOf(bad.write([other])), 'CONTENT_WRITER_CLOSED', 'a failed commit ends the writer too');
    const next = await store.writer({ ref: 'end-bad', digest: sha256Digest(other), size: other.length });
    t.equal(next.offset, 0, 'and the ref is free again, with nothing kept');
    await next.close();
  });

  t.test(`${name}: abort drops a partial ingest; the blob never appears`, async (t) => {
    const store = await makeStore(t);
    const data = randomBytes(4096);
    const digest = sha256Digest(data);
    const first = await store.writer({ ref: 'aborted', digest, size: data.length });
    await first.write([data.subarray(0, 1000)]);
    await first.close();
    await store.abort('aborted');
    const again = await store.writer({ ref: 'aborted', digest, size: data.length });
    t.equal(again.offset, 0, 'nothing left to resume');
    await again.close();
    t.equal(await store.info(digest), undefined);
    t.same(await listed(store), []);
    t.equal(await codeOf(store.readBlob(digest)), 'CONTENT_NOT_FOUND');
    await store.abort('never-opened');
    t.pass('aborting an unknown ref is a no-op');
  });

  t.test(`${name}: a ref reused for another digest starts over`, async (t) => {
    const store = await makeStore(t);
    const one = randomBytes(500);
    const two = randomBytes(500);
    const w1 = await store.writer({ ref: 'reused', digest: sha256Digest(one), size: one.length });
    await w1.write([one.subarray(0, 200)]);
    await w1.close();
    const w2 = await store.writer({ ref: 'reused', digest: sha256Digest(two), size: two.length });
    t.equal(w2.offset, 0, "the other digest's bytes are not resumed");
    await w2.write([two]);
    t.equal((await w2.commit()).digest, sha256Digest(two));
    t.same(await store.readBlob(sha256Digest(two)), two);
  });
}
