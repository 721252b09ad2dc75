// `berth up` keeps the gitops controller's clones and artifacts under its data dir (DATA_DIR/gitops), so they
// live and go with berth's other state instead of in a fresh temp dir per run.

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '@berth/testkit';
import t from 'tap';
import { up } from '../src/commands/up.js';

const run = promisify(execFile);

t.test('a GitRepository fetched under berth up lands in DATA_DIR/gitops', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'berth-up-gitops-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const source = join(parent, 'source');
  const git = (...args: string[]) =>
    run('git', ['-C', source, '-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args]);
  await run('git', ['init', '--quiet', '-b', 'main', source]);
  await writeFile(join(source, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-git}\n');
  await git('add', '--all');
  await git('commit', '--quiet', '-m', 'one');

  const dataDir = join(parent, 'data');
  const berth = await up({ dataDir, listen: '127.0.0.1:0', kubeconfig: join(parent, 'kc'), agent: false });
  t.teardown(() => berth.close());
  const kubectl = (...args: string[]) =>
    run('kubectl', ['--kubeconfig', berth.kubeconfigPath, ...args], { env: { ...process.env, KUBECACHEDIR: parent } });
  const manifest = join(parent, 'repo.yaml');
  await writeFile(
    manifest,
    `apiVersion: berth.dev/v1alpha1\nkind: GitRepository\nmetadata: {name: site, namespace: default}\nspec: {url: "file://${source}", ref: {branch: main}, interval: 1m}\n`,
  );
  await kubectl('apply', '-f', manifest);
  const revision = async () =>
    (await kubectl('get', 'gitrepository', 'site', '-o', 'jsonpath={.status.artifact.revision}')).stdout;
  t.ok(
    await eventually(async () => /^main@sha1:[0-9a-f]{40}$/.test(await revision()), 60_000),
    'the source is fetched',
  );
  t.ok((await readdir(join(dataDir, 'gitops'))).length > 0, 'clones and artifacts are under DATA_DIR/gitops');
});
