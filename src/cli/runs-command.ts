/**
 * `tandem runs`: the benchmark history in $TANDEM_HOME/tandem.db. list, show, diff (with
 * significance) and export (through the bench report renderers).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { getRun, getStoredRun, listRuns, type RunStatus } from '../bench/history/bench-store.js';
import { diffRuns } from '../bench/history/run-diff.js';
import { formatLoadLevel, type LevelFigures, levelFigures } from '../bench/history/run-figures.js';
import { renderReport, reportFormatFromPath } from '../bench/reports/index.js';
import type { BenchRun } from '../bench/types.js';
import { tandemHome } from '../models/cache.js';
import { parseWholeNumber } from '../numbers.js';
import { defaultDatabasePath, withDatabase } from '../store/database.js';
import { formatBytes } from '../units.js';
import { formatMs, formatRate, renderTable } from './format.js';
import { integerFlag } from './options.js';
import type { Terminal } from './terminal.js';

function databasePath(terminal: Terminal): string {
  return defaultDatabasePath(tandemHome(terminal.env));
}

function parseRunId(text: string): number {
  return parseWholeNumber(text, `run id '${text}'`, { min: 1 });
}

function writeJson(terminal: Terminal, value: unknown): void {
  terminal.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** '2025-01-31 14:05:09' in local time from an ISO timestamp (as stored, when not a date). */
