import t from 'tap';
import { applyMergePatch } from '../../src/patch/merge-patch.js';
import type { JsonValue } from '../../src/patch/json-value.js';

// The RFC 7386 appendix A examples, case by case.
const rfcCases: Array<[JsonValue, JsonValue, JsonValue]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [
    ['a', 'b'],
    ['c', 'd'],
    ['c', 'd'],
  ],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

t.test('RFC 7386 appendix A', async (t) => {
  for (const [target, patch, want] of rfcCases) {
    t.same(applyMergePatch(target, patch), want, `${JSON.stringify(target)} + ${JSON.stringify(patch)}`);
  }
});

t.test('kubectl label/annotate patches: add and remove a label, keep the rest', async (t) => {
  const obj = { metadata: { name: 'web', labels: { app: 'demo', tier: 'front' } }, spec: { image: 'nginx' } };
  const before = JSON.stringify(obj);
  const out = applyMergePatch(obj, { metadata: { labels: { env: 'prod', tier: null } } });
  t.same(out, { metadata: { name: 'web', labels: { app: 'demo', env: 'prod' } }, spec: { image: 'nginx' } });
  t.equal(JSON.stringify(obj), before, 'input not mutated');
});

t.test('the result does not alias the patch body', async (t) => {
  const patch = { spec: { ports: [{ port: 80 }] } };
  const out = applyMergePatch({}, patch) as { spec: { ports: Array<{ port: number }> } };
  (out.spec.ports[0] as { port: number }).port = 81;
  t.equal(patch.spec.ports[0]?.port, 80);
});

t.test('key order: existing keys keep their place, new keys follow', async (t) => {
  const out = applyMergePatch({ a: 1, b: 2, c: 3 }, { d: 4, a: 5 });
  t.same(Object.keys(out as object), ['a', 'b', 'c', 'd']);
});
