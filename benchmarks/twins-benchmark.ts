/**
 * npm run bench:twins — the shape twins against published llama.cpp figures.
 *
 * llama-bench's two tests, on each twin, in this process's llama.cpp (node-llama-cpp's
 * bundle), CPU only: pp512 (a 512-token prompt of random tokens evaluated in one batch,
 * tokens/s) and tg128 (128 tokens generated one at a time from an empty context, each
 * with its logits, tokens/s),
 * each repeated BENCH_ROUNDS times (default 5, as llama-bench's -r) after one warm-up.
 * The twins:
 * - Llama-3.2-3B-Instruct Q4_K_M, not in the catalog: the file with published llama-bench
 *   figures at 2 threads, printed beside this machine's.
 * - the catalog's phi-4-mini, qwen2.5-0.5b (BENCH_MODELS to choose others, comma-separated).
 *
 * Environment: BENCH_ROUNDS (default 5), TANDEM_THREADS (default 2, the published figures'),
 * BENCH_MODELS (catalog aliases; default phi-4-mini,qwen2.5-0.5b), TANDEM_HOME.
 */

import type { Token } from 'node-llama-cpp';
import { getLlamaRuntime } from '../src/engines/llama/llama-runtime.js';
import { threadsFromEnvironment } from '../src/engines/threads.js';
import { errorLine, TandemError } from '../src/errors.js';
import { describeMachine } from '../src/measure/machine.js';
import { summarize } from '../src/measure/statistics/summary.js';
import { modelsDirectory, tandemHome } from '../src/models/cache.js';
import { type CatalogModel, findCatalogModel } from '../src/models/catalog.js';
import { readGgufHeader } from '../src/models/gguf/reader.js';
import { createSeededRandom } from '../src/models/random.js';
import { LLAMA_3_2_3B, type PublishedFigure } from '../src/models/twin/published-twins.js';
import { ensureTwinOf } from '../src/models/twin/twin-file.js';
import type { TwinFacts } from '../src/models/twin/twin-layout.js';
import { modelShape } from '../src/plan/model-plan.js';
import { formatBytes, formatPercentDifference } from '../src/units.js';
import { fixed, wholeNumberSetting } from './script-settings.js';

const PROMPT_TOKENS = 512;
const GENERATED_TOKENS = 128;

interface Subject {
  model: CatalogModel;
  facts: TwinFacts | undefined;
  figures: readonly PublishedFigure[];
}

function subjects(): Subject[] {
  const aliases = (process.env.BENCH_MODELS ?? 'phi-4-mini,qwen2.5-0.5b')
    .split(',')
    .map((alias) => alias.trim())
    .filter((alias) => alias !== '');
  const list: Subject[] = [
    { model: LLAMA_3_2_3B.model, facts: LLAMA_3_2_3B.facts, figures: LLAMA_3_2_3B.figures },
  ];
  for (const alias of aliases) {
    const model = findCatalogModel(alias);
    if (model === undefined) {
      throw new TandemError(`BENCH_MODELS names '${alias}', which is not a catalog alias.`);
    }
    list.push({ model, facts: undefined, figures: [] });
  }
  return list;
}

/** Tokens/s of llama-bench's pp512 and tg128 on one file, `rounds` times each. */
async function llamaBench(
  path: string,
  threads: number,
  rounds: number,
  vocabularySize: number,
): Promise<{ prompt: number[]; generation: number[] }> {
  const llama = await getLlamaRuntime('cpu');
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  try {
    const context = await model.createContext({
      contextSize: PROMPT_TOKENS + GENERATED_TOKENS,
      batchSize: PROMPT_TOKENS,
      threads,
      sequences: 1,
    });
    const sequence = context.getSequence();
    const random = createSeededRandom('bench:twins');
    const randomTokens = (count: number) =>
      Array.from({ length: count }, () => (random.nextUint32() % vocabularySize) as Token);
    const promptRun = async () => {
      await sequence.clearHistory();
      const tokens = randomTokens(PROMPT_TOKENS);
      const startedAt = performance.now();
      await sequence.evaluateWithoutGeneratingNewTokens(tokens);
      return PROMPT_TOKENS / ((performance.now() - startedAt) / 1000);
    };
    const generationRun = async () => {
      await sequence.clearHistory();
      // One token at a time from an empty context, each with its logits and a greedy pick,
      // as llama-bench's tg decodes (the output matrix is part of every step).
      const startedAt = performance.now();
      let generated = 0;
      for await (const _token of sequence.evaluate(randomTokens(1), { temperature: 0 })) {
        generated++;
        if (generated >= GENERATED_TOKENS) break;
      }
      return generated / ((performance.now() - startedAt) / 1000);
    };
    await promptRun();
    await generationRun();
    const prompt: number[] = [];
    const generation: number[] = [];
    for (let round = 0; round < rounds; round++) {
      prompt.push(await promptRun());
      generation.push(await generationRun());
    }
    await context.dispose();
    return { prompt, generation };
  } finally {
    await model.dispose();
  }
}

