import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import {
  type CompareResult,
  compare,
  DEFAULT_COMPARE_MODELS,
  DEFAULT_COMPARE_PROMPT,
  type ModelComparison,
} from '../compare/compare.js';
import { InvalidArgumentError } from '../errors.js';
import { formatBytes } from '../units.js';
import { excerpt, formatMs, formatRate, renderMarkdownTable, renderTable } from './format.js';
import { addGenerationFlags, engineOptionsFrom, type GenerationFlags } from './generation-flags.js';
import { integerFlag } from './options.js';
import { demoNote, type ExitWith, interruptSignal, type Terminal } from './terminal.js';

export interface CompareFlags extends GenerationFlags {
  prompt?: string;
  system?: string;
  rounds?: number;
  json?: boolean;
  out?: string;
}

const COMPARE_MAX_TOKENS = 128;

/** Models from the arguments, else SLM_ALIAS and LLM_ALIAS, else the two demo models. */
export function compareModels(models: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (models.length > 0) return [...models];
  const fromEnvironment = [env.SLM_ALIAS, env.LLM_ALIAS].filter(
    (value): value is string => value !== undefined && value.trim() !== '',
  );
  return fromEnvironment.length > 0 ? fromEnvironment : [...DEFAULT_COMPARE_MODELS];
}

function memoryCell(model: ModelComparison): string {
  if (model.peakRssDeltaBytes === undefined) return 'n/a (server)';
  return `+${formatBytes(model.peakRssDeltaBytes)}`;
}

function tableRows(result: CompareResult): string[][] {
  const header = [
    'model',
    'engine',
    'load',
    'cold TTFT',
    'warm TTFT p50',
    'decode p50',
    'output tokens',
    'peak RSS',
    'model file',
    'answer',
  ];
  // The same model on several engines or devices is told apart by its reference.
  const names = result.models.map((model) => model.model);
  const repeated = (name: string) => names.indexOf(name) !== names.lastIndexOf(name);
  const rows = result.models.map((model) => {
    const summary = model.summary;
    const tokens = model.warm[0] ?? model.cold;
    return [
      repeated(model.model) ? model.reference : model.model,
      [model.engine, model.gpu, model.threads === undefined ? undefined : `${model.threads}t`]
        .filter(Boolean)
        .join(' '),
      model.setupMs !== undefined ? `${formatMs(model.setupMs)} setup` : formatMs(model.loadMs),
      formatMs(model.cold?.ttftMs),
      formatMs(summary.ttftMs?.p50),
      formatRate(summary.decodeTokensPerSecond?.p50),
      tokens === undefined ? '—' : `${tokens.outputTokens} (${tokens.outputTokensSource})`,
      memoryCell(model),
      model.modelFileSizeBytes === undefined ? '—' : formatBytes(model.modelFileSizeBytes),
      model.error !== undefined
        ? `error: ${model.error}`
        : excerpt((model.warm[0] ?? model.cold)?.text ?? ''),
    ];
  });
  return [header, ...rows];
}

/** The demo-model notice and how the figures were taken, for every output of a compare. */
function notices(result: CompareResult): string[] {
  const lines: string[] = [];
  // The same demo model on two engines is named once.
  const demos = [
    ...new Set(result.models.filter((model) => model.isDemo).map((model) => model.model)),
  ];
  if (demos.length > 0) lines.push(`note: ${demos.join(' and ')} ${demoNote(demos.length)}`);
  lines.push(
    `Each model: 1 cold run (load timed) + ${result.rounds} warm runs, temperature ${result.temperature}${result.maxTokens === undefined ? '' : `, at most ${result.maxTokens} tokens`}. TTFT = first generated token; decode = 1/TPOT, TPOT = (E2E − TTFT)/(N − 1); peak RSS = process peak minus RSS before load. Definitions: README, "Metrics".`,
  );
  return lines;
}

export function renderCompareText(result: CompareResult): string {
  const rightAligned = new Set([2, 3, 4, 5, 7, 8]);
  return [
    `Prompt: ${excerpt(result.prompt, 100)}`,
    '',
    renderTable(tableRows(result), rightAligned),
    '',
    ...result.verdicts.map((verdict) => verdict.text),
    ...(result.verdicts.length > 0 ? [''] : []),
    ...notices(result),
  ].join('\n');
}

