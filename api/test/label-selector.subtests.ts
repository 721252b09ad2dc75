// Label selector strings and metav1.LabelSelector parse and match as Kubernetes' labels package does.
import t, { type Test } from 'tap';
import { ParseError, formatLabelSelector, labelSelectorFromMeta, matchesLabels, parseLabelSelector } from '@berth/api';

const fails = (t: Test, s: string, message: string | RegExp): void => {
  t.throws(
    () => parseLabelSelector(s),
    typeof message === 'string' ? { message, code: 'BERTH_LABEL_SELECTOR_INVALID' } : { message },
    JSON.stringify(s),
  );
};

t.test('grammar', async (t) => {
  t.same(parseLabelSelector(''), []);
  t.same(parseLabelSelector('  '), []);
  t.same(parseLabelSelector('a=b'), [{ key: 'a', operator: '=', values: ['b'] }]);
  t.same(parseLabelSelector('a==b'), [{ key: 'a', operator: '==', values: ['b'] }]);
  t.same(parseLabelSelector('a!=b'), [{ key: 'a', operator: '!=', values: ['b'] }]);
  t.same(parseLabelSelector('a'), [{ key: 'a', operator: 'exists', values: [] }]);
  t.same(parseLabelSelector('!a'), [{ key: 'a', operator: '!', values: [] }]);
  t.same(
    parseLabelSelector('a in (y, x,x)'),
    [{ key: 'a', operator: 'in', values: ['x', 'y'] }],
    'values deduped and sorted',
  );
  t.same(parseLabelSelector('a notin(x)'), [{ key: 'a', operator: 'notin', values: ['x'] }]);
  t.same(
    parseLabelSelector('x in (in, notin)'),
    [{ key: 'x', operator: 'in', values: ['in', 'notin'] }],
    'keywords are values in a set',
  );
  t.same(parseLabelSelector('a in ()'), [{ key: 'a', operator: 'in', values: [''] }]);
  t.same(parseLabelSelector('a in (,b)'), [{ key: 'a', operator: 'in', values: ['', 'b'] }]);
  t.same(parseLabelSelector('a='), [{ key: 'a', operator: '=', values: [''] }]);
  t.same(parseLabelSelector('n>5,m<2'), [
    { key: 'm', operator: 'lt', values: ['2'] },
    { key: 'n', operator: 'gt', values: ['5'] },
  ]);
  t.same(
    parseLabelSelector(' z = 1 , b.io/a != 2,!c ').map((r) => r.key),
    ['b.io/a', 'c', 'z'],
    'whitespace around tokens is ignored; requirements sort by key',
  );
});

t.test('bad syntax gets Kubernetes messages', async (t) => {
  fails(t, 'a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
  fails(t, 'a=b c', "found 'c', expected: ',' or 'end of string'");
  fails(t, 'a=b,', "found '', expected: identifier after ','");
  fails(t, 'a=b,,c', "found ',', expected: identifier after ','");
  fails(t, ',a', "found ',', expected: !, identifier, or 'end of string'");
  fails(t, 'a in b', "unable to parse requirement: found 'b' expected: '('");
  fails(t, 'a in (b', "unable to parse requirement: found '', expected: ',' or ')'");
  fails(t, 'a=(b)', "unable to parse requirement: found '(', expected: identifier");
  fails(t, '!a=b', "found '=', expected: ',' or 'end of string'");
  fails(
    t,
    'a>x',
    "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
  );
  fails(t, '-a=b', /^unable to parse requirement: <nil>: Invalid value: "-a": name part must consist of/);
  fails(
    t,
    'a=-b',
    /^unable to parse requirement: values\[0\]\[a\]: Invalid value: "-b": a valid label must be an empty string/,
  );
  try {
    parseLabelSelector('a b');
    t.fail('should throw');
  } catch (err) {
    t.ok(ParseError.isInstance(err), 'recognisable by brand');
    t.equal((err as ParseError).input, 'a b');
  }
});

t.test('matching', async (t) => {
  const m = (s: string, labels: Record<string, string>): boolean => matchesLabels(parseLabelSelector(s), labels);
  const web = { app: 'web', tier: 'front', n: '10' };
  t.ok(m('', {}), 'empty matches everything');
  t.ok(m('app=web', web));
  t.notOk(m('app=db', web));
  t.ok(m('app=web,tier=front', web));
  t.notOk(m('app=web,tier=back', web), 'comma is AND');
  t.ok(m('app!=db', web));
  t.ok(m('missing!=x', web), '!= matches a missing label');
  t.ok(m('app in (db,web)', web));
  t.notOk(m('missing in (x)', web));
  t.ok(m('missing notin (x)', web), 'notin matches a missing label');
  t.notOk(m('tier notin (front)', web));
  t.ok(m('app', web));
  t.notOk(m('!app', web));
  t.ok(m('!missing', web));
  t.ok(m('n>9', web));
  t.notOk(m('n>10', web));
  t.ok(m('n<11', web));
  t.notOk(m('app>1', web), 'a non-integer label value never compares');
  t.notOk(m('missing<5', web));
  t.ok(m('a=', { a: '' }));
  t.notOk(m('a=', {}), '= needs the label to exist');
});

t.test('metav1.LabelSelector', async (t) => {
  const sel = labelSelectorFromMeta({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['front', 'edge'] },
      { key: 'canary', operator: 'DoesNotExist' },
      { key: 'zone', operator: 'Exists' },
      { key: 'env', operator: 'NotIn', values: ['dev'] },
    ],
  });
  t.equal(formatLabelSelector(sel!), 'app=web,!canary,env notin (dev),tier in (edge,front),zone');
  t.same(parseLabelSelector(formatLabelSelector(sel!)), sel, 'string form round-trips');
  t.ok(matchesLabels(sel, { app: 'web', tier: 'edge', zone: 'a' }));
  t.notOk(matchesLabels(sel, { app: 'web', tier: 'edge', zone: 'a', canary: 'y' }));
  t.notOk(matchesLabels(sel, { app: 'web', tier: 'edge', zone: 'a', env: 'dev' }));
  t.same(labelSelectorFromMeta({}), [], '{} matches everything');
  t.ok(matchesLabels(labelSelectorFromMeta({}), { any: 'thing' }));
  t.equal(labelSelectorFromMeta(undefined), null, 'absent selector');
  t.notOk(matchesLabels(null, {}), 'absent selector matches nothing');
  t.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), {
    message: "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty",
  });
  t.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), {
    message: 'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
  });
  t.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'Gt' as 'In', values: ['1'] }] }), {
    message: '"Gt" is not a valid label selector operator',
  });
  t.throws(() => labelSelectorFromMeta({ matchLabels: { 'bad key': 'v' } }), {
    message: /^key: Invalid value: "bad key": name part/,
  });
});
