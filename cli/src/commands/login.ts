// `berth login|logout [SERVER]`: registry credentials kept as docker keeps them in ~/.docker/config.json, but in
// the namespace's `kubernetes.io/dockerconfigjson` Secret `berth-registry-login`, which `berth run` names in
// imagePullSecrets so the node agent pulls with it. The credentials are checked against the registry first, as docker
// login checks them.

import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { ApiStatusError, CliError, UsageError } from '../errors.js';
import { checkLogin } from '../registry/login-check.js';

export const loginSecretName = 'berth-registry-login';
const dockerHub = 'https://index.docker.io/v1/';

interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; resourceVersion?: string };
  type: string;
  data?: Record<string, string>;
}
type Auths = Record<string, { auth: string }>;

const secretPath = (client: ApiClient, name?: string) =>
  `/api/v1/namespaces/${encodeURIComponent(client.namespace)}/secrets${name === undefined ? '' : `/${name}`}`;

async function readSecret(client: ApiClient): Promise<Secret | undefined> {
  try {
    return await client.request<Secret>('GET', secretPath(client, loginSecretName));
  } catch (e) {
    if (ApiStatusError.isInstance(e) && e.status === 404) return undefined;
    throw e;
  }
}

function authsOf(secret: Secret | undefined): Auths {
  const raw = secret?.data?.['.dockerconfigjson'];
  if (raw === undefined) return {};
  try {
    return ((JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { auths?: Auths }).auths ?? {}) as Auths;
  } catch {
    return {};
  }
}

async function writeAuths(client: ApiClient, existing: Secret | undefined, auths: Auths): Promise<void> {
  const secret: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: loginSecretName,
      ...(existing?.metadata.resourceVersion !== undefined
        ? { resourceVersion: existing.metadata.resourceVersion }
        : {}),
    },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') },
  };
  if (existing === undefined) await client.request('POST', secretPath(client), secret);
  else await client.request('PUT', secretPath(client, loginSecretName), secret);
}

/** The login Secret's name when the namespace has one, for a Container's imagePullSecrets. */
export async function loginSecret(client: ApiClient): Promise<string | undefined> {
  return (await readSecret(client)) === undefined ? undefined : loginSecretName;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

export interface LoginOptions {
  readonly namespace?: string;
  readonly username?: string;
  readonly password?: string;
  readonly passwordStdin?: boolean;
}

export async function login(
  server: string | undefined,
  options: LoginOptions,
  io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process,
): Promise<void> {
  if (options.username === undefined) throw new UsageError('berth login needs --username (it does not prompt)');
  if (options.password !== undefined && options.passwordStdin === true)
    throw new UsageError('--password and --password-stdin are mutually exclusive');
  let password = options.password;
  if (options.passwordStdin === true) password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  if (password === undefined || password === '')
    throw new UsageError('berth login needs --password or --password-stdin (it does not prompt)');
  if (options.password !== undefined)
    io.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  await checkLogin(server ?? dockerHub, options.username, password);
  const client = new ApiClient(await connectToApi(options.namespace));
  const existing = await readSecret(client);
  const auths = authsOf(existing);
  auths[server ?? dockerHub] = { auth: Buffer.from(`${options.username}:${password}`).toString('base64') };
  await writeAuths(client, existing, auths);
  io.stdout.write(`Login Succeeded (stored in Secret ${client.namespace}/${loginSecretName})\n`);
}

export async function logout(
  server: string | undefined,
  options: { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const existing = await readSecret(client);
  const auths = authsOf(existing);
  const key = server ?? dockerHub;
  if (!(key in auths)) throw new CliError('BERTH_CLI_API', `Not logged in to ${key}`);
  delete auths[key];
  await writeAuths(client, existing, auths);
  out.write(`Removing login credentials for ${key}\n`);
}
