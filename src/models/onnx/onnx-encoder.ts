/**
 * The deterministic ONNX encoder: a model of the subset in onnx-graph.ts as the bytes of an
 * .onnx file, checked on the way (an invalid model is a bug in the caller: OnnxModelError).
 *
 * Field numbers and enum values are those of the official schema, onnx/onnx.proto and
 * onnx/onnx.proto3 in https://github.com/onnx/onnx (generated from onnx.in.proto); each is
 * cited next to its use as `Message.field = number`.
 *
 * Encoding rules, chosen to match what the onnx reference implementation (protobuf C++,
 * compiled from the proto2 onnx.proto) writes for the same model:
 * - fields are written in ascending field-number order;
 * - repeated scalars that onnx.proto does not mark [packed = true] (TensorProto.dims,
 *   AttributeProto.floats and .ints) are written unpacked, one key per element; the decoder
 *   accepts packed and unpacked, as protobuf requires;
 * - optional properties are written when they are defined (even when empty), and required
 *   strings always, so encode → decode → encode gives the same bytes;
 * - tensor data is always raw_data (little-endian, TensorProto.raw_data = 9).
 * The same model object always gives the same bytes.
 */

import { TandemError } from '../../errors.js';
import {
  elementCount,
  isOnnxDataType,
  isOnnxTensorDataType,
  MAX_ONNX_MODEL_BYTES,
  ONNX_ATTRIBUTE_TYPE,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  onnxElementByteSize,
} from './onnx-graph.js';
import { ProtobufWriter } from './protobuf-writer.js';

/** Invalid input to the ONNX encoder (a bug in the caller, not in a file). */
export class OnnxModelError extends TandemError {}

function fail(reason: string): never {
  throw new OnnxModelError(`Cannot encode ONNX model: ${reason}`);
}

function checkInt64(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) fail(`${what} ${value} is not a safe integer`);
}

function checkTensor(tensor: OnnxTensor): void {
  if (!isOnnxTensorDataType(tensor.dataType)) {
    fail(`tensor '${tensor.name}' has unsupported data type ${tensor.dataType}`);
  }
  for (const dimension of tensor.dims) {
    if (!Number.isSafeInteger(dimension) || dimension < 0) {
      fail(`tensor '${tensor.name}' has invalid dimension ${dimension}`);
    }
  }
  const expected = elementCount(tensor.dims) * onnxElementByteSize(tensor.dataType);
  if (!Number.isSafeInteger(expected) || tensor.rawData.length !== expected) {
    fail(
      `tensor '${tensor.name}' has ${tensor.rawData.length} bytes of raw data, its shape [${tensor.dims.join(', ')}] needs ${expected}`,
    );
  }
}

function writeTensor(writer: ProtobufWriter, tensor: OnnxTensor): void {
  checkTensor(tensor);
  // TensorProto.dims = 1 (repeated int64, unpacked in onnx.proto)
  for (const dimension of tensor.dims) writer.writeInt64Field(1, dimension);
  writer.writeInt64Field(2, tensor.dataType); // TensorProto.data_type = 2 (int32)
  writer.writeStringField(8, tensor.name); // TensorProto.name = 8
  writer.writeBytesField(9, tensor.rawData); // TensorProto.raw_data = 9
}

function writeAttribute(writer: ProtobufWriter, attribute: OnnxAttribute): void {
  if (attribute.name === '') fail('an attribute has an empty name');
  writer.writeStringField(1, attribute.name); // AttributeProto.name = 1
  switch (attribute.type) {
    case ONNX_ATTRIBUTE_TYPE.FLOAT:
      writer.writeFloat32Field(2, attribute.value); // AttributeProto.f = 2 (float)
      break;
    case ONNX_ATTRIBUTE_TYPE.INT:
      checkInt64(attribute.value, `attribute '${attribute.name}'`);
      writer.writeInt64Field(3, attribute.value); // AttributeProto.i = 3 (int64)
      break;
    case ONNX_ATTRIBUTE_TYPE.STRING:
      writer.writeStringField(4, attribute.value); // AttributeProto.s = 4 (bytes, UTF-8)
      break;
    case ONNX_ATTRIBUTE_TYPE.TENSOR:
      // AttributeProto.t = 5 (TensorProto)
      writer.writeMessageField(5, () => writeTensor(writer, attribute.value));
      break;
    case ONNX_ATTRIBUTE_TYPE.FLOATS:
      // AttributeProto.floats = 7 (repeated float, unpacked in onnx.proto)
      for (const value of attribute.value) writer.writeFloat32Field(7, value);
      break;
    case ONNX_ATTRIBUTE_TYPE.INTS:
      // AttributeProto.ints = 8 (repeated int64, unpacked in onnx.proto)
      for (const value of attribute.value) {
        checkInt64(value, `attribute '${attribute.name}' element`);
        writer.writeInt64Field(8, value);
      }
      break;
    case ONNX_ATTRIBUTE_TYPE.STRINGS:
      // AttributeProto.strings = 9 (repeated bytes, UTF-8)
      for (const value of attribute.value) writer.writeStringField(9, value);
      break;
    default:
      fail(`attribute '${(attribute as OnnxAttribute).name}' has an unsupported type`);
  }
  writer.writeVarintField(20, attribute.type); // AttributeProto.type = 20 (AttributeType)
}

