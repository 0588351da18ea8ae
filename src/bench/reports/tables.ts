/**
 * The report's tables as plain data (cells are unescaped text), rendered to Markdown by
 * markdown.ts and to HTML by html.ts, so both formats always show the same figures.
 */
import type { SampleSummary } from '../../measure/statistics/summary.js';
import { formatBytes } from '../../units.js';
import type {
  BenchLevelSummary,
  BenchModelInfo,
  BenchRun,
  ErrorCause,
  PromptSource,
} from '../types.js';
import {
  describeLevel,
  formatMs,
  formatPercent,
  formatRate,
  formatSeconds,
  levelOf,
  modelName,
  NO_VALUE,
} from './format.js';

export type Alignment = 'left' | 'right';

export interface ReportTable {
  headers: string[];
  align: Alignment[];
  rows: string[][];
  /** Name–value tables (settings, machine, models): the first column names each row. */
  facts?: boolean;
}

/** The exact header of the workshop exporter's table. */
export const WORKSHOP_HEADERS = [
  'Model',
  'Avg Latency (s)',
  'p95 (s)',
  'Tokens/sec',
  'Rounds',
  'First Token (s)',
] as const;

/** Most failed requests listed one by one; the rest are counted. */
export const MAX_LISTED_FAILURES = 20;

const ERROR_CAUSE_ORDER: readonly ErrorCause[] = [
  'http-4xx',
  'http-429',
  'http-5xx',
  'connection',
  'timeout-connect',
  'timeout-first-byte',
  'timeout-idle',
  'interrupted',
  'aborted',
  'other',
];

function table(headers: string[], align: Alignment[], rows: string[][]): ReportTable {
  return { headers, align, rows };
}

/** Drops the columns (after the first `keep`) in which every row shows no value. */
function withoutEmptyColumns(source: ReportTable, keep: number): ReportTable {
  const kept = source.headers
    .map((_, column) => column)
    .filter(
      (column) =>
        column < keep ||
        source.rows.some((row) => row[column] !== undefined && row[column] !== NO_VALUE),
    );
  return {
    ...source,
    headers: kept.map((column) => source.headers[column] ?? ''),
    align: kept.map((column) => source.align[column] ?? 'left'),
    rows: source.rows.map((row) => kept.map((column) => row[column] ?? NO_VALUE)),
  };
}

/** Summaries in a stable order: by model, then by level. */
export function orderedSummaries(run: BenchRun): BenchLevelSummary[] {
  return [...run.levels].sort((a, b) => a.modelIndex - b.modelIndex || a.levelIndex - b.levelIndex);
}

function hasSeveralLevels(run: BenchRun): boolean {
  return new Set(run.levels.map((summary) => summary.levelIndex)).size > 1;
}

export function sloIsSet(run: BenchRun): boolean {
  const { slo } = run.settings;
  return slo.ttftMs !== undefined || slo.tpotMs !== undefined || slo.e2eMs !== undefined;
}

export function errorsText(summary: BenchLevelSummary): string {
  if (summary.errors === 0) return '0';
  const causes = ERROR_CAUSE_ORDER.flatMap((cause) => {
    const count = summary.errorsByCause[cause];
    return count === undefined || count === 0 ? [] : [`${cause} ${count}`];
  });
  return causes.length === 0 ? String(summary.errors) : `${summary.errors} (${causes.join(', ')})`;
}

/** Model | Avg Latency (s) | p95 (s) | Tokens/sec | Rounds | First Token (s), per model and level. */
export function workshopTable(run: BenchRun): ReportTable {
  const several = hasSeveralLevels(run);
  const rows = orderedSummaries(run).map((summary) => [
    several
      ? `${modelName(run, summary.modelIndex)} (${describeLevel(summary.level)})`
      : modelName(run, summary.modelIndex),
    formatSeconds(summary.e2eMs?.mean),
    formatSeconds(summary.e2eMs?.p95),
    formatRate(summary.outputTokensPerSecond),
    String(summary.requests),
    formatSeconds(summary.ttftMs?.mean),
  ]);
  return table([...WORKSHOP_HEADERS], ['left', 'right', 'right', 'right', 'right', 'right'], rows);
}

