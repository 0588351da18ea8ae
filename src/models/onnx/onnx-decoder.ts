/**
 * The subset of ONNX (onnx.proto) tandem needs to write a transformer decoder: types, a
 * deterministic encoder and a bounded decoder.
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
  type OnnxDataType,
  type OnnxDimension,
  type OnnxGraph,
  type OnnxMetadataEntry,
  type OnnxModel,
  type OnnxNode,
  type OnnxOperatorSetId,
  type OnnxTensor,
  type OnnxValueInfo,
  onnxElementByteSize,
} from './onnx-graph.js';
import { type ProtobufKey, ProtobufReader } from './protobuf-reader.js';
import { ProtobufWriter, WIRE_TYPE } from './protobuf-writer.js';

/** Invalid input to the ONNX encoder (a bug in the caller, not in a file). */
export class OnnxModelError extends TandemError {}

// ---- Encoder --------------------------------------------------------------------------------

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

// ---- Decoder --------------------------------------------------------------------------------

function checkSingle(reader: ProtobufReader, seen: Set<number>, key: ProtobufKey, what: string) {
  if (seen.has(key.fieldNumber)) {
    throw reader.error(`${what} appears twice (split messages are not supported)`, key.offset);
  }
  seen.add(key.fieldNumber);
}

function readStringField(reader: ProtobufReader, key: ProtobufKey, what: string): string {
  reader.expectWireType(key, WIRE_TYPE.LENGTH_DELIMITED, what);
  return reader.readString();
}

function readMessageField(reader: ProtobufReader, key: ProtobufKey, what: string): ProtobufReader {
  reader.expectWireType(key, WIRE_TYPE.LENGTH_DELIMITED, what);
  return reader.readMessage();
}

function readInt64Field(reader: ProtobufReader, key: ProtobufKey, what: string): number {
  reader.expectWireType(key, WIRE_TYPE.VARINT, what);
  return reader.readInt64();
}

function readInt32Field(reader: ProtobufReader, key: ProtobufKey, what: string): number {
  reader.expectWireType(key, WIRE_TYPE.VARINT, what);
  return reader.readInt32();
}

/** Fields of TensorProto that hold data in ways this decoder does not support. */
const unsupportedTensorFields: Readonly<Record<number, string>> = {
  3: 'segment',
  4: 'float_data',
  5: 'int32_data',
  6: 'string_data',
  7: 'int64_data',
  10: 'double_data',
  11: 'uint64_data',
  13: 'external_data',
  14: 'data_location',
};

function readTensor(reader: ProtobufReader): OnnxTensor {
  const start = reader.position;
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let rawData: Uint8Array = new Uint8Array(0);
  while (!reader.isAtEnd()) {
    const key = reader.readKey();
    switch (key.fieldNumber) {
      case 1:
        reader.readRepeatedInt64(key, 'TensorProto.dims', dims);
        break;
      case 2:
        dataType = readInt32Field(reader, key, 'TensorProto.data_type');
        break;
      case 8:
        name = readStringField(reader, key, 'TensorProto.name');
        break;
      case 9:
        reader.expectWireType(key, WIRE_TYPE.LENGTH_DELIMITED, 'TensorProto.raw_data');
        rawData = reader.readLengthDelimited();
        break;
      default: {
        const unsupported = unsupportedTensorFields[key.fieldNumber];
        if (unsupported !== undefined) {
          throw reader.error(
            `TensorProto.${unsupported} is not supported (only raw_data)`,
            key.offset,
          );
        }
        reader.skipValue(key.wireType);
      }
    }
  }
  if (!isOnnxTensorDataType(dataType)) {
    throw reader.error(`tensor '${name}' has unsupported data type ${dataType}`, start);
  }
  for (const dimension of dims) {
    if (dimension < 0) throw reader.error(`tensor '${name}' has dimension ${dimension}`, start);
  }
  const expected = elementCount(dims) * onnxElementByteSize(dataType);
  if (rawData.length !== expected) {
    throw reader.error(
      `tensor '${name}' has ${rawData.length} bytes of raw_data, its shape [${dims.join(', ')}] needs ${expected}`,
      start,
    );
  }
  return { name, dataType, dims, rawData };
}

