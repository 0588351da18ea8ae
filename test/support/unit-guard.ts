/**
 * The unit project's promise, kept: no unit test starts a native runtime. llama.cpp
 * (node-llama-cpp's getLlama), transformers.js and ONNX Runtime fail here with a line that
 * says where such a test belongs: a file named *.models.test.ts (the models project).
 */
import { vi } from 'vitest';

const MOVE =
  'a unit test may not load a model: name the test file *.models.test.ts (the models project), or use a fake engine';

vi.mock('node-llama-cpp', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node-llama-cpp')>()),
  getLlama: () => {
    throw new Error(`llama.cpp started in a unit test: ${MOVE}.`);
  },
}));

vi.mock('@huggingface/transformers', () => {
  throw new Error(`transformers.js imported in a unit test: ${MOVE}.`);
});

vi.mock('onnxruntime-node', () => {
  throw new Error(`ONNX Runtime imported in a unit test: ${MOVE}.`);
});
