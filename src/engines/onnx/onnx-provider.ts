/**
 * The `onnx` engine's provider: ONNX models in this process through transformers.js on
 * onnxruntime-node. It reads `onnx:NAME`, where NAME is a demo model, a catalog alias with a
 * transformers.js export, a model folder, or a Hugging Face repository id.
 */
import { InvalidArgumentError } from '../../errors.js';
import { modelsDirectory, tandemHome } from '../../models/cache.js';
import { resolveOnnx } from '../../models/resolve.js';
import type { EngineProvider } from '../provider.js';
import { integerOption, looksLikePath } from '../reference.js';
import type { CreateEngineOptions } from '../registry.js';
import { parseOnnxDevice, parseOnnxDtype } from './onnx-devices.js';
import { OnnxEngine, onnxCacheDirectory } from './onnx-engine.js';

export const onnxProvider: EngineProvider<CreateEngineOptions> = {
  id: 'onnx',
  kind: 'embedded',
  prefixes: ['onnx'],
  referenceOptions: ['threads', 'device', 'dtype'],

  parse({ text, rest, options }) {
    if (rest === '') {
      throw new InvalidArgumentError(
        `No model in '${text}': write onnx:NAME or onnx:./path/to/model.`,
      );
    }
    return {
      kind: 'local',
      engine: 'onnx',
      name: rest,
      isPath: looksLikePath(rest),
      options,
      text,
    };
  },

  async create(reference, options) {
    if (reference.kind !== 'local') {
      throw new InvalidArgumentError(`'${reference.text}' is not an onnx model reference.`);
    }
    const env = options.env ?? process.env;
    const home = options.home ?? tandemHome(env);
    const threads = integerOption(reference, 'threads', { min: 1, max: 1024 }) ?? options.threads;
    const where = `in '${reference.text}'`;
    const device =
      reference.options.device === undefined
        ? options.device
        : parseOnnxDevice(reference.options.device, where);
    const dtype =
      reference.options.dtype === undefined
        ? options.dtype
        : parseOnnxDtype(reference.options.dtype, where);
    const { preferredDtype, ...resolved } = await resolveOnnx(reference.name, reference.isPath, {
      ...options,
      home,
    });
    return new OnnxEngine({
      ...(preferredDtype === undefined ? {} : { dtype: preferredDtype }),
      reference: reference.text,
      env,
      cacheDirectory: onnxCacheDirectory(modelsDirectory(home)),
      ...(threads === undefined ? {} : { threads }),
      ...(device === undefined ? {} : { device }),
      ...(dtype === undefined ? {} : { dtype }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...resolved,
    });
  },
};
