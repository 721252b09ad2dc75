// berth's own small PKI, as k3s does it: a CA, a serving certificate for the API, an admin bearer token and the
// key that signs ServiceAccount tokens, generated once into the data dir and reused on every start.

import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/api';

export interface Pki {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminToken: string;
  /** PKCS#8 PEM of the ECDSA P-256 key ServiceAccount tokens are signed with (ES256). */
  readonly serviceAccountKey: string;
  readonly dir: string;
}

const files = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'server.crt',
  serverKey: 'server.key',
  adminToken: 'admin.token',
  serviceAccountKey: 'service-account.key',
} as const;

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Writes a secret file atomically with owner-only permissions. */
async function writePrivate(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * Loads the PKI in `dir/pki`, creating what is missing. The serving certificate covers loopback and `hosts`;
 * it is reissued when a host is missing from it.
 */
export async function ensurePki(dataDir: string, hosts: readonly string[]): Promise<Pki> {
  const dir = join(dataDir, 'pki');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const read = async (k: keyof typeof files) => readIfPresent(join(dir, files[k]));
  let [caCert, caKey, serverCert, serverKey, adminToken, serviceAccountKey] = await Promise.all([
    read('caCert'),
    read('caKey'),
    read('serverCert'),
    read('serverKey'),
    read('adminToken'),
    read('serviceAccountKey'),
  ]);
  if (serviceAccountKey === undefined) {
    const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    serviceAccountKey = await exportKey(keys.privateKey);
    await writePrivate(join(dir, files.serviceAccountKey), serviceAccountKey);
  }
  const wanted = [...new Set(['127.0.0.1', '::1', 'localhost', ...hosts])];
  if (adminToken === undefined) {
    adminToken = randomBytes(32).toString('base64url');
    await writePrivate(join(dir, files.adminToken), adminToken);
  }
  adminToken = adminToken.trim();
  if (
    caCert === undefined ||
    caKey === undefined ||
    serverCert === undefined ||
    serverKey === undefined ||
    !(await covers(serverCert, wanted))
  ) {
    const x509 = await loadX509();
    if (caCert === undefined || caKey === undefined) {
      const ca = await issueCa(x509);
      caCert = ca.cert;
      caKey = ca.key;
      await writePrivate(join(dir, files.caKey), caKey);
      await writeFile(join(dir, files.caCert), caCert);
    }
    const server = await issueServing(x509, caCert, caKey, wanted);
    serverCert = server.cert;
    serverKey = server.key;
    await writePrivate(join(dir, files.serverKey), serverKey);
    await writeFile(join(dir, files.serverCert), serverCert);
  }
  return { caCert, serverCert, serverKey, adminToken, serviceAccountKey, dir };
}

type X509 = typeof import('@peculiar/x509');

/** The X.509 library is loaded only when something must be issued, keeping normal start-up fast. */
async function loadX509(): Promise<X509> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as never);
  return x509;
}

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const years = (n: number) => new Date(Date.now() + n * 365 * 24 * 3600 * 1000);
const serial = () =>
  randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '1');

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

async function importKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return await webcrypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']);
}

async function issueCa(x509: X509): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=berth-ca@${Math.floor(Date.now() / 1000)}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: years(10),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: await exportKey(keys.privateKey) };
}

async function issueServing(
  x509: X509,
  caCertPem: string,
  caKeyPem: string,
  hosts: readonly string[],
): Promise<{ cert: string; key: string }> {
  const ca = new x509.X509Certificate(caCertPem);
  const caKey = await importKey(caKeyPem);
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=berth-apiserver',
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: years(2),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((h) => (isIP(h) === 0 ? { type: 'dns' as const, value: h } : { type: 'ip' as const, value: h })),
      ),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: await exportKey(keys.privateKey) };
}

/** Whether a serving certificate names every host (checked with Node's own parser, no library load). */
async function covers(certPem: string, hosts: readonly string[]): Promise<boolean> {
  const { X509Certificate } = await import('node:crypto');
  const cert = new X509Certificate(certPem);
  if (new Date(cert.validTo).getTime() < Date.now() + 7 * 24 * 3600 * 1000) return false;
  const san = cert.subjectAltName ?? '';
  return hosts.every(
    (h) =>
      san.includes(isIP(h) === 0 ? `DNS:${h}` : `IP Address:${h === '::1' ? '0:0:0:0:0:0:0:1' : h}`) ||
      (h === '::1' && san.includes('IP Address:::1')),
  );
}

/**
 * A client certificate signed by the CA in `pki.dir`: the API server reads its CN as the user name and each O as a
 * group, as Kubernetes does. For berth's components and for users an admin lets in.
 */
export async function issueClientCertificate(
  pki: Pki,
  user: string,
  groups: readonly string[] = [],
  validDays = 365,
): Promise<{ cert: string; key: string }> {
  const caKeyPem = await readFile(join(pki.dir, files.caKey), 'utf8');
  const x509 = await loadX509();
  const ca = new x509.X509Certificate(pki.caCert);
  const caKey = await importKey(caKeyPem);
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: new x509.Name([{ CN: [user] }, ...groups.map((g) => ({ O: [g] }))]),
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + validDays * 24 * 3600 * 1000),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: await exportKey(keys.privateKey) };
}

/**
 * A private key and a PKCS#10 request for a client certificate naming `user` (CN) and `groups` (O), for a node
 * agent joining with a bootstrap token: the key never leaves the agent, only the request does.
 */
export async function createClientCertificateRequest(
  user: string,
  groups: readonly string[],
): Promise<{ request: string; key: string }> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: new x509.Name([{ CN: [user] }, ...groups.map((g) => ({ O: [g] }))]),
    keys,
    signingAlgorithm: algorithm,
  });
  return { request: `${csr.toString('pem')}\n`, key: await exportKey(keys.privateKey) };
}

/** A request's subject as the API server reads certificates: CN the user, each O a group. */
export interface CertificateRequestSubject {
  readonly user: string;
  readonly groups: readonly string[];
}

/**
 * Signs a PKCS#10 request with the CA in `pki.dir`, after its signature verifies; `allow` sees the requested
 * subject first and throws to refuse it.
 */
export async function signClientCertificateRequest(
  pki: Pki,
  requestPem: string,
  allow: (subject: CertificateRequestSubject) => void,
  validDays = 365,
): Promise<string> {
  const x509 = await loadX509();
  const csr = new x509.Pkcs10CertificateRequest(requestPem);
  if (!(await csr.verify())) throw new InvalidArgumentError('the certificate request is not signed by its own key');
  const name = csr.subjectName.toJSON();
  const values = (type: string) => name.flatMap((rdn) => rdn[type] ?? []);
  const user = values('CN');
  if (user.length !== 1) throw new InvalidArgumentError('the certificate request must name exactly one CN');
  allow({ user: user[0] as string, groups: values('O') });
  const caKeyPem = await readFile(join(pki.dir, files.caKey), 'utf8');
  const ca = new x509.X509Certificate(pki.caCert);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: csr.subjectName,
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + validDays * 24 * 3600 * 1000),
    signingAlgorithm: algorithm,
    publicKey: await csr.publicKey.export(algorithm, ['verify']),
    signingKey: await importKey(caKeyPem),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
    ],
  });
  return `${cert.toString('pem')}\n`;
}