/** Counts, errors and throughput over the measured window, per model and level. */
export function throughputTable(run: BenchRun): ReportTable {
  const goodput = sloIsSet(run);
  const headers = [
    'Model',
    'Level',
    'Requests',
    'Errors',
    'Short outputs',
    'Output tok/s',
    'Total tok/s',
    'Req/s',
    ...(goodput ? ['Goodput req/s', 'Met SLOs'] : []),
    'Stalls',
    'Bandwidth ceiling',
    'Window (s)',
  ];
  const rows = orderedSummaries(run).map((summary) => [
    modelName(run, summary.modelIndex),
    describeLevel(summary.level),
    String(summary.requests),
    errorsText(summary),
    String(summary.shortOutputs),
    formatRate(summary.outputTokensPerSecond),
    formatRate(summary.totalTokensPerSecond),
    formatRate(summary.requestsPerSecond),
    ...(goodput
      ? [formatRate(summary.goodputRequestsPerSecond), formatPercent(summary.goodputShare)]
      : []),
    String(summary.stalls),
    formatPercent(summary.bandwidthCeilingShare),
    (summary.windowMs / 1000).toFixed(2),
  ]);
  const align: Alignment[] = headers.map((_, column) => (column < 2 ? 'left' : 'right'));
  return withoutEmptyColumns(table(headers, align, rows), headers.length - 2);
}

function meanWithInterval(summary: SampleSummary): string {
  const mean = formatMs(summary.mean);
  if (summary.ci95 === undefined) return mean;
  return `${mean} (${formatMs(summary.ci95.low)}–${formatMs(summary.ci95.high)})`;
}

const LATENCY_METRICS = [
  ['TTFT', 'ttftMs'],
  ['TTFO', 'ttfoMs'],
  ['TPOT', 'tpotMs'],
  ['ITL', 'itlMs'],
  ['E2E', 'e2eMs'],
  ['Queue', 'queueMs'],
] as const;

function distributionRow(
  model: string,
  level: string,
  metric: string,
  summary: SampleSummary,
): string[] {
  return [
    model,
    level,
    metric,
    String(summary.n),
    meanWithInterval(summary),
    formatMs(summary.sd),
    formatMs(summary.p50),
    formatMs(summary.p90),
    formatMs(summary.p95),
    formatMs(summary.p99),
    formatMs(summary.max),
  ];
}

const DISTRIBUTION_HEADERS = [
  'Model',
  'Level',
  'Metric',
  'n',
  'Mean (95% CI)',
  'SD',
  'p50',
  'p90',
  'p95',
  'p99',
  'Max',
];
const DISTRIBUTION_ALIGN: Alignment[] = DISTRIBUTION_HEADERS.map((_, column) =>
  column < 3 ? 'left' : 'right',
);

/** Every latency distribution in milliseconds, one row per model, level and metric. */
export function latencyTable(run: BenchRun): ReportTable {
  const rows: string[][] = [];
  for (const summary of orderedSummaries(run)) {
    for (const [label, key] of LATENCY_METRICS) {
      const values = summary[key];
      if (values === undefined) continue;
      rows.push(
        distributionRow(
          modelName(run, summary.modelIndex),
          describeLevel(summary.level),
          label,
          values,
        ),
      );
    }
  }
  return table(DISTRIBUTION_HEADERS, DISTRIBUTION_ALIGN, rows);
}

/** Server-reported prefill and decode beside the client's overhead; undefined when none. */
export function serverSideTable(run: BenchRun): ReportTable | undefined {
  const rows: string[][] = [];
  for (const summary of orderedSummaries(run)) {
    const side = summary.serverSide;
    if (side === undefined) continue;
    const parts = [
      ['Server prefill', side.promptMs],
      ['Server decode', side.predictedMs],
      ['Client + transport overhead', side.overheadMs],
    ] as const;
    for (const [label, values] of parts) {
      if (values === undefined) continue;
      rows.push(
        distributionRow(
          modelName(run, summary.modelIndex),
          describeLevel(summary.level),
          label,
          values,
        ),
      );
    }
  }
  return rows.length === 0 ? undefined : table(DISTRIBUTION_HEADERS, DISTRIBUTION_ALIGN, rows);
}