function writeNode(writer: ProtobufWriter, node: OnnxNode): void {
  if (node.opType === '') fail(`node '${node.name ?? ''}' has an empty op_type`);
  for (const input of node.inputs) writer.writeStringField(1, input); // NodeProto.input = 1
  for (const output of node.outputs) writer.writeStringField(2, output); // NodeProto.output = 2
  if (node.name !== undefined) writer.writeStringField(3, node.name); // NodeProto.name = 3
  writer.writeStringField(4, node.opType); // NodeProto.op_type = 4
  for (const attribute of node.attributes) {
    // NodeProto.attribute = 5 (repeated AttributeProto)
    writer.writeMessageField(5, () => writeAttribute(writer, attribute));
  }
  if (node.domain !== undefined) writer.writeStringField(7, node.domain); // NodeProto.domain = 7
}

function writeValueInfo(writer: ProtobufWriter, valueInfo: OnnxValueInfo): void {
  if (!isOnnxDataType(valueInfo.elementType)) {
    fail(`value '${valueInfo.name}' has invalid element type ${valueInfo.elementType}`);
  }
  writer.writeStringField(1, valueInfo.name); // ValueInfoProto.name = 1
  // ValueInfoProto.type = 2 (TypeProto)
  writer.writeMessageField(2, () => {
    // TypeProto.tensor_type = 1 (TypeProto.Tensor)
    writer.writeMessageField(1, () => {
      writer.writeInt64Field(1, valueInfo.elementType); // TypeProto.Tensor.elem_type = 1 (int32)
      const shape = valueInfo.shape;
      if (shape === undefined) return;
      // TypeProto.Tensor.shape = 2 (TensorShapeProto); present and empty for a scalar
      writer.writeMessageField(2, () => {
        for (const dimension of shape) {
          // TensorShapeProto.dim = 1 (repeated Dimension)
          writer.writeMessageField(1, () => {
            if (typeof dimension === 'number') {
              if (!Number.isSafeInteger(dimension) || dimension < 0) {
                fail(`value '${valueInfo.name}' has invalid dimension ${dimension}`);
              }
              writer.writeInt64Field(1, dimension); // Dimension.dim_value = 1 (int64)
            } else if (typeof dimension === 'string') {
              writer.writeStringField(2, dimension); // Dimension.dim_param = 2 (string)
            }
          });
        }
      });
    });
  });
}

function writeGraph(writer: ProtobufWriter, graph: OnnxGraph): void {
  for (const node of graph.nodes) {
    writer.writeMessageField(1, () => writeNode(writer, node)); // GraphProto.node = 1
  }
  writer.writeStringField(2, graph.name); // GraphProto.name = 2
  for (const tensor of graph.initializers) {
    writer.writeMessageField(5, () => writeTensor(writer, tensor)); // GraphProto.initializer = 5
  }
  for (const input of graph.inputs) {
    writer.writeMessageField(11, () => writeValueInfo(writer, input)); // GraphProto.input = 11
  }
  for (const output of graph.outputs) {
    writer.writeMessageField(12, () => writeValueInfo(writer, output)); // GraphProto.output = 12
  }
  for (const valueInfo of graph.valueInfo) {
    // GraphProto.value_info = 13
    writer.writeMessageField(13, () => writeValueInfo(writer, valueInfo));
  }
}

function writeModel(writer: ProtobufWriter, model: OnnxModel): void {
  if (!Number.isSafeInteger(model.irVersion) || model.irVersion < 1) {
    fail(`invalid ir_version ${model.irVersion}`);
  }
  if (model.opsetImports.length === 0) fail('opset_import is empty');
  const domains = new Set<string>();
  for (const opset of model.opsetImports) {
    if (domains.has(opset.domain)) fail(`opset_import lists domain '${opset.domain}' twice`);
    domains.add(opset.domain);
    if (!Number.isSafeInteger(opset.version) || opset.version < 1) {
      fail(`invalid opset version ${opset.version} for domain '${opset.domain}'`);
    }
  }
  const keys = new Set<string>();
  for (const entry of model.metadataProps) {
    if (keys.has(entry.key)) fail(`metadata_props lists key '${entry.key}' twice`);
    keys.add(entry.key);
  }

  writer.writeInt64Field(1, model.irVersion); // ModelProto.ir_version = 1 (int64)
  writer.writeStringField(2, model.producerName); // ModelProto.producer_name = 2
  writer.writeStringField(3, model.producerVersion); // ModelProto.producer_version = 3
  writer.writeMessageField(7, () => writeGraph(writer, model.graph)); // ModelProto.graph = 7
  for (const opset of model.opsetImports) {
    // ModelProto.opset_import = 8 (repeated OperatorSetIdProto)
    writer.writeMessageField(8, () => {
      writer.writeStringField(1, opset.domain); // OperatorSetIdProto.domain = 1
      writer.writeInt64Field(2, opset.version); // OperatorSetIdProto.version = 2 (int64)
    });
  }
  for (const entry of model.metadataProps) {
    // ModelProto.metadata_props = 14 (repeated StringStringEntryProto)
    writer.writeMessageField(14, () => {
      writer.writeStringField(1, entry.key); // StringStringEntryProto.key = 1
      writer.writeStringField(2, entry.value); // StringStringEntryProto.value = 2
    });
  }
  if (writer.length > MAX_ONNX_MODEL_BYTES) {
    fail(
      `the model is ${writer.length} bytes; protobuf cannot load 2 GiB or more (external data is not supported yet)`,
    );
  }
}

/**
 * The model as chunks to write in order (e.g. with `fs.writevSync`): the tensors' raw data
 * are not copied, so they must not change until the chunks are written.
 */
export function encodeModelChunks(model: OnnxModel): readonly Uint8Array[] {
  const writer = new ProtobufWriter();
  writeModel(writer, model);
  return writer.finishChunks();
}

/** The model as the bytes of an .onnx file (raw data copied once, in one piece each). */
export function encodeModel(model: OnnxModel): Uint8Array {
  const writer = new ProtobufWriter();
  writeModel(writer, model);
  return writer.finish();
}
