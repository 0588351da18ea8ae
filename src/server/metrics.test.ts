import { describe, expect, it } from 'vitest';
import {
  contentType,
  createServerMetrics,
  escapeHelpText,
  formatSampleValue,
  ServerMetrics,
} from './metrics.js';

// A small, strict parser for the Prometheus text exposition format 0.0.4, independent of the
// renderer: it unescapes on its own and throws on any line it does not understand.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  /** Every `# HELP` line, in order, with its text unescaped. */
  helps: { name: string; text: string }[];
  /** Every `# TYPE` line, in order. */
  types: { name: string; type: string }[];
  samples: Sample[];
  /** For each line of the text: what it was. */
  lineKinds: ('help' | 'type' | 'comment' | 'sample')[];
}

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const floatPattern = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (!floatPattern.test(text)) throw new Error(`not a sample value: ${JSON.stringify(text)}`);
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(.)/g, (_whole, character: string) => {
    if (character === '\\') return '\\';
    if (character === 'n') return '\n';
    return `\\${character}`;
  });
}

/** Parses `{a="x",b="y"}` from the start of `text`; returns the labels and what follows. */
function parseLabels(text: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let position = 1; // after '{'
  if (text[position] === '}') return { labels, rest: text.slice(position + 1) };
  for (;;) {
    const nameMatch = labelNamePattern.exec(text.slice(position));
    if (!nameMatch) throw new Error(`bad label name at ${position} in ${JSON.stringify(text)}`);
    const name = nameMatch[0];
    position += name.length;
    if (text.slice(position, position + 2) !== '="') throw new Error(`expected =" after ${name}`);
    position += 2;
    let value = '';
    for (;;) {
      const character = text[position];
      if (character === undefined) throw new Error('unterminated label value');
      if (character === '\n') throw new Error('raw line feed in label value');
      if (character === '"') break;
      if (character === '\\') {
        const escaped = text[position + 1];
        if (escaped === '\\') value += '\\';
        else if (escaped === '"') value += '"';
        else if (escaped === 'n') value += '\n';
        else throw new Error(`bad escape \\${escaped ?? ''} in label value`);
        position += 2;
      } else {
        value += character;
        position += 1;
      }
    }
    position += 1; // closing quote
    if (Object.hasOwn(labels, name)) throw new Error(`label ${name} given twice`);
    labels[name] = value;
    const separator = text[position];
    position += 1;
    if (separator === '}') return { labels, rest: text.slice(position) };
    if (separator !== ',') throw new Error(`expected , or } after label ${name}`);
  }
}

