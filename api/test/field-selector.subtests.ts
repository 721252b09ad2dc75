// Field selectors parse, escape and match as Kubernetes' fields package does.
import t from 'tap';
import {
  escapeFieldSelectorValue,
  formatFieldSelector,
  matchesFields,
  parseFieldSelector,
  requiredFieldValue,
  selectorFields,
} from '@berth/api';

t.test('parsing', async (t) => {
  t.same(parseFieldSelector(''), []);
  t.same(parseFieldSelector('metadata.name=web'), [{ field: 'metadata.name', operator: '=', value: 'web' }]);
  t.same(parseFieldSelector('status.phase!=Running,spec.nodeName==n1'), [
    { field: 'spec.nodeName', operator: '==', value: 'n1' },
    { field: 'status.phase', operator: '!=', value: 'Running' },
  ]);
  t.same(parseFieldSelector('a=,b=c'), [
    { field: 'a', operator: '=', value: '' },
    { field: 'b', operator: '=', value: 'c' },
  ]);
  t.same(parseFieldSelector('a=b,'), [{ field: 'a', operator: '=', value: 'b' }], 'empty terms are skipped');
  t.same(parseFieldSelector('a=x\\,y\\=z\\\\'), [{ field: 'a', operator: '=', value: 'x,y=z\\' }], 'escapes');
});

t.test('bad selectors get Kubernetes messages', async (t) => {
  const code = 'BERTH_FIELD_SELECTOR_INVALID';
  t.throws(() => parseFieldSelector('metadata.name'), {
    code,
    message: "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
  });
  t.throws(() => parseFieldSelector('a!==b'), {
    code,
    message: 'invalid field selector: unescaped character in value: =',
  });
  t.throws(() => parseFieldSelector('a=b,c'), { message: "invalid selector: 'a=b,c'; can't understand 'c'" });
  t.throws(() => parseFieldSelector('a=b\\x'), { message: 'invalid field selector: invalid escape sequence: \\x' });
  t.throws(() => parseFieldSelector('a=b\\'), { message: 'invalid field selector: invalid escape sequence: \\' });
});

t.test('matching', async (t) => {
  const fields = { 'metadata.name': 'web', 'metadata.namespace': 'default', 'status.phase': 'Running' };
  const m = (s: string): boolean => matchesFields(parseFieldSelector(s), fields);
  t.ok(m(''));
  t.ok(m('metadata.name=web'));
  t.ok(m('metadata.name==web,metadata.namespace=default'));
  t.notOk(m('metadata.name=db'));
  t.ok(m('status.phase!=Failed'));
  t.notOk(m('status.phase!=Running'));
  t.ok(m('spec.nodeName='), 'a missing field is the empty string');
  t.notOk(m('spec.nodeName!='));
  t.ok(matchesFields(parseFieldSelector('a=x\\,y'), { a: 'x,y' }));
});

t.test('helpers', async (t) => {
  const sel = parseFieldSelector('metadata.name=web,status.phase!=Failed');
  t.equal(requiredFieldValue(sel, 'metadata.name'), 'web');
  t.equal(requiredFieldValue(sel, 'status.phase'), undefined, '!= is not a required value');
  t.same(selectorFields(sel), ['metadata.name', 'status.phase']);
  t.equal(escapeFieldSelectorValue('a,b=c\\d'), 'a\\,b\\=c\\\\d');
  const odd = [{ field: 'x', operator: '=' as const, value: 'a,b=c\\' }];
  t.same(parseFieldSelector(formatFieldSelector(odd)), odd, 'format and parse round-trip');
});
