// Aggregated ClusterRoles as kubectl shows them: `view`, `edit` and `admin` carry the rules of the roles their
// aggregationRule selects (admin ⊇ edit ⊇ view), and a ClusterRole labelled aggregate-to-view joins view's rules,
// and leaves them when deleted.
import t from 'tap';
import { eventually, startTestServer } from '@berth/testkit';

const server = await startTestServer({ controllers: false });
t.teardown(() => server.close());

interface Rule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
}
const rulesOf = async (role: string): Promise<Rule[]> => {
  const r = await server.kubectl(['get', 'clusterrole', role, '-o', 'json']);
  return (JSON.parse(r.stdout) as { rules?: Rule[] }).rules ?? [];
};
const grants = (rules: Rule[], verb: string, group: string, resource: string) =>
  rules.some((r) => r.verbs.includes(verb) && r.apiGroups?.includes(group) && r.resources?.includes(resource));

t.test('view, edit and admin show the rules they aggregate', async (t) => {
  const yaml = await server.kubectl(['get', 'clusterrole', 'view', '-o', 'yaml']);
  t.match(yaml.stdout, /aggregationRule:/);
  t.match(yaml.stdout, /- containers/);
  const view = await rulesOf('view');
  t.ok(grants(view, 'list', 'berth.dev', 'containers'), 'view lists containers');
  t.notOk(grants(view, 'get', '', 'secrets'), 'view does not read secrets');
  const edit = await rulesOf('edit');
  t.ok(grants(edit, 'delete', 'berth.dev', 'containers'), 'edit deletes containers');
  t.ok(grants(edit, 'list', 'berth.dev', 'containers'), 'edit has view');
  const admin = await rulesOf('admin');
  t.ok(grants(admin, 'create', 'rbac.authorization.k8s.io', 'rolebindings'), 'admin binds roles');
  t.ok(grants(admin, 'delete', 'berth.dev', 'containers'), 'admin has edit');
  t.ok(grants(admin, 'list', 'berth.dev', 'containers'), 'admin has view');
});

t.test('a ClusterRole labelled aggregate-to-view joins view, and edit and admin through it', async (t) => {
  const widgets = JSON.stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'widgets-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
    rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get', 'list'] }],
  });
  t.equal((await server.kubectl(['apply', '-f', '-'], { input: widgets })).code, 0);
  for (const role of ['view', 'edit', 'admin'])
    await eventually(async () => grants(await rulesOf(role), 'list', 'example.com', 'widgets'), 10_000);
  t.pass('view, edit and admin list widgets');
  t.equal((await server.kubectl(['delete', 'clusterrole', 'widgets-view'])).code, 0);
  await eventually(async () => !grants(await rulesOf('admin'), 'list', 'example.com', 'widgets'), 10_000);
  t.notOk(grants(await rulesOf('view'), 'list', 'example.com', 'widgets'));
});
