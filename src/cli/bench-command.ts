import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createBenchRecorder } from '../bench/history/bench-store.js';
import { levelFigures } from '../bench/history/run-figures.js';
import { parseConcurrencyLevels, parseServiceLevelObjectives } from '../bench/load.js';
import { parseInputTokens } from '../bench/prompts.js';
import { renderReport, reportFormatFromPath } from '../bench/reports/index.js';
import { type BenchProgress, runBenchmark } from '../bench/runner.js';
import type {
  BenchRun,
  BenchSettings,
  ErrorCause,
  LoadLevel,
  PromptSource,
} from '../bench/types.js';
import { InvalidArgumentError, TandemError } from '../errors.js';
import { tandemHome } from '../models/cache.js';
import { parseWholeNumber } from '../numbers.js';
import { defaultDatabasePath, openDatabase } from '../store/database.js';
import { formatMs } from './format.js';
import { addGenerationFlags, engineOptionsFrom, type GenerationFlags } from './generation-flags.js';
import { integerFlag, numberFlag } from './options.js';
import { renderFiguresTable } from './runs-command.js';
import { demoNote, interruptSignal, type Terminal } from './terminal.js';

export interface BenchFlags extends GenerationFlags {
  prompt?: string;
  prompts?: string;
  inputTokens?: string;
  promptCount?: number;
  warmup?: number;
  rounds?: number;
  concurrency?: string;
  rate?: number;
  duration?: number;
  slo?: string;
  ignoreEos?: boolean;
  stream?: boolean;
  json?: boolean;
  out?: string;
  name?: string;
}

const DEFAULT_BENCH_PROMPT = 'List 5 benefits of local AI inference.';

/** Settings from flags, then the workshop's BENCH_* variables, then defaults. */
export function benchSettings(
  models: readonly string[],
  flags: BenchFlags,
  env: NodeJS.ProcessEnv,
): BenchSettings {
  const fromEnvironment = (env.BENCH_MODELS ?? '')
    .split(',')
    .map((model) => model.trim())
    .filter((model) => model !== '');
  const chosenModels =
    models.length > 0
      ? [...models]
      : fromEnvironment.length > 0
        ? fromEnvironment
        : ['demo-slm', 'demo-llm'];
  const rounds =
    flags.rounds ??
    (env.BENCH_ROUNDS?.trim()
      ? parseWholeNumber(env.BENCH_ROUNDS, `BENCH_ROUNDS=${env.BENCH_ROUNDS}`, { min: 1 })
      : 5);
  const streamVariable = env.BENCH_STREAM?.trim();
  if (
    streamVariable !== undefined &&
    streamVariable !== '' &&
    !['0', '1', 'true', 'false'].includes(streamVariable)
  ) {
    throw new InvalidArgumentError(
      `Invalid BENCH_STREAM=${streamVariable}: use 1 (stream) or 0 (one response per request).`,
    );
  }
  const stream = flags.stream !== false && streamVariable !== '0' && streamVariable !== 'false';
  const sources = [flags.prompt, flags.prompts, flags.inputTokens].filter(
    (value) => value !== undefined,
  );
  if (sources.length > 1) {
    throw new InvalidArgumentError(
      'Give one of --prompt, --prompts FILE or --input-tokens MEAN[:SD].',
    );
  }
  let prompts: PromptSource;
  if (flags.prompts !== undefined) prompts = { kind: 'file', path: flags.prompts, count: 0 };
  else if (flags.inputTokens !== undefined) {
    const { mean, sd } = parseInputTokens(flags.inputTokens);
    prompts = {
      kind: 'synthetic',
      inputTokensMean: mean,
      inputTokensSd: sd,
      count: flags.promptCount ?? Math.max(rounds, 1),
    };
  } else
    prompts = {
      kind: 'prompt',
      text: flags.prompt ?? (env.BENCH_PROMPT?.trim() || DEFAULT_BENCH_PROMPT),
    };
  let levels: LoadLevel[];
  if (flags.rate !== undefined) {
    if (flags.concurrency !== undefined)
      throw new InvalidArgumentError(
        'Give --concurrency (closed loop) or --rate (open loop), not both.',
      );
    if (flags.duration === undefined)
      throw new InvalidArgumentError('--rate needs --duration SECONDS.');
    levels = [{ mode: 'open', ratePerSecond: flags.rate, durationSeconds: flags.duration }];
  } else {
    if (flags.duration !== undefined)
      throw new InvalidArgumentError('--duration goes with --rate R (requests per second).');
    levels = parseConcurrencyLevels(flags.concurrency ?? '1');
  }
  return {
    name: flags.name,
    models: chosenModels,
    prompts,
    maxTokens: flags.maxTokens ?? 128,
    temperature: flags.temperature ?? 0,
    seed: flags.seed ?? 42,
    warmup: flags.warmup ?? 1,
    rounds,
    levels,
    stream,
    ignoreEos: flags.ignoreEos === true,
    slo: flags.slo === undefined ? {} : parseServiceLevelObjectives(flags.slo),
    threads: flags.threads,
    gpu: flags.gpu,
    contextSize: flags.ctx,
    stallThresholdMs: 1000,
  };
}

