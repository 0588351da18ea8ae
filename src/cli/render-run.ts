import type { RunResult } from '../generate/generate.js';
import { formatBytes } from '../units.js';
import { formatMs, formatRate } from './format.js';

/** The `--verbose` stats block: every figure with its unit and, for tokens, its provenance. */
export function renderRunStats(result: RunResult): string {
  const heading = [
    result.model,
    result.engine,
    result.gpu,
    result.threads === undefined
      ? undefined
      : `${result.threads} thread${result.threads === 1 ? '' : 's'}`,
    result.resolvedModelId !== undefined && result.resolvedModelId !== result.model
      ? `id ${result.resolvedModelId}`
      : undefined,
    result.baseUrl,
  ]
    .filter((part) => part !== undefined)
    .join(' · ');
  const rows: [string, string][] = [];
  if (result.loadMs !== undefined) rows.push(['load', `${formatMs(result.loadMs)} (cold run)`]);
  else if (result.setupMs !== undefined)
    rows.push([
      'setup',
      `${formatMs(result.setupMs)} (endpoint and model id; the server loads its model itself)`,
    ]);
  else rows.push(['load', 'warm (model already loaded)']);
  if (result.queueMs >= 1 || result.attempts > 1)
    rows.push([
      'queue',
      `${formatMs(result.queueMs)} before the answering request${result.attempts > 1 ? ` (${result.attempts} attempts)` : ''}`,
    ]);
  rows.push(['TTFT', formatMs(result.ttftMs)]);
  rows.push(['TTFO', formatMs(result.ttfoMs)]);
  rows.push([
    'output tokens',
    `${result.outputTokens} (${result.outputTokensSource})${result.reasoningTokens === undefined ? '' : `, ${result.reasoningTokens} reasoning`}`,
  ]);
  rows.push([
    'prompt tokens',
    result.promptTokens === undefined ? '—' : String(result.promptTokens),
  ]);
  rows.push([
    'decode',
    `${formatRate(result.decodeTokensPerSecond)} (TPOT ${formatMs(result.tpotMs)})`,
  ]);
  rows.push(['request', formatRate(result.requestTokensPerSecond)]);
  rows.push(['E2E', formatMs(result.e2eMs)]);
  if (result.stallCount > 0)
    rows.push(['stalls', `${result.stallCount} gaps over ${formatMs(result.stallThresholdMs)}`]);
  if (result.peakRssDeltaBytes !== undefined && result.peakRssBytes !== undefined) {
    rows.push([
      'peak memory',
      `+${formatBytes(result.peakRssDeltaBytes)} RSS (process peak ${formatBytes(result.peakRssBytes)})`,
    ]);
  } else {
    rows.push(['peak memory', 'not measured (the model runs in another process)']);
  }
  if (result.modelFileSizeBytes !== undefined)
    rows.push(['model file', formatBytes(result.modelFileSizeBytes)]);
  rows.push([
    'finish',
    result.incomplete ? `${result.finishReason} (incomplete)` : result.finishReason,
  ]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `── ${heading}`,
    ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`),
  ].join('\n');
}
