/**
 * `--device webgpu` in Node: onnxruntime-node's WebGPU provider (Dawn) needs a Vulkan driver.
 * Debian's chromium ships SwiftShader, a software Vulkan driver, which is enough to check
 * correctness (not speed): the same greedy text as on the CPU, with the device recorded.
 * The driver is chosen at process start (VK_ICD_FILENAMES, LD_LIBRARY_PATH), so the run
 * happens in a child process.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engines/registry.js';
import { measureGeneration } from '../src/measure/generation-timing.js';
import { TEST_HOME } from '../test/support/demo-models.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const prompt = 'Say hi.';

describe('the onnx engine on WebGPU (SwiftShader Vulkan)', () => {
  it('gives the CPU greedy text and records device webgpu', {
    timeout: 180_000,
  }, async (context) => {
    if (!existsSync(SWIFTSHADER_ICD)) {
      context.skip(
        `chromium is not installed (${SWIFTSHADER_ICD} is missing): its software Vulkan driver runs this test; apt-get install chromium`,
      );
    }
    expect(existsSync(bin), `${bin} is missing: run npm run build`).toBe(true);
    const engine = await createEngine('onnx:demo-slm', { home: TEST_HOME, threads: 1 });
    const onCpu = await measureGeneration(
      engine.stream({
        messages: [{ role: 'user', content: prompt }],
        maxTokens: 8,
        temperature: 0,
      }),
    );
    await engine.dispose();

    const { stdout } = await run(
      process.execPath,
      [
        bin,
        'run',
        'onnx:demo-slm?device=webgpu',
        '--prompt',
        prompt,
        '--max-tokens',
        '8',
        '--temperature',
        '0',
        '--threads',
        '1',
        '--json',
      ],
      {
        env: {
          ...process.env,
          TANDEM_HOME: TEST_HOME,
          VK_ICD_FILENAMES: SWIFTSHADER_ICD,
          LD_LIBRARY_PATH: '/usr/lib/chromium',
        },
        timeout: 150_000,
      },
    );
    const onWebGpu = JSON.parse(stdout) as Record<string, unknown>;
    expect(onWebGpu).toMatchObject({
      engine: 'onnx',
      device: 'webgpu',
      dtype: 'fp32',
      finishReason: 'length',
      outputTokens: 8,
    });
    expect(onWebGpu.text).toBe(onCpu.text);
  });

  it('refuses WebGPU with one line when there is no adapter, instead of running on the CPU', {
    timeout: 60_000,
  }, async () => {
    expect(existsSync(bin), `${bin} is missing: run npm run build`).toBe(true);
    const failure = await run(
      process.execPath,
      [bin, 'run', 'onnx:demo-slm?device=webgpu', '--prompt', prompt, '--max-tokens', '2'],
      {
        // No Vulkan driver: an ICD list that names none.
        env: { ...process.env, TANDEM_HOME: TEST_HOME, VK_ICD_FILENAMES: '/nonexistent.json' },
        timeout: 50_000,
      },
    ).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(4);
    expect(failure?.stderr).toMatch(
      /error: Device webgpu is not available: .*adapter.*use another device: cpu/,
    );
  });
});
