/**
 * npm run bench:engine — decode tokens/s of tandem's llama engine against a bare
 * node-llama-cpp generation loop on demo-llm, same file, same threads, same prompt tokens,
 * interleaved rounds; the ratio with its bootstrap 95% CI (target ≥ 0.97); and the
 * memory-bandwidth ceiling of decode on this machine with the share of it reached.
 *
 * Environment: BENCH_ROUNDS (default 16), BENCH_TOKENS (default 256), TANDEM_THREADS.
 */

import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { getLlamaRuntime } from '../src/engines/llama/llama-runtime.js';
import { defaultThreadCount, threadsFromEnvironment } from '../src/engines/threads.js';
import { errorLine, TandemError } from '../src/errors.js';
import { measureRun } from '../src/generate/generate.js';
import { describeMachine } from '../src/measure/machine.js';
import { measureReadBandwidth } from '../src/measure/memory-bandwidth.js';
import { compareSamples } from '../src/measure/statistics/compare-samples.js';
import { summarize } from '../src/measure/statistics/summary.js';
import { modelsDirectory, tandemHome } from '../src/models/cache.js';
import { DEMO_MODELS, ensureDemoModel } from '../src/models/demo/demo-models.js';
import { validateGgufForLlama } from '../src/models/gguf/validate.js';
import { formatBytes } from '../src/units.js';
import { interleavedRounds, wholeNumberSetting } from './script-settings.js';

const PROMPT = 'List 5 benefits of local AI inference.';

