// Errors as docker users expect them, against a real berth (API server, controllers, node agent with crun, busybox
// from a loopback registry): one line each, and docker run's exit codes (125 berth's own, 126 not runnable, 127
// not found). Needs root, crun, conmon.

import t from 'tap';
import type { Container } from '@berth/api';
import { request, startTestCluster } from '@berth/testkit';
import { berth } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;

async function getContainer(name: string): Promise<Container | undefined> {
  const res = await request(server, 'GET', `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}`);
  return res.status === 200 ? res.json<Container>() : undefined;
}

t.test('failures exit as docker run does: 125 berth, 126 not runnable, 127 not found', async (t) => {
  const notFound = await berth(server, ['run', '--name', 'nocmd', image, 'no-such-command']);
  t.equal(notFound.code, 127, notFound.stderr);
  t.match(notFound.stderr, /(^|\n)berth: failed to start container nocmd: .*no-such-command.*\n$/, 'one line says why');
  const notRunnable = await berth(server, ['run', '--rm', image, '/etc/passwd']);
  t.equal(notRunnable.code, 126, notRunnable.stderr);
  const badFlag = await berth(server, ['run', '--bogus', image]);
  t.equal(badFlag.code, 125);
  t.match(badFlag.stderr, /unknown option '--bogus'/);
  const badPort = await berth(server, ['run', '-p', '99999:80', image]);
  t.equal(badPort.code, 125);
  t.match(badPort.stderr, /^berth: invalid -p "99999:80": host port 99999 is not a port/);
  t.equal((await berth(server, ['run', '--name', 'once', image, 'true'])).code, 0);
  const clash = await berth(server, ['run', '--name', 'once', image, 'true']);
  t.equal(clash.code, 125);
  t.match(clash.stderr, /^berth: Conflict\. The container name "once" is already in use/);
  const noNetwork = await berth(server, ['run', '--network', 'nowhere', image, 'true']);
  t.equal(noNetwork.code, 125);
  t.match(noNetwork.stderr, /^berth: network nowhere not found\n$/);
  const noImage = await berth(server, [
    'run',
    '--name',
    'noimage',
    `${image.split('/')[0]}/library/nothing:here`,
    'true',
  ]);
  t.equal(noImage.code, 125, noImage.stderr);
  t.match(noImage.stderr, /(^|\n)berth: Unable to pull .*nothing:here.*\n$/);
  t.equal(await getContainer('noimage'), undefined, 'nothing is left when the image cannot be pulled');
});

t.test("an unknown command: docker's wording, with what was probably meant", async (t) => {
  const typo = await berth(server, ['rnu', image]);
  t.equal(typo.code, 1);
  t.equal(typo.stderr, "berth: 'rnu' is not a berth command.\nDid you mean this?\n\trun\nSee 'berth --help'\n");
  const far = await berth(server, ['frobnicate']);
  t.equal(far.stderr, "berth: 'frobnicate' is not a berth command.\nSee 'berth --help'\n");
  const help = await berth(server, ['--help']);
  t.equal(help.code, 0);
  for (const command of [
    'run',
    'ps',
    'stop',
    'start',
    'rm',
    'inspect',
    'version',
    'volume',
    'network',
    'logs',
    'exec',
    'up',
  ])
    t.match(help.stdout, new RegExp(`\\n  ${command}\\b`), `--help lists ${command}`);
  // docker's --version: the client's alone, with no kubeconfig to reach a server by.
  const version = await berth(server, ['--version'], { env: { KUBECONFIG: '/nonexistent' } });
  t.equal(version.code, 0, version.stderr);
  t.match(version.stdout, /^berth version \d+\.\d+\.\d+\n$/);
});

t.test('API errors are one line; an unreachable server says what to do', async (t) => {
  const logs = await berth(server, ['logs', 'nope']);
  t.equal(logs.code, 1);
  t.match(logs.stderr, /^berth: containers\.berth\.dev "nope" not found\n$/);
  const invalid = await berth(server, ['volume', 'create', 'Bad_Name']);
  t.equal(invalid.code, 125);
  t.match(invalid.stderr, /^berth: invalid volume name "Bad_Name": .*\n$/);
  const kubeconfig = `${server.dir}/unreachable.kubeconfig`;
  const { readFile, writeFile } = await import('node:fs/promises');
  const port = new URL(server.url).port;
  await writeFile(kubeconfig, (await readFile(server.kubeconfig, 'utf8')).replace(`:${port}`, ':1'));
  const unreachable = await berth(server, ['ps'], { env: { KUBECONFIG: kubeconfig } });
  t.equal(unreachable.code, 1);
  t.match(
    unreachable.stderr,
    /^berth: cannot reach berth at https:\/\/127\.0\.0\.1:1: is `berth up` running\? \(.*ECONNREFUSED.*\)\n$/,
  );
});
