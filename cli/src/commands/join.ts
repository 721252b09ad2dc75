// How `berth agent --server URL --token TOKEN` joins: it fetches the CA from /cacerts and checks it against the
// token's hash (k3s's `K10<hash>::` prefix; or the CA file it is given), makes its own key and asks the API server,
// with the bootstrap token, to sign a client certificate for `system:node:NAME` (a CertificateSigningRequest, as a
// kubelet bootstraps). The kubeconfig it writes holds that certificate: from then on the agent is the node, and the
// node authorizer applies. Given several servers, it joins through the first that answers and the kubeconfig lists
// them all, for the agent to fail over between. A data dir that already holds a kubeconfig has joined: it is used
// as it is.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createClientCertificateRequest } from '@berth/apiserver';
import { JoinError } from '../errors.js';
import { writeKubeconfig } from '../kubeconfig.js';
import { caHash } from './token.js';

export interface JoinOptions {
  /** The cluster's API servers (one is enough to join; the list is kept for failover). */
  readonly servers: readonly string[];
  readonly token: string;
  readonly nodeName: string;
  readonly dataDir: string;
  /** The cluster's CA, for a bare `ID.SECRET` token (one without the CA's hash). */
  readonly caFile?: string;
}

function send(
  url: URL,
  options: { method: string; ca?: string; token?: string; body?: unknown },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpsRequest(
      url,
      {
        method: options.method,
        // Only /cacerts is fetched unchecked, and it is checked against the token's hash before any use.
        ...(options.ca === undefined ? { rejectUnauthorized: false } : { ca: options.ca }),
        headers: {
          Accept: 'application/json',
          ...(options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` }),
          ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.once('error', (e) => reject(new JoinError(`cannot reach ${url.origin}: ${e.message}`, e, true)));
    req.end(payload);
  });
}

/** Joins the cluster unless `dataDir` already has; returns the agent's kubeconfig. */
export async function joinCluster(options: JoinOptions): Promise<string> {
  const kubeconfig = join(options.dataDir, 'kubeconfig');
  if (existsSync(kubeconfig)) return kubeconfig;
  let unreachable: JoinError | undefined;
  for (const server of options.servers) {
    try {
      await joinThrough(new URL(server), options, kubeconfig);
      return kubeconfig;
    } catch (e) {
      // Another server may answer; a refusal from one that answered is final.
      if (!(e instanceof JoinError && e.unreachable)) throw e;
      unreachable = e;
    }
  }
  throw unreachable ?? new JoinError('no server to join');
}

async function joinThrough(server: URL, options: JoinOptions, kubeconfig: string): Promise<void> {
  const m = /^K10([0-9a-f]{64})::(.+)$/.exec(options.token);
  const bearer = m === null ? options.token : (m[2] as string);
  let ca: string;
  if (options.caFile !== undefined) ca = await readFile(options.caFile, 'utf8');
  else if (m !== null) {
    const served = await send(new URL('/cacerts', server), { method: 'GET' });
    if (served.status !== 200 || caHash(served.text) !== m[1])
      throw new JoinError(`the CA ${server.origin} serves does not match the token's hash: not joining`);
    ca = served.text;
  } else throw new JoinError('a token without the CA hash (K10<hash>::) needs --ca-file');
  const user = `system:node:${options.nodeName}`;
  const { request, key } = await createClientCertificateRequest(user, ['system:nodes']);
  const answer = await send(new URL('/apis/certificates.k8s.io/v1/certificatesigningrequests', server), {
    method: 'POST',
    ca,
    token: bearer,
    body: {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { generateName: 'node-csr-' },
      spec: {
        request: Buffer.from(request).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
        usages: ['digital signature', 'client auth'],
      },
    },
  });
  const certificate = (() => {
    try {
      return (JSON.parse(answer.text) as { status?: { certificate?: string } }).status?.certificate;
    } catch {
      return undefined;
    }
  })();
  if (answer.status !== 201 || certificate === undefined)
    throw new JoinError(`the server refused the join (${answer.status}): ${answer.text.trim().slice(0, 300)}`);
  const cert = Buffer.from(certificate, 'base64').toString();
  await writeKubeconfig(kubeconfig, {
    name: 'berth',
    server: server.origin,
    servers: options.servers,
    caCert: ca,
    clientCertificate: { cert, key },
  });
}