function formatTimestamp(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function statusText(status: RunStatus): string {
  return status === 'incomplete' ? 'incomplete (stopped before the end)' : status;
}

/** `tandem runs list`: id, name, started, status, models, levels, requests, errors. */
export async function runsListCommand(
  flags: { json?: boolean; limit?: number },
  terminal: Terminal,
): Promise<number> {
  const path = databasePath(terminal);
  const runs = withDatabase(path, (db) =>
    listRuns(db, flags.limit === undefined ? {} : { limit: flags.limit }),
  );
  if (flags.json === true) {
    writeJson(terminal, runs);
    return 0;
  }
  if (runs.length === 0) {
    terminal.stdout.write(`No runs yet in ${path}: run 'tandem bench' to make one.\n`);
    return 0;
  }
  const rows = [['id', 'name', 'started', 'status', 'models', 'levels', 'requests', 'errors']];
  for (const run of runs) {
    rows.push([
      String(run.id),
      run.name ?? '—',
      formatTimestamp(run.startedAt),
      run.status,
      run.models.join(', '),
      run.levels.map(formatLoadLevel).join(', '),
      run.warmupRequests > 0
        ? `${run.requests} (+${run.warmupRequests} warm-up)`
        : String(run.requests),
      String(run.errors),
    ]);
  }
  terminal.stdout.write(`${renderTable(rows, new Set([0, 6, 7]))}\n`);
  terminal.stdout.write(
    `\n'tandem runs show ID' for a run's figures, 'tandem runs diff A B' to compare two runs.\n`,
  );
  return 0;
}

function goodputText(figures: LevelFigures): string {
  if (figures.goodputRequestsPerSecond === undefined) return '—';
  const share =
    figures.goodputShare === undefined ? '' : ` (${(figures.goodputShare * 100).toFixed(0)}%)`;
  return `${formatRate(figures.goodputRequestsPerSecond, 'req/s')}${share}`;
}

/** The per-model, per-level summary table of a run. */
export function renderFiguresTable(figures: readonly LevelFigures[]): string {
  const rows = [
    [
      'model',
      'level',
      'n',
      'errors',
      'TTFT p50',
      'TTFT p95',
      'TPOT p50',
      'decode p50',
      'E2E p50',
      'E2E p95',
      'output',
      'goodput',
    ],
  ];
  for (const figure of figures) {
    rows.push([
      figure.model,
      formatLoadLevel(figure.level),
      String(figure.requests),
      String(figure.errors),
      formatMs(figure.ttftMs?.p50),
      formatMs(figure.ttftMs?.p95),
      formatMs(figure.tpotMs?.p50),
      formatRate(figure.decodeTokensPerSecondP50),
      formatMs(figure.e2eMs?.p50),
      formatMs(figure.e2eMs?.p95),
      formatRate(figure.outputTokensPerSecond),
      goodputText(figure),
    ]);
  }
  return renderTable(rows, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
}

function settingsLines(run: BenchRun): string[] {
  const settings = run.settings;
  const prompts =
    settings.prompts.kind === 'prompt'
      ? `one prompt (${settings.prompts.text.length} characters)`
      : settings.prompts.kind === 'file'
        ? `${settings.prompts.count} from ${settings.prompts.path}`
        : `${settings.prompts.count} synthetic, ${settings.prompts.inputTokensMean}±${settings.prompts.inputTokensSd} input tokens`;
  const slo = [
    settings.slo.ttftMs === undefined ? undefined : `TTFT ≤ ${formatMs(settings.slo.ttftMs)}`,
    settings.slo.tpotMs === undefined ? undefined : `TPOT ≤ ${formatMs(settings.slo.tpotMs)}`,
    settings.slo.e2eMs === undefined ? undefined : `E2E ≤ ${formatMs(settings.slo.e2eMs)}`,
  ].filter((item) => item !== undefined);
  return [
    `Settings: prompts ${prompts}; max tokens ${settings.maxTokens}; temperature ${settings.temperature}; seed ${settings.seed}; warm-up ${settings.warmup}; rounds ${settings.rounds}; load ${settings.levels.map(formatLoadLevel).join(', ')}; ${settings.stream ? 'streaming' : 'not streaming (no TTFT)'}${settings.ignoreEos ? '; ignore EOS' : ''}; SLOs ${slo.length > 0 ? slo.join(', ') : 'none'}; threads ${settings.threads ?? 'default'}; GPU ${settings.gpu ?? 'default'}${settings.contextSize === undefined ? '' : `; context ${settings.contextSize}`}; stall threshold ${formatMs(settings.stallThresholdMs)}`,
  ];
}

function machineLine(run: BenchRun): string {
  const machine = run.machine;
  const bandwidth =
    run.memoryBandwidthBytesPerSecond === undefined
      ? ''
      : `; memory bandwidth ${formatBytes(run.memoryBandwidthBytesPerSecond)}/s`;
  return `Machine: ${machine.cpuModel}, ${machine.physicalCores} cores (${machine.logicalCores} logical), ${formatBytes(machine.totalMemoryBytes)} memory, ${machine.platform} ${machine.osRelease} ${machine.architecture}, Node.js ${machine.nodeVersion}${bandwidth}; tandem ${run.tandemVersion}`;
}

function modelLines(run: BenchRun): string[] {
  return run.models.map((model) => {
    if (model.error !== undefined) return `  ${model.reference}: not benchmarked: ${model.error}`;
    const parts = [
      `${model.engine}${model.engineVersion === undefined ? '' : ` ${model.engineVersion}`}`,
      model.resolvedModelId ?? model.model,
      model.modelFileSizeBytes === undefined ? undefined : formatBytes(model.modelFileSizeBytes),
      model.modelSha256 === undefined ? undefined : `sha256 ${model.modelSha256.slice(0, 12)}…`,
      model.loadMs === undefined ? undefined : `load ${formatMs(model.loadMs)}`,
      model.peakRssBytes === undefined ? undefined : `peak RSS ${formatBytes(model.peakRssBytes)}`,
      model.baseUrl,
      model.isDemo ? 'demo model: random weights' : undefined,
    ].filter((part) => part !== undefined);
    return `  ${model.reference}: ${parts.join(', ')}`;
  });
}

/** `tandem runs show ID`: the run's figures per model and level, settings and machine. */
export async function runsShowCommand(
  idText: string,
  flags: { json?: boolean },
  terminal: Terminal,
): Promise<number> {
  const id = parseRunId(idText);
  const stored = withDatabase(databasePath(terminal), (db) => getStoredRun(db, id));
  const run = stored.run;
  const figures = levelFigures(run);
  if (flags.json === true) {
    writeJson(terminal, { status: stored.status, figures, run });
    return 0;
  }
  const out: string[] = [];
  out.push(
    `Run ${id}${run.name === undefined ? '' : ` "${run.name}"`}: ${statusText(stored.status)}`,
  );
  out.push(
    `Started ${formatTimestamp(run.startedAt)}, finished ${formatTimestamp(run.finishedAt)}`,
  );
  out.push('');
  out.push(
    figures.length === 0 ? 'No measured requests were recorded.' : renderFiguresTable(figures),
  );
  if (figures.some((figure) => figure.source === 'requests'))
    out.push(
      'Rows without a stored summary (the run stopped first) are computed from the recorded requests.',
    );
  if (run.comparisons.length > 0) {
    out.push('');
    for (const comparison of run.comparisons) out.push(comparison.text);
  }
  out.push('');
  out.push('Models:');
  out.push(...modelLines(run));
  out.push(...settingsLines(run));
  out.push(machineLine(run));
  if (run.eventLoopLag !== undefined)
    out.push(
      `Client event-loop lag: p50 ${formatMs(run.eventLoopLag.p50Ms)}, p99 ${formatMs(run.eventLoopLag.p99Ms)}, max ${formatMs(run.eventLoopLag.maxMs)}`,
    );
  terminal.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** `tandem runs diff A B`: each metric of each shared model and level, B against A. */
export async function runsDiffCommand(
  aText: string,
  bText: string,
  flags: { json?: boolean },
  terminal: Terminal,
): Promise<number> {
  const idA = parseRunId(aText);
  const idB = parseRunId(bText);
  const [runA, runB] = withDatabase(databasePath(terminal), (db) => [
    getStoredRun(db, idA).run,
    getStoredRun(db, idB).run,
  ]);
  const diff = diffRuns(runA, runB);
  if (flags.json === true) {
    writeJson(terminal, diff);
    return 0;
  }
  const out: string[] = [];
  if (diff.lines.length === 0)
    out.push(`Runs ${idA} and ${idB} have no model at a load level in common.`);
  for (const line of diff.lines) out.push(line.text);
  if (diff.notes.length > 0) {
    out.push('');
    for (const note of diff.notes) out.push(`note: ${note}`);
  }
  out.push('');
  out.push(
    "Ratios of geometric means over measured, successful requests; 95% CI from Welch's t test on logarithms.",
  );
  terminal.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** `tandem runs export ID --out FILE`: a report of a stored run. */
export async function runsExportCommand(
  idText: string,
  flags: { out: string },
  terminal: Terminal,
): Promise<number> {
  const id = parseRunId(idText);
  const format = reportFormatFromPath(flags.out);
  const run = withDatabase(databasePath(terminal), (db) => getRun(db, id));
  writeFileSync(flags.out, renderReport(run, format));
  terminal.stdout.write(`Wrote run ${id} (${format}) to ${flags.out}\n`);
  return 0;
}

/** Registers `tandem runs list|show|diff|export`. */
export function registerRunsCommand(
  program: Command,
  terminal: Terminal,
  setExitCode: (code: number) => void,
): void {
  const exitWith = (promise: Promise<number>) => promise.then(setExitCode);
  const runs = program
    .command('runs')
    .description(`Benchmark history (every run of 'tandem bench', in $TANDEM_HOME/tandem.db)`);
  runs
    .command('list', { isDefault: true })
    .description('List stored runs, newest first')
    .option('--limit <n>', 'show at most N runs', integerFlag('--limit', { min: 1 }))
    .option('--json', 'print as JSON')
    .action((flags) => exitWith(runsListCommand(flags, terminal)));
  runs
    .command('show')
    .description("A run's figures per model and load level, its settings and machine")
    .argument('<id>', 'run id (see tandem runs list)')
    .option('--json', 'print the whole run as JSON')
    .action((id: string, flags) => exitWith(runsShowCommand(id, flags, terminal)));
  runs
    .command('diff')
    .description('Compare run B with run A: TTFT, TPOT, E2E, decode tok/s, beyond noise or not')
    .argument('<a>', 'the baseline run id')
    .argument('<b>', 'the run compared with it')
    .option('--json', 'print as JSON')
    .action((a: string, b: string, flags) => exitWith(runsDiffCommand(a, b, flags, terminal)));
  runs
    .command('export')
    .description('Write a report of a run: .json, .csv, .md or .html (by the extension)')
    .argument('<id>', 'run id')
    .requiredOption('--out <file>', 'the report file: FILE.json, FILE.csv, FILE.md, FILE.html')
    .action((id: string, flags: { out: string }) =>
      exitWith(runsExportCommand(id, flags, terminal)),
    );
}