function readAttribute(reader: ProtobufReader): OnnxAttribute {
  const start = reader.position;
  let name = '';
  let type = 0;
  let floatValue = 0;
  let intValue = 0;
  let stringValue = '';
  let tensorValue: OnnxTensor | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  while (!reader.isAtEnd()) {
    const key = reader.readKey();
    switch (key.fieldNumber) {
      case 1:
        name = readStringField(reader, key, 'AttributeProto.name');
        break;
      case 2:
        reader.expectWireType(key, WIRE_TYPE.FIXED32, 'AttributeProto.f');
        floatValue = reader.readFloat32();
        break;
      case 3:
        intValue = readInt64Field(reader, key, 'AttributeProto.i');
        break;
      case 4:
        stringValue = readStringField(reader, key, 'AttributeProto.s');
        break;
      case 5:
        if (tensorValue !== undefined) {
          throw reader.error('AttributeProto.t appears twice', key.offset);
        }
        tensorValue = readTensor(readMessageField(reader, key, 'AttributeProto.t'));
        break;
      case 7:
        reader.readRepeatedFloat32(key, 'AttributeProto.floats', floats);
        break;
      case 8:
        reader.readRepeatedInt64(key, 'AttributeProto.ints', ints);
        break;
      case 9:
        strings.push(readStringField(reader, key, 'AttributeProto.strings'));
        break;
      case 20:
        type = readInt32Field(reader, key, 'AttributeProto.type');
        break;
      case 6:
      case 10:
      case 11:
      case 21:
      case 22:
      case 23:
        throw reader.error(
          `attribute '${name}' uses field ${key.fieldNumber} (graphs, tensor lists, sparse tensors and references are not supported)`,
          key.offset,
        );
      default:
        reader.skipValue(key.wireType);
    }
  }
  switch (type) {
    case ONNX_ATTRIBUTE_TYPE.FLOAT:
      return { name, type, value: floatValue };
    case ONNX_ATTRIBUTE_TYPE.INT:
      return { name, type, value: intValue };
    case ONNX_ATTRIBUTE_TYPE.STRING:
      return { name, type, value: stringValue };
    case ONNX_ATTRIBUTE_TYPE.TENSOR:
      if (tensorValue === undefined) throw reader.error(`attribute '${name}' has no tensor`, start);
      return { name, type, value: tensorValue };
    case ONNX_ATTRIBUTE_TYPE.FLOATS:
      return { name, type, value: floats };
    case ONNX_ATTRIBUTE_TYPE.INTS:
      return { name, type, value: ints };
    case ONNX_ATTRIBUTE_TYPE.STRINGS:
      return { name, type, value: strings };
    default:
      throw reader.error(`attribute '${name}' has unsupported type ${type}`, start);
  }
}

function readNode(reader: ProtobufReader): OnnxNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes: OnnxAttribute[] = [];
  let opType = '';
  let name: string | undefined;
  let domain: string | undefined;
  while (!reader.isAtEnd()) {
    const key = reader.readKey();
    switch (key.fieldNumber) {
      case 1:
        inputs.push(readStringField(reader, key, 'NodeProto.input'));
        break;
      case 2:
        outputs.push(readStringField(reader, key, 'NodeProto.output'));
        break;
      case 3:
        name = readStringField(reader, key, 'NodeProto.name');
        break;
      case 4:
        opType = readStringField(reader, key, 'NodeProto.op_type');
        break;
      case 5:
        attributes.push(readAttribute(readMessageField(reader, key, 'NodeProto.attribute')));
        break;
      case 7:
        domain = readStringField(reader, key, 'NodeProto.domain');
        break;
      default:
        reader.skipValue(key.wireType);
    }
  }
  return {
    opType,
    inputs,
    outputs,
    ...(name === undefined ? {} : { name }),
    ...(domain === undefined ? {} : { domain }),
    attributes,
  };
}

