// Counters and histograms for the request path, whose update is an array increment on a series the caller keeps:
// prom-client's own hash and check every label set on each call (1–2 µs per update here), and a request makes
// several. They register with a prom-client Registry and render through it like its own metrics.

import type { Metric, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly name: string;
  readonly help: string;
  readonly registers: readonly Registry[];
}

/** What prom-client's Registry reads from a metric on each scrape. */
interface Exposed {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: { labels: Labels; value: number; metricName?: string }[];
}

abstract class FastFamily<S> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  protected readonly all = new Map<string, { readonly labels: Labels; readonly series: S }>();

  constructor(options: Family) {
    this.name = options.name;
    this.help = options.help;
    // The Registry reads get(), name, help, type and aggregator: the shape of its own metrics.
    for (const r of options.registers) r.registerMetric(this as unknown as Metric);
  }

  /** The series of `labels`, made on first use; keep it, and update it without any lookup. */
  series(labels: Labels): S {
    const key = JSON.stringify(labels);
    let found = this.all.get(key);
    if (found === undefined) {
      found = { labels: { ...labels }, series: this.make() };
      this.all.set(key, found);
    }
    return found.series;
  }

  protected abstract make(): S;
  abstract get(): Exposed;
  reset(): void {
    this.all.clear();
  }
}

export interface CounterSeries {
  inc(by?: number): void;
  readonly value: number;
}

export class FastCounter extends FastFamily<CounterSeries> {
  readonly type = 'counter';

  protected make(): CounterSeries {
    let value = 0;
    return {
      inc: (by = 1) => {
        value += by;
      },
      get value() {
        return value;
      },
    };
  }

  get(): Exposed {
    const values = [...this.all.values()].map(({ labels, series }) => ({ labels, value: series.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export interface HistogramSeries {
  observe(value: number): void;
}

export class FastHistogram extends FastFamily<HistogramSeries & { readonly counts: Float64Array; sum: number }> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];

  constructor(options: Family & { readonly buckets: readonly number[] }) {
    super(options);
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
  }

  protected make(): HistogramSeries & { readonly counts: Float64Array; sum: number } {
    const bounds = this.#bounds;
    // One count per bucket (not cumulative: cumulated on scrape), the last for values above every bound.
    const counts = new Float64Array(bounds.length + 1);
    const series = {
      counts,
      sum: 0,
      observe(value: number) {
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i++;
        counts[i]!++;
        series.sum += value;
      },
    };
    return series;
  }

  get(): Exposed {
    const values: Exposed['values'] = [];
    for (const { labels, series } of this.all.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.counts[i] ?? 0;
        values.push({ labels: { ...labels, le: String(bound) }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      cumulative += series.counts[this.#bounds.length] ?? 0;
      values.push({ labels: { ...labels, le: '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
      values.push({ labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: cumulative, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
