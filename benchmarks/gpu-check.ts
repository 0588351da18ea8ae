/**
 * npm run bench:gpu — what the GPU paths do on this machine: demo-llm on every device the
 * two embedded runtimes offer (llama.cpp: cpu, cuda, vulkan from node-llama-cpp's prebuilt
 * binaries; onnxruntime: cpu, cuda where its CUDA provider is installed, webgpu where a
 * Vulkan/D3D/Metal adapter exists). For each: the device the session runs on, load time, TTFT and
 * decode tokens/s over a few greedy runs, or the one-line reason it cannot run here.
 * Meant for a GPU machine; on a CPU-only one it shows the refusals.
 *
 * Environment: BENCH_MODEL (demo-llm), BENCH_ROUNDS (3), BENCH_TOKENS (128), TANDEM_THREADS.
 */

import { DEFAULT_COMPARE_PROMPT } from '../src/compare/compare.js';
import { createEngine } from '../src/engines/registry.js';
import { errorLine, InvalidArgumentError } from '../src/errors.js';
import { measureRun } from '../src/generate/generate.js';
import { describeMachine } from '../src/measure/machine.js';
import { summarize } from '../src/measure/statistics/summary.js';
import { isDemoModelName } from '../src/models/demo/definitions.js';
import { formatBytes } from '../src/units.js';
import { wholeNumberSetting } from './script-settings.js';

async function check(reference: string, rounds: number, tokens: number): Promise<string> {
  let engine: Awaited<ReturnType<typeof createEngine>> | undefined;
  let loadMs: number | undefined;
  try {
    engine = await createEngine(reference);
    await engine.prepare?.();
    const startedAt = performance.now();
    await engine.load();
    loadMs = performance.now() - startedAt;
    const runs = [];
    for (let round = 0; round <= rounds; round++) {
      const run = await measureRun(
        engine,
        { prompt: DEFAULT_COMPARE_PROMPT, maxTokens: tokens, temperature: 0, ignoreEos: true },
        { cold: false },
      );
      if (round > 0) runs.push(run); // the first run warms up (GPU kernels compile then)
    }
    const decode = summarize(runs.map((run) => run.decodeTokensPerSecond ?? Number.NaN));
    const ttft = summarize(runs.map((run) => run.ttftMs ?? Number.NaN));
    return `${engine.info.gpu ?? 'cpu'}; load ${loadMs.toFixed(0)} ms; TTFT p50 ${ttft?.p50.toFixed(1)} ms; decode p50 ${decode?.p50.toFixed(1)} tok/s (n=${runs.length})`;
  } catch (error) {
    // Loaded but failed while generating: a different story from "cannot start here".
    return loadMs === undefined
      ? `not available: ${errorLine(error)}`
      : `loaded in ${loadMs.toFixed(0)} ms, then failed: ${errorLine(error)}`;
  } finally {
    await engine?.dispose().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const model = process.env.BENCH_MODEL?.trim() || 'demo-llm';
  if (!isDemoModelName(model)) {
    throw new InvalidArgumentError(`BENCH_MODEL=${model}: use demo-llm or demo-slm.`);
  }
  const rounds = wholeNumberSetting('BENCH_ROUNDS', 3);
  const tokens = wholeNumberSetting('BENCH_TOKENS', 128, 2);
  const machine = describeMachine();
  console.log(
    `bench:gpu — ${model}, ${tokens} greedy tokens, ${rounds} runs after one warm-up, per device`,
  );
  console.log(
    `machine: ${machine.cpuModel}, ${machine.logicalCores} logical cores, ${formatBytes(machine.totalMemoryBytes)}; Node ${process.version}`,
  );
  const references = [
    `llama:${model}?gpu=cpu`,
    `llama:${model}?gpu=cuda`,
    `llama:${model}?gpu=vulkan`,
    `onnx:${model}?device=cpu`,
    `onnx:${model}?device=cuda`,
    `onnx:${model}?device=webgpu`,
  ];
  for (const reference of references) {
    console.log(`  ${reference.padEnd(28)} ${await check(reference, rounds, tokens)}`);
  }
}

await main().catch((error: unknown) => {
  console.error(`error: ${errorLine(error)}`);
  process.exitCode = 1;
});
