// Labels and annotations are validated as Kubernetes validates ObjectMeta.
import t from 'tap';
import {
  aggregateMessage,
  annotationsSize,
  validateAnnotations,
  validateLabelKey,
  validateLabels,
  TOTAL_ANNOTATION_SIZE_LIMIT_BYTES,
} from '@berth/api';

t.test('label keys and values', async (t) => {
  t.same(validateLabels({ app: 'web', 'berth.dev/role': 'front', empty: '' }), []);
  t.same(validateLabels(undefined), []);
  t.same(validateLabelKey('app'), []);
  const errs = validateLabels({ 'bad key': 'ok', good: 'bad value' });
  t.same(
    errs.map((e) => [e.field, e.badValue]),
    [
      ['metadata.labels', 'bad key'],
      ['metadata.labels', 'bad value'],
    ],
  );
  t.match(
    aggregateMessage(errs),
    /^\[metadata\.labels: Invalid value: "bad key": name part must consist of .*, metadata\.labels: Invalid value: "bad value": a valid label must be an empty string or consist of .*\]$/,
  );
  t.equal(validateLabels({ a: 'b' }, 'spec.template.metadata.labels').length, 0);
  t.equal(validateLabels({ '-a': 'b' }, 'spec.template.metadata.labels')[0]!.field, 'spec.template.metadata.labels');
});

t.test('annotation keys are qualified names, case-insensitive', async (t) => {
  t.same(
    validateAnnotations({
      'kubectl.kubernetes.io/last-applied-configuration': '{"a":1}\n',
      Note: 'any value, even /// ✓',
    }),
    [],
  );
  t.same(validateAnnotations({ 'Example.COM/Key': 'x' }), [], 'upper case prefix is fine for annotations');
  t.equal(validateAnnotations({ 'a b': 'x' })[0]!.type, 'FieldValueInvalid');
});

t.test('annotations may total at most 256 KiB of keys and values, counted in bytes', async (t) => {
  t.equal(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES, 262144);
  const exactly = { k: 'v'.repeat(262144 - 1) };
  t.equal(annotationsSize(exactly), 262144);
  t.same(validateAnnotations(exactly), []);
  const over = { k: 'v'.repeat(262144) };
  t.same(
    aggregateMessage(validateAnnotations(over)),
    'metadata.annotations: Too long: may not be more than 262144 bytes',
  );
  t.equal(annotationsSize({ k: 'é' }), 3, 'UTF-8 bytes, as Go counts');
});
