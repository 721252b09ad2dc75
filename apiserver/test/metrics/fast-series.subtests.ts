// The request path's own counters and histograms render as Prometheus text that a parser reads back: cumulative
// buckets up to +Inf, sum and count per label set, and counters per label set.

import { Registry } from 'prom-client';
import t from 'tap';
import { parseMetricsText, sampleSum } from '@berth/testkit';
import { FastCounter, FastHistogram } from '../../src/metrics/fast-series.js';

t.test('a histogram counts each value in the first bucket it fits, cumulated on scrape', async (t) => {
  const registry = new Registry();
  const h = new FastHistogram({ name: 'h_seconds', help: 'h', buckets: [0.1, 1, 0.5], registers: [registry] });
  const a = h.series({ verb: 'GET' });
  for (const v of [0.05, 0.1, 0.3, 0.7, 2]) a.observe(v);
  h.series({ verb: 'POST' }).observe(0.2);
  t.equal(h.series({ verb: 'GET' }), a, 'one series per label set');
  const text = await registry.metrics();
  t.match(text, '# TYPE h_seconds histogram');
  const lines = text.split('\n');
  const bucket = (le: string) => lines.find((l) => l.startsWith(`h_seconds_bucket{verb="GET",le="${le}"}`));
  t.match(bucket('0.1'), / 2$/, '0.05 and 0.1 (le is inclusive)');
  t.match(bucket('0.5'), / 3$/, 'bounds sorted');
  t.match(bucket('1'), / 4$/);
  t.match(bucket('+Inf'), / 5$/);
  t.ok(lines.includes('h_seconds_count{verb="GET"} 5'));
  t.ok(lines.some((l) => /^h_seconds_sum\{verb="GET"\} 3\.15/.test(l)));
  t.ok(lines.includes('h_seconds_count{verb="POST"} 1'));
  const parsed = parseMetricsText(text);
  t.equal(parsed.families.get('h_seconds')?.type, 'HISTOGRAM', 'a text-format parser reads it');
  t.equal(sampleSum(parsed, 'h_seconds', { verb: 'GET' }), 5);
});

t.test('a counter adds per label set', async (t) => {
  const registry = new Registry();
  const c = new FastCounter({ name: 'c_total', help: 'c', registers: [registry] });
  c.series({ code: '200' }).inc();
  c.series({ code: '200' }).inc(2);
  c.series({ code: '404' }).inc();
  const parsed = parseMetricsText(await registry.metrics());
  t.equal(parsed.families.get('c_total')?.type, 'COUNTER');
  t.equal(sampleSum(parsed, 'c_total', { code: '200' }), 3);
  t.equal(sampleSum(parsed, 'c_total', { code: '404' }), 1);
});
