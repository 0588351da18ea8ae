/**
 * The ONNX weight data types tandem knows, as transformers.js names them, and the file each
 * one lives in inside a model folder: onnx/model{suffix}.onnx.
 */

export const ONNX_DTYPES = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'] as const;
export type OnnxDtype = (typeof ONNX_DTYPES)[number];

/** transformers.js' file name suffix per dtype. */
export const ONNX_DTYPE_FILE_SUFFIX: Readonly<Record<OnnxDtype, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
};
