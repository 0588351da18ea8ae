import { describe, expect, it } from 'vitest';
import { EngineUnavailableError, InvalidArgumentError } from '../../errors.js';
import {
  checkOnnxDevice,
  onnxDeviceSupport,
  parseOnnxDevice,
  parseOnnxDtype,
} from './onnx-devices.js';

describe('onnx devices', () => {
  it('offers cpu and webgpu everywhere, cuda where its provider library is installed, dml on Windows', () => {
    const unavailable = (support: ReturnType<typeof onnxDeviceSupport>) =>
      support.filter((entry) => entry.unavailable !== undefined).map((entry) => entry.device);
    expect(unavailable(onnxDeviceSupport('linux', undefined))).toEqual(['cuda', 'dml']);
    expect(unavailable(onnxDeviceSupport('win32', undefined))).toEqual([]);
    expect(unavailable(onnxDeviceSupport('darwin', undefined))).toEqual(['cuda', 'dml']);
  });

  it('explains how to install the CUDA provider when it is missing', () => {
    expect(() => checkOnnxDevice('cuda', onnxDeviceSupport('linux', '/nonexistent'))).toThrow(
      EngineUnavailableError,
    );
    expect(() => checkOnnxDevice('cuda', onnxDeviceSupport('linux', '/nonexistent'))).toThrow(
      /Device cuda is not available: .*ONNXRUNTIME_NODE_INSTALL=cuda12.*Available here: cpu, webgpu\.$/,
    );
    expect(() => checkOnnxDevice('cpu', onnxDeviceSupport('linux', undefined))).not.toThrow();
  });

  it('parses device and dtype names, refusing others with the valid list', () => {
    expect(parseOnnxDevice('webgpu', 'in --device')).toBe('webgpu');
    expect(parseOnnxDtype('q4f16', 'in --dtype')).toBe('q4f16');
    expect(() => parseOnnxDevice('gpu', 'in --device')).toThrow(InvalidArgumentError);
    expect(() => parseOnnxDtype('int4', 'in --dtype')).toThrow(
      /use one of fp32, fp16, q8, q4, q4f16/,
    );
  });
});
