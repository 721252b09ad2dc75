// Events expire an hour after they last happened, like Kubernetes' one-hour Event TTL.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EventExpiry } from '../src/event-ttl/event-expiry.js';
import { LevelStore } from '../src/storage/level-store.js';

t.test('events older than the TTL are swept, newer ones stay', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-events-'));
  const store = await LevelStore.open({ dir });
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const now = Date.parse('2026-11-25T12:00:00Z');
  const event = (name: string, last: string) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default' }, lastTimestamp: last });
  await store.create('/registry/core/events/default/old', () => event('old', '2026-11-25T10:59:00Z'));
  await store.create('/registry/core/events/default/recent', () => event('recent', '2026-11-25T11:30:00Z'));
  await store.create('/registry/core/configmaps/default/keep', () => '{}');
  const expiry = new EventExpiry(store);
  t.equal(await expiry.sweep(now), 1);
  t.equal(await store.get('/registry/core/events/default/old'), undefined);
  t.ok(await store.get('/registry/core/events/default/recent'));
  t.ok(await store.get('/registry/core/configmaps/default/keep'));
  await expiry.close();
});
