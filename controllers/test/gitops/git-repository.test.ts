// GitRepository against a real API server and real git: a file:// and a smart-HTTP source (basic and bearer
// auth) are fetched into artifacts named `<ref>@sha1:<commit>`; a new commit moves the revision through the
// same shallow clone (never a re-clone); tags, semver ranges and commits pin what is fetched; ignore patterns
// leave files out; a bad ref or bad credentials say so in conditions and keep the last artifact.
import { execFileSync } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { eventually, freePort } from '@berth/testkit';
import { createRepo, startGitDaemon, startGitHttp, startSshd } from './git-fixtures.js';
import { condition, gitRepository, repoPath, startGitOps, type GitOpsHarness, type Obj } from './harness.js';

const ns = 'default';
const repos = `/apis/berth.dev/v1alpha1/namespaces/${ns}/gitrepositories`;

async function waitFor(h: GitOpsHarness, name: string, check: (o: Obj) => boolean, ms = 20_000): Promise<Obj> {
  let last: Obj | undefined;
  const ok = await eventually(async () => {
    last = await h.get(repoPath(ns, name));
    return last !== undefined && check(last);
  }, ms);
  if (!ok) throw new Error(`${name} never matched; last status: ${JSON.stringify(last?.status)}`);
  return last!;
}

t.test('a file:// source: artifact, new commits through the same shallow clone, ignore', async (t) => {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const c1 = await repo.commit({ 'app/a.yaml': 'a: 1\n', 'docs/readme.md': 'hi\n', 'secret.txt': 'x' });

  await h.post(
    repos,
    gitRepository('src', { url: repo.url, ref: { branch: 'main' }, interval: '1s', ignore: 'docs/\n*.txt' }),
  );
  let obj = await waitFor(h, 'src', (o) => condition(o, 'Ready')?.status === 'True');
  t.equal(obj.status?.artifact?.revision, `main@sha1:${c1}`, 'revision is <branch>@sha1:<commit>');
  t.match(obj.status?.artifact?.digest, /^sha256:[0-9a-f]{64}$/);
  t.equal(obj.status?.observedGeneration, obj.metadata.generation);
  t.equal(condition(obj, 'Ready')?.reason, 'Succeeded');
  const artifact = join(h.dataDir, obj.status!.artifact!.path);
  t.equal(await readFile(join(artifact, 'app/a.yaml'), 'utf8'), 'a: 1\n');
  t.same((await readdir(artifact)).sort(), ['app'], 'docs/ and *.txt are ignored');

  const clone = join(h.dataDir, 'repositories', ns, 'src');
  const cloneIno = (await stat(clone)).ino;
  t.ok((await stat(join(clone, 'shallow'))).isFile(), 'the clone is shallow');

  const c2 = await repo.commit({ 'app/a.yaml': 'a: 2\n' });
  obj = await waitFor(h, 'src', (o) => o.status?.artifact?.revision === `main@sha1:${c2}`);
  t.equal(await readFile(join(h.dataDir, obj.status!.artifact!.path, 'app/a.yaml'), 'utf8'), 'a: 2\n');
  t.equal((await stat(clone)).ino, cloneIno, 'the same clone was fetched into, not re-cloned');
  t.match(await readFile(join(clone, 'shallow'), 'utf8'), c2, 'depth 1: the new tip is a shallow boundary');
  const held = execFileSync('git', ['-C', clone, 'rev-list', '--count', 'refs/gitops/current'], { encoding: 'utf8' });
  t.equal(held.trim(), '1', 'only the fetched commit, not its history');
});