function progressReporter(terminal: Terminal, started: number) {
  const interactive = terminal.stderr.isTTY === true;
  let lastLine = 0;
  let current = '';
  return (event: BenchProgress) => {
    if (event.type === 'model-start') current = event.reference;
    else if (event.type === 'model-loaded') {
      const { info } = event;
      const loaded =
        info.loadMs !== undefined
          ? `loaded in ${formatMs(info.loadMs)}`
          : `ready in ${formatMs(info.setupMs)}`;
      terminal.stderr.write(`${interactive ? '\r\x1b[K' : ''}${info.reference}: ${loaded}\n`);
    } else if (event.type === 'level-start') {
      current = `${current.split(' ')[0]} ${event.level.mode === 'closed' ? `c=${event.level.concurrency}` : `${event.level.ratePerSecond} req/s`}`;
    } else if (event.type === 'request') {
      const now = performance.now();
      const fraction = Math.min(1, event.done / Math.max(1, event.expectedTotal));
      const elapsed = (now - started) / 1000;
      const eta = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : undefined;
      const width = 24;
      const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '-');
      const line = `[${bar}] ${Math.round(fraction * 100)}% ${event.done}/${event.expectedTotal} requests · ETA ${eta === undefined ? '?' : `${Math.ceil(eta)} s`} · ${current}${event.record.errorCause === undefined ? '' : ` · last error: ${event.record.errorCause}`}`;
      if (interactive) terminal.stderr.write(`\r\x1b[K${line}`);
      else if (now - lastLine > 5000) {
        lastLine = now;
        terminal.stderr.write(`${line}\n`);
      }
    }
  };
}

export function renderBenchText(run: BenchRun): string {
  const lines = [renderFiguresTable(levelFigures(run)), ''];
  for (const comparison of run.comparisons) lines.push(comparison.text);
  if (run.comparisons.length > 0) lines.push('');
  const short = run.levels.reduce((sum, level) => sum + level.shortOutputs, 0);
  if (short > 0)
    lines.push(
      `${short} requests stopped before ${run.settings.maxTokens} tokens: models did unequal work (--ignore-eos asks them not to).`,
    );
  const failedModels = run.models.filter((model) => model.error !== undefined);
  for (const model of failedModels) lines.push(`${model.reference}: not measured: ${model.error}`);
  if (run.eventLoopLag !== undefined) {
    lines.push(
      `Client event-loop lag: p50 ${formatMs(run.eventLoopLag.p50Ms)}, p99 ${formatMs(run.eventLoopLag.p99Ms)}, max ${formatMs(run.eventLoopLag.maxMs)} (high lag means the client, not the model, limited the figures).`,
    );
  }
  const demos = run.models.filter((model) => model.isDemo).map((model) => model.reference);
  if (demos.length > 0) lines.push(`note: ${demos.join(' and ')} ${demoNote(demos.length)}`);
  if (run.incomplete)
    lines.push('Stopped before the plan was done: these are the figures measured until then.');
  return lines.join('\n');
}

