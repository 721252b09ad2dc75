// Real crun + conmon containers, a real StreamingServer on a unix socket and a real API server relaying to it:
// `berth logs` / `berth exec` and raw clients see what a user would (root; Debian crun, conmon, python3, util-linux script).
import { execFile, spawn } from 'node:child_process';
import { appendFile, lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { WebSocket, type RawData } from 'ws';
import { assertBuilt, berthMain, makeDataRoot, repo, request, startTestServer, type TestServer } from '@berth/testkit';
import { prepareHost } from '../../src/host/prepare-host.js';
import { ConmonRuntime } from '../../src/runtime/conmon-runtime.js';
import type { ContainerConfig } from '../../src/runtime/runtime.js';
import { StreamingServer } from '../../src/streaming/streaming.js';

assertBuilt();
const NODE = 'node-streaming';

const host = await prepareHost();
const data = await makeDataRoot('berth-stream-');
const rt = new ConmonRuntime({ host, root: data.root, runtimeRoot: data.runtimeRoot });
const ts: TestServer = await startTestServer();
const socketPath = path.join(data.root, 'agent.sock');
// What the agent's reconcile loop knows: namespace/name → container id (the Container's uid).
const onNode = new Map<string, string>();
let server: StreamingServer | undefined;
t.teardown(async () => {
  await server?.close();
  for (const id of onNode.values()) await rt.delete(id, { force: true }).catch(() => undefined);
  await ts.close();
  await data.cleanup();
});
// The CLI's commands also run in this process (starting `berth` costs seconds under tsx): they read this.
process.env['KUBECONFIG'] = ts.kubeconfig;

// A stale socket (a killed agent's) is replaced by the next agent.
await promisify(execFile)('python3', [
  '-c',
  'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
  socketPath,
]);
server = new StreamingServer({ socketPath, lookup: (ns, name) => onNode.get(`${ns}/${name}`), runtime: rt });
await server.start();

async function api(method: string, p: string, body?: unknown, contentType = 'application/json') {
  const res = await request(ts, method, p, {
    ...(body === undefined ? {} : { body: JSON.stringify(body), contentType }),
  });
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${res.text}`);
  return res.json<{ metadata: { uid: string } }>();
}

await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
await api(
  'PATCH',
  `/api/v1/nodes/${NODE}/status`,
  { status: { daemonEndpoints: { agentEndpoint: { address: `unix:${socketPath}` } } } },
  'application/merge-patch+json',
);

/** A Container object bound to the node and, unless `apiOnly`, a real container for it under its uid. */
async function container(name: string, config: ContainerConfig, apiOnly = false): Promise<string> {
  const obj = await api('POST', '/apis/berth.dev/v1alpha1/namespaces/default/containers', {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name },
    spec: { image: '127.0.0.1:5000/library/busybox:latest', nodeName: NODE },
  });
  const id = obj.metadata.uid;
  if (apiOnly) return id;
  await data.rootfsFor(id);
  onNode.set(`default/${name}`, id);
  await rt.run(id, config);
  return id;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `berth ARGS` (the built CLI), against the test server's kubeconfig. */
function berth(
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<Run> & { stdout(): string; kill(): void } {
  const child = spawn(process.execPath, [berthMain, ...args], {
    cwd: repo,
    env: { ...process.env, KUBECONFIG: ts.kubeconfig, HOME: ts.dir },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  if (options.input !== undefined) child.stdin.end(options.input);
  else child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? -1 : 128), stdout, stderr });
    }),
  );
  return Object.assign(done, { stdout: () => stdout, kill: () => child.kill('SIGTERM') });
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(25);
  return check();
}

const logPath = (name: string, query = '') =>
  `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}/log${query}`;

await container('web', {
  args: ['sh', '-c', 'echo hello from web; echo oops >&2; while true; do sleep 0.2; echo tick; done'],
});

t.test('the streaming socket is private to its owner, and replaces only a stale socket', async (t) => {
  const st = await lstat(socketPath);
  t.ok(st.isSocket(), 'listening where a stale socket was');
  t.equal(st.mode & 0o777, 0o600);
  // A file that is not a socket is someone else's.
  const notASocket = path.join(data.root, 'not-a-socket');
  await writeFile(notASocket, 'keep me');
  await t.rejects(
    new StreamingServer({ socketPath: notASocket, lookup: () => undefined, runtime: rt }).start(),
    /not a socket/,
  );
  t.equal(await readFile(notASocket, 'utf8'), 'keep me');
});

/** `berth logs [flags] NAME` as a process, its stdout (it must succeed). */
async function logsOf(name: string, flags: readonly string[] = []): Promise<string> {
  const run = await berth(['logs', ...flags, name]);
  if (run.code !== 0) throw new Error(`berth logs failed (${run.code}): ${run.stderr}`);
  return run.stdout;
}

/** `berth exec [-i] NAME -- COMMAND` as a process, with `input` as its stdin. */
function execIn(name: string, command: string[], options: { stdin?: boolean } = {}, input = ''): Promise<Run> {
  return berth(['exec', ...(options.stdin === true ? ['-i'] : []), name, '--', ...command], { input });
}

/** The stderr of a berth run that must fail (a non-zero exit with a reason). */
async function failureOf(run: Promise<Run>): Promise<string> {
  const { code, stdout, stderr } = await run;
  if (code === 0) throw new Error(`berth succeeded where it should fail: ${stdout}`);
  return stderr;
}

t.test("berth logs and GET …/log?tailLines= show the container's output through the API server", async (t) => {
  await sleep(300);
  const all = await berth(['logs', 'web']);
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, /^hello from web\noops\n(tick\n)*$/, 'the berth binary prints stdout and stderr lines, in order');

  const tail = await request(ts, 'GET', logPath('web', '?tailLines=2'));
  t.equal(tail.status, 200);
  t.equal(tail.headers['content-type'], 'text/plain');
  t.equal(tail.text, 'tick\ntick\n', 'only the last two lines');

  const raw = await ts.kubectl(['get', '--raw', logPath('web', '?tailLines=1&timestamps=true')]);
  t.equal(raw.code, 0, raw.stderr);
  t.match(raw.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick\n$/, 'kubectl get --raw, with a timestamp');

  const limited = await request(ts, 'GET', logPath('web', '?limitBytes=8'));
  t.equal(limited.text, 'hello fr', 'limitBytes cuts the stream');

  t.match(await logsOf('web', ['--tail', '1', '--timestamps']), /^\S+Z tick\n$/, 'berth logs --tail 1 --timestamps');
  t.equal(await logsOf('web', ['-n', '2', '--namespace', 'default']), 'tick\ntick\n', "docker's -n is --tail in logs");
  const since = await logsOf('web', ['--since', '1s']);
  t.notMatch(since, /hello from web/, '--since leaves out older lines');
  t.match(since, /tick/);
});

t.test('follow streams new lines, and ends on its own when the container exits', async (t) => {
  const following = berth(['logs', '-f', '--tail', '1', 'web']);
  t.ok(
    await until(() => (following.stdout().match(/tick/g) ?? []).length >= 4),
    `new lines arrive while following: ${JSON.stringify(following.stdout())}`,
  );
  following.kill();
  await following;

  await container('short', { args: ['sh', '-c', 'echo first; sleep 1.5; echo second'] });
  const started = Date.now();
  t.equal(
    await logsOf('short', ['-f']),
    'first\nsecond\n',
    'the line written while following arrives, then the follow ends',
  );
  t.ok(Date.now() - started >= 1000, 'it waited for the second line');
});

t.test('berth exec runs in the container: its own pid 1, exit codes, stdin', async (t) => {
  const ps = await execIn('web', ['ps', '-o', 'pid,args']);
  t.equal(ps.code, 0, ps.stderr);
  const lines = ps.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim());
  t.match(lines[0], /^1 sh -c echo hello from web/, "pid 1 is the container's own process");

  const fail = await berth(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
  t.equal(fail.code, 7, "the remote exit code is the berth binary's exit code");
  t.equal(fail.stdout, 'out\n');
  t.equal(fail.stderr, 'err\n');

  const envCwd = await berth([
    'exec',
    '-e',
    'GREETING=hi there',
    '-e',
    'EMPTY=',
    '-w',
    '/tmp',
    'web',
    '--',
    'sh',
    '-c',
    'echo "$GREETING|$EMPTY|$(pwd)"',
  ]);
  t.equal(envCwd.stdout, 'hi there||/tmp\n', `docker exec's -e and -w reach the command: ${envCwd.stderr}`);
  const relative = await berth(['exec', '-w', 'tmp', 'web', '--', 'true']);
  t.not(relative.code, 0);
  t.match(relative.stderr, /absolute path/, 'a relative working directory is refused');
  const badName = await berth(['exec', '-e', '1BAD=x', 'web', '--', 'true']);
  t.not(badName.code, 0);
  t.match(badName.stderr, /env: invalid value "1BAD=x"/, "the agent refuses a name that is not a variable's");

  // docker exec -u: names and ids from the running container's own files, written after it started.
  await appendFile(
    path.join(data.root, 'containers', onNode.get('default/web') ?? '', 'rootfs/etc/group'),
    'staff:x:50:root,user\n',
  );
  const byName = await berth(['exec', '-u', 'user', 'web', '--', 'id']);
  t.equal(byName.stdout, 'uid=1000(user) gid=1000(user) groups=50(staff),1000(user)\n', `a name: ${byName.stderr}`);
  const byIds = await berth(['exec', '-u', '4242:tty', 'web', '--', 'sh', '-c', 'id -u; id -g; id -G']);
  t.equal(byIds.stdout, '4242\n5\n5\n', `an id no file lists, and a group name: ${byIds.stderr}`);
  const unknown = await berth(['exec', '-u', 'nosuch', 'web', '--', 'true']);
  t.equal(unknown.code, 126, "an unknown user exits as docker's exec that could not start");
  t.match(unknown.stderr, /unable to find user nosuch: no matching entries in passwd file/);
  const unknownGroup = await berth(['exec', '-u', 'user:nogroup', 'web', '--', 'true']);
  t.equal(unknownGroup.code, 126);
  t.match(unknownGroup.stderr, /unable to find group nogroup: no matching entries in group file/);

  const cat = await execIn('web', ['sh', '-c', 'cat; echo done'], { stdin: true }, 'piped through\n');
  t.equal(cat.code, 0, cat.stderr);
  t.equal(cat.stdout, 'piped through\ndone\n', 'stdin reaches the command and its end (v5 close) too');

  t.match(
    await failureOf(execIn('web', ['no-such-tool'])),
    /no-such-tool/,
    'a command that does not exist: a failure naming it',
  );
});