t.test('tags, semver ranges and pinned commits choose the revision', async (t) => {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const c1 = await repo.commit({ 'v.txt': '1.0.0' });
  await repo.git('tag', 'v1.0.0');
  const c2 = await repo.commit({ 'v.txt': '1.4.0' });
  await repo.git('tag', '-a', '-m', 'annotated', 'v1.4.0');
  const c3 = await repo.commit({ 'v.txt': '2.0.0' });
  await repo.git('tag', 'v2.0.0');

  await h.post(repos, gitRepository('tag', { url: repo.url, ref: { tag: 'v1.0.0' }, interval: '1m' }));
  await h.post(repos, gitRepository('range', { url: repo.url, ref: { semver: '>=1.0.0 <2.0.0' }, interval: '1m' }));
  await h.post(repos, gitRepository('commit', { url: repo.url, ref: { branch: 'main', commit: c1 }, interval: '1m' }));
  await h.post(repos, gitRepository('bare-commit', { url: repo.url, ref: { commit: c2 }, interval: '1m' }));
  const ready = (o: Obj) => condition(o, 'Ready')?.status === 'True';
  t.equal((await waitFor(h, 'tag', ready)).status?.artifact?.revision, `v1.0.0@sha1:${c1}`);
  t.equal(
    (await waitFor(h, 'range', ready)).status?.artifact?.revision,
    `v1.4.0@sha1:${c2}`,
    'the highest tag in the range, peeled to its commit',
  );
  t.equal((await waitFor(h, 'commit', ready)).status?.artifact?.revision, `main@sha1:${c1}`);
  t.equal((await waitFor(h, 'bare-commit', ready)).status?.artifact?.revision, `sha1:${c2}`);
  t.not(c3, c2);

  await h.post(repos, gitRepository('bad-range', { url: repo.url, ref: { semver: 'not a range' } }));
  const bad = await waitFor(h, 'bad-range', (o) => condition(o, 'Stalled')?.status === 'True');
  t.equal(condition(bad, 'Stalled')?.reason, 'InvalidSpec');
  t.match(condition(bad, 'Ready')?.message, /semver/);
});

t.test('a missing branch fails the fetch, keeps the last artifact and recovers', async (t) => {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const c1 = await repo.commit({ 'a.yaml': 'a: 1\n' });
  await h.post(repos, gitRepository('src', { url: repo.url, interval: '1s' }));
  await waitFor(h, 'src', (o) => o.status?.artifact?.revision === `main@sha1:${c1}`);
  await h.patch(repoPath(ns, 'src'), { spec: { ref: { branch: 'nope' } } });
  const failed = await waitFor(h, 'src', (o) => condition(o, 'FetchFailed')?.status === 'True');
  t.equal(condition(failed, 'Ready')?.status, 'False');
  t.equal(condition(failed, 'FetchFailed')?.reason, 'GitOperationFailed');
  t.match(condition(failed, 'FetchFailed')?.message, /nope/, 'the message names the ref');
  t.equal(condition(failed, 'Reconciling')?.status, 'True');
  t.equal(failed.status?.artifact?.revision, `main@sha1:${c1}`, 'the last artifact stays');

  await repo.git('branch', 'nope');
  const ok = await waitFor(h, 'src', (o) => condition(o, 'Ready')?.status === 'True');
  t.equal(ok.status?.artifact?.revision, `nope@sha1:${c1}`);
  t.notOk(condition(ok, 'FetchFailed'), 'FetchFailed is removed once a fetch works');
});

t.test('smart HTTP on loopback with basic auth and bearer tokens from a Secret', async (t) => {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const c1 = await repo.commit({ 'a.yaml': 'a: 1\n' });
  const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
  const server = await startGitHttp(tmpdir(), basic);
  t.teardown(() => server.close());
  const bearerServer = await startGitHttp(tmpdir(), 'Bearer tok-123');
  t.teardown(() => bearerServer.close());

  const secret = (name: string, stringData: Record<string, string>) =>
    h.post(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData });
  await secret('basic', { username: 'alice', password: 's3cret' });
  await secret('wrong', { username: 'alice', password: 'nope' });
  await secret('bearer', { bearerToken: 'tok-123' });

  await h.post(repos, gitRepository('basic', { url: server.urlFor(repo), secretRef: { name: 'basic' } }));
  await h.post(repos, gitRepository('bearer', { url: bearerServer.urlFor(repo), secretRef: { name: 'bearer' } }));
  await h.post(repos, gitRepository('wrong', { url: server.urlFor(repo), secretRef: { name: 'wrong' } }));
  await h.post(repos, gitRepository('missing', { url: server.urlFor(repo), secretRef: { name: 'absent' } }));
  const ready = (o: Obj) => condition(o, 'Ready')?.status === 'True';
  t.equal((await waitFor(h, 'basic', ready)).status?.artifact?.revision, `main@sha1:${c1}`);
  t.equal((await waitFor(h, 'bearer', ready)).status?.artifact?.revision, `main@sha1:${c1}`);
  t.ok(
    server.requests.some((r) => r.authorization === basic),
    'git sent the basic credentials',
  );
  const wrong = await waitFor(h, 'wrong', (o) => condition(o, 'FetchFailed')?.status === 'True');
  t.equal(condition(wrong, 'FetchFailed')?.reason, 'AuthenticationFailed');
  const missing = await waitFor(h, 'missing', (o) => condition(o, 'FetchFailed')?.status === 'True');
  t.equal(condition(missing, 'FetchFailed')?.reason, 'AuthenticationFailed');
  t.match(condition(missing, 'FetchFailed')?.message, /secret default\/absent not found/);
});