/** `tandem bench [models...]`. */
export async function benchCommand(
  models: string[],
  flags: BenchFlags,
  terminal: Terminal,
): Promise<number> {
  const settings = benchSettings(models, flags, terminal.env);
  const outFormat = flags.out === undefined ? undefined : reportFormatFromPath(flags.out);
  const database = openDatabase(defaultDatabasePath(tandemHome(terminal.env)));
  const interrupt = interruptSignal(terminal);
  const started = performance.now();
  let run: BenchRun;
  try {
    run = await runBenchmark({
      settings,
      recorder: createBenchRecorder(database),
      signal: interrupt.signal,
      engineOptions: engineOptionsFrom(flags, terminal),
      onProgress: progressReporter(terminal, started),
    });
  } finally {
    interrupt.dispose();
    if (terminal.stderr.isTTY === true) terminal.stderr.write('\r\x1b[K');
    database.close();
  }
  if (flags.json === true) terminal.stdout.write(`${renderReport(run, 'json')}\n`);
  else terminal.stdout.write(`${renderBenchText(run)}\n`);
  if (flags.out !== undefined && outFormat !== undefined) {
    await writeFile(flags.out, renderReport(run, outFormat));
    terminal.stderr.write(`Report written to ${flags.out}\n`);
  }
  terminal.stderr.write(
    `Saved as run ${run.id} in ${defaultDatabasePath(tandemHome(terminal.env))}: 'tandem runs show ${run.id}'.\n`,
  );
  if (run.incomplete) return 130;
  const measured = run.requests.filter(
    (record) => !record.warmup && record.errorCause !== 'aborted',
  );
  const failed = measured.filter((record) => record.errorCause !== undefined);
  const unusable = run.models.filter((model) => model.error !== undefined);
  if (
    (measured.length > 0 && failed.length === measured.length) ||
    unusable.length === run.models.length
  ) {
    const causes = new Map<ErrorCause | 'load', string>();
    for (const record of failed)
      if (!causes.has(record.errorCause as ErrorCause))
        causes.set(record.errorCause as ErrorCause, record.errorMessage ?? '');
    for (const model of unusable) causes.set('load', `${model.reference}: ${model.error}`);
    const first = [...causes.entries()]
      .slice(0, 3)
      .map(([cause, message]) => `${cause}: ${message}`);
    throw new BenchFailedError(`Every request failed: ${first.join(' | ')}`);
  }
  return 0;
}

export class BenchFailedError extends TandemError {
  override readonly exitCode = 4;
}

export function registerBenchCommand(
  program: Command,
  terminal: Terminal,
  setExitCode: (code: number) => void,
): void {
  addGenerationFlags(
    program
      .command('bench')
      .description(
        'Benchmark models under load: warm-up, rounds, concurrency or request rate, percentiles, reports, history',
      )
      .argument('[models...]', 'model references (default: BENCH_MODELS, else demo-slm demo-llm)')
      .option(
        '-p, --prompt <text>',
        'one prompt for every request (default: BENCH_PROMPT, else the compare prompt)',
      )
      .option('--prompts <file>', 'prompts: one per line, or JSONL with {"messages": [...]}')
      .option('--input-tokens <mean[:sd]>', 'synthetic prompts of this many input tokens')
      .option(
        '--prompt-count <n>',
        'synthetic prompts to make (default: rounds)',
        integerFlag('--prompt-count', { min: 1, max: 100000 }),
      )
      .option(
        '--warmup <n>',
        'unmeasured requests per model and level (default 1)',
        integerFlag('--warmup', { min: 0, max: 10000 }),
      )
      .option(
        '--rounds <n>',
        'measured requests per model and level (default: BENCH_ROUNDS, else 5)',
        integerFlag('--rounds', { min: 1, max: 1000000 }),
      )
      .option(
        '--concurrency <list>',
        'closed loop: concurrent clients, or a sweep like 1,2,4,8 (default 1)',
      )
      .option(
        '--rate <r>',
        'open loop: Poisson arrivals, requests per second',
        numberFlag('--rate', { min: 0.001, max: 100000 }),
      )
      .option(
        '--duration <seconds>',
        'open loop: how long to offer load',
        numberFlag('--duration', { min: 0.1, max: 86400 }),
      )
      .option('--slo <list>', 'service-level objectives for goodput: ttft=MS,tpot=MS,e2e=MS')
      .option(
        '--ignore-eos',
        'ask models to generate --max-tokens every time (llama engine, vLLM, llama-server)',
      )
      .option('--no-stream', 'one response per request (also BENCH_STREAM=0): no TTFT')
      .option('--json', 'print the whole run as JSON')
      .option('--out <file>', 'write a report: .json, .csv (every request), .md or .html')
      .option('--name <name>', 'a name for this run in the history'),
    { maxTokensDefault: '128' },
  ).action((models: string[], flags: BenchFlags) =>
    benchCommand(models, flags, terminal).then(setExitCode),
  );
}
