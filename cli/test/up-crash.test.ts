// `berth up` killed with SIGKILL at random moments under many concurrent writers loses no acknowledged write:
// every create answered 201 is there after restart, and resourceVersions never go backwards.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { freePort } from '@berth/testkit';
import { berthMain } from './berth-process.js';

// 10 kills in `npm test` (the suite's time is bounded); BERTH_CRASH_ROUNDS asks for a longer run.
const rounds = Number(process.env['BERTH_CRASH_ROUNDS'] ?? 10);
const writers = 32;

interface Cluster {
  server: string;
  token: string;
  ca: string;
}

async function readKubeconfig(path: string): Promise<Cluster> {
  const kc = parse(await readFile(path, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  return {
    server: kc.clusters[0]!.cluster.server,
    token: kc.users[0]!.user.token,
    ca: Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString(),
  };
}

function startBerth(dir: string, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        berthMain,
        'up',
        '--data-dir',
        dir,
        '--listen',
        `127.0.0.1:${port}`,
        '--kubeconfig',
        join(dir, 'kc'),
        '--no-agent',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('berth is up')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`berth up exited ${code}: ${out}`)));
  });
}

function call(
  c: Cluster,
  agent: Agent,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = request(
      new URL(path, c.server),
      { method, agent, headers: { Authorization: `Bearer ${c.token}`, 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', () => resolve({ status: 0, text }));
      },
    );
    req.on('error', () => resolve({ status: 0, text: '' }));
    req.end(body);
  });
}

const cmPath = '/api/v1/namespaces/default/configmaps';

t.test('no acknowledged write is lost across SIGKILLs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-crash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // One port for every round: each restart must come back where the kubeconfig points.
  const port = await freePort();
  const acked = new Map<string, number>();
  let highestRv = 0;
  let lost = 0;
  for (let round = 0; round < rounds; round++) {
    const child = await startBerth(dir, port);
    const cluster = await readKubeconfig(join(dir, 'kc'));
    const agent = new Agent({ keepAlive: true, ca: cluster.ca, maxSockets: writers });
    // Everything acknowledged before is still there, with a resourceVersion no lower than acknowledged.
    const list = JSON.parse((await call(cluster, agent, 'GET', cmPath)).text) as {
      metadata: { resourceVersion: string };
      items: { metadata: { name: string; resourceVersion: string } }[];
    };
    const present = new Map(list.items.map((i) => [i.metadata.name, Number(i.metadata.resourceVersion)]));
    for (const [name, rv] of acked) if ((present.get(name) ?? -1) < rv) lost++;
    t.ok(
      Number(list.metadata.resourceVersion) >= highestRv,
      `round ${round}: revision did not go backwards (${list.metadata.resourceVersion} >= ${highestRv})`,
    );
    let stop = false;
    let seq = 0;
    let ackedThisRound = 0;
    const write = async (w: number) => {
      while (!stop) {
        const name = `r${round}-w${w}-${seq++}`;
        const r = await call(
          cluster,
          agent,
          'POST',
          cmPath,
          JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { round: String(round) } }),
        );
        if (r.status === 201) {
          const rv = Number((JSON.parse(r.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
          acked.set(name, rv);
          ackedThisRound++;
          highestRv = Math.max(highestRv, rv);
        } else if (r.status === 0) return;
      }
    };
    const running = Array.from({ length: writers }, (_, w) => write(w));
    // Kill mid-load, not before it: a loaded machine may take a while to acknowledge the first writes.
    const loaded = Date.now() + 30_000;
    while (ackedThisRound < writers && Date.now() < loaded) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, Math.random() * 800));
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(running);
    agent.destroy();
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
  t.equal(lost, 0, `all ${acked.size} acknowledged creates survived ${rounds} SIGKILLs`);
  t.ok(acked.size >= rounds * writers, `a real load: ${acked.size} acknowledged writes`);
});