export function renderCompareMarkdown(result: CompareResult): string {
  const machine = result.machine;
  return [
    '# tandem compare',
    '',
    `Prompt: ${result.prompt}`,
    '',
    `Machine: ${machine.cpuModel}, ${machine.physicalCores} physical cores, ${formatBytes(machine.totalMemoryBytes)} memory, ${machine.platform} ${machine.architecture}, Node ${machine.nodeVersion}. Started ${result.startedAt}.`,
    '',
    renderMarkdownTable(tableRows(result)),
    '',
    ...result.verdicts.map((verdict) => `- ${verdict.text}`),
    '',
    ...notices(result),
    '',
  ].join('\n');
}

/** `tandem compare [models...]`. Exit 1 when any model failed, 0 otherwise. */
export async function compareCommand(
  models: string[],
  flags: CompareFlags,
  terminal: Terminal,
): Promise<number> {
  const out = flags.out;
  if (out !== undefined && !['.md', '.json'].includes(extname(out).toLowerCase())) {
    throw new InvalidArgumentError(
      `Invalid --out '${out}': the report is written as .md or .json.`,
    );
  }
  const env = terminal.env;
  const prompt = flags.prompt ?? (env.COMPARE_PROMPT?.trim() || DEFAULT_COMPARE_PROMPT);
  const interrupt = interruptSignal(terminal);
  try {
    const result = await compare({
      models: compareModels(models, env),
      prompt,
      ...(flags.system === undefined ? {} : { system: flags.system }),
      rounds: flags.rounds ?? 3,
      maxTokens: flags.maxTokens ?? COMPARE_MAX_TOKENS,
      temperature: flags.temperature ?? 0,
      ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      signal: interrupt.signal,
      engineOptions: engineOptionsFrom(flags, terminal),
      onProgress: (event) => {
        if (flags.json === true && terminal.stderr.isTTY !== true) return;
        if (event.type === 'model-start')
          terminal.stderr.write(`[${event.index + 1}/${event.total}] ${event.model}: loading…\n`);
        else if (event.type === 'loaded')
          terminal.stderr.write(
            event.setupMs !== undefined
              ? `  endpoint ready in ${formatMs(event.setupMs)}\n`
              : `  loaded in ${formatMs(event.loadMs)}\n`,
          );
        else if (event.type === 'run-done')
          terminal.stderr.write(
            `  ${event.round === 0 ? 'cold run' : `warm ${event.round}/${event.rounds}`}: TTFT ${formatMs(event.result.ttftMs)}, ${event.result.outputTokens} tokens, ${formatRate(event.result.decodeTokensPerSecond)}\n`,
          );
        else terminal.stderr.write(`  failed: ${event.message}\n`);
      },
    });
    const json = `${JSON.stringify({ ...result, notices: notices(result) }, null, 2)}\n`;
    if (flags.json === true) terminal.stdout.write(json);
    else terminal.stdout.write(`${renderCompareText(result)}\n`);
    if (out !== undefined) {
      const content = extname(out).toLowerCase() === '.json' ? json : renderCompareMarkdown(result);
      await writeFile(out, content);
      terminal.stderr.write(`Report written to ${out}\n`);
    }
    if (result.interrupted) return 130;
    return result.models.find((model) => model.errorExitCode !== undefined)?.errorExitCode ?? 0;
  } finally {
    interrupt.dispose();
  }
}

/** `tandem compare`. */
export function registerCompareCommand(
  program: Command,
  terminal: Terminal,
  exitWith: ExitWith,
): void {
  addGenerationFlags(
    program
      .command('compare')
      .description(
        'The same prompt on several models: latency, tokens, memory, answer, and which is faster beyond noise',
      )
      .argument(
        '[models...]',
        'model references (default: SLM_ALIAS and LLM_ALIAS, else demo-slm demo-llm)',
      )
      .option(
        '-p, --prompt <text>',
        'the prompt (default: COMPARE_PROMPT, else "List 5 benefits of local AI inference.")',
      )
      .option('-s, --system <text>', 'system message')
      .option(
        '--rounds <n>',
        'warm runs per model after the cold run (default 3)',
        integerFlag('--rounds', { min: 1, max: 1000 }),
      )
      .option('--json', 'print the whole result as JSON')
      .option('--out <file>', 'also write a report: FILE.md or FILE.json'),
    { maxTokensDefault: '128' },
  ).action((models: string[], flags) => exitWith(compareCommand(models, flags, terminal)));
}