function parseSample(line: string): Sample {
  const nameMatch = metricNamePattern.exec(line);
  if (!nameMatch) throw new Error(`bad metric name in ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest));
  const fields = rest.split(' ');
  // ' value' or ' value timestamp'
  if (fields[0] !== '' || fields.length < 2 || fields.length > 3) {
    throw new Error(`bad sample line ${JSON.stringify(line)}`);
  }
  const value = parseValue(fields[1] ?? '');
  if (fields[2] !== undefined && !/^-?\d+$/.test(fields[2])) throw new Error('bad timestamp');
  return { name, labels, value };
}

function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const exposition: Exposition = { helps: [], types: [], samples: [], lineKinds: [] };
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    const type =
      /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      exposition.helps.push({ name: help[1] ?? '', text: unescapeHelp(help[2] ?? '') });
      exposition.lineKinds.push('help');
    } else if (type) {
      exposition.types.push({ name: type[1] ?? '', type: type[2] ?? '' });
      exposition.lineKinds.push('type');
    } else if (line.startsWith('# HELP') || line.startsWith('# TYPE')) {
      throw new Error(`malformed metadata line ${JSON.stringify(line)}`);
    } else if (line.startsWith('#')) {
      exposition.lineKinds.push('comment');
    } else {
      exposition.samples.push(parseSample(line));
      exposition.lineKinds.push('sample');
    }
  }
  return exposition;
}

function samplesNamed(exposition: Exposition, name: string, labels: Record<string, string>) {
  return exposition.samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

function sampleValue(exposition: Exposition, name: string, labels: Record<string, string>): number {
  const matches = samplesNamed(exposition, name, labels);
  if (matches.length !== 1) {
    throw new Error(`expected one ${name} ${JSON.stringify(labels)}, found ${matches.length}`);
  }
  return matches[0]?.value ?? Number.NaN;
}

/** Buckets of one histogram series, in the order printed. */
function bucketsOf(exposition: Exposition, name: string, model: string) {
  return samplesNamed(exposition, `${name}_bucket`, { model }).map((sample) => ({
    upperBound: parseValue(sample.labels.le ?? ''),
    count: sample.value,
  }));
}

const families: Record<string, string> = {
  tandem_requests_total: 'counter',
  tandem_prompt_tokens_total: 'counter',
  tandem_completion_tokens_total: 'counter',
  tandem_time_to_first_token_seconds: 'histogram',
  tandem_request_duration_seconds: 'histogram',
  tandem_queue_depth: 'gauge',
  tandem_requests_in_flight: 'gauge',
  tandem_model_loaded: 'gauge',
  tandem_model_load_seconds: 'histogram',
};

const histogramBounds: Record<string, number[]> = {
  tandem_time_to_first_token_seconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  tandem_request_duration_seconds: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  tandem_model_load_seconds: [0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
};

/** The family a sample belongs to, honouring the histogram suffixes. */
function familyOf(sampleName: string, declared: Record<string, string>): string | undefined {
  if (declared[sampleName] !== undefined) return sampleName;
  const suffix = /_(bucket|sum|count)$/.exec(sampleName);
  if (!suffix) return undefined;
  const base = sampleName.slice(0, -suffix[0].length);
  return declared[base] === 'histogram' ? base : undefined;
}

function busyMetrics(): ServerMetrics {
  const metrics = createServerMetrics();
  metrics.countRequest('/v1/chat/completions', 'small', 200);
  metrics.countRequest('/v1/models', '', 200);
  metrics.countRequest('/v1/chat/completions', 'large', '503');
  metrics.countTokens('small', 12, 40);
  metrics.observeTimeToFirstTokenSeconds('small', 0.02);
  metrics.observeRequestDurationSeconds('small', 1.5);
  metrics.observeModelLoadSeconds('small', 3.2);
  metrics.setQueueDepth('small', 2);
  metrics.setInFlight('small', 1);
  metrics.setModelLoaded('small', true);
  metrics.setModelLoaded('large', false);
  return metrics;
}

describe('exposition parser (self-check)', () => {
  it('reads labels with escapes and rejects malformed lines', () => {
    const parsed = parseExposition(
      '# HELP a x\\\\y\\nz\n# TYPE a gauge\na{b="q\\"\\\\\\n",c=""} 1.5\n',
    );
    expect(parsed.helps).toEqual([{ name: 'a', text: 'x\\y\nz' }]);
    expect(parsed.samples).toEqual([{ name: 'a', labels: { b: 'q"\\\n', c: '' }, value: 1.5 }]);
    expect(() => parseExposition('a{b="x} 1\n')).toThrow();
    expect(() => parseExposition('a{b="\\t"} 1\n')).toThrow();
    expect(() => parseExposition('a 1,5\n')).toThrow();
    expect(() => parseExposition('a 1')).toThrow();
    expect(() => parseExposition('# TYPE a number\n')).toThrow();
  });
});

describe('ServerMetrics', () => {
  it('serves the 0.0.4 text content type', () => {
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('prints HELP and TYPE for every family, even with no samples', () => {
    const text = new ServerMetrics().render();
    const parsed = parseExposition(text);
    expect(parsed.samples).toEqual([]);
    expect(parsed.types.map(({ name }) => name)).toEqual(Object.keys(families));
    expect(parsed.helps.map(({ name }) => name)).toEqual(Object.keys(families));
    for (const { name, type } of parsed.types) expect(type).toBe(families[name]);
    for (const { text: helpText } of parsed.helps) expect(helpText.length).toBeGreaterThan(0);
  });

  it('adds counters up per label set', () => {
    const metrics = createServerMetrics();
    for (let index = 0; index < 3; index += 1) {
      metrics.countRequest('/v1/chat/completions', 'small', 200);
    }
    metrics.countRequest('/v1/chat/completions', 'small', 500);
    metrics.countRequest('/v1/chat/completions', 'large', 200);
    metrics.countRequest('/v1/models', '', 200);
    metrics.countRequest('/v1/models', '', '200');
    metrics.countTokens('small', 10, 30);
    metrics.countTokens('small', 5, undefined);
    metrics.countTokens('small', undefined, 7);
    metrics.countTokens('large', 1, 2);
    metrics.countTokens('quiet', undefined, undefined);

    const parsed = parseExposition(metrics.render());
    const requests = (route: string, model: string, status: string) =>
      sampleValue(parsed, 'tandem_requests_total', { route, model, status });
    expect(requests('/v1/chat/completions', 'small', '200')).toBe(3);
    expect(requests('/v1/chat/completions', 'small', '500')).toBe(1);
    expect(requests('/v1/chat/completions', 'large', '200')).toBe(1);
    expect(requests('/v1/models', '', '200')).toBe(2);
    expect(samplesNamed(parsed, 'tandem_requests_total', {})).toHaveLength(4);
    expect(samplesNamed(parsed, 'tandem_requests_total', {})[0]?.labels).toEqual({
      route: '/v1/chat/completions',
      model: 'small',
      status: '200',
    });

    expect(sampleValue(parsed, 'tandem_prompt_tokens_total', { model: 'small' })).toBe(15);
    expect(sampleValue(parsed, 'tandem_completion_tokens_total', { model: 'small' })).toBe(37);
    expect(sampleValue(parsed, 'tandem_prompt_tokens_total', { model: 'large' })).toBe(1);
    expect(sampleValue(parsed, 'tandem_completion_tokens_total', { model: 'large' })).toBe(2);
    expect(samplesNamed(parsed, 'tandem_prompt_tokens_total', { model: 'quiet' })).toEqual([]);
  });

  it('keeps histogram buckets cumulative, with +Inf equal to _count and _sum the sum', () => {
    const metrics = createServerMetrics();
    // On a bound (le is inclusive), between bounds, and above every bound.
    const observations = [0.005, 0.007, 0.01, 0.3, 0.3, 4, 29.9, 45, 1000];
    for (const seconds of observations) metrics.observeTimeToFirstTokenSeconds('small', seconds);
    metrics.observeTimeToFirstTokenSeconds('large', 0.001);

    const parsed = parseExposition(metrics.render());
    const name = 'tandem_time_to_first_token_seconds';
    const buckets = bucketsOf(parsed, name, 'small');
    const bounds = histogramBounds[name] ?? [];
    expect(buckets.map(({ upperBound }) => upperBound)).toEqual([
      ...bounds,
      Number.POSITIVE_INFINITY,
    ]);
    for (const [index, bucket] of buckets.entries()) {
      const expected = observations.filter((seconds) => seconds <= bucket.upperBound).length;
      expect(bucket.count, `le=${bucket.upperBound}`).toBe(expected);
      if (index > 0) expect(bucket.count).toBeGreaterThanOrEqual(buckets[index - 1]?.count ?? 0);
    }
    const count = sampleValue(parsed, `${name}_count`, { model: 'small' });
    expect(count).toBe(observations.length);
    expect(buckets.at(-1)?.count).toBe(count);
    const expectedSum = observations.reduce((total, seconds) => total + seconds, 0);
    expect(sampleValue(parsed, `${name}_sum`, { model: 'small' })).toBeCloseTo(expectedSum, 9);

    expect(
      bucketsOf(parsed, name, 'large').every(({ count: bucketCount }) => bucketCount === 1),
    ).toBe(true);
    expect(sampleValue(parsed, `${name}_count`, { model: 'large' })).toBe(1);
    // _sum and _count carry the series labels only, never le.
    expect(samplesNamed(parsed, `${name}_sum`, {})[0]?.labels).toEqual({ model: 'small' });
  });

  it('prints every bucket bound of every histogram, in order', () => {
    const metrics = createServerMetrics();
    metrics.observeTimeToFirstTokenSeconds('m', 1);
    metrics.observeRequestDurationSeconds('m', 1);
    metrics.observeModelLoadSeconds('m', 1);
    const parsed = parseExposition(metrics.render());
    for (const [name, bounds] of Object.entries(histogramBounds)) {
      const labelTexts = samplesNamed(parsed, `${name}_bucket`, { model: 'm' }).map(
        (sample) => sample.labels.le,
      );
      expect(labelTexts, name).toEqual([...bounds.map(String), '+Inf']);
      for (const bucket of bucketsOf(parsed, name, 'm')) {
        expect(bucket.count).toBe(bucket.upperBound >= 1 ? 1 : 0);
      }
    }
  });

  it('escapes label values so they round-trip through a parser', () => {
    const awkward = 'we"ird\\model\nname';
    const metrics = createServerMetrics();
    metrics.countRequest('/v1/chat/"completions"', awkward, 200);
    metrics.countTokens(awkward, 3, 4);
    metrics.observeRequestDurationSeconds(awkward, 0.2);
    metrics.setModelLoaded(awkward, true);

    const text = metrics.render();
    expect(text).toContain('model="we\\"ird\\\\model\\nname"');
    const parsed = parseExposition(text);
    expect(
      sampleValue(parsed, 'tandem_requests_total', {
        route: '/v1/chat/"completions"',
        model: awkward,
        status: '200',
      }),
    ).toBe(1);
    expect(sampleValue(parsed, 'tandem_prompt_tokens_total', { model: awkward })).toBe(3);
    expect(sampleValue(parsed, 'tandem_request_duration_seconds_count', { model: awkward })).toBe(
      1,
    );
    expect(sampleValue(parsed, 'tandem_model_loaded', { model: awkward })).toBe(1);
    expect(bucketsOf(parsed, 'tandem_request_duration_seconds', awkward)).toHaveLength(13);
  });

  it('escapes HELP text backslashes and line feeds', () => {
    const help = 'one \\ two\nthree "quoted"';
    expect(escapeHelpText(help)).toBe('one \\\\ two\\nthree "quoted"');
    const parsed = parseExposition(`# HELP x ${escapeHelpText(help)}\n`);
    expect(parsed.helps).toEqual([{ name: 'x', text: help }]);
  });

  it('sets and overwrites gauges per model', () => {
    const metrics = createServerMetrics();
    metrics.setQueueDepth('small', 5);
    metrics.setQueueDepth('small', 2);
    metrics.setQueueDepth('large', 7);
    metrics.setInFlight('small', 4);
    metrics.setInFlight('small', 0);
    metrics.setModelLoaded('small', true);
    metrics.setModelLoaded('large', true);
    metrics.setModelLoaded('large', false);

    const parsed = parseExposition(metrics.render());
    expect(sampleValue(parsed, 'tandem_queue_depth', { model: 'small' })).toBe(2);
    expect(sampleValue(parsed, 'tandem_queue_depth', { model: 'large' })).toBe(7);
    expect(sampleValue(parsed, 'tandem_requests_in_flight', { model: 'small' })).toBe(0);
    expect(sampleValue(parsed, 'tandem_model_loaded', { model: 'small' })).toBe(1);
    expect(sampleValue(parsed, 'tandem_model_loaded', { model: 'large' })).toBe(0);
  });

  it('ignores NaN, negative and infinite figures', () => {
    const metrics = busyMetrics();
    const before = metrics.render();
    for (const bad of [Number.NaN, -1, -0.5, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      metrics.observeTimeToFirstTokenSeconds('small', bad);
      metrics.observeRequestDurationSeconds('small', bad);
      metrics.observeModelLoadSeconds('small', bad);
      metrics.observeTimeToFirstTokenSeconds('fresh', bad);
      metrics.countTokens('small', bad, bad);
      metrics.countTokens('fresh', bad, bad);
      metrics.setQueueDepth('small', bad);
      metrics.setInFlight('small', bad);
      metrics.setQueueDepth('fresh', bad);
    }
    const after = metrics.render();
    expect(after).toBe(before);
    expect(after).not.toMatch(/NaN|-Inf|fresh/);
    const parsed = parseExposition(after);
    expect(sampleValue(parsed, 'tandem_queue_depth', { model: 'small' })).toBe(2);
    expect(
      sampleValue(parsed, 'tandem_time_to_first_token_seconds_count', { model: 'small' }),
    ).toBe(1);
  });

  it('renders a full exposition of valid lines, HELP and TYPE once per family, before its samples', () => {
    const metrics = busyMetrics();
    const text = metrics.render();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
    const parsed = parseExposition(text);
    expect(parsed.lineKinds.every((kind) => kind !== 'comment')).toBe(true);
    expect(parsed.lineKinds.filter((kind) => kind === 'sample')).toHaveLength(
      parsed.samples.length,
    );

    const helpNames = parsed.helps.map(({ name }) => name);
    const typeNames = parsed.types.map(({ name }) => name);
    expect(new Set(helpNames).size).toBe(helpNames.length);
    expect(new Set(typeNames).size).toBe(typeNames.length);
    expect([...helpNames].sort()).toEqual(Object.keys(families).sort());
    expect([...typeNames].sort()).toEqual(Object.keys(families).sort());

    // Each family's samples follow its own TYPE line, and no family's samples are split.
    const lines = text.slice(0, -1).split('\n');
    let currentFamily: string | undefined;
    const finishedFamilies = new Set<string>();
    const declared: Record<string, string> = {};
    for (const line of lines) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) {
        if (currentFamily !== undefined) finishedFamilies.add(currentFamily);
        currentFamily = type[1];
        declared[type[1] ?? ''] = type[2] ?? '';
        continue;
      }
      if (line.startsWith('#')) continue;
      const family = familyOf(parseSample(line).name, declared);
      expect(family, line).toBeDefined();
      expect(family, line).toBe(currentFamily);
      expect(finishedFamilies.has(family ?? '')).toBe(false);
    }

    for (const sample of parsed.samples) expect(Number.isNaN(sample.value)).toBe(false);
    // Every histogram series has its +Inf bucket, _sum and _count.
    for (const name of Object.keys(histogramBounds)) {
      const counts = samplesNamed(parsed, `${name}_count`, {});
      expect(counts.length).toBeGreaterThan(0);
      for (const countSample of counts) {
        const model = countSample.labels.model ?? '';
        expect(bucketsOf(parsed, name, model).at(-1)?.count).toBe(countSample.value);
        expect(samplesNamed(parsed, `${name}_sum`, { model })).toHaveLength(1);
      }
    }
  });

  it('renders label sets in a stable, first-touched order', () => {
    const metrics = createServerMetrics();
    metrics.setInFlight('zeta', 1);
    metrics.setInFlight('alpha', 2);
    metrics.setInFlight('zeta', 3);
    const first = metrics.render();
    expect(metrics.render()).toBe(first);
    const models = samplesNamed(parseExposition(first), 'tandem_requests_in_flight', {}).map(
      (sample) => sample.labels.model,
    );
    expect(models).toEqual(['zeta', 'alpha']);
    expect(first).toContain('tandem_requests_in_flight{model="zeta"} 3\n');
  });

  it('formats numbers the way Prometheus parses them', () => {
    expect(formatSampleValue(42)).toBe('42');
    expect(formatSampleValue(0)).toBe('0');
    expect(formatSampleValue(0.005)).toBe('0.005');
    expect(formatSampleValue(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(formatSampleValue(Number.NEGATIVE_INFINITY)).toBe('-Inf');
    expect(formatSampleValue(Number.NaN)).toBe('NaN');
    for (const value of [42, 0.1 + 0.2, 1e21, 1e-7, 123456789.5]) {
      expect(parseValue(formatSampleValue(value))).toBe(value);
    }
  });
});