t.test('exec -u reads the users of what is mounted over /etc, as the container sees them', async (t) => {
  const etc = path.join(data.root, 'mounted-etc');
  await mkdir(etc, { recursive: true });
  await writeFile(path.join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nmounted:x:3333:3334::/:/bin/sh\n');
  await writeFile(path.join(etc, 'group'), 'root:x:0:\nmounted:x:3334:\nextra:x:3335:mounted\n');
  await container('etc-volume', {
    args: ['sleep', '600'],
    mounts: [{ destination: '/etc', source: etc, readOnly: true }],
  });
  const id = await berth(['exec', '-u', 'mounted', 'etc-volume', '--', 'sh', '-c', 'id -u; id -g; id -G']);
  t.equal(id.stdout, '3333\n3334\n3334 3335\n', `the mounted passwd and group: ${id.stderr}`);
  // The image's own users are under the mount, out of the container's sight.
  const hidden = await berth(['exec', '-u', 'user', 'etc-volume', '--', 'true']);
  t.equal(hidden.code, 126);
  t.match(hidden.stderr, /unable to find user user/);
});

t.test('tty exec: berth exec -it under a real terminal, and resize over the protocol', async (t) => {
  // util-linux `script` gives berth a pty as stdin/stdout, as a user's terminal would.
  // crun sets an exec's consoleSize only after it has let the process run (1.8 and its main branch alike), so a
  // command that reads the size at once can see 0x0 (busybox stty then prints nothing) until the size lands with a
  // SIGWINCH, as interactive programs take it. The command waits for it, at most 5 s.
  const sizeOnceSet =
    'i=0; while [ $i -lt 100 ]; do s=$(stty size 2>/dev/null); [ -n "$s" ] && break; i=$((i+1)); sleep 0.05; done; echo "size $s"';
  const cmd = `stty cols 91 rows 33; node ${berthMain} exec -it web -- sh -c 'tty; ${sizeOnceSet}; exit 4'`;
  const term = await new Promise<Run>((resolve) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      cwd: repo,
      env: { ...process.env, KUBECONFIG: ts.kubeconfig, HOME: ts.dir },
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr: '' });
    });
  });
  t.equal(term.code, 4, `exit code through script(1): ${term.stdout}`);
  t.match(term.stdout, /\/dev\/pts\/\d+/, 'the command has a terminal');
  t.match(term.stdout, /size 33 91/, "of the user's terminal size");

  const session = await openWebSocket('exec', 'command=sh&stdin=true&stdout=true&tty=true');
  t.equal(session.ws.protocol, 'v5.channel.k8s.io');
  session.send(4, JSON.stringify({ Width: 120, Height: 40 }));
  session.send(0, 'stty size\n');
  t.ok(await until(() => /40 120/.test(session.out())), `initial size: ${session.out()}`);
  session.send(4, JSON.stringify({ Width: 132, Height: 43 }));
  session.send(0, 'stty size; exit 3\n');
  const status = await session.status();
  t.match(session.out(), /43 132/, 'resized');
  t.match(status, {
    status: 'Failure',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
});

