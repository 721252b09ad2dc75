// Registry client against registries that want credentials (htpasswd, bearer tokens) or speak TLS with a private CA.
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ImageStore } from '../../src/images/image-store.js';
import { RegistryError } from '../../src/distribution/errors.js';
import type { DockerConfigJson } from '../../src/distribution/auth.js';
import { freePort, pushBusybox, startRegistry } from '@berth/testkit';

const execFileAsync = promisify(execFile);
const work = await mkdtemp(join(tmpdir(), 'berth-auth-test-'));
t.teardown(() => rm(work, { recursive: true, force: true }));

function dockerConfig(host: string, user: string, password: string): DockerConfigJson {
  return { auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } };
}

async function newStore(options: ConstructorParameters<typeof ImageStore>[0] = {}): Promise<ImageStore> {
  const root = await mkdtemp(join(work, 'root-'));
  const store = new ImageStore({ ...options, root });
  t.teardown(() => store.close());
  return store;
}

async function errorOf(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!RegistryError.isInstance(error)) throw new Error(`expected a RegistryError, got ${String(error)}`);
  return error;
}

t.test('basic auth (htpasswd)', async (t) => {
  const htpasswd = join(work, 'htpasswd');
  const { stdout } = await execFileAsync('htpasswd', ['-Bbn', 'alice', 's3cret']);
  await writeFile(htpasswd, stdout);
  const registry = await startRegistry(t, { htpasswd });
  const digest = await pushBusybox(t, registry.address, { BERTH_REGISTRY_CREDS: 'alice:s3cret' });
  const image = `${registry.address}/library/busybox:latest`;
  const store = await newStore();

  const anonymous = await errorOf(store.pull(image));
  t.equal(anonymous.code, 'UNAUTHORIZED');
  t.match(anonymous.message, `registry ${registry.address} requires credentials to pull library/busybox`);

  const wrong = await errorOf(store.pull(image, { credentials: dockerConfig(registry.address, 'alice', 'wrong') }));
  t.equal(wrong.code, 'UNAUTHORIZED');
  t.match(wrong.message, 'rejected the credentials of user alice');

  const otherHost = await errorOf(store.pull(image, { credentials: dockerConfig('127.0.0.2:1', 'alice', 's3cret') }));
  t.equal(otherHost.code, 'UNAUTHORIZED', 'credentials for another registry are not sent');

  const pulled = await store.pull(image, {
    credentials: dockerConfig(`http://${registry.address}/v1/`, 'alice', 's3cret'),
  });
  t.equal(pulled.digest, digest);
});

t.test('bearer token auth against a token server the registry trusts', async (t) => {
  // A token issuer: ES256 JWTs whose x5c certificate is the registry's rootcertbundle.
  const key = join(work, 'token.key');
  const cert = join(work, 'token.crt');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=berth-test-token',
  ]);
  const keyPem = await readFile(key, 'utf8');
  const x5c = Buffer.from(new X509Certificate(await readFile(cert)).raw).toString('base64');
  const issued: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    const user = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : '';
    if (user !== 'bob:hunter2') {
      res.writeHead(401).end('{"details":"bad credentials"}');
      return;
    }
    const access = url.searchParams.getAll('scope').map((scope) => {
      const [type, name, actions] = scope.split(':');
      return { type, name, actions: (actions ?? '').split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const header = b64({ alg: 'ES256', typ: 'JWT', x5c: [x5c] });
    const claims = b64({
      iss: 'berth-test-issuer',
      sub: 'bob',
      aud: url.searchParams.get('service'),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    });
    const signature = createSign('sha256')
      .update(`${header}.${claims}`)
      .sign({ key: keyPem, dsaEncoding: 'ieee-p1363' })
      .toString('base64url');
    const token = `${header}.${claims}.${signature}`;
    issued.push(url.searchParams.getAll('scope').join(' '));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  const tokenPort = await freePort();
  await new Promise<void>((resolve) => server.listen(tokenPort, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const registry = await startRegistry(t, {
    token: {
      realm: `http://127.0.0.1:${tokenPort}/token`,
      service: 'berth-test-registry',
      issuer: 'berth-test-issuer',
      rootCertBundle: cert,
    },
  });
  const digest = await pushBusybox(t, registry.address, { BERTH_REGISTRY_CREDS: 'bob:hunter2' });
  const image = `${registry.address}/library/busybox:latest`;
  const store = await newStore();

  const anonymous = await errorOf(store.pull(image));
  t.equal(anonymous.code, 'UNAUTHORIZED');
  t.match(anonymous.message, 'refused an anonymous token');

  const wrong = await errorOf(store.pull(image, { credentials: dockerConfig(registry.address, 'bob', 'nope') }));
  t.equal(wrong.code, 'UNAUTHORIZED');
  t.match(wrong.message, 'rejected the credentials of user bob');

  issued.length = 0;
  const pulled = await store.pull(image, { credentials: dockerConfig(registry.address, 'bob', 'hunter2') });
  t.equal(pulled.digest, digest);
  t.same(issued, ['repository:library/busybox:pull'], 'one token, pull scope only, reused for every request');
});

t.test('HTTPS with a private CA', async (t) => {
  const ca = join(work, 'ca.crt');
  const caKey = join(work, 'ca.key');
  const serverKey = join(work, 'server.key');
  const csr = join(work, 'server.csr');
  const serverCert = join(work, 'server.crt');
  const ext = join(work, 'server.ext');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '1',
    '-subj',
    '/CN=berth test CA',
  ]);
  await execFileAsync('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    serverKey,
    '-out',
    csr,
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(ext, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await execFileAsync('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    serverCert,
    '-days',
    '1',
    '-extfile',
    ext,
  ]);
  const registry = await startRegistry(t, { tls: { cert: serverCert, key: serverKey } });
  const digest = await pushBusybox(t, registry.address);
  const image = `${registry.address}/library/busybox:latest`;
  const https = () => false;

  const untrusted = await newStore({ registry: { plainHttp: https } });
  const error = await errorOf(untrusted.pull(image));
  t.equal(error.code, 'REGISTRY_UNREACHABLE');
  t.match(error.message, `TLS certificate of registry ${registry.address} is not trusted`);

  const trusted = await newStore({ registry: { plainHttp: https, ca: await readFile(ca, 'utf8') } });
  const pulled = await trusted.pull(image);
  t.equal(pulled.digest, digest);
});
