/**
 * The HTML report: one self-contained file (inline CSS and SVG, no script, no external
 * resource; a Content-Security-Policy forbids loading any), readable offline and in print.
 */
import { summarize } from '../../measure/statistics/summary.js';
import type { BenchLevelSummary, BenchRequestRecord, BenchRun } from '../types.js';
import { escapeHtml } from './escape.js';
import {
  comparisonLine,
  demoModelNote,
  describeLevel,
  formatMs,
  formatRate,
  isConcurrencySweep,
  modelName,
  shortLevel,
} from './format.js';
import { reportTitle } from './markdown.js';
import {
  type BoxPlotRow,
  barChart,
  boxPlotChart,
  colorOf,
  type LegendItem,
  lineChart,
  timelineChart,
} from './svg-charts.js';
import {
  DEFINITIONS,
  eventLoopLagText,
  failuresTable,
  latencyTable,
  machineTable,
  modelsTable,
  orderedSummaries,
  type ReportTable,
  runFacts,
  serverSideTable,
  settingsTable,
  throughputTable,
  workshopTable,
} from './tables.js';

const STYLE = `
:root { color-scheme: light; --text: #1f2937; --muted: #6b7280; --rule: #e5e7eb; --band: #f9fafb; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--text); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 32px 28px 48px; }
h1 { font-size: 26px; line-height: 1.2; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 15px; margin: 0 0 2px; }
p { margin: 6px 0 10px; }
.run-facts { color: var(--muted); margin: 0 0 16px; }
.note { border-left: 4px solid #E69F00; background: #fff8eb; padding: 8px 12px; margin: 12px 0; border-radius: 0 6px 6px 0; }
.warning { border-left-color: #D55E00; background: #fdf0ea; }
.caption { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
.table-scroll { overflow-x: auto; margin: 8px 0 4px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; width: auto; }
th, td { padding: 5px 9px; white-space: nowrap; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; white-space: normal; vertical-align: bottom; }
td.num, th.num { text-align: right; }
tbody tr:nth-child(even) td, tbody tr:nth-child(even) th { background: var(--band); }
td.wrap { white-space: normal; min-width: 160px; }
tbody th { background: #fff; text-align: left; vertical-align: top; white-space: nowrap; font-weight: 600; }
table.fact-table td { max-width: 420px; overflow-wrap: anywhere; }
td.message { white-space: normal; max-width: 560px; min-width: 280px; overflow-wrap: anywhere; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
.charts { display: grid; grid-template-columns: 1fr; gap: 18px; }
figure { margin: 0; padding: 14px 16px 8px; border: 1px solid var(--rule); border-radius: 8px; background: #fff; }
figure svg { display: block; width: 100%; max-width: 960px; height: auto; margin: 6px 0 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
figure .empty { color: var(--muted); font-style: italic; }
ul.plain { padding-left: 20px; margin: 6px 0; }
dl.definitions { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 13px; margin: 8px 0; }
dl.definitions dt { font-weight: 600; }
dl.definitions dd { margin: 0; color: var(--muted); }
.two-columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 0 28px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print {
  main { max-width: none; padding: 0; }
  body { font-size: 11pt; }
  h2 { break-after: avoid; }
  figure, table { break-inside: avoid; }
  .table-scroll { overflow: visible; }
  tbody tr:nth-child(even) td { background: none; }
}
@page { margin: 14mm; }
`;

