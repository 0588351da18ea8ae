/**
 * Encoding float values into a tensor's on-disk bytes. F32 and F16 now; a quantized type
 * (Q8_0, Q4_0...) is added here as another case that buffers values into whole blocks.
 */

import { InvalidArgumentError } from '../../errors.js';
import { float32BitsToFloat16Bits } from './float16.js';
import { GGML_TYPE, type GgmlTypeId, ggmlTypeInfo } from './types.js';

/** Tensor types {@link encodeTensorValues} can produce. */
export const ENCODABLE_TENSOR_TYPES: readonly GgmlTypeId[] = [GGML_TYPE.F32, GGML_TYPE.F16];

/**
 * Turns chunks of float values (in ggml order, ne[0] innermost) into chunks of the
 * tensor's little-endian bytes in type `typeId`. Lazy: one output chunk per input chunk.
 */
export function* encodeTensorValues(
  typeId: GgmlTypeId,
  valueChunks: Iterable<Float32Array>,
): Generator<Uint8Array> {
  if (typeId === GGML_TYPE.F32) {
    for (const chunk of valueChunks) {
      const bytes = new Uint8Array(chunk.length * 4);
      const view = new DataView(bytes.buffer);
      for (let index = 0; index < chunk.length; index++) {
        view.setFloat32(index * 4, chunk[index] as number, true);
      }
      yield bytes;
    }
    return;
  }
  if (typeId === GGML_TYPE.F16) {
    for (const chunk of valueChunks) {
      const bits = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length);
      const bytes = new Uint8Array(chunk.length * 2);
      const view = new DataView(bytes.buffer);
      for (let index = 0; index < chunk.length; index++) {
        view.setUint16(index * 2, float32BitsToFloat16Bits(bits[index] as number), true);
      }
      yield bytes;
    }
    return;
  }
  const name = ggmlTypeInfo(typeId)?.name ?? `type ${typeId}`;
  throw new InvalidArgumentError(
    `Cannot encode tensor values as ${name} yet; supported: F32, F16.`,
  );
}
