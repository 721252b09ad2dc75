// Printer-column evaluation: the JSONPath subset CRDs use and kubectl-style ages.

import t from 'tap';
import { evaluateJsonPath } from '../src/table/json-path.js';
import { humanDuration } from '../src/table/table.js';

t.test('JSONPath subset of printer columns', async (t) => {
  const obj = {
    status: {
      ips: [{ ip: '10.0.0.2' }, { ip: '10.0.0.3' }],
      conditions: [
        { type: 'Scheduled', status: 'True' },
        { type: 'Ready', status: 'False' },
      ],
    },
    metadata: { labels: { 'app.kubernetes.io/name': 'x' } },
  };
  t.same(evaluateJsonPath(obj, '.status.ips[0].ip'), ['10.0.0.2']);
  t.same(evaluateJsonPath(obj, '.status.ips[*].ip'), ['10.0.0.2', '10.0.0.3']);
  t.same(evaluateJsonPath(obj, '.status.conditions[?(@.type=="Ready")].status'), ['False']);
  t.same(evaluateJsonPath(obj, ".metadata.labels['app.kubernetes.io/name']"), ['x']);
  t.same(evaluateJsonPath(obj, '.status.missing.deeper'), []);
  t.same(evaluateJsonPath(obj, '{.status.ips[5].ip}'), []);
});

t.test('ages print as kubectl prints them', async (t) => {
  const s = 1000;
  t.equal(humanDuration(5 * s), '5s');
  t.equal(humanDuration(119 * s), '119s');
  t.equal(humanDuration(200 * s), '3m20s');
  t.equal(humanDuration(15 * 60 * s), '15m');
  t.equal(humanDuration(5 * 3600 * s + 60 * s), '5h1m');
  t.equal(humanDuration(30 * 3600 * s), '30h');
  t.equal(humanDuration(3 * 86400 * s + 7200 * s), '3d2h');
  t.equal(humanDuration(40 * 86400 * s), '40d');
  t.equal(humanDuration(800 * 86400 * s), '2y70d');
  t.equal(humanDuration(-5 * s), '<invalid>');
});