function readDimension(reader: ProtobufReader): OnnxDimension {
  let dimension: OnnxDimension = null;
  while (!reader.isAtEnd()) {
    const key = reader.readKey();
    if (key.fieldNumber === 1) {
      dimension = readInt64Field(reader, key, 'Dimension.dim_value');
    } else if (key.fieldNumber === 2) {
      dimension = readStringField(reader, key, 'Dimension.dim_param');
    } else {
      reader.skipValue(key.wireType);
    }
  }
  return dimension;
}

function readTensorType(
  reader: ProtobufReader,
  name: string,
): { elementType: OnnxDataType; shape?: OnnxDimension[] } {
  const start = reader.position;
  const seen = new Set<number>();
  let elementType = 0;
  let shape: OnnxDimension[] | undefined;
  while (!reader.isAtEnd()) {
    const key = reader.readKey();
    if (key.fieldNumber === 1) {
      elementType = readInt32Field(reader, key, 'TypeProto.Tensor.elem_type');
    } else if (key.fieldNumber === 2) {
      checkSingle(reader, seen, key, 'TypeProto.Tensor.shape');
      const shapeReader = readMessageField(reader, key, 'TypeProto.Tensor.shape');
      shape = [];
      while (!shapeReader.isAtEnd()) {
        const shapeKey = shapeReader.readKey();
        if (shapeKey.fieldNumber === 1) {
          shape.push(
            readDimension(readMessageField(shapeReader, shapeKey, 'TensorShapeProto.dim')),
          );
        } else {
          shapeReader.skipValue(shapeKey.wireType);
        }
      }
    } else {
      reader.skipValue(key.wireType);
    }
  }
  if (!isOnnxDataType(elementType)) {
    throw reader.error(`value '${name}' has unsupported element type ${elementType}`, start);
  }
  return shape === undefined ? { elementType } : { elementType, shape };
}

function readValueInfo(reader: ProtobufReader): OnnxValueInfo {
  const start = reader.position;
  const seen = new Set<number>();
  let name = '';
  let typeReader: ProtobufReader | undefined;
  while (!reader.isAtEnd()) {
    const key = reader.readKey();
    if (key.fieldNumber === 1) {
      name = readStringField(reader, key, 'ValueInfoProto.name');
    } else if (key.fieldNumber === 2) {
      checkSingle(reader, seen, key, 'ValueInfoProto.type');
      typeReader = readMessageField(reader, key, 'ValueInfoProto.type');
    } else {
      reader.skipValue(key.wireType);
    }
  }
  if (typeReader === undefined) throw reader.error(`value '${name}' has no type`, start);
  let tensorType: { elementType: OnnxDataType; shape?: OnnxDimension[] } | undefined;
  while (!typeReader.isAtEnd()) {
    const key = typeReader.readKey();
    if (key.fieldNumber === 1) {
      checkSingle(typeReader, seen, key, 'TypeProto.tensor_type');
      tensorType = readTensorType(readMessageField(typeReader, key, 'TypeProto.tensor_type'), name);
    } else if (key.fieldNumber === 6) {
      typeReader.skipValue(key.wireType); // TypeProto.denotation
    } else {
      throw typeReader.error(
        `value '${name}' has a non-tensor type (TypeProto field ${key.fieldNumber})`,
        key.offset,
      );
    }
  }
  if (tensorType === undefined) throw reader.error(`value '${name}' has no tensor type`, start);
  return { name, ...tensorType };
}

