/**
 * Prometheus metrics for `tandem serve`, rendered by hand in the text exposition format,
 * version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Every family prints its `# HELP` and `# TYPE` lines even before it has a sample, series keep
 * the order in which they were first touched, and observations that are negative, NaN or
 * infinite are dropped so that one bad figure can never corrupt the scrape.
 */

/** The `Content-Type` header for a `GET /metrics` answer. */
export const contentType = 'text/plain; version=0.0.4; charset=utf-8';

const timeToFirstTokenBucketsSeconds = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;
const requestDurationBucketsSeconds = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
] as const;
const modelLoadBucketsSeconds = [0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

/** Escapes `# HELP` text: a backslash becomes `\\`, a line feed becomes `\n`. */
export function escapeHelpText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Escapes a label value for use between double quotes: `\\`, `\"` and `\n`. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Formats a sample value or bucket bound the way Prometheus parses it. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** True for a figure that may be counted, observed or set: finite and not negative. */
function isUsableFigure(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}

type MetricType = 'counter' | 'gauge' | 'histogram';

interface LabelledSeries<Series> {
  labelValues: readonly string[];
  series: Series;
}

function renderLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  const pairs = names.map((name, index) => `${name}="${escapeLabelValue(values[index] ?? '')}"`);
  return `{${pairs.join(',')}}`;
}

abstract class MetricFamily<Series> {
  readonly #seriesByKey = new Map<string, LabelledSeries<Series>>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
  ) {}

  protected seriesFor(labelValues: readonly string[]): Series {
    const key = JSON.stringify(labelValues);
    const existing = this.#seriesByKey.get(key);
    if (existing) return existing.series;
    const series = this.createSeries();
    this.#seriesByKey.set(key, { labelValues: [...labelValues], series });
    return series;
  }

  protected abstract createSeries(): Series;

  protected abstract renderSeries(
    labelValues: readonly string[],
    series: Series,
    lines: string[],
  ): void;

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelpText(this.help)}`);
    lines.push(`# TYPE ${this.name} ${this.type}`);
    for (const { labelValues, series } of this.#seriesByKey.values()) {
      this.renderSeries(labelValues, series, lines);
    }
  }
}

interface ValueSeries {
  value: number;
}

class CounterFamily extends MetricFamily<ValueSeries> {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, 'counter', labelNames);
  }

  increment(labelValues: readonly string[], amount = 1): void {
    if (!isUsableFigure(amount)) return;
    this.seriesFor(labelValues).value += amount;
  }

  protected createSeries(): ValueSeries {
    return { value: 0 };
  }

  protected renderSeries(labelValues: readonly string[], series: ValueSeries, lines: string[]) {
    lines.push(
      `${this.name}${renderLabels(this.labelNames, labelValues)} ${formatSampleValue(series.value)}`,
    );
  }
}

class GaugeFamily extends MetricFamily<ValueSeries> {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, 'gauge', labelNames);
  }

  set(labelValues: readonly string[], value: number): void {
    if (!isUsableFigure(value)) return;
    this.seriesFor(labelValues).value = value;
  }

  protected createSeries(): ValueSeries {
    return { value: 0 };
  }

  protected renderSeries(labelValues: readonly string[], series: ValueSeries, lines: string[]) {
    lines.push(
      `${this.name}${renderLabels(this.labelNames, labelValues)} ${formatSampleValue(series.value)}`,
    );
  }
}

interface HistogramSeries {
  /** Observations per bucket, not cumulative; one more entry than there are bounds (+Inf). */
  bucketCounts: number[];
  sum: number;
  count: number;
}

