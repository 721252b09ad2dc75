// Scraping a berth process's /metrics as Prometheus would: an HTTPS GET with a bearer token, the answer parsed by
// a Prometheus text-format parser (parse-prometheus-text-format), so a malformed exposition fails the test.
/// <reference path="./parse-prometheus-text-format.d.ts" />

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';

export type { PrometheusFamily, PrometheusSample } from 'parse-prometheus-text-format';

export interface ParsedMetrics {
  /** The families by name (empty unless the status is 200). */
  readonly families: ReadonlyMap<string, PrometheusFamily>;
  /**
   * Every series by its own name (`x_bucket`, `x_count`, `x_sum` apart), labels kept: the parser folds a
   * histogram's samples into one and drops their labels, so labelled histograms are read from here.
   */
  readonly series: ReadonlyMap<string, PrometheusFamily>;
}

export interface Scrape extends ParsedMetrics {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** Parses an exposition; a malformed one throws. */
export function parseMetricsText(text: string): ParsedMetrics {
  const families = new Map<string, PrometheusFamily>();
  const series = new Map<string, PrometheusFamily>();
  for (const f of parsePrometheusTextFormat(text)) families.set(f.name, f);
  // Untyped, a histogram's lines of each label set (buckets, sum, count) come as runs of one name: merge them.
  for (const f of parsePrometheusTextFormat(text.replace(/^# (TYPE|HELP) .*$/gm, ''))) {
    const seen = series.get(f.name);
    series.set(f.name, seen === undefined ? f : { ...seen, metrics: [...seen.metrics, ...f.metrics] });
  }
  return { families, series };
}

/** GETs `url` (http, or https trusting `ca`) with `token`, and parses a 200 answer. */
export function scrapeMetrics(url: string, options: { token: string; ca?: string }): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = options.token === '' ? {} : { Authorization: `Bearer ${options.token}` };
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { headers, ...(options.ca === undefined ? {} : { ca: options.ca }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        let parsed: ParsedMetrics = { families: new Map(), series: new Map() };
        try {
          if (status === 200) parsed = parseMetricsText(text);
        } catch (e) {
          reject(new Error(`${url} is not Prometheus text format: ${(e as Error).message}`, { cause: e }));
          return;
        }
        resolve({ status, contentType: String(res.headers['content-type'] ?? ''), text, ...parsed });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The sum over a family's samples whose labels include `labels`: values of counters and gauges, observation
 * counts of histograms. 0 when nothing matches.
 */
export function sampleSum(scrape: ParsedMetrics, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const family = scrape.families.get(name);
  const samples =
    family?.type === 'HISTOGRAM' || family?.type === 'SUMMARY'
      ? (scrape.series.get(`${name}_count`)?.metrics ?? [])
      : (scrape.series.get(name)?.metrics ?? []);
  let sum = 0;
  for (const s of samples) {
    if (!Object.entries(labels).every(([k, v]) => s.labels?.[k] === v)) continue;
    sum += Number(s.value ?? 0);
  }
  return sum;
}
