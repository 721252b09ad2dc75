// Name checks return Kubernetes' exact messages.
import t from 'tap';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPathSegmentName,
} from '@berth/api';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

t.test('DNS-1123 subdomain', async (t) => {
  for (const ok of ['a', 'web', 'my-app.example.com', '0', 'a-b.c-d', 'a'.repeat(253)])
    t.same(isDNS1123Subdomain(ok), [], ok);
  t.same(isDNS1123Subdomain('Bad'), [SUBDOMAIN_MSG]);
  for (const bad of ['', '-a', 'a-', 'a..b', '.a', 'a_b', 'a b', 'ü'])
    t.same(isDNS1123Subdomain(bad), [SUBDOMAIN_MSG], JSON.stringify(bad));
  t.same(isDNS1123Subdomain('a'.repeat(254)), ['must be no more than 253 characters']);
  t.same(isDNS1123Subdomain('A'.repeat(254)), ['must be no more than 253 characters', SUBDOMAIN_MSG]);
});

t.test('DNS-1123 label', async (t) => {
  for (const ok of ['a', 'default', 'kube-system', '123-abc', 'a'.repeat(63)]) t.same(isDNS1123Label(ok), [], ok);
  t.same(isDNS1123Label('Bad'), [LABEL_MSG]);
  t.same(isDNS1123Label('a.b'), ['must not contain dots']);
  t.same(isDNS1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  t.same(isDNS1123Label(''), [LABEL_MSG]);
});

t.test('DNS-1035 label', async (t) => {
  t.same(isDNS1035Label('web'), []);
  t.match(
    isDNS1035Label('1web')[0],
    /^a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character/,
  );
});

t.test('path segment names', async (t) => {
  t.same(isValidPathSegmentName('web'), []);
  t.same(isValidPathSegmentName('.'), ["may not be '.'"]);
  t.same(isValidPathSegmentName('..'), ["may not be '..'"]);
  t.same(isValidPathSegmentName('a/b%c'), ["may not contain '/'", "may not contain '%'"]);
  t.same(isValidPathSegmentName('...'), [], 'only exactly . and .. are refused');
});

t.test('qualified names and label values', async (t) => {
  for (const ok of ['app', 'App.Name_1', 'berth.dev/role', 'kubernetes.io/hostname', 'a'.repeat(63)])
    t.same(isQualifiedName(ok), [], ok);
  t.same(isQualifiedName('/a'), ['prefix part must be non-empty']);
  t.same(isQualifiedName('a/'), [
    'name part must be non-empty',
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ]);
  t.match(isQualifiedName('Bad_/x')[0], /^prefix part a lowercase RFC 1123 subdomain must consist/);
  t.match(
    isQualifiedName('a/b/c')[0],
    /^a qualified name must consist of .* with an optional DNS subdomain prefix and '\/' \(e\.g\. 'example\.com\/MyName'\)$/,
  );
  t.same(isQualifiedName('a'.repeat(64)), ['name part must be no more than 63 characters']);
  t.same(isValidLabelValue(''), [], 'empty is a valid label value');
  t.same(isValidLabelValue('v1.2_3-x'), []);
  t.same(isValidLabelValue('-x'), [
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  ]);
  t.same(isValidLabelValue('x'.repeat(64)), ['must be no more than 63 characters']);
});