t.test('ssh with a key and known_hosts from a Secret; an unknown host key is refused', async (t) => {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const c1 = await repo.commit({ 'a.yaml': 'a: 1\n' });
  const sshd = await startSshd(await freePort());
  t.teardown(() => sshd.close());
  const secret = (name: string, stringData: Record<string, string>) =>
    h.post(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData });
  await secret('ssh', { identity: sshd.clientKey, known_hosts: sshd.knownHosts });
  // Another server's key under this address: a man in the middle, as far as ssh can tell.
  const otherHost = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  await secret('stranger', {
    identity: sshd.clientKey,
    known_hosts: `${sshd.knownHosts.split(' ')[0]} ${otherHost}\n`,
  });
  await secret('no-hosts', { identity: sshd.clientKey });

  await h.post(repos, gitRepository('ssh', { url: sshd.urlFor(repo), secretRef: { name: 'ssh' } }));
  await h.post(repos, gitRepository('stranger', { url: sshd.urlFor(repo), secretRef: { name: 'stranger' } }));
  await h.post(repos, gitRepository('no-hosts', { url: sshd.urlFor(repo), secretRef: { name: 'no-hosts' } }));
  const ok = await waitFor(h, 'ssh', (o) => condition(o, 'Ready')?.status === 'True', 30_000);
  t.equal(ok.status?.artifact?.revision, `main@sha1:${c1}`, 'fetched over ssh');
  const stranger = await waitFor(h, 'stranger', (o) => condition(o, 'FetchFailed')?.status === 'True', 30_000);
  t.equal(condition(stranger, 'FetchFailed')?.reason, 'AuthenticationFailed');
  t.match(condition(stranger, 'FetchFailed')?.message, /host key verification failed/i);
  const noHosts = await waitFor(h, 'no-hosts', (o) => condition(o, 'FetchFailed')?.status === 'True');
  t.match(condition(noHosts, 'FetchFailed')?.message, /has an identity but no known_hosts/);
});

t.test('a repository larger than the artifact limit fails with ArtifactFailed', async (t) => {
  const h = await startGitOps({ maxArtifactBytes: 1000 });
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  await repo.commit({ 'big.bin': 'x'.repeat(5000) });
  await h.post(repos, gitRepository('big', { url: repo.url }));
  const big = await waitFor(h, 'big', (o) => condition(o, 'FetchFailed')?.status === 'True');
  t.equal(condition(big, 'FetchFailed')?.reason, 'ArtifactFailed');
  t.match(condition(big, 'FetchFailed')?.message, /larger than the limit of 1000 bytes/);
});

t.test('git:// from git daemon on loopback', async (t) => {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const c1 = await repo.commit({ 'a.yaml': 'a: 1\n' });
  const daemon = await startGitDaemon(tmpdir(), await freePort());
  t.teardown(() => daemon.close());
  const url = `${daemon.url}/${repo.dir.slice(tmpdir().length + 1)}`;
  // The daemon answers a moment after it starts: the source retries until it does.
  await h.post(repos, gitRepository('daemon', { url, interval: '1s' }));
  const ok = await waitFor(h, 'daemon', (o) => condition(o, 'Ready')?.status === 'True', 30_000);
  t.equal(ok.status?.artifact?.revision, `main@sha1:${c1}`);
});
