/**
 * A small transformer-like ONNX model touching every feature the encoder and the decoder
 * support, for their tests.
 */

import {
  createTandemOnnxModel,
  onnxAttribute,
  onnxTensor,
} from '../../src/models/onnx/onnx-builders.js';
import {
  ONNX_DATA_TYPE,
  type OnnxGraph,
  type OnnxModel,
} from '../../src/models/onnx/onnx-graph.js';

/** A small transformer-like graph touching every supported feature. */
export function sampleGraph(): OnnxGraph {
  return {
    name: 'sample',
    nodes: [
      {
        opType: 'Gather',
        name: 'embed',
        inputs: ['embedding', 'input_ids'],
        outputs: ['hidden16'],
        attributes: [onnxAttribute.int('axis', 0)],
      },
      {
        opType: 'Cast',
        inputs: ['hidden16'],
        outputs: ['hidden'],
        attributes: [onnxAttribute.int('to', ONNX_DATA_TYPE.FLOAT)],
      },
      {
        opType: 'LayerNormalization',
        inputs: ['hidden', 'scale', ''],
        outputs: ['normed'],
        attributes: [onnxAttribute.int('axis', -1), onnxAttribute.float('epsilon', 2 ** -17)],
      },
      {
        opType: 'Transpose',
        inputs: ['normed'],
        outputs: ['transposed'],
        attributes: [onnxAttribute.ints('perm', [0, 2, 1]), onnxAttribute.ints('unused', [])],
      },
      {
        opType: 'Constant',
        inputs: [],
        outputs: ['constants'],
        attributes: [onnxAttribute.floats('value_floats', [0.5, -1.25, 3])],
      },
      {
        opType: 'Constant',
        inputs: [],
        outputs: ['shape'],
        attributes: [onnxAttribute.tensor('value', onnxTensor.int64('', [3], [1, -1, 64]))],
      },
      {
        opType: 'Gelu',
        name: '',
        domain: 'com.microsoft',
        inputs: ['transposed'],
        outputs: ['activated'],
        attributes: [
          onnxAttribute.string('approximate', 'tanh ✓'),
          onnxAttribute.strings('tags', ['a', '', 'ü']),
        ],
      },
    ],
    initializers: [
      onnxTensor.float16Bits('embedding', [4, 2], [0x3c00, 0xc000, 0, 0x8000, 1, 2, 3, 0x7bff]),
      onnxTensor.float32('scale', [2], [1, 0.5]),
      onnxTensor.float32('scalar', [], [Math.fround(0.1)]),
      onnxTensor.float32('empty', [0, 5], []),
      onnxTensor.int32('int32', [2], [-7, 2 ** 31 - 1]),
      onnxTensor.uint8('uint8', [3], Uint8Array.from([0, 128, 255])),
      onnxTensor.int8('int8', [2], Int8Array.from([-128, 127])),
      onnxTensor.bool('mask', [2, 2], [true, false, false, true]),
      onnxTensor.int64('positions', [2], [-(2n ** 63n), 2n ** 63n - 1n]),
    ],
    inputs: [
      { name: 'input_ids', elementType: ONNX_DATA_TYPE.INT64, shape: ['batch', 'sequence'] },
      { name: 'unknown_rank', elementType: ONNX_DATA_TYPE.FLOAT },
      { name: 'scalar_input', elementType: ONNX_DATA_TYPE.BOOL, shape: [] },
    ],
    outputs: [{ name: 'activated', elementType: ONNX_DATA_TYPE.FLOAT, shape: ['batch', 2, null] }],
    valueInfo: [{ name: 'hidden', elementType: ONNX_DATA_TYPE.FLOAT, shape: ['batch', 0, 2] }],
  };
}

export function sampleModel(): OnnxModel {
  return createTandemOnnxModel({
    graph: sampleGraph(),
    producerVersion: '0.1.0',
    microsoftOperators: true,
    metadataProps: [
      { key: 'tandem.source', value: 'tiny.gguf' },
      { key: 'empty', value: '' },
    ],
  });
}