function meanSd(values: number[]): string {
  const summary = summarize(values);
  return summary === undefined ? '—' : `${fixed(summary.mean)} ± ${fixed(summary.sd)}`;
}

async function main(): Promise<void> {
  const rounds = wholeNumberSetting('BENCH_ROUNDS', 5, 1);
  const threads = threadsFromEnvironment(process.env) ?? 2;
  const directory = modelsDirectory(tandemHome());
  const machine = describeMachine();
  console.log(
    `bench:twins — llama-bench's pp${PROMPT_TOKENS} and tg${GENERATED_TOKENS} on random-weight shape twins, CPU, ${threads} thread${threads === 1 ? '' : 's'}, ${rounds} rounds after a warm-up`,
  );
  console.log(
    `machine: ${machine.cpuModel}, ${machine.physicalCores} physical / ${machine.logicalCores} logical cores, ${formatBytes(machine.totalMemoryBytes)}`,
  );
  const rows: string[] = [];
  for (const subject of subjects()) {
    const { model } = subject;
    const twin = await ensureTwinOf(model, subject.facts, { modelsDirectory: directory });
    const shape = modelShape(await readGgufHeader(twin.path));
    const published = model.gguf.sizeBytes;
    const printedSize = subject.figures.find((figure) => figure.printedSizeGiB)?.printedSizeGiB;
    const sizeLine = `${formatBytes(twin.fileSizeBytes)} (published ${model.gguf.file}: ${formatBytes(published)}, ${formatPercentDifference(twin.fileSizeBytes, published)}; tensors ${(shape.weightBytes / 2 ** 30).toFixed(2)} GiB${printedSize === undefined ? '' : `, llama-bench printed ${printedSize} GiB for the real file`})`;
    console.log(
      `\n${model.displayName} twin: ${sizeLine}${twin.buildMs === undefined ? '' : `, written in ${(twin.buildMs / 1000).toFixed(1)} s`}`,
    );
    const result = await llamaBench(twin.path, threads, rounds, shape.vocabularySize);
    const label = `${model.displayName} ${model.gguf.quantization} twin`;
    rows.push(
      `| ${label} | this machine (${machine.cpuModel}) | ${threads} | ${meanSd(result.prompt)} | ${meanSd(result.generation)} | tandem bench:twins |`,
    );
    for (const figure of subject.figures) {
      rows.push(
        `| ${model.displayName} ${model.gguf.quantization}, real weights | ${figure.cpu} | ${figure.threads} | ${fixed(figure.promptTokensPerSecond)} | ${fixed(figure.generationTokensPerSecond)} | ${figure.source} |`,
      );
    }
    console.log(
      `  pp${PROMPT_TOKENS} ${meanSd(result.prompt)} tok/s   tg${GENERATED_TOKENS} ${meanSd(result.generation)} tok/s   (n = ${rounds})`,
    );
  }
  console.log(
    `\n| model | CPU | threads | pp${PROMPT_TOKENS} tok/s | tg${GENERATED_TOKENS} tok/s | source |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
  console.log(
    '\nThe published rows ran the real file on other CPUs: compare the class of figure, not the digits.',
  );
}

main().catch((error: unknown) => {
  console.error(`bench:twins: ${errorLine(error)}`);
  process.exitCode = 1;
});