async function main(): Promise<void> {
  const rounds = wholeNumberSetting('BENCH_ROUNDS', 16, 2);
  const tokens = wholeNumberSetting('BENCH_TOKENS', 256, 2);
  const home = tandemHome();
  const { path } = await ensureDemoModel('demo-llm', { modelsDirectory: modelsDirectory(home) });
  const summary = await validateGgufForLlama(path);
  const threads = threadsFromEnvironment(process.env) ?? defaultThreadCount(summary.parameterCount);
  const machine = describeMachine();
  console.log(
    `bench:engine — demo-llm (${(summary.parameterCount / 1e6).toFixed(1)}M parameters, ${formatBytes(summary.fileSizeBytes)}), ${threads} thread${threads === 1 ? '' : 's'}, ${tokens} tokens × ${rounds} rounds each`,
  );
  console.log(
    `machine: ${machine.cpuModel}, ${machine.physicalCores} physical / ${machine.logicalCores} logical cores, ${formatBytes(machine.totalMemoryBytes)}`,
  );

  // tandem's engine.
  const engine = new LlamaEngine({
    reference: 'demo-llm',
    model: 'demo-llm',
    modelPath: path,
    threads,
    gpu: 'cpu',
    isDemo: true,
  });
  await engine.load();

  // The bare loop: node-llama-cpp's own API, nothing else.
  const llama = await getLlamaRuntime('cpu');
  const bareModel = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const bareContext = await bareModel.createContext({
    contextSize: engine.info.contextSize ?? 2048,
    threads,
    sequences: 1,
  });
  const bareSequence = bareContext.getSequence();
  const promptTokens = bareModel.tokenize(
    `<|im_start|>user\n${PROMPT}<|im_end|>\n<|im_start|>assistant\n`,
    true,
  );

  async function bareDecodeRate(): Promise<number> {
    await bareSequence.clearHistory();
    const times: number[] = [];
    for await (const token of bareSequence.evaluate(promptTokens, { temperature: 0 })) {
      times.push(performance.now());
      bareModel.detokenize([token]);
      if (times.length >= tokens) break;
    }
    const first = times[0] as number;
    const last = times[times.length - 1] as number;
    return ((times.length - 1) * 1000) / (last - first);
  }

  async function tandemDecodeRate(): Promise<number> {
    const result = await measureRun(
      engine,
      { prompt: PROMPT, maxTokens: tokens, temperature: 0 },
      { cold: false },
    );
    if (result.decodeTokensPerSecond === undefined)
      throw new Error('tandem run produced fewer than 2 tokens');
    return result.decodeTokensPerSecond;
  }

  // Warm-up both, then interleave (alternating which goes first) so drift hits both alike.
  await bareDecodeRate();
  await tandemDecodeRate();
  const [bare, tandem] = await interleavedRounds(rounds, bareDecodeRate, tandemDecodeRate);
  await engine.dispose();
  await bareContext.dispose();
  await bareModel.dispose();

  const format = (values: number[]) => {
    const stats = summarize(values);
    if (stats === undefined) return '—';
    const ci =
      stats.ci95 === undefined
        ? ''
        : ` (95% CI of mean ${stats.ci95.low.toFixed(1)}–${stats.ci95.high.toFixed(1)})`;
    return `median ${stats.p50.toFixed(1)} tok/s, mean ${stats.mean.toFixed(1)}, sd ${stats.sd.toFixed(1)}${ci}`;
  };
  console.log(`\ndecode tokens/s (1/TPOT, first to last token; n=${rounds} each)`);
  console.log(`  bare node-llama-cpp loop: ${format(bare)}`);
  console.log(`  tandem llama engine:      ${format(tandem)}`);
  // Rounds are interleaved, so each round's ratio cancels slow drift of the machine: the
  // paired ratio is the headline, its CI from the bootstrap of the mean.
  const pairedRatios = tandem.map((value, index) => value / (bare[index] as number));
  const paired = summarize(pairedRatios);
  const comparison = compareSamples(tandem, bare);
  const ratio = paired?.mean ?? Number.NaN;
  const lowerBound = paired?.ci95?.low;
  let targetVerdict: string;
  if (lowerBound !== undefined && lowerBound >= 0.97)
    targetVerdict = 'met beyond noise (the whole CI is above 0.97)';
  else if (ratio >= 0.97)
    targetVerdict = `met by the point estimate; the CI reaches down to ${lowerBound?.toFixed(3) ?? '?'} (raise BENCH_ROUNDS to tighten it)`;
  else targetVerdict = 'NOT met';
  console.log(
    `  ratio tandem/bare, paired by round: mean ${ratio.toFixed(3)}${paired?.ci95 === undefined ? '' : ` (95% CI ${paired.ci95.low.toFixed(3)}–${paired.ci95.high.toFixed(3)})`}, median ${paired?.p50.toFixed(3) ?? '—'}`,
  );
  console.log(
    `  ratio of medians, unpaired: ${comparison.ratio?.toFixed(3) ?? '—'}${comparison.ratioInterval === undefined ? '' : ` (95% CI ${comparison.ratioInterval.low.toFixed(3)}–${comparison.ratioInterval.high.toFixed(3)})`}; ${comparison.verdict === 'indistinguishable' ? 'indistinguishable from noise' : comparison.verdict === 'a-greater' ? 'tandem faster beyond noise' : 'bare faster beyond noise'}${comparison.mannWhitney === undefined ? '' : ` (Mann-Whitney p = ${comparison.mannWhitney.pValue.toFixed(3)})`}`,
  );
  console.log(`  target ≥ 0.97: ${targetVerdict}`);

  const bandwidth = await measureReadBandwidth({ threads, repetitions: 9 });
  const weightBytes = summary.fileSizeBytes;
  const peakBandwidth = Math.max(...bandwidth.samplesBytesPerSecond);
  const ceiling = peakBandwidth / weightBytes;
  const tandemMedian = summarize(tandem)?.p50 ?? Number.NaN;
  console.log('\nmemory-bandwidth ceiling (decode reads every weight once per token)');
  console.log(
    `  read bandwidth, ${threads} thread${threads === 1 ? '' : 's'} (memcmp of 2×128 MiB per thread, 9 passes): best ${(peakBandwidth / 1e9).toFixed(1)} GB/s, median ${(bandwidth.bytesPerSecond / 1e9).toFixed(1)} GB/s`,
  );
  console.log(`  bytes read per token = weight bytes ≈ file size: ${formatBytes(weightBytes)}`);
  console.log(
    `  ceiling (best bandwidth / bytes per token): ${ceiling.toFixed(0)} tok/s; tandem reaches ${tandemMedian.toFixed(1)} tok/s = ${((100 * tandemMedian) / ceiling).toFixed(1)}% of it`,
  );
  const demo = DEMO_MODELS.find((model) => model.name === 'demo-llm');
  if (demo !== undefined)
    console.log(
      `\n(demo-llm has random weights; its speed is that of any ${formatBytes(demo.fileSizeBytes)} F16 llama model of its shape.)`,
    );
}

await main().catch((error: unknown) => {
  console.error(`error: ${errorLine(error)}`);
  process.exitCode = error instanceof TandemError ? error.exitCode : 1;
});
