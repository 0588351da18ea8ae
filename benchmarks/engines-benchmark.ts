/**
 * npm run bench:engines — the same model on the two embedded runtimes: demo-llm in
 * llama.cpp (GGUF, F16 weights) and in onnxruntime through transformers.js (ONNX, float32
 * weights; CPU unless BENCH_ONNX_DEVICE says otherwise), same prompt, same threads, greedy,
 * interleaved rounds. Prints load time, TTFT and decode tokens/s for each with their 95%
 * CIs, the paired ratios, which runtime is faster on this machine beyond noise, and each
 * one's share of the memory-bandwidth ceiling.
 *
 * Environment: BENCH_MODEL (demo-llm | demo-slm), BENCH_ROUNDS (default 12), BENCH_TOKENS
 * (default 128), BENCH_ONNX_DEVICE (cpu), TANDEM_THREADS, TANDEM_HOME.
 */

import { DEFAULT_COMPARE_PROMPT } from '../src/compare/compare.js';
import { parseOnnxDevice } from '../src/engines/onnx/onnx-devices.js';
import { createEngine } from '../src/engines/registry.js';
import type { Engine } from '../src/engines/spec.js';
import { defaultThreadCount, threadsFromEnvironment } from '../src/engines/threads.js';
import { errorLine, InvalidArgumentError, TandemError } from '../src/errors.js';
import { measureRun, type RunResult } from '../src/generate/generate.js';
import { describeMachine } from '../src/measure/machine.js';
import { measureReadBandwidth } from '../src/measure/memory-bandwidth.js';
import { pairedLogRatio } from '../src/measure/statistics/compare-ratio.js';
import { type SampleSummary, summarize } from '../src/measure/statistics/summary.js';
import { demoModelDefinition, isDemoModelName } from '../src/models/demo/definitions.js';
import { formatBytes } from '../src/units.js';
import { interleavedRounds, wholeNumberSetting } from './script-settings.js';

interface Side {
  label: string;
  engine: Engine;
  loadMs: number;
}

async function loaded(reference: string, threads: number, label: string): Promise<Side> {
  const engine = await createEngine(reference, { threads });
  await engine.prepare?.();
  const startedAt = performance.now();
  await engine.load();
  return { label, engine, loadMs: performance.now() - startedAt };
}

function describe(values: number[], unit: string, digits: number): string {
  const stats = summarize(values) as SampleSummary;
  const interval =
    stats.ci95 === undefined
      ? ''
      : ` (95% CI of mean ${stats.ci95.low.toFixed(digits)}–${stats.ci95.high.toFixed(digits)})`;
  return `median ${stats.p50.toFixed(digits)} ${unit}, mean ${stats.mean.toFixed(digits)}, sd ${stats.sd.toFixed(digits)}${interval}`;
}

function formatRatio(ratio: ReturnType<typeof pairedLogRatio>): string {
  return ratio === undefined
    ? '—'
    : `${ratio.ratio.toFixed(2)}x (95% CI ${ratio.low.toFixed(2)}–${ratio.high.toFixed(2)}x)`;
}

