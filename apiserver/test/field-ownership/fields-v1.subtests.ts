import t from 'tap';
import {
  decodeFieldsV1,
  encodeFieldsV1,
  pathString,
  toFieldSet,
  compileSchema,
} from '../../src/field-ownership/index.js';
import { members } from '../../src/field-ownership/field-set.js';
import { schema } from './fixtures.js';

t.test('FieldsV1 round trip: "." first, then f: sorted, then k: and v: by value', async (t) => {
  const fields = {
    'f:metadata': { 'f:labels': { '.': {}, 'f:b': {}, 'f:a': {} } },
    'f:spec': {
      'f:ports': {
        'k:{"port":443,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
        'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
      },
      'f:tags': { 'v:"b"': {}, 'v:"a"': {} },
      'f:image': {},
    },
  };
  const enc = encodeFieldsV1(decodeFieldsV1(fields));
  t.equal(
    JSON.stringify(enc),
    JSON.stringify({
      'f:metadata': { 'f:labels': { '.': {}, 'f:a': {}, 'f:b': {} } },
      'f:spec': {
        'f:image': {},
        'f:ports': {
          'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
          'k:{"port":443,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
        },
        'f:tags': { 'v:"a"': {}, 'v:"b"': {} },
      },
    }),
  );
});

t.test('client-written keys are canonicalized (key fields sorted by name)', async (t) => {
  const s = decodeFieldsV1({ 'f:spec': { 'f:ports': { 'k:{"protocol":"TCP","port":80}': { 'f:name': {} } } } });
  t.same(encodeFieldsV1(s), { 'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { 'f:name': {} } } } });
});

t.test('malformed FieldsV1 is refused', async (t) => {
  t.throws(() => decodeFieldsV1({ 'x:y': {} }));
  t.throws(() => decodeFieldsV1({ 'f:a': 1 }));
  t.throws(() => decodeFieldsV1({ 'k:not-json': {} }));
});

t.test('paths print as Kubernetes prints them in conflicts', async (t) => {
  t.equal(pathString(['f:spec', 'f:image']), '.spec.image');
  t.equal(
    pathString(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}', 'f:name']),
    '.spec.ports[port=80,protocol="TCP"].name',
  );
  t.equal(pathString(['f:spec', 'f:tags', 'v:"a"']), '.spec.tags[="a"]');
  t.equal(pathString(['f:spec', 'f:args', 'i:0']), '.spec.args[0]');
});

t.test('toFieldSet: leaves, list items, empty maps and nulls are members', async (t) => {
  const set = toFieldSet(
    { spec: { image: 'x', env: {}, resources: null, ports: [{ port: 80 }] } },
    compileSchema(schema),
  );
  t.same(members(set).map(pathString), [
    '.spec.env',
    '.spec.image',
    '.spec.ports[port=80,protocol="TCP"]',
    '.spec.ports[port=80,protocol="TCP"].port',
    '.spec.resources',
  ]);
});