class HistogramFamily extends MetricFamily<HistogramSeries> {
  readonly #upperBounds: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    upperBounds: readonly number[],
  ) {
    super(name, help, 'histogram', labelNames);
    this.#upperBounds = upperBounds;
  }

  observe(labelValues: readonly string[], value: number): void {
    if (!isUsableFigure(value)) return;
    const series = this.seriesFor(labelValues);
    let bucketIndex = this.#upperBounds.findIndex((bound) => value <= bound);
    if (bucketIndex === -1) bucketIndex = this.#upperBounds.length;
    series.bucketCounts[bucketIndex] = (series.bucketCounts[bucketIndex] ?? 0) + 1;
    series.sum += value;
    series.count += 1;
  }

  protected createSeries(): HistogramSeries {
    return {
      bucketCounts: new Array<number>(this.#upperBounds.length + 1).fill(0),
      sum: 0,
      count: 0,
    };
  }

  protected renderSeries(
    labelValues: readonly string[],
    series: HistogramSeries,
    lines: string[],
  ): void {
    const bucketLabelNames = [...this.labelNames, 'le'];
    const bounds = [...this.#upperBounds, Number.POSITIVE_INFINITY];
    let cumulative = 0;
    bounds.forEach((bound, index) => {
      cumulative += series.bucketCounts[index] ?? 0;
      const labels = renderLabels(bucketLabelNames, [...labelValues, formatSampleValue(bound)]);
      lines.push(`${this.name}_bucket${labels} ${formatSampleValue(cumulative)}`);
    });
    const labels = renderLabels(this.labelNames, labelValues);
    lines.push(`${this.name}_sum${labels} ${formatSampleValue(series.sum)}`);
    lines.push(`${this.name}_count${labels} ${formatSampleValue(series.count)}`);
  }
}

/**
 * The metrics one `tandem serve` process exposes. `model` is the model name as clients send
 * it; routes without a model pass an empty string.
 */
export class ServerMetrics {
  readonly #requests = new CounterFamily(
    'tandem_requests_total',
    'Requests answered, by route, model and HTTP status code.',
    ['route', 'model', 'status'],
  );
  readonly #promptTokens = new CounterFamily(
    'tandem_prompt_tokens_total',
    'Prompt tokens processed, by model.',
    ['model'],
  );
  readonly #completionTokens = new CounterFamily(
    'tandem_completion_tokens_total',
    'Completion tokens generated, by model.',
    ['model'],
  );
  readonly #timeToFirstToken = new HistogramFamily(
    'tandem_time_to_first_token_seconds',
    'Seconds from a request (its body read) to its first token, queue wait and model load included, by model.',
    ['model'],
    timeToFirstTokenBucketsSeconds,
  );
  readonly #requestDuration = new HistogramFamily(
    'tandem_request_duration_seconds',
    'Seconds from a request (its body read) to its last token, queue wait and model load included, by model.',
    ['model'],
    requestDurationBucketsSeconds,
  );
  readonly #queueDepth = new GaugeFamily(
    'tandem_queue_depth',
    'Requests waiting for a generation slot, by model.',
    ['model'],
  );
  readonly #inFlight = new GaugeFamily(
    'tandem_requests_in_flight',
    'Requests being generated now, by model.',
    ['model'],
  );
  readonly #modelLoaded = new GaugeFamily(
    'tandem_model_loaded',
    'Whether the model is loaded (1) or not (0).',
    ['model'],
  );
  readonly #modelLoad = new HistogramFamily(
    'tandem_model_load_seconds',
    'Seconds taken to load a model, by model.',
    ['model'],
    modelLoadBucketsSeconds,
  );

  /** In render order. */
  readonly #families: readonly MetricFamily<unknown>[] = [
    this.#requests,
    this.#promptTokens,
    this.#completionTokens,
    this.#timeToFirstToken,
    this.#requestDuration,
    this.#queueDepth,
    this.#inFlight,
    this.#modelLoaded,
    this.#modelLoad,
  ];

  /** Counts one answered request; `status` is the HTTP status code. */
  countRequest(route: string, model: string, status: number | string): void {
    this.#requests.increment([route, model, String(status)]);
  }

  /** Adds a request's token usage; an undefined, negative or NaN count is skipped. */
  countTokens(
    model: string,
    promptTokens: number | undefined,
    completionTokens: number | undefined,
  ): void {
    if (promptTokens !== undefined) this.#promptTokens.increment([model], promptTokens);
    if (completionTokens !== undefined) this.#completionTokens.increment([model], completionTokens);
  }

  observeTimeToFirstTokenSeconds(model: string, seconds: number): void {
    this.#timeToFirstToken.observe([model], seconds);
  }

  /** End to end: from the request (its body read) to its last token. */
  observeRequestDurationSeconds(model: string, seconds: number): void {
    this.#requestDuration.observe([model], seconds);
  }

  observeModelLoadSeconds(model: string, seconds: number): void {
    this.#modelLoad.observe([model], seconds);
  }

  /** Requests waiting for a slot; a negative or NaN count is skipped. */
  setQueueDepth(model: string, waitingRequests: number): void {
    this.#queueDepth.set([model], waitingRequests);
  }

  /** Requests being generated now; a negative or NaN count is skipped. */
  setInFlight(model: string, activeRequests: number): void {
    this.#inFlight.set([model], activeRequests);
  }

  setModelLoaded(model: string, loaded: boolean): void {
    this.#modelLoaded.set([model], loaded ? 1 : 0);
  }

  /** The whole exposition, ending with a newline; serve it with `contentType`. */
  render(): string {
    const lines: string[] = [];
    for (const family of this.#families) family.render(lines);
    return `${lines.join('\n')}\n`;
  }
}

export function createServerMetrics(): ServerMetrics {
  return new ServerMetrics();
}
