// ApiServer.start refuses options that cannot work before it touches the store or the network.

import t from 'tap';
import { BerthError, InvalidArgumentError } from '@berth/api';
import { ApiServer, ensurePki, type ApiServerOptions, type Store } from '@berth/apiserver';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

t.test('bad options are refused with InvalidArgumentError before any I/O', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-options-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = await ensurePki(dir, []);
  const touched: string[] = [];
  // A store that records every use: a refused start must not have read or watched anything.
  const store = new Proxy({} as Store, {
    get(_target, key) {
      touched.push(String(key));
      return () => {
        throw new Error(`store.${String(key)} used`);
      };
    },
  });
  const base: ApiServerOptions = { store, pki, host: '127.0.0.1', port: 0 };
  const bad: [Partial<ApiServerOptions>, RegExp][] = [
    [{ bookmarkIntervalMs: 0 }, /bookmarkIntervalMs must be an integer of at least 1, got 0/],
    [{ bookmarkIntervalMs: -5 }, /bookmarkIntervalMs/],
    [{ bookmarkIntervalMs: 1.5 }, /bookmarkIntervalMs/],
    [{ watchCacheCapacity: 0 }, /watchCacheCapacity/],
    [{ port: -1 }, /port/],
    [{ port: 70_000 }, /port must be at most 65535/],
    [{ host: '' }, /host must not be empty/],
  ];
  for (const [options, message] of bad) {
    const e = await ApiServer.start({ ...base, ...options }).then(
      () => undefined,
      (err: unknown) => err,
    );
    t.ok(InvalidArgumentError.isInstance(e), `${JSON.stringify(options)} refused with InvalidArgumentError`);
    t.ok(BerthError.isInstance(e) && e.code === 'BERTH_INVALID_ARGUMENT', 'code BERTH_INVALID_ARGUMENT');
    t.match((e as Error).message, message);
  }
  t.same(touched, [], 'the store was never touched');
});
