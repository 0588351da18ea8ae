/**
 * The bounded ONNX decoder: the subset in onnx-graph.ts read back from the bytes of an
 * .onnx file, never past the end of a message, refusing what it would misread.
 *
 * Field numbers and enum values are those of the official schema, onnx/onnx.proto and
 * onnx/onnx.proto3 in https://github.com/onnx/onnx (generated from onnx.in.proto); each is
 * cited next to its use as `Message.field = number`.
 */

import {
  elementCount,
  isOnnxDataType,
  isOnnxTensorDataType,
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
import { WIRE_TYPE } from './protobuf-writer.js';

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
