// A watch whose client went away while its initial list was read (or before it started) ends at once: the abort
// already happened, so a listener added afterwards never fires, and the watcher (with its timers) must not be
// left to run for the 30-60 minutes of its timeout.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Resource } from '../../src/registry/resource.js';
import type { StoreEvent, Watcher } from '../../src/storage/interface.js';
import { serveWatch, type WatchSource } from '../../src/watch/watch-stream.js';

const configMaps = {
  group: '',
  version: 'v1',
  storageVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  schema: {},
} as unknown as Resource;

/** A watcher that yields nothing until it is closed. */
function idleSource(): { source: WatchSource; closed: Promise<void> } {
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const source: WatchSource = {
    watch: (): Watcher => ({
      events: {
        [Symbol.asyncIterator]: (): AsyncIterator<StoreEvent> => ({
          next: async () => {
            await closed;
            return { done: true, value: undefined };
          },
        }),
      },
      close: () => markClosed(),
    }),
  };
  return { source, closed };
}

const within = <T>(ms: number, p: Promise<T>): Promise<T | 'timed out'> =>
  Promise.race([p, new Promise<'timed out'>((resolve) => setTimeout(resolve, ms, 'timed out').unref())]);

t.test('the client left during the initial list', async (t) => {
  const { source, closed } = idleSource();
  let served!: Promise<void>;
  const server = createServer((_req, res) => {
    const gone = new AbortController();
    served = serveWatch(
      res,
      {
        resource: configMaps,
        prefix: '/registry/core/configmaps/',
        filter: undefined,
        resourceVersion: undefined,
        initialState: async () => {
          gone.abort();
          return { items: [], revision: 1 };
        },
        bookmarks: false,
        bookmarkIntervalMs: 60_000,
        sendInitialEvents: false,
        timeoutSeconds: undefined,
        table: undefined,
        signal: gone.signal,
      },
      source,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const answered = new Promise<void>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/watch' }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(await within(5_000, closed), undefined, 'the watcher is closed');
  t.equal(await within(5_000, answered), undefined, 'the response ends');
  t.equal(await within(5_000, served), undefined, 'serving the watch is over');
});
