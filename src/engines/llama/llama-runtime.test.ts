import { describe, expect, it } from 'vitest';
import { parseBufferLine } from './llama-runtime.js';

const MiB = 1024 * 1024;

describe("llama.cpp's buffer-size log lines", () => {
  // Lines as node-llama-cpp 3.21.1 passes them on while loading a Q4_K_M model on the CPU.
  it.each([
    [
      'load_tensors:   CPU_Mapped model buffer size =  2341.57 MiB',
      'CPU_Mapped model',
      'model',
      2341.57,
    ],
    [
      'load_tensors:   CPU_REPACK model buffer size =  1242.00 MiB',
      'CPU_REPACK model',
      'model',
      1242,
    ],
    ['llama_context:        CPU  output buffer size =     0.76 MiB', 'CPU output', 'output', 0.76],
    ['llama_kv_cache:        CPU KV buffer size =   512.00 MiB', 'CPU KV', 'kv', 512],
    [
      'sched_reserve:        CPU compute buffer size =   418.76 MiB',
      'CPU compute',
      'compute',
      418.76,
    ],
    ['load_tensors:        CUDA0 model buffer size =  2100.00 MiB', 'CUDA0 model', 'model', 2100],
  ])('%s', (line, label, kind, mebibytes) => {
    expect(parseBufferLine(line)).toEqual({ label, kind, bytes: Math.round(mebibytes * MiB) });
  });

  it('ignores every other line', () => {
    expect(parseBufferLine('load_tensors: loading model tensors, this can take a while...')).toBe(
      undefined,
    );
    expect(parseBufferLine('llama_context: n_ctx         = 4096')).toBeUndefined();
  });
});