/** The first failed requests with their cause and message; undefined when none failed. */
export function failuresTable(run: BenchRun): { table: ReportTable; unlisted: number } | undefined {
  const failed = run.requests.filter((record) => record.errorCause !== undefined);
  if (failed.length === 0) return undefined;
  const rows = failed
    .slice(0, MAX_LISTED_FAILURES)
    .map((record) => [
      String(record.index),
      modelName(run, record.modelIndex),
      record.warmup ? 'warm-up' : describeLevelOf(run, record.levelIndex),
      record.errorCause ?? NO_VALUE,
      String(record.attempts),
      record.errorMessage ?? NO_VALUE,
    ]);
  return {
    table: table(
      ['Request', 'Model', 'Level', 'Cause', 'Attempts', 'Message'],
      ['right', 'left', 'left', 'left', 'right', 'left'],
      rows,
    ),
    unlisted: failed.length - rows.length,
  };
}

function describeLevelOf(run: BenchRun, levelIndex: number): string {
  const level = levelOf(run, levelIndex);
  return level === undefined ? `level ${levelIndex}` : describeLevel(level);
}

function optional<T>(value: T | undefined, show: (value: T) => string): string {
  return value === undefined ? NO_VALUE : show(value);
}

function parameters(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(count >= 1e7 ? 0 : 1)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(0)}k`;
  return String(count);
}

/**
 * The models side by side (one column each, since there are few models and many figures):
 * engine, file, load and memory figures; a row only where some model has a value.
 */
export function modelsTable(run: BenchRun): ReportTable {
  const fields: [string, (model: BenchModelInfo) => string][] = [
    ['Engine', (model) => model.engine],
    ['Engine version', (model) => model.engineVersion ?? NO_VALUE],
    [
      'Model',
      (model) =>
        model.resolvedModelId ?? (model.model === model.reference ? NO_VALUE : model.model),
    ],
    ['Server', (model) => model.baseUrl ?? NO_VALUE],
    ['Model file', (model) => model.modelPath ?? NO_VALUE],
    ['Parameters', (model) => optional(model.parameterCount, parameters)],
    ['File size', (model) => optional(model.modelFileSizeBytes, formatBytes)],
    ['SHA-256', (model) => optional(model.modelSha256, (hash) => `${hash.slice(0, 16)}…`)],
    ['Load (ms)', (model) => formatMs(model.loadMs)],
    ['Setup (ms)', (model) => formatMs(model.setupMs)],
    ['Peak RSS', (model) => optional(model.peakRssBytes, formatBytes)],
    ['Peak RSS delta', (model) => optional(model.peakRssDeltaBytes, formatBytes)],
    ['Threads', (model) => optional(model.threads, String)],
    ['GPU', (model) => model.gpu ?? NO_VALUE],
    ['Context size', (model) => optional(model.contextSize, String)],
    [
      'Note',
      (model) =>
        model.error !== undefined
          ? `Not benchmarked: ${model.error}`
          : model.isDemo
            ? 'demo model: random weights'
            : NO_VALUE,
    ],
  ];
  const rows = fields
    .map(([label, value]) => [label, ...run.models.map(value)])
    .filter((row) => row.slice(1).some((cell) => cell !== NO_VALUE));
  return {
    ...table(
      ['', ...run.models.map((model) => model.reference)],
      ['left', ...run.models.map((): Alignment => 'left')],
      rows,
    ),
    facts: true,
  };
}

export function describePrompts(prompts: PromptSource): string {
  switch (prompts.kind) {
    case 'prompt':
      return `one prompt: ${prompts.text.length > 200 ? `${prompts.text.slice(0, 200)}…` : prompts.text}`;
    case 'file':
      return `${prompts.count} prompts from ${prompts.path}`;
    case 'synthetic':
      return `${prompts.count} synthetic prompts of ${prompts.inputTokensMean} ± ${prompts.inputTokensSd} tokens`;
  }
}

function sloText(run: BenchRun): string {
  const { slo } = run.settings;
  const parts = [
    slo.ttftMs === undefined ? undefined : `TTFT ≤ ${slo.ttftMs} ms`,
    slo.tpotMs === undefined ? undefined : `TPOT ≤ ${slo.tpotMs} ms`,
    slo.e2eMs === undefined ? undefined : `E2E ≤ ${slo.e2eMs} ms`,
  ].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** Every setting of the run, as name and value. */
export function settingsTable(run: BenchRun): ReportTable {
  const s = run.settings;
  const rows: string[][] = [
    ['Name', s.name ?? NO_VALUE],
    ['Models', s.models.join(', ')],
    ['Prompts', describePrompts(s.prompts)],
    ['Max tokens', String(s.maxTokens)],
    ['Temperature', String(s.temperature)],
    ['Seed', String(s.seed)],
    ['Warm-up requests', `${s.warmup} per model and level (not counted)`],
    ['Rounds', `${s.rounds} measured requests per model and level (closed loop)`],
    ['Load levels', s.levels.map(describeLevel).join('; ')],
    ['Streaming', s.stream ? 'yes' : 'no (TTFT, TTFO and ITL not measured)'],
    ['Ignore EOS', s.ignoreEos ? 'yes' : 'no'],
    ['SLOs', sloText(run)],
    ['Threads', optional(s.threads, String)],
    ['GPU', s.gpu ?? NO_VALUE],
    ['Context size', optional(s.contextSize, String)],
    ['Stall threshold', `${s.stallThresholdMs} ms`],
    [
      'Memory bandwidth',
      optional(run.memoryBandwidthBytesPerSecond, (bytes) => `${formatBytes(bytes)}/s`),
    ],
  ];
  return { ...table(['Setting', 'Value'], ['left', 'left'], rows), facts: true };
}

export function machineTable(run: BenchRun): ReportTable {
  const m = run.machine;
  const rows: string[][] = [
    ['CPU', m.cpuModel],
    ['Cores', `${m.physicalCores} physical, ${m.logicalCores} logical`],
    ['Memory', formatBytes(m.totalMemoryBytes)],
    ['OS', `${m.platform} ${m.osRelease} (${m.architecture})`],
    ['Node.js', m.nodeVersion],
    ['tandem', run.tandemVersion],
  ];
  return { ...table(['Machine', 'Value'], ['left', 'left'], rows), facts: true };
}

/** One line on the client's event-loop lag, or undefined when it was not measured. */
export function eventLoopLagText(run: BenchRun): string | undefined {
  const lag = run.eventLoopLag;
  if (lag === undefined) return undefined;
  return `Client event-loop lag during the measured window: p50 ${formatMs(lag.p50Ms)} ms, p99 ${formatMs(lag.p99Ms)} ms, max ${formatMs(lag.maxMs)} ms. Lag well below the inter-token gaps means the client was not the bottleneck.`;
}

/** The run's header lines: when, how long, complete or not. */
export function runFacts(run: BenchRun): string[] {
  const facts = [`Started ${run.startedAt}`];
  if (run.finishedAt !== undefined) {
    const seconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
    facts.push(
      Number.isFinite(seconds)
        ? `finished ${run.finishedAt} (${seconds.toFixed(1)} s)`
        : `finished ${run.finishedAt}`,
    );
  }
  if (run.id !== undefined) facts.push(`run #${run.id}`);
  facts.push(`tandem ${run.tandemVersion}`);
  return facts;
}

export const DEFINITIONS: readonly (readonly [string, string])[] = [
  ['TTFT', 'time to first token: request written → first event carrying any generated token'],
  ['TTFO', 'time to first output: → first non-reasoning content token'],
  ['TPOT', 'time per output token after the first: (E2E − TTFT) / (N − 1)'],
  ['ITL', 'inter-token latency: every gap between token-bearing events, pooled'],
  ['E2E', 'request written → last token-bearing event'],
  ['Queue', 'issue → the attempt that answered (waiting for a slot, retries)'],
  [
    'Output tok/s',
    'output tokens of the measured requests ÷ their window (first issue → last token)',
  ],
  ['CI', '95% confidence interval of the mean'],
];
