// `berth service history` lists the revisions the service controller keeps for a Service, and `berth service
// rollback` puts the previous (or a named) revision's template back, against a real API server and controllers
// (no node agent: the revisions and the template are what is checked, not running replicas).
import { execFile } from 'node:child_process';
import t from 'tap';
import type { Service } from '@berth/api';
import { eventually, startTestServer } from '@berth/testkit';
import { berthMain } from './berth-process.js';

const ts = await startTestServer();
t.teardown(() => ts.close());

function berth(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [berthMain, ...args],
      { env: { ...process.env, KUBECONFIG: ts.kubeconfig, HOME: ts.dir } },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code ?? 1), stdout, stderr }),
    );
  });
}

const svc = (v: string) => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { image: 'busybox', env: [{ name: 'V', value: v }] } },
  },
});
const get = async () => JSON.parse((await ts.kubectl(['get', 'svc', 'web', '-o', 'json'])).stdout) as Service;
const revisionIs = (n: string) =>
  eventually(async () => (await get()).metadata.annotations?.['berth.dev/revision'] === n, 30_000);

t.test('history, rollback to the previous revision, then to a named one', async (t) => {
  t.equal((await ts.kubectl(['apply', '-f', '-'], { input: JSON.stringify(svc('1')) })).code, 0);
  t.ok(await revisionIs('1'));
  const hash1 = (await get()).status?.updateRevision;
  t.equal((await ts.kubectl(['apply', '-f', '-'], { input: JSON.stringify(svc('2')) })).code, 0);
  t.ok(await revisionIs('2'));
  const history = await berth(['service', 'history', 'web']);
  t.equal(history.code, 0, history.stderr);
  const lines = history.stdout.trim().split('\n');
  t.match(lines[0], /^REVISION\tTEMPLATE-HASH\tCREATED\tCURRENT$/);
  t.match(lines[1], new RegExp(`^1\t${hash1}\t\\S+\t$`));
  t.match(lines[2], /^2\t\S+\t\S+\t\*$/);

  const back = await berth(['service', 'rollback', 'web']);
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, /rollback to the previous revision requested/);
  t.ok(await revisionIs('3'), 'the old template is the newest revision again');
  const after = await get();
  t.same(after.spec.template.spec.env, [{ name: 'V', value: '1' }]);
  t.equal(after.status?.updateRevision, hash1);
  t.match((await berth(['service', 'history', 'web'])).stdout, /\n2\t\S+\t\S+\t\n3\t\S+\t\S+\t\*\n?$/);

  t.equal((await berth(['service', 'rollback', 'web', '--to-revision', '2'])).code, 0);
  t.ok(await revisionIs('4'));
  t.same((await get()).spec.template.spec.env, [{ name: 'V', value: '2' }]);
});

t.test('bad input: a revision that is not a number, a Service that does not exist', async (t) => {
  const bad = await berth(['service', 'rollback', 'web', '--to-revision', 'last']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--to-revision: "last" must be a revision number/);
  const missing = await berth(['service', 'history', 'nosuch']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /services.berth.dev "nosuch" not found/);
});
