// RBAC as a user of kubectl sees it: a `view` user reads but cannot delete, exec or read Secrets (403 worded as
// Kubernetes words it), `kubectl auth can-i` and `--list` answer from the same rules, a RoleBinding takes effect
// without a restart, and nobody grants what they do not hold.

import t from 'tap';
import { eventually, startTestServer, type KubectlResult, type TestServer } from '@berth/testkit';

let ts: TestServer;
let viewer: string;
let editor: string;
t.before(async () => {
  ts = await startTestServer({ controllers: false });
  viewer = await ts.userKubeconfig('vera', { groups: ['viewers'] });
  editor = await ts.userKubeconfig('ed');
  const setup = await ts.kubectl(['create', 'configmap', 'settings', '--from-literal=a=b']);
  t.equal(setup.code, 0, setup.stderr);
  t.equal((await ts.kubectl(['create', 'secret', 'generic', 'hush', '--from-literal=k=v'])).code, 0);
  const bind = await ts.kubectl(['create', 'rolebinding', 'viewers', '--clusterrole=view', '--group=viewers']);
  t.equal(bind.code, 0, bind.stderr);
});
t.teardown(() => ts.close());

const as = (kubeconfig: string, args: string[]) => ts.kubectl(args, { env: { KUBECONFIG: kubeconfig } });
/** The authorizer follows RBAC objects through a watch: a new binding counts within moments, not at once. */
const soon = async (kubeconfig: string, args: string[], done: (r: KubectlResult) => boolean) => {
  let last: KubectlResult | undefined;
  await eventually(async () => done((last = await as(kubeconfig, args))));
  return last!;
};

t.test('a view user can get but not delete, and not read Secrets', async (t) => {
  const got = await soon(viewer, ['get', 'configmap', 'settings', '-o', 'name'], (r) => r.code === 0);
  t.equal(got.stdout.trim(), 'configmap/settings', got.stderr);
  const del = await as(viewer, ['delete', 'configmap', 'settings']);
  t.not(del.code, 0);
  t.match(
    del.stderr,
    'Error from server (Forbidden): configmaps "settings" is forbidden: User "vera" cannot delete resource "configmaps" in API group "" in the namespace "default"',
  );
  const secret = await as(viewer, ['get', 'secret', 'hush']);
  t.not(secret.code, 0);
  t.match(
    secret.stderr,
    'secrets "hush" is forbidden: User "vera" cannot get resource "secrets" in API group "" in the namespace "default"',
  );
  const list = await as(viewer, ['get', 'secrets']);
  t.match(
    list.stderr,
    'secrets is forbidden: User "vera" cannot list resource "secrets" in API group "" in the namespace "default"',
  );
  const other = await as(viewer, ['get', 'configmaps', '-n', 'kube-system']);
  t.match(other.stderr, 'cannot list resource "configmaps" in API group "" in the namespace "kube-system"');
  const cluster = await as(viewer, ['get', 'configmaps', '-A']);
  t.match(cluster.stderr, 'cannot list resource "configmaps" in API group "" at the cluster scope');
  const containers = await as(viewer, ['get', 'containers']);
  t.equal(containers.code, 0, 'berth kinds are aggregated into view');
});

t.test('kubectl auth can-i answers from the same rules', async (t) => {
  const yes = await as(viewer, ['auth', 'can-i', 'list', 'containers.berth.dev']);
  t.equal(yes.stdout.trim(), 'yes');
  t.equal(yes.code, 0);
  const no = await as(viewer, ['auth', 'can-i', 'delete', 'configmaps']);
  t.equal(no.stdout.trim(), 'no');
  t.equal(no.code, 1);
  const exec = await as(viewer, ['auth', 'can-i', 'create', 'containers/exec']);
  t.equal(exec.stdout.trim(), 'no', 'view cannot exec');
  const secrets = await as(viewer, ['auth', 'can-i', 'get', 'secrets']);
  t.equal(secrets.stdout.trim(), 'no');
  const elsewhere = await as(viewer, ['auth', 'can-i', 'get', 'configmaps', '-n', 'kube-system']);
  t.equal(elsewhere.stdout.trim(), 'no', 'the binding is in default only');
  const admin = await ts.kubectl(['auth', 'can-i', '*', '*']);
  t.equal(admin.stdout.trim(), 'yes', 'the admin (system:masters) may do anything');
  const asOther = await ts.kubectl(['auth', 'can-i', 'delete', 'configmaps', '--as=vera', '--as-group=viewers']);
  t.equal(asOther.stdout.trim(), 'no', `the admin impersonating vera is vera: ${asOther.stderr}`);
  const asOtherGet = await ts.kubectl([
    'get',
    'configmap',
    'settings',
    '-o',
    'name',
    '--as=vera',
    '--as-group=viewers',
  ]);
  t.equal(asOtherGet.stdout.trim(), 'configmap/settings', asOtherGet.stderr);
  const impostor = await as(editor, ['get', 'configmaps', '--as=vera']);
  t.match(
    impostor.stderr,
    'users "vera" is forbidden: User "ed" cannot impersonate resource "users" in API group "" at the cluster scope',
    'impersonating needs the impersonate verb',
  );
});

