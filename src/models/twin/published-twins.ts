/**
 * Models that are not in tandem's catalog but have published llama.cpp benchmark figures on
 * small CPUs, so a twin's measured speed can be set beside a real file's (`npm run
 * bench:twins`). Each entry is the file's architecture, as its config.json gives it, and
 * the figures with their sources: llama-bench's pp512 (prompt tokens/s) and tg128 (generated
 * tokens/s), with the CPU and threads they were measured on.
 */

import type { CatalogModel } from '../catalog.js';
import type { TwinFacts } from './twin-layout.js';

export interface PublishedFigure {
  cpu: string;
  threads: number;
  /** llama-bench pp512: prompt processing, tokens/s. */
  promptTokensPerSecond: number;
  /** llama-bench tg128: generation, tokens/s. */
  generationTokensPerSecond: number;
  /** What llama-bench printed as the model's size (GiB of tensor data). */
  printedSizeGiB?: number;
  source: string;
}

export interface PublishedTwin {
  model: CatalogModel;
  facts: TwinFacts;
  figures: PublishedFigure[];
}

export const LLAMA_3_2_3B: PublishedTwin = {
  model: {
    alias: 'llama-3.2-3b',
    displayName: 'Llama-3.2-3B-Instruct',
    family: 'llama-3.2',
    parameterCount: 3_212_749_824,
    contextLength: 131_072,
    license: 'Llama 3.2 Community License',
    gguf: {
      repository: 'bartowski/Llama-3.2-3B-Instruct-GGUF',
      file: 'Llama-3.2-3B-Instruct-Q4_K_M.gguf',
      quantization: 'Q4_K_M',
      // The file geerlingguy/ai-benchmarks#53 ran (its size as listed there).
      sizeBytes: 2_019_377_696,
    },
    architecture: {
      name: 'llama',
      blockCount: 28,
      embeddingLength: 3072,
      feedForwardLength: 8192,
      headCount: 24,
      headCountKv: 8,
      vocabSize: 128_256,
      ropeFreqBase: 500_000,
    },
    sources: ['https://huggingface.co/meta-llama/Llama-3.2-3B-Instruct/blob/main/config.json'],
  },
  facts: {
    rmsEpsilon: 1e-5,
    tiedOutput: true,
    ropeFrequencyFactors: true,
    sources: ['https://huggingface.co/meta-llama/Llama-3.2-3B-Instruct/blob/main/config.json'],
  },
  figures: [
    {
      cpu: 'Intel Core i3-1315U (Framework Laptop 12)',
      threads: 2,
      promptTokensPerSecond: 28.67,
      generationTokensPerSecond: 11.05,
      printedSizeGiB: 1.87,
      source: 'https://github.com/geerlingguy/sbc-reviews/issues/107',
    },
    {
      cpu: 'Intel Core i5-4278U (2014 MacBook Pro, DDR3L-1600)',
      threads: 2,
      promptTokensPerSecond: 17.7,
      generationTokensPerSecond: 7.68,
      source: 'https://github.com/geerlingguy/ai-benchmarks/issues/53',
    },
  ],
};
