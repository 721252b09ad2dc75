// Secrets at rest as EncryptionConfiguration's aesgcm provider keeps them: the raw store holds no plaintext of a
// Secret (a ConfigMap, not configured, stays readable there), kubectl reads it back; after a key rotation the next
// start re-encrypts every Secret with the new key, so the old key can go, and a server missing the key refuses to
// start rather than serve garbage.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  ensureEncryptionConfig,
  LevelStore,
  parseEncryptionConfig,
  rotateEncryptionKey,
  type EncryptionConfig,
} from '@berth/apiserver';
import { startTestServer } from '@berth/testkit';

const dir = await mkdtemp(join(tmpdir(), 'berth-encryption-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const configFile = join(dir, 'encryption-config.yaml');
const first = await ensureEncryptionConfig(configFile);
const server = await startTestServer({ controllers: false, encryption: first });
t.teardown(() => server.close());

const plaintext = 'hunter2-plaintext-password';
const raw = async () => {
  await server.stop();
  const store = await LevelStore.open({ dir: join(server.dir, 'store') });
  try {
    const secrets = (await store.list({ prefix: '/registry/core/secrets/default/' })).items;
    const configMaps = (await store.list({ prefix: '/registry/core/configmaps/default/' })).items;
    return { secrets, configMaps };
  } finally {
    await store.close();
  }
};
const readBack = async () => (await server.kubectl(['get', 'secret', 'db', '-o', 'jsonpath={.data.password}'])).stdout;

t.test('the store holds ciphertext; kubectl reads the Secret', async (t) => {
  t.match(await readFile(configFile, 'utf8'), /kind: EncryptionConfiguration[\s\S]*aesgcm:[\s\S]*name: key1/);
  const create = await server.kubectl(['create', 'secret', 'generic', 'db', `--from-literal=password=${plaintext}`]);
  t.equal(create.code, 0, create.stderr);
  t.equal((await server.kubectl(['create', 'configmap', 'plain', `--from-literal=note=${plaintext}`])).code, 0);
  t.equal(Buffer.from(await readBack(), 'base64').toString(), plaintext);
  const listed = await server.kubectl(['get', 'secrets', '-o', 'jsonpath={.items[*].metadata.name}']);
  t.match(listed.stdout, /\bdb\b/);

  const { secrets, configMaps } = await raw();
  const db = secrets.find((s) => s.key.endsWith('/db'));
  t.ok(db, 'the Secret is stored');
  t.match(db?.value, /^k8s:enc:aesgcm:v1:key1:/);
  const b64 = Buffer.from(plaintext).toString('base64');
  for (const s of secrets) {
    t.notMatch(s.value, plaintext);
    t.notMatch(s.value, b64);
    t.notMatch(s.value, '"kind"');
  }
  // The same check on what is not encrypted finds the text: the check can fail.
  t.match(configMaps.find((c) => c.key.endsWith('/plain'))?.value, plaintext);
  await server.restart();
});

t.test('rotating the key re-encrypts on the next start; old Secrets stay readable', async (t) => {
  const name = await rotateEncryptionKey(configFile);
  t.equal(name, 'key2');
  const rotated = parseEncryptionConfig(await readFile(configFile, 'utf8'));
  await server.stop();
  await server.restart({ encryption: rotated });
  t.equal(Buffer.from(await readBack(), 'base64').toString(), plaintext);
  const after = await raw();
  t.match(after.secrets.find((s) => s.key.endsWith('/db'))?.value, /^k8s:enc:aesgcm:v1:key2:/);
  for (const s of after.secrets) t.match(s.value, /^k8s:enc:aesgcm:v1:key2:/, s.key);

  // Everything is under key2 now: key1 can go.
  const onlyNew: EncryptionConfig = {
    ...rotated,
    providers: rotated.providers.map((p) => (p.kind === 'aesgcm' ? { ...p, keys: p.keys.slice(0, 1) } : p)),
  };
  await server.restart({ encryption: onlyNew });
  t.equal(Buffer.from(await readBack(), 'base64').toString(), plaintext);
  await server.stop();
  // Without key2 the server cannot read what it sealed, and says so instead of starting.
  await t.rejects(server.restart({ encryption: first }), { code: 'BERTH_STORAGE_DECRYPT_FAILED' });
  await server.restart({ encryption: onlyNew });
});
