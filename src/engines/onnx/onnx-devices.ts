/**
 * Which ONNX Runtime execution providers (devices) this process can use, and why not when it
 * cannot. tandem never falls back silently: a device that is asked for and missing is an
 * error that names the devices that are available.
 */

import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EngineUnavailableError, InvalidArgumentError } from '../../errors.js';
import { ONNX_DTYPES, type OnnxDtype } from '../../models/onnx/onnx-dtypes.js';

export {
  ONNX_DTYPE_FILE_SUFFIX,
  ONNX_DTYPES,
  type OnnxDtype,
} from '../../models/onnx/onnx-dtypes.js';

export const ONNX_DEVICES = ['cpu', 'webgpu', 'cuda', 'dml'] as const;
export type OnnxDevice = (typeof ONNX_DEVICES)[number];

export function parseOnnxDevice(value: string, where: string): OnnxDevice {
  if ((ONNX_DEVICES as readonly string[]).includes(value)) return value as OnnxDevice;
  throw new InvalidArgumentError(
    `Invalid device '${value}' ${where}: use one of ${ONNX_DEVICES.join(', ')}.`,
  );
}

export function parseOnnxDtype(value: string, where: string): OnnxDtype {
  if ((ONNX_DTYPES as readonly string[]).includes(value)) return value as OnnxDtype;
  throw new InvalidArgumentError(
    `Invalid dtype '${value}' ${where}: use one of ${ONNX_DTYPES.join(', ')}.`,
  );
}

/** The folder holding onnxruntime-node's native library for this platform. */
export function onnxRuntimeBinaryDirectory(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const packageDirectory = dirname(require.resolve('onnxruntime-node/package.json'));
    const directory = join(packageDirectory, 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(directory) ? directory : undefined;
  } catch {
    return undefined;
  }
}

export interface DeviceSupport {
  device: OnnxDevice;
  /** Present when the device cannot be used here: why, and what to do. */
  unavailable?: string;
}

/**
 * What is known before a session is created. WebGPU needs a GPU adapter (on Linux a Vulkan
 * driver), which only creating a session can tell; it is listed as possible where the
 * runtime has it built in.
 */
export function onnxDeviceSupport(
  platform: NodeJS.Platform = process.platform,
  binaryDirectory: string | undefined = onnxRuntimeBinaryDirectory(),
): DeviceSupport[] {
  const files = binaryDirectory === undefined ? [] : safeList(binaryDirectory);
  const cudaProvider = files.some((file) => file.startsWith('libonnxruntime_providers_cuda'));
  return [
    { device: 'cpu' },
    { device: 'webgpu' },
    platform === 'linux' || platform === 'win32'
      ? cudaProvider || platform === 'win32'
        ? { device: 'cuda' }
        : {
            device: 'cuda',
            unavailable:
              "onnxruntime-node was installed without its CUDA provider (tandem's install skips that download); on a machine with an NVIDIA GPU and CUDA 12, run 'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install'",
          }
      : { device: 'cuda', unavailable: `onnxruntime-node has no CUDA build for ${platform}` },
    platform === 'win32'
      ? { device: 'dml' }
      : { device: 'dml', unavailable: 'DirectML is a Windows API' },
  ];
}

function safeList(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}

/** Throws a one-line EngineUnavailableError when `device` cannot be used here. */
export function checkOnnxDevice(device: OnnxDevice, support = onnxDeviceSupport()): void {
  const entry = support.find((candidate) => candidate.device === device);
  if (entry?.unavailable === undefined) return;
  const available = support
    .filter((candidate) => candidate.unavailable === undefined)
    .map((candidate) => candidate.device);
  throw new EngineUnavailableError(
    `Device ${device} is not available: ${entry.unavailable}. Available here: ${available.join(', ')}.`,
  );
}