function htmlTable(source: ReportTable): string {
  const cellClass = (column: number) => {
    const classes = [];
    if (source.align[column] === 'right') classes.push('num');
    if (source.headers[column] === 'Message') classes.push('message');
    if (source.facts === true && column > 0) classes.push('wrap');
    return classes.length === 0 ? '' : ` class="${classes.join(' ')}"`;
  };
  const head = source.headers
    .map((header, column) => `<th${cellClass(column)} scope="col">${escapeHtml(header)}</th>`)
    .join('');
  const row = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        source.facts === true && column === 0
          ? `<th scope="row">${escapeHtml(cell)}</th>`
          : `<td${cellClass(column)}>${escapeHtml(cell)}</td>`,
      )
      .join('');
  const body = source.rows.map((cells) => `<tr>${row(cells)}</tr>`).join('\n');
  return `<div class="table-scroll"><table${source.facts === true ? ' class="fact-table"' : ''}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function figure(title: string, caption: string, content: string): string {
  return `<figure><h3>${escapeHtml(title)}</h3><p class="caption">${escapeHtml(caption)}</p>${content}</figure>`;
}

function measuredCompleted(run: BenchRun, summary: BenchLevelSummary): BenchRequestRecord[] {
  return run.requests.filter(
    (record) =>
      !record.warmup &&
      record.errorCause === undefined &&
      record.modelIndex === summary.modelIndex &&
      record.levelIndex === summary.levelIndex,
  );
}

function modelLegend(run: BenchRun, summaries: readonly BenchLevelSummary[]): LegendItem[] {
  const indices = [...new Set(summaries.map((summary) => summary.modelIndex))].sort(
    (a, b) => a - b,
  );
  return indices.map((index) => ({ label: modelName(run, index), color: colorOf(index) }));
}

function rowLabel(run: BenchRun, summary: BenchLevelSummary, severalLevels: boolean): string {
  const name = modelName(run, summary.modelIndex);
  return severalLevels ? `${name} · ${shortLevel(summary.level)}` : name;
}

function distributionFigure(
  run: BenchRun,
  metric: 'ttftMs' | 'tpotMs',
  title: string,
  caption: string,
): string {
  const summaries = orderedSummaries(run);
  const several = new Set(summaries.map((summary) => summary.levelIndex)).size > 1;
  const rows: BoxPlotRow[] = summaries.map((summary) => ({
    label: rowLabel(run, summary, several),
    color: colorOf(summary.modelIndex),
    values: measuredCompleted(run, summary).flatMap((record) => {
      const value = record[metric];
      return value === undefined ? [] : [value];
    }),
  }));
  if (rows.every((row) => row.values.length === 0)) {
    const why =
      metric === 'ttftMs' && !run.settings.stream
        ? 'Not measured: the requests were not streamed.'
        : 'No completed request to show.';
    return figure(title, caption, `<p class="empty">${escapeHtml(why)}</p>`);
  }
  return figure(
    title,
    caption,
    boxPlotChart({
      title,
      axisTitle: `${metric === 'ttftMs' ? 'TTFT' : 'TPOT'} (ms)`,
      unit: 'ms',
      rows,
      legend: modelLegend(run, summaries),
    }),
  );
}

function throughputFigure(run: BenchRun): string {
  const summaries = orderedSummaries(run);
  const several = new Set(summaries.map((summary) => summary.levelIndex)).size > 1;
  const rows = summaries.map((summary) => {
    const decode = summarize(
      measuredCompleted(run, summary).flatMap((record) =>
        record.decodeTokensPerSecond === undefined ? [] : [record.decodeTokensPerSecond],
      ),
    );
    return {
      label: rowLabel(run, summary, several),
      color: colorOf(summary.modelIndex),
      value: summary.outputTokensPerSecond,
      ...(decode === undefined
        ? {}
        : { marker: { value: decode.mean, low: decode.ci95?.low, high: decode.ci95?.high } }),
    };
  });
  const title = 'Output tokens per second';
  return figure(
    title,
    'Bars: output tokens of all measured requests over the measured window (all streams together). Dot and whiskers: decode speed of one stream (1 / TPOT), mean with its 95% confidence interval.',
    barChart({
      title,
      axisTitle: 'tokens/s',
      rows,
      legend: [
        ...modelLegend(run, summaries),
        { label: 'one stream: mean, 95% CI', color: '#1f2937', shape: 'whisker' },
      ],
      format: (value) => `${formatRate(value)} tok/s`,
    }),
  );
}

function sweepFigures(run: BenchRun): string[] {
  const closed = orderedSummaries(run).filter((summary) => summary.level.mode === 'closed');
  const concurrencyOf = (summary: BenchLevelSummary) =>
    summary.level.mode === 'closed' ? summary.level.concurrency : 1;
  const models = [...new Set(closed.map((summary) => summary.modelIndex))];
  const xValues = closed.map(concurrencyOf);
  const logX = Math.max(...xValues) / Math.min(...xValues) >= 4;
  const throughput = lineChart({
    title: 'Throughput against concurrency',
    xTitle: 'concurrent requests',
    yTitle: 'output tokens/s',
    unit: 'tok/s',
    xValues,
    logX,
    legend: modelLegend(run, closed).map((item) => ({ ...item, shape: 'line' as const })),
    series: models.map((modelIndex) => ({
      name: modelName(run, modelIndex),
      color: colorOf(modelIndex),
      points: closed
        .filter((summary) => summary.modelIndex === modelIndex)
        .map((summary) => ({ x: concurrencyOf(summary), y: summary.outputTokensPerSecond })),
    })),
  });
  const latencySeries = models.flatMap((modelIndex) => {
    const own = closed.filter((summary) => summary.modelIndex === modelIndex);
    const points = (pick: 'p50' | 'p95') =>
      own.flatMap((summary) =>
        summary.e2eMs === undefined ? [] : [{ x: concurrencyOf(summary), y: summary.e2eMs[pick] }],
      );
    return [
      {
        name: `${modelName(run, modelIndex)} p50`,
        color: colorOf(modelIndex),
        points: points('p50'),
      },
      {
        name: `${modelName(run, modelIndex)} p95`,
        color: colorOf(modelIndex),
        dashed: true,
        points: points('p95'),
      },
    ];
  });
  const latency = lineChart({
    title: 'Latency against concurrency',
    xTitle: 'concurrent requests',
    yTitle: 'E2E latency (ms)',
    unit: 'ms',
    xValues,
    logX,
    legend: [
      ...modelLegend(run, closed).map((item) => ({ ...item, shape: 'line' as const })),
      { label: 'p50', color: '#1f2937', shape: 'line' },
      { label: 'p95', color: '#1f2937', shape: 'dashed' },
    ],
    series: latencySeries,
  });
  return [
    figure(
      'Throughput against concurrency',
      'Output tokens per second over the measured window, all streams together, at each closed-loop concurrency.',
      throughput,
    ),
    figure(
      'Latency against concurrency',
      'End-to-end latency of the completed requests: median (solid) and 95th percentile (dashed).',
      latency,
    ),
  ];
}

/** The measured, completed request with the median E2E (the lower one for an even count). */
export function typicalRequest(
  run: BenchRun,
  summary: BenchLevelSummary,
): BenchRequestRecord | undefined {
  const sorted = measuredCompleted(run, summary)
    .filter((record) => record.e2eMs !== undefined && record.tokenTimesMs.length > 0)
    .sort((a, b) => (a.e2eMs ?? 0) - (b.e2eMs ?? 0));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function timelineFigures(run: BenchRun): string[] {
  const firstLevels = new Map<number, BenchLevelSummary>();
  for (const summary of orderedSummaries(run)) {
    if (!firstLevels.has(summary.modelIndex)) firstLevels.set(summary.modelIndex, summary);
  }
  const panels: string[] = [];
  for (const [modelIndex, summary] of firstLevels) {
    const record = typicalRequest(run, summary);
    if (record === undefined) continue;
    const name = modelName(run, modelIndex);
    const heading = `${name}, request #${record.index} at ${describeLevel(summary.level)}: ${record.tokenTimesMs.length} token events in ${formatMs(record.e2eMs)} ms`;
    panels.push(
      timelineChart({
        title: `Per-token timeline of ${name}`,
        heading,
        color: colorOf(modelIndex),
        timesMs: record.tokenTimesMs,
        ttftMs: record.ttftMs,
      }),
    );
  }
  if (panels.length === 0) return [];
  return [
    figure(
      'Per-token timeline of a typical request',
      'For each model, the measured request with the median E2E: each step is one token-bearing event, at its arrival time from t0 (the request written). Each panel has its own time axis. Flat stretches are pauses between tokens.',
      panels.join(''),
    ),
  ];
}