function readGraph(reader: ProtobufReader): OnnxGraph {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const valueInfo: OnnxValueInfo[] = [];
  let name = '';
  while (!reader.isAtEnd()) {
    const key = reader.readKey();
    switch (key.fieldNumber) {
      case 1:
        nodes.push(readNode(readMessageField(reader, key, 'GraphProto.node')));
        break;
      case 2:
        name = readStringField(reader, key, 'GraphProto.name');
        break;
      case 5:
        initializers.push(readTensor(readMessageField(reader, key, 'GraphProto.initializer')));
        break;
      case 11:
        inputs.push(readValueInfo(readMessageField(reader, key, 'GraphProto.input')));
        break;
      case 12:
        outputs.push(readValueInfo(readMessageField(reader, key, 'GraphProto.output')));
        break;
      case 13:
        valueInfo.push(readValueInfo(readMessageField(reader, key, 'GraphProto.value_info')));
        break;
      case 15:
        throw reader.error('GraphProto.sparse_initializer is not supported', key.offset);
      default:
        reader.skipValue(key.wireType);
    }
  }
  return { name, nodes, initializers, inputs, outputs, valueInfo };
}

/**
 * Decodes the ONNX subset above from the bytes of an .onnx file. Tensors' raw data are
 * views into `bytes` (no copies). Unknown fields are skipped; fields that would change
 * the meaning of what is decoded (typed or external tensor data, graph attributes,
 * sparse initializers, local functions, training info) fail with a ProtobufDecodeError,
 * as does truncated or malformed input.
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const reader = new ProtobufReader(bytes);
  const seen = new Set<number>();
  let irVersion: number | undefined;
  let producerName = '';
  let producerVersion = '';
  let graph: OnnxGraph | undefined;
  const opsetImports: OnnxOperatorSetId[] = [];
  const metadataProps: OnnxMetadataEntry[] = [];
  while (!reader.isAtEnd()) {
    const key = reader.readKey();
    switch (key.fieldNumber) {
      case 1:
        irVersion = readInt64Field(reader, key, 'ModelProto.ir_version');
        break;
      case 2:
        producerName = readStringField(reader, key, 'ModelProto.producer_name');
        break;
      case 3:
        producerVersion = readStringField(reader, key, 'ModelProto.producer_version');
        break;
      case 7:
        checkSingle(reader, seen, key, 'ModelProto.graph');
        graph = readGraph(readMessageField(reader, key, 'ModelProto.graph'));
        break;
      case 8: {
        const opsetReader = readMessageField(reader, key, 'ModelProto.opset_import');
        let domain = '';
        let version = 0;
        while (!opsetReader.isAtEnd()) {
          const opsetKey = opsetReader.readKey();
          if (opsetKey.fieldNumber === 1) {
            domain = readStringField(opsetReader, opsetKey, 'OperatorSetIdProto.domain');
          } else if (opsetKey.fieldNumber === 2) {
            version = readInt64Field(opsetReader, opsetKey, 'OperatorSetIdProto.version');
          } else {
            opsetReader.skipValue(opsetKey.wireType);
          }
        }
        opsetImports.push({ domain, version });
        break;
      }
      case 14: {
        const entryReader = readMessageField(reader, key, 'ModelProto.metadata_props');
        let entryKey = '';
        let value = '';
        while (!entryReader.isAtEnd()) {
          const fieldKey = entryReader.readKey();
          if (fieldKey.fieldNumber === 1) {
            entryKey = readStringField(entryReader, fieldKey, 'StringStringEntryProto.key');
          } else if (fieldKey.fieldNumber === 2) {
            value = readStringField(entryReader, fieldKey, 'StringStringEntryProto.value');
          } else {
            entryReader.skipValue(fieldKey.wireType);
          }
        }
        metadataProps.push({ key: entryKey, value });
        break;
      }
      case 20:
      case 25:
        throw reader.error(
          `ModelProto field ${key.fieldNumber} (${key.fieldNumber === 20 ? 'training_info' : 'functions'}) is not supported`,
          key.offset,
        );
      default:
        reader.skipValue(key.wireType);
    }
  }
  if (irVersion === undefined) throw reader.error('ModelProto.ir_version is missing', 0);
  if (graph === undefined) throw reader.error('ModelProto.graph is missing', 0);
  if (opsetImports.length === 0) throw reader.error('ModelProto.opset_import is empty', 0);
  return { irVersion, opsetImports, producerName, producerVersion, graph, metadataProps };
}
