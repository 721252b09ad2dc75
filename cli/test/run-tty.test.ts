// `berth run -it`, `berth start -ai`, `berth stop` against a real berth (API server, controllers, node agent with
// crun, busybox from a loopback registry), the terminal a real pty (util-linux script). Needs root, crun, conmon.

import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, request, startTestCluster } from '@berth/testkit';
import { berthInTerminal } from './berth-process.js';

const cluster = await startTestCluster(t);
const { server, image } = cluster;

async function getContainer(name: string): Promise<Container | undefined> {
  const res = await request(server, 'GET', `/apis/berth.dev/v1alpha1/namespaces/default/containers/${name}`);
  return res.status === 200 ? res.json<Container>() : undefined;
}

t.test('-it: a real terminal (size, raw mode), exit stops the Container, start -ai brings it back', async (t) => {
  const session = berthInTerminal(server, ['run', '-it', '--name', 'shell', image, 'sh']);
  t.ok(await eventually(async () => (await getContainer('shell'))?.status?.phase === 'Running', 60_000), 'running');
  // Typed while the attach connects: the terminal keeps it until berth reads it.
  session.type('tty; stty size; echo "a$((40+2))b"; exit 5\n');
  const ended = await session.done;
  t.equal(ended.code, 5, `the shell's exit code: ${ended.stdout}`);
  t.match(ended.stdout, /\/dev\/pts\/\d+/, 'the shell has a terminal');
  t.match(ended.stdout, /33 91/, "of the user's terminal size");
  t.match(ended.stdout, /a42b/);
  const c = await getContainer('shell');
  t.equal(c?.status?.phase, 'Failed', 'exited, not removed');
  t.equal(c?.status?.exitCode, 5);

  const again = berthInTerminal(server, ['start', '-ai', 'shell'], { cols: 100, rows: 20 });
  t.ok(
    await eventually(async () => {
      const x = await getContainer('shell');
      return x?.status?.phase === 'Running' && x.status.observedGeneration === x.metadata.generation;
    }, 60_000),
    'running again',
  );
  again.type('stty size; exit 6\n');
  const second = await again.done;
  t.equal(second.code, 6, second.stdout);
  t.match(second.stdout, /20 100/);
});