t.test('kubectl auth can-i --list lists the rules held in the namespace', async (t) => {
  const list = await as(viewer, ['auth', 'can-i', '--list']);
  t.equal(list.code, 0, list.stderr);
  const lines = list.stdout.split('\n');
  t.match(lines[0], /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/);
  t.ok(
    lines.some((l) => /^configmaps\s+\[\]\s+\[\]\s+\[get list watch\]/.test(l)),
    'configmaps get list watch',
  );
  t.ok(
    lines.some((l) => /^containers\.berth\.dev\s+\[\]\s+\[\]\s+\[get list watch\]/.test(l)),
    'containers get list watch',
  );
  t.ok(
    lines.some((l) => /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/.test(l)),
    'system:basic-user',
  );
  t.ok(
    lines.some((l) => /^\s+\[\/api\/\*\]\s+\[\]\s+\[get\]/.test(l)),
    'system:discovery',
  );
  t.notOk(
    lines.some((l) => l.startsWith('secrets')),
    'no Secrets',
  );
});

t.test('a user with no binding gets 403 on resources but may discover', async (t) => {
  const r = await as(editor, ['get', 'configmaps']);
  t.match(r.stderr, 'configmaps is forbidden: User "ed" cannot list resource "configmaps"');
  const api = await as(editor, ['api-resources', '--api-group=rbac.authorization.k8s.io', '-o', 'name']);
  t.equal(api.code, 0, api.stderr);
  t.match(api.stdout, 'clusterroles.rbac.authorization.k8s.io');
  const version = await as(editor, ['version', '-o', 'json']);
  t.equal(version.code, 0, version.stderr);
});

t.test('a RoleBinding takes effect at once, and deleting it takes it away', async (t) => {
  t.equal((await ts.kubectl(['create', 'rolebinding', 'ed-edit', '--clusterrole=edit', '--user=ed'])).code, 0);
  const deleted = await soon(editor, ['delete', 'configmap', 'settings'], (r) => r.code === 0);
  t.equal(deleted.code, 0, deleted.stderr);
  const secret = await as(editor, ['get', 'secret', 'hush', '-o', 'name']);
  t.equal(secret.stdout.trim(), 'secret/hush', 'edit reads Secrets');
  t.equal((await ts.kubectl(['delete', 'rolebinding', 'ed-edit'])).code, 0);
  const gone = await soon(editor, ['get', 'secret', 'hush'], (r) => r.code !== 0);
  t.match(gone.stderr, 'secrets "hush" is forbidden: User "ed" cannot get resource "secrets"');
});

t.test('escalation: nobody grants or binds what they do not hold', async (t) => {
  // ed may manage Roles and RoleBindings in default (and nothing else).
  const role = await ts.kubectl([
    'create',
    'role',
    'rbac-manager',
    '--verb=get,list,create,update,delete',
    '--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io',
  ]);
  t.equal(role.code, 0, role.stderr);
  t.equal((await ts.kubectl(['create', 'rolebinding', 'ed-rbac', '--role=rbac-manager', '--user=ed'])).code, 0);
  const may = await soon(editor, ['auth', 'can-i', 'create', 'roles'], (r) => r.stdout.trim() === 'yes');
  t.equal(may.stdout.trim(), 'yes', may.stderr);
  const grab = await as(editor, ['create', 'role', 'secret-reader', '--verb=get', '--resource=secrets']);
  t.not(grab.code, 0);
  t.match(
    grab.stderr,
    'roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "ed" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
  );
  const own = await as(editor, ['create', 'role', 'role-reader', '--verb=get', '--resource=roles']);
  t.equal(own.code, 0, `a role within what ed holds is fine: ${own.stderr}`);
  const bindAdmin = await as(editor, ['create', 'rolebinding', 'ed-admin', '--clusterrole=admin', '--user=ed']);
  t.not(bindAdmin.code, 0);
  t.match(bindAdmin.stderr, 'rolebindings.rbac.authorization.k8s.io "ed-admin" is forbidden: user "ed"');
  const bindOwn = await as(editor, ['create', 'rolebinding', 'vera-roles', '--role=role-reader', '--user=vera']);
  t.equal(bindOwn.code, 0, `binding a role ed holds is fine: ${bindOwn.stderr}`);
  // With `bind` on the view ClusterRole, ed may bind it without holding it.
  const binder = await ts.kubectl([
    'create',
    'role',
    'view-binder',
    '--verb=bind',
    '--resource=clusterroles.rbac.authorization.k8s.io',
    '--resource-name=view',
  ]);
  t.equal(binder.code, 0, binder.stderr);
  t.equal((await ts.kubectl(['create', 'rolebinding', 'ed-binder', '--role=view-binder', '--user=ed'])).code, 0);
  const bound = await soon(
    editor,
    ['create', 'rolebinding', 'someone-view', '--clusterrole=view', '--user=someone'],
    (r) => r.code === 0,
  );
  t.equal(bound.code, 0, bound.stderr);
});

t.test('the default roles are served and aggregate', async (t) => {
  const roles = await ts.kubectl(['get', 'clusterroles', '-o', 'name']);
  for (const name of ['cluster-admin', 'admin', 'edit', 'view', 'system:node', 'system:kube-controller-manager'])
    t.match(roles.stdout, `clusterrole.rbac.authorization.k8s.io/${name}\n`);
  const extra = await ts.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'secrets-lister', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
    }),
  });
  t.equal(extra.code, 0, extra.stderr);
  const joined = await soon(viewer, ['auth', 'can-i', 'list', 'secrets'], (r) => r.stdout.trim() === 'yes');
  t.equal(joined.stdout.trim(), 'yes', `a labelled ClusterRole joins view: ${joined.stderr}`);
});
