/** CSV of every request (RFC 4180: CRLF line ends, fields quoted where they must be). */
import type { BenchRequestRecord, BenchRun } from '../types.js';
import { describeLevel, levelOf, modelName } from './format.js';

type Cell = string | number | boolean | undefined;

interface Column {
  header: string;
  value(record: BenchRequestRecord, run: BenchRun): Cell;
}

/** The columns, in order; every scalar of BenchRequestRecord plus the model and the level. */
export const REQUEST_CSV_COLUMNS: readonly Column[] = [
  { header: 'index', value: (r) => r.index },
  { header: 'model', value: (r, run) => modelName(run, r.modelIndex) },
  { header: 'modelIndex', value: (r) => r.modelIndex },
  {
    header: 'level',
    value: (r, run) => {
      const level = levelOf(run, r.levelIndex);
      return level === undefined ? undefined : describeLevel(level);
    },
  },
  { header: 'levelIndex', value: (r) => r.levelIndex },
  { header: 'warmup', value: (r) => r.warmup },
  { header: 'promptIndex', value: (r) => r.promptIndex },
  { header: 'issuedAtMs', value: (r) => r.issuedAtMs },
  { header: 'queueMs', value: (r) => r.queueMs },
  { header: 'attempts', value: (r) => r.attempts },
  { header: 'ttftMs', value: (r) => r.ttftMs },
  { header: 'ttfoMs', value: (r) => r.ttfoMs },
  { header: 'e2eMs', value: (r) => r.e2eMs },
  { header: 'tpotMs', value: (r) => r.tpotMs },
  { header: 'decodeTokensPerSecond', value: (r) => r.decodeTokensPerSecond },
  { header: 'outputTokens', value: (r) => r.outputTokens },
  { header: 'outputTokensSource', value: (r) => r.outputTokensSource },
  { header: 'promptTokens', value: (r) => r.promptTokens },
  { header: 'reasoningTokens', value: (r) => r.reasoningTokens },
  { header: 'tokenEvents', value: (r) => r.tokenTimesMs.length },
  { header: 'stallCount', value: (r) => r.stallCount },
  { header: 'finishReason', value: (r) => r.finishReason },
  { header: 'shortOutput', value: (r) => r.shortOutput },
  { header: 'errorCause', value: (r) => r.errorCause },
  { header: 'errorMessage', value: (r) => r.errorMessage },
  { header: 'serverPromptMs', value: (r) => r.serverTimings?.promptMs },
  { header: 'serverPredictedMs', value: (r) => r.serverTimings?.predictedMs },
  { header: 'serverPredictedTokens', value: (r) => r.serverTimings?.predictedTokens },
  { header: 'meetsSlo', value: (r) => r.meetsSlo },
];

/** One field: empty for undefined; quoted when it holds a comma, a quote or a line break. */
export function csvField(value: Cell): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function renderCsv(run: BenchRun): string {
  const lines = [REQUEST_CSV_COLUMNS.map((column) => csvField(column.header)).join(',')];
  for (const record of run.requests) {
    lines.push(REQUEST_CSV_COLUMNS.map((column) => csvField(column.value(record, run))).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