export function renderHtml(run: BenchRun): string {
  const title = reportTitle(run);
  const body: string[] = [];
  body.push(
    `<header><h1>${escapeHtml(title)}</h1><p class="run-facts">${escapeHtml(runFacts(run).join(' · '))}</p></header>`,
  );
  if (run.incomplete) {
    body.push(
      '<p class="note warning"><strong>Incomplete run.</strong> It was stopped before its plan was done; what is shown was measured.</p>',
    );
  }
  const demos = run.models.filter((model) => model.isDemo).map((model) => model.reference);
  if (demos.length > 0) {
    body.push(
      `<p class="note"><strong>Demo models.</strong> ${escapeHtml(demoModelNote(demos))}</p>`,
    );
  }

  body.push('<section><h2>Summary</h2>');
  body.push(htmlTable(workshopTable(run)));
  body.push(
    '<p class="caption">Latency is end to end over completed requests, in seconds; Tokens/sec is output tokens over the measured window; Rounds counts measured requests; First Token is the mean TTFT.</p>',
  );
  body.push(htmlTable(throughputTable(run)));
  body.push('</section>');

  const charts = [
    throughputFigure(run),
    distributionFigure(
      run,
      'ttftMs',
      'Time to first token',
      'Distribution of TTFT over the measured, completed requests, per model and load level.',
    ),
    distributionFigure(
      run,
      'tpotMs',
      'Time per output token',
      'Distribution of TPOT = (E2E − TTFT) / (N − 1) over the measured, completed requests.',
    ),
    ...(isConcurrencySweep(run) ? sweepFigures(run) : []),
    ...timelineFigures(run),
  ];
  body.push(`<section><h2>Charts</h2><div class="charts">${charts.join('\n')}</div></section>`);

  body.push('<section><h2>Latency (ms)</h2>');
  body.push(htmlTable(latencyTable(run)));
  body.push(
    `<dl class="definitions">${DEFINITIONS.map(([term, meaning]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(meaning)}</dd>`).join('')}</dl>`,
  );
  body.push('</section>');

  const server = serverSideTable(run);
  if (server !== undefined) {
    body.push('<section><h2>Server-side timings (ms)</h2>');
    body.push(
      '<p class="caption">What the server reported for its own prefill and decode, and the client E2E minus both: client and transport overhead.</p>',
    );
    body.push(htmlTable(server));
    body.push('</section>');
  }

  const failures = failuresTable(run);
  if (failures !== undefined) {
    body.push('<section><h2>Failed requests</h2>');
    body.push(htmlTable(failures.table));
    if (failures.unlisted > 0) {
      body.push(`<p class="caption">…and ${failures.unlisted} more (see the CSV).</p>`);
    }
    body.push('</section>');
  }

  if (run.comparisons.length > 0) {
    body.push('<section><h2>Comparisons</h2><ul class="plain">');
    for (const comparison of run.comparisons) {
      body.push(`<li>${escapeHtml(comparisonLine(run, comparison))}</li>`);
    }
    body.push('</ul></section>');
  }

  const lag = eventLoopLagText(run);
  if (lag !== undefined) body.push(`<section><h2>Client</h2><p>${escapeHtml(lag)}</p></section>`);

  body.push('<section><h2>Models</h2>');
  body.push(htmlTable(modelsTable(run)));
  body.push('</section>');
  body.push('<section class="two-columns"><div><h2>Settings</h2>');
  body.push(htmlTable(settingsTable(run)));
  body.push('</div><div><h2>Machine</h2>');
  body.push(htmlTable(machineTable(run)));
  body.push('</div></section>');
  body.push(
    `<footer>Written by tandem ${escapeHtml(run.tandemVersion)}. Every request is in the CSV and JSON reports of this run.</footer>`,
  );

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
</body>
</html>
`;
}
