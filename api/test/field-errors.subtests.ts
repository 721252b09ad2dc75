// Field errors render the way Kubernetes renders field.ErrorList in an Invalid Status.
import t from 'tap';
import {
  aggregateMessage,
  duplicate,
  fieldErrorBody,
  fieldErrorString,
  forbidden,
  goQuote,
  invalid,
  invalidObjectMessage,
  isDNS1123Subdomain,
  notSupported,
  required,
  toStatusCauses,
  tooLong,
  typeInvalid,
  type FieldError,
} from '@berth/api';

t.test('each type renders like field.Error', async (t) => {
  t.equal(fieldErrorString(required('spec.image')), 'spec.image: Required value');
  t.equal(
    fieldErrorString(required('spec.image', 'an image is needed')),
    'spec.image: Required value: an image is needed',
  );
  t.equal(
    fieldErrorString(invalid('spec.replicas', -1, 'must be greater than or equal to 0')),
    'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  );
  t.equal(fieldErrorString(invalid('spec.tty', true, 'no')), 'spec.tty: Invalid value: true: no');
  t.equal(fieldErrorString(invalid('spec.x', null, 'no')), 'spec.x: Invalid value: null: no');
  t.equal(fieldErrorString(invalid('spec.x', ['a'], 'no')), 'spec.x: Invalid value: ["a"]: no');
  t.equal(
    fieldErrorString(notSupported('spec.restartPolicy', 'Sometimes', ['Always', 'OnFailure', 'Never'])),
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  );
  t.equal(
    fieldErrorString(tooLong('metadata.annotations', 262144)),
    'metadata.annotations: Too long: may not be more than 262144 bytes',
  );
  t.equal(
    fieldErrorString(forbidden('spec.nodeName', 'may not be changed')),
    'spec.nodeName: Forbidden: may not be changed',
  );
  t.equal(fieldErrorString(duplicate('spec.ports[1]', '80/TCP')), 'spec.ports[1]: Duplicate value: "80/TCP"');
  t.equal(
    fieldErrorString(typeInvalid('spec.replicas', 'three', 'spec.replicas in body must be of type integer: "string"')),
    'spec.replicas: Invalid value: "three": spec.replicas in body must be of type integer: "string"',
  );
  const byHand: FieldError = { type: 'FieldValueInvalid', field: 'a', message: 'b' };
  t.equal(fieldErrorBody(byHand), 'Invalid value: b', 'no badValue, no value part');
});

t.test('Go quoting of bad values', async (t) => {
  t.equal(goQuote('a"b\\c\nd\u0001é'), '"a\\"b\\\\c\\nd\\x01é"');
});

t.test('aggregate and Invalid message', async (t) => {
  const name = invalid('metadata.name', 'Bad', isDNS1123Subdomain('Bad')[0]!);
  t.equal(aggregateMessage([]), '');
  t.equal(aggregateMessage([required('spec.image')]), 'spec.image: Required value');
  t.equal(
    aggregateMessage([required('spec.image'), required('spec.image')]),
    'spec.image: Required value',
    'duplicates appear once',
  );
  t.equal(
    invalidObjectMessage('Container.berth.dev', 'Bad', [required('spec.image'), name]),
    "Container.berth.dev \"Bad\" is invalid: [spec.image: Required value, metadata.name: Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')]",
  );
  t.same(toStatusCauses([required('spec.image'), invalid('spec.replicas', -1, 'must be greater than or equal to 0')]), [
    { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.image' },
    {
      reason: 'FieldValueInvalid',
      message: 'Invalid value: -1: must be greater than or equal to 0',
      field: 'spec.replicas',
    },
  ]);
});
