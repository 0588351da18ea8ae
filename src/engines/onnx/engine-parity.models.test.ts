/**
 * Cross-engine parity: the demo models' GGUF (llama.cpp) and ONNX folder (onnxruntime) are
 * the same model. Greedy decoding of the same prompt gives the same first 32 tokens, token
 * id by token id; where they differ, the failure says at which step and how far apart the
 * two engines' top candidates were. Then the same through both engines' stream(): the same
 * prompt token count and the same text.
 * (Tokenizer parity on many strings: src/models/demo/demo-tokenizer.test.ts.)
 */

import { join } from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { getLlama, type Llama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import * as onnxruntime from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  demoModelPathForTests,
  TEST_HOME,
  TEST_MODELS_DIRECTORY,
} from '../../../test/support/demo-models.js';
import {
  decoderFeeds,
  emptyKvCache,
  presentAsPast,
} from '../../../test/support/demo-onnx-session.js';
import { measureGeneration } from '../../measure/generation-timing.js';
import { demoModelDefinition } from '../../models/demo/definitions.js';
import { ensureDemoOnnxModel } from '../../models/demo/demo-onnx.js';
import { createEngine } from '../registry.js';

const STEPS = 32;
const messages = [{ role: 'user' as const, content: 'Write a short brief on local inference.' }];

let llama: Llama;
beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  await llama?.dispose();
});

interface OnnxStep {
  token: number;
  logits: Float32Array;
}

/** Greedy decoding with onnxruntime directly on model.onnx, keeping every step's logits. */
async function onnxGreedy(folder: string, name: 'demo-slm' | 'demo-llm', prompt: number[]) {
  const definition = demoModelDefinition(name);
  const session = await onnxruntime.InferenceSession.create(join(folder, 'onnx', 'model.onnx'), {
    intraOpNumThreads: 1,
  });
  let cache = emptyKvCache(definition);
  const steps: OnnxStep[] = [];
  let ids = prompt;
  let past = 0;
  for (let step = 0; step < STEPS; step++) {
    const outputs = await session.run(decoderFeeds(ids, past, cache));
    const all = (outputs.logits as onnxruntime.Tensor).data as Float32Array;
    const vocabulary = definition.vocabularySize;
    const logits = all.slice((ids.length - 1) * vocabulary, ids.length * vocabulary);
    let best = 0;
    for (let token = 1; token < vocabulary; token++) {
      if ((logits[token] as number) > (logits[best] as number)) best = token;
    }
    steps.push({ token: best, logits });
    cache = presentAsPast(outputs, definition);
    past += ids.length;
    ids = [best];
  }
  await session.release();
  return steps;
}

/** Greedy decoding in llama.cpp, keeping each step's probabilities. */
async function llamaGreedy(name: 'demo-slm' | 'demo-llm', prompt: number[]) {
  const model = await llama.loadModel({ modelPath: await demoModelPathForTests(name) });
  const context = await model.createContext({ contextSize: 512, threads: 1 });
  const steps: { token: number; probabilities: ReadonlyMap<Token, number> }[] = [];
  try {
    for await (const output of context
      .getSequence()
      .evaluateWithMetadata(prompt as Token[], { probabilities: true }, { temperature: 0 })) {
      steps.push({ token: output.token, probabilities: output.probabilities });
      if (steps.length >= STEPS) break;
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
  return steps;
}

function topTwo(entries: Iterable<[number, number]>): string {
  const sorted = [...entries].sort((left, right) => right[1] - left[1]).slice(0, 2);
  return sorted.map(([token, value]) => `${token} (${value.toPrecision(5)})`).join(' vs ');
}

describe.each(['demo-slm', 'demo-llm'] as const)(
  '%s on llama.cpp and onnxruntime',
  { timeout: 300_000 },
  (name) => {
    let folder: string;
    let prompt: number[];
    beforeAll(async () => {
      folder = (await ensureDemoOnnxModel(name, { modelsDirectory: TEST_MODELS_DIRECTORY })).path;
      const tokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
      prompt = tokenizer.apply_chat_template(messages, {
        add_generation_prompt: true,
        tokenize: true,
        return_tensor: false,
        return_dict: false,
      }) as unknown as number[];
    });

    it(`decode the same ${STEPS} greedy tokens from the same prompt ids`, async () => {
      const fromLlama = await llamaGreedy(name, prompt);
      const fromOnnx = await onnxGreedy(folder, name, prompt);
      const divergence = fromLlama.findIndex(
        (step, index) => step.token !== fromOnnx[index]?.token,
      );
      if (divergence >= 0) {
        const llamaStep = fromLlama[divergence];
        const onnxStep = fromOnnx[divergence] as OnnxStep;
        const chosen = [llamaStep?.token ?? -1, onnxStep.token];
        const onnxLogits = chosen.map(
          (token) => `${token}: ${(onnxStep.logits[token] as number).toPrecision(6)}`,
        );
        expect.fail(
          `step ${divergence + 1} of ${STEPS}: llama.cpp chose ${chosen[0]}, onnxruntime ${chosen[1]}. ` +
            `onnxruntime logits ${onnxLogits.join(', ')} (gap ${Math.abs((onnxStep.logits[chosen[0] as number] as number) - (onnxStep.logits[chosen[1] as number] as number)).toPrecision(3)}); ` +
            `llama.cpp top probabilities ${topTwo(llamaStep?.probabilities ?? new Map())}; ` +
            `onnxruntime top logits ${topTwo(onnxStep.logits.entries() as Iterable<[number, number]>)}.`,
        );
      }
      expect(fromOnnx.map((step) => step.token)).toEqual(fromLlama.map((step) => step.token));
      expect(fromLlama).toHaveLength(STEPS);
    });

    it('give the same prompt token count and the same text through both engines', async () => {
      const run = async (reference: string) => {
        const engine = await createEngine(reference, { home: TEST_HOME, threads: 1 });
        try {
          return await measureGeneration(
            engine.stream({ messages, maxTokens: STEPS, temperature: 0, ignoreEos: true }),
          );
        } finally {
          await engine.dispose();
        }
      };
      const viaLlama = await run(`llama:${name}`);
      const viaOnnx = await run(`onnx:${name}`);
      expect(viaOnnx.promptTokens).toBe(prompt.length);
      expect(viaLlama.promptTokens).toBe(prompt.length);
      expect(viaOnnx.outputTokens).toBe(STEPS);
      expect(viaLlama.outputTokens).toBe(STEPS);
      expect(viaOnnx.text).toBe(viaLlama.text);
    });
  },
);
