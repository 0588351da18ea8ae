/**
 * Helpers for tests that look at protobuf bytes: what a writer writes, bytes as hex, the one
 * field a message holds, a length-delimited field's bytes, and a decode error on one line.
 */

import { expect } from 'vitest';
import {
  ProtobufDecodeError,
  type ProtobufField,
  readFields,
} from '../../src/models/onnx/protobuf-reader.js';
import { ProtobufWriter, WIRE_TYPE } from '../../src/models/onnx/protobuf-writer.js';

export function written(write: (writer: ProtobufWriter) => void): Uint8Array {
  const writer = new ProtobufWriter();
  write(writer);
  return writer.finish();
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function expectDecodeError(action: () => unknown, reason: RegExp): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ProtobufDecodeError);
  expect((caught as Error).message).toMatch(reason);
  expect((caught as Error).message).not.toContain('\n');
}

export function onlyField(bytes: Uint8Array): ProtobufField {
  const fields = readFields(bytes);
  expect(fields).toHaveLength(1);
  return fields[0] as ProtobufField;
}

export function lengthDelimited(field: ProtobufField | undefined): Uint8Array {
  if (field?.wireType !== WIRE_TYPE.LENGTH_DELIMITED) throw new Error('not length-delimited');
  return field.value;
}