/** A raw remote-command client through the API server. */
async function openWebSocket(
  subresource: 'exec' | 'attach',
  query: string,
  protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'],
  name = 'web',
) {
  const url = new URL(
    `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}/${subresource}?${query}`,
    ts.url.replace('https', 'wss'),
  );
  const ws = new WebSocket(url, protocols, { ca: ts.caCert, headers: { Authorization: `Bearer ${ts.token}` } });
  let out = '';
  let err = '';
  let statusText = '';
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  ws.on('message', (d: RawData) => {
    const b = d as Buffer;
    if (b[0] === 1) out += b.subarray(1).toString();
    if (b[0] === 2) err += b.subarray(1).toString();
    if (b[0] === 3) statusText += b.subarray(1).toString();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return {
    ws,
    out: () => out,
    err: () => err,
    send: (channel: number, text: string | Buffer) => ws.send(Buffer.concat([Buffer.of(channel), Buffer.from(text)])),
    async status(): Promise<Record<string, unknown>> {
      await closed;
      return JSON.parse(statusText) as Record<string, unknown>;
    },
  };
}

t.test('the v4 protocol works too; v5 close ends stdin', async (t) => {
  const v4 = await openWebSocket('exec', 'command=echo&command=v4%20here&stdout=true&stderr=true', [
    'v4.channel.k8s.io',
  ]);
  t.equal(v4.ws.protocol, 'v4.channel.k8s.io');
  t.same(await v4.status(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
  t.equal(v4.out(), 'v4 here\n');

  const v5 = await openWebSocket('exec', 'command=wc&command=-c&stdin=true&stdout=true&stderr=true');
  v5.send(0, 'twelve bytes');
  v5.ws.send(Buffer.of(255, 0));
  t.match(await v5.status(), { status: 'Success' });
  t.equal(v5.out().trim(), '12');
});

t.test("attach: the container's own stdin and output, and its exit code at the end", async (t) => {
  await container('echoer', {
    args: ['sh', '-c', 'while read l; do [ "$l" = quit ] && exit 9; echo "got $l"; done'],
    stdin: true,
  });
  const a = await openWebSocket('attach', 'stdin=true&stdout=true&stderr=true', undefined, 'echoer');
  await sleep(100);
  a.send(0, 'hello\n');
  t.ok(await until(() => /got hello/.test(a.out())), a.out());
  a.send(0, 'quit\n');
  t.match(await a.status(), { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ message: '9' }] } });
});

t.test('unknown containers and bad requests get clean errors', async (t) => {
  const nope = await berth(['logs', 'nope']);
  t.equal(nope.code, 1);
  t.match(nope.stderr, /^berth: .*"nope" not found\n$/, "no Container object: the API server's NotFound, one line");

  await container('ghost', { args: ['true'] }, true);
  const ghostLogs = await request(ts, 'GET', logPath('ghost'));
  t.equal(ghostLogs.status, 404);
  t.match(ghostLogs.json(), {
    kind: 'Status',
    status: 'Failure',
    reason: 'NotFound',
    code: 404,
    details: { name: 'ghost', kind: 'containers' },
  });
  t.same(
    await failureOf(execIn('ghost', ['true'])),
    'berth: container "ghost" in namespace "default" is not running on this node\n',
  );

  const bad = await request(ts, 'GET', logPath('web', '?tailLines=-3'));
  t.equal(bad.status, 400);
  t.match(bad.json(), { kind: 'Status', reason: 'BadRequest', message: /tailLines/ });
  t.match(await failureOf(berth(['logs', '--since', 'yesterday', 'web'])), /--since: "yesterday" is not a duration/);

  await t.rejects(openWebSocket('exec', 'stdout=true'), /upgrade refused: 400/, 'exec without a command');
  await t.rejects(
    openWebSocket('exec', 'command=true&stdout=true', ['channel.k8s.io']),
    /upgrade refused: 400/,
    'an unsupported subprotocol',
  );

  await container('exited', { args: ['true'] });
  await sleep(500);
  t.match(await failureOf(execIn('exited', ['true'])), /^berth: container "exited" is not running/);
});

t.test('close() ends follows and sessions in progress and removes the socket', async (t) => {
  const own = path.join(data.root, 'second.sock');
  const second = new StreamingServer({
    socketPath: own,
    lookup: (ns, name) => onNode.get(`${ns}/${name}`),
    runtime: rt,
    pollMs: 20,
  });
  await second.start();
  const { request: httpRequest } = await import('node:http');
  let text = '';
  const ended = new Promise<string>((resolve) => {
    httpRequest({ socketPath: own, path: '/containers/default/web/log?follow=true&tailLines=0' }, (res) => {
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('close', () => resolve(`status ${res.statusCode}`));
    }).end();
  });
  const ws = new WebSocket(`ws+unix://${own}:/containers/default/web/exec?command=sleep&command=30&stdout=true`, [
    'v5.channel.k8s.io',
  ]);
  await new Promise((resolve) => ws.once('open', resolve));
  const wsClosed = new Promise((resolve) => ws.once('close', resolve));
  t.ok(await until(() => text.includes('tick')), 'following directly on the socket');
  await second.close();
  t.equal(await ended, 'status 200', 'the follow ended');
  await wsClosed;
  t.pass('the exec session ended');
  await t.rejects(lstat(own), { code: 'ENOENT' }, 'socket file removed');
  const sleeping = await execIn('web', ['sh', '-c', 'ps -o args | grep -c "^sleep 30" || true']);
  t.equal(sleeping.stdout.trim(), '0', "the exec'd process is gone");
});
