// PolicyRule semantics as Kubernetes' RBAC has them: wildcards, `*/subresource`, resourceNames, non-resource URL
// prefixes, and the coverage check escalation prevention stands on.

import t from 'tap';
import type { Attributes } from '../../src/authorization/attributes.js';
import { compactString, ruleAllows, uncovered, type PolicyRule } from '../../src/authorization/rbac/policy-rule.js';

const user = { name: 'u', groups: [] };
const resource = (verb: string, group: string, res: string, extra: Partial<Attributes> = {}): Attributes => ({
  user,
  verb,
  resourceRequest: true,
  namespace: 'default',
  apiGroup: group,
  resource: res,
  subresource: '',
  name: '',
  path: '',
  ...extra,
});
const url = (verb: string, path: string): Attributes => ({
  user,
  verb,
  resourceRequest: false,
  namespace: '',
  apiGroup: '',
  resource: '',
  subresource: '',
  name: '',
  path,
});

t.test('which requests a rule allows', async (t) => {
  const rule: PolicyRule = { verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps'] };
  t.ok(ruleAllows(rule, resource('get', '', 'configmaps')));
  t.notOk(ruleAllows(rule, resource('delete', '', 'configmaps')), 'another verb');
  t.notOk(ruleAllows(rule, resource('get', 'apps', 'configmaps')), 'another group');
  t.notOk(ruleAllows(rule, resource('get', '', 'configmaps', { subresource: 'status' })), 'a subresource is its own');
  const all: PolicyRule = { verbs: ['*'], apiGroups: ['*'], resources: ['*'] };
  t.ok(ruleAllows(all, resource('escalate', 'x.io', 'things', { subresource: 'status' })), '* is everything');
  t.notOk(ruleAllows(all, url('get', '/healthz')), 'resource rules never allow URLs');
  const scale: PolicyRule = { verbs: ['update'], apiGroups: ['*'], resources: ['*/scale'] };
  t.ok(ruleAllows(scale, resource('update', 'berth.dev', 'services', { subresource: 'scale' })));
  t.notOk(ruleAllows(scale, resource('update', 'berth.dev', 'services')));
  const named: PolicyRule = { verbs: ['get', 'create'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] };
  t.ok(ruleAllows(named, resource('get', '', 'secrets', { name: 'a' })));
  t.notOk(ruleAllows(named, resource('get', '', 'secrets', { name: 'b' })));
  t.notOk(ruleAllows(named, resource('create', '', 'secrets')), 'a create names nothing: resourceNames never match');
  const urls: PolicyRule = { verbs: ['get'], nonResourceURLs: ['/healthz', '/apis/*'] };
  t.ok(ruleAllows(urls, url('get', '/healthz')));
  t.ok(ruleAllows(urls, url('get', '/apis/berth.dev/v1alpha1')), 'a trailing * is a prefix');
  t.notOk(ruleAllows(urls, url('get', '/api/v1')));
  t.notOk(ruleAllows(urls, url('post', '/healthz')));
});

t.test('coverage: what a set of rules holds of another', async (t) => {
  const owner: PolicyRule[] = [
    { verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps', '*/status'] },
    { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a', 'b'] },
    { verbs: ['get'], nonResourceURLs: ['/apis/*'] },
  ];
  t.same(uncovered(owner, [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps', 'pods/status'] }]), []);
  t.same(
    uncovered(owner, [{ verbs: ['get', 'delete'], apiGroups: [''], resources: ['configmaps'] }]).map(compactString),
    ['{APIGroups:[""], Resources:["configmaps"], Verbs:["delete"]}'],
  );
  t.same(uncovered(owner, [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] }]), []);
  t.same(
    uncovered(owner, [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }]).map(compactString),
    ['{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}'],
    'holding some names does not cover all names',
  );
  t.same(uncovered(owner, [{ verbs: ['get'], nonResourceURLs: ['/apis/x'] }]), []);
  t.equal(uncovered(owner, [{ verbs: ['get'], nonResourceURLs: ['/api'] }]).length, 1);
  t.same(uncovered([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], owner.slice(0, 2)), []);
});