async function main(): Promise<void> {
  const model = process.env.BENCH_MODEL?.trim() || 'demo-llm';
  if (!isDemoModelName(model)) {
    throw new InvalidArgumentError(`BENCH_MODEL=${model}: use demo-llm or demo-slm.`);
  }
  const rounds = wholeNumberSetting('BENCH_ROUNDS', 12, 2);
  const tokens = wholeNumberSetting('BENCH_TOKENS', 128, 2);
  const device = parseOnnxDevice(
    process.env.BENCH_ONNX_DEVICE?.trim() || 'cpu',
    'in BENCH_ONNX_DEVICE',
  );
  const definition = demoModelDefinition(model);
  const threads =
    threadsFromEnvironment(process.env) ?? defaultThreadCount(definition.parameterCount);
  const machine = describeMachine();
  console.log(
    `bench:engines — ${model} (${(definition.parameterCount / 1e6).toFixed(1)}M parameters) on llama.cpp and on onnxruntime (${device}), ${threads} thread${threads === 1 ? '' : 's'}, ${tokens} greedy tokens × ${rounds} interleaved rounds`,
  );
  console.log(
    `machine: ${machine.cpuModel}, ${machine.physicalCores} physical / ${machine.logicalCores} logical cores, ${formatBytes(machine.totalMemoryBytes)}; Node ${process.version}`,
  );

  const llama = await loaded(`llama:${model}`, threads, 'llama.cpp');
  const onnx = await loaded(`onnx:${model}?device=${device}`, threads, `onnxruntime ${device}`);
  const sides = [llama, onnx];
  for (const side of sides) {
    const info = side.engine.info;
    console.log(
      `  ${side.label.padEnd(16)} ${info.engineVersion ?? ''}; ${formatBytes(info.modelFileSizeBytes ?? 0)} of weights (${info.dtype ?? definition.fileType}); loaded in ${side.loadMs.toFixed(0)} ms (file in the page cache)`,
    );
  }

  const once = (side: Side) => async (): Promise<RunResult> => {
    const result = await measureRun(
      side.engine,
      { prompt: DEFAULT_COMPARE_PROMPT, maxTokens: tokens, temperature: 0, ignoreEos: true },
      { cold: false },
    );
    if (result.ttftMs === undefined || result.decodeTokensPerSecond === undefined) {
      throw new TandemError(`${side.label} produced fewer than 2 tokens: ${result.finishReason}.`);
    }
    return result;
  };
  // Warm-up both, then interleave so that slow drift of the machine hits both alike.
  await once(llama)();
  await once(onnx)();
  const [llamaRuns, onnxRuns] = await interleavedRounds(rounds, once(llama), once(onnx));
  const decode = (runs: RunResult[]) => runs.map((run) => run.decodeTokensPerSecond as number);
  const ttft = (runs: RunResult[]) => runs.map((run) => run.ttftMs as number);
  const texts = new Set([...llamaRuns, ...onnxRuns].map((run) => run.text));

  console.log(`\nTTFT (prompt of ${llamaRuns[0]?.promptTokens ?? '?'} tokens; n=${rounds} each)`);
  console.log(`  llama.cpp:        ${describe(ttft(llamaRuns), 'ms', 2)}`);
  console.log(`  onnxruntime:      ${describe(ttft(onnxRuns), 'ms', 2)}`);
  console.log(
    `  onnxruntime / llama.cpp, paired by round: ${formatRatio(pairedLogRatio(ttft(onnxRuns), ttft(llamaRuns)))}`,
  );
  console.log(`\ndecode tokens/s (1/TPOT, TPOT = (E2E − TTFT)/(N − 1); n=${rounds} each)`);
  console.log(`  llama.cpp:        ${describe(decode(llamaRuns), 'tok/s', 1)}`);
  console.log(`  onnxruntime:      ${describe(decode(onnxRuns), 'tok/s', 1)}`);
  console.log(
    `  llama.cpp / onnxruntime, paired by round: ${formatRatio(pairedLogRatio(decode(llamaRuns), decode(onnxRuns)))}`,
  );
  console.log(
    `  same greedy text on both runtimes in every round: ${texts.size === 1 ? 'yes' : `no (${texts.size} different texts)`}`,
  );

  // "Faster": llama.cpp's rate over ONNX's, or ONNX's TTFT over llama.cpp's, inverted so
  // that above 1 always means llama.cpp is faster; beyond noise when the CI excludes 1.
  const verdict = (metric: string, llamaFaster: ReturnType<typeof pairedLogRatio>): string => {
    if (llamaFaster === undefined) return `${metric}: too few rounds to tell.`;
    if (llamaFaster.low <= 1 && llamaFaster.high >= 1) {
      return `${metric}: no difference beyond noise (${formatRatio(llamaFaster)}).`;
    }
    const onnxWins = llamaFaster.high < 1;
    const shown = onnxWins
      ? { ratio: 1 / llamaFaster.ratio, low: 1 / llamaFaster.high, high: 1 / llamaFaster.low }
      : llamaFaster;
    return `${metric}: ${onnxWins ? `onnxruntime ${device}` : 'llama.cpp'} is faster beyond noise, ${formatRatio(shown)}, paired by round.`;
  };
  console.log(`\nOn this machine:`);
  console.log(`  ${verdict('decode', pairedLogRatio(decode(llamaRuns), decode(onnxRuns)))}`);
  console.log(
    `  ${verdict('time to first token', pairedLogRatio(ttft(onnxRuns), ttft(llamaRuns)))}`,
  );

  const bandwidth = await measureReadBandwidth({ threads, repetitions: 9 });
  const best = Math.max(...bandwidth.samplesBytesPerSecond);
  console.log(
    `\nmemory-bandwidth ceiling (decode reads every weight once per token; best read bandwidth ${(best / 1e9).toFixed(1)} GB/s on ${threads} thread${threads === 1 ? '' : 's'})`,
  );
  for (const [side, runs] of [
    [llama, llamaRuns],
    [onnx, onnxRuns],
  ] as const) {
    const bytes = side.engine.info.modelFileSizeBytes ?? 0;
    const ceiling = best / bytes;
    const median = summarize(decode(runs))?.p50 ?? Number.NaN;
    console.log(
      `  ${side.label.padEnd(16)} ${formatBytes(bytes)} per token → ceiling ${ceiling.toFixed(0)} tok/s; reaches ${median.toFixed(1)} = ${((100 * median) / ceiling).toFixed(0)}%`,
    );
  }
  for (const side of sides) await side.engine.dispose();
  console.log(
    `\n(${model} has random weights; its speed is that of any llama model of its shape.${definition.fileType === 'F16' ? " The ONNX file holds the GGUF's F16 values widened to float32, so it reads twice the bytes per token." : ''})`,
  );
}

await main().catch((error: unknown) => {
  console.error(`error: ${errorLine(error)}`);
  process.exitCode = error instanceof TandemError ? error.exitCode : 1;
});
