/**
 * ONNX export: `rk.onnx.toBytes` gives the exported model's bytes, `rk.onnx.tritonConfig` the Triton config for the
 * exported file; `model.save(path, { format: 'onnx' })` writes the file (save.ts). The layers the exporter writes,
 * and how, are in layers.ts (one table), the recurrent operators in recurrent.ts; docs/scale.md shows the whole path.
 * @module
 */
import type { Model } from '../../models/model';
import { describeModel } from './description';
import { buildOnnxModel, checkOnnxOptions, OnnxExportOptions } from './export';

export { tritonConfig } from './triton';
export type { TritonConfigOptions } from './triton';
export type { OnnxExportOptions } from './export';

/**
 * The ONNX model of `model` as bytes (what `model.save(path, { format: 'onnx', ...options })` writes), e.g. for
 * `new ort.InferenceSession.create(bytes)` without a file. A sequential model has one input `input` and one output
 * `output`; a functional model's graph inputs and outputs take its symbolic tensors' names, in its order. A layer or mask ONNX cannot express exactly is an
 * ARGUMENT error naming the layer.
 */
export function toBytes(model: Model, options?: OnnxExportOptions): Uint8Array {
  return buildOnnxModel(describeModel(model), checkOnnxOptions(options, 'ONNX export options')).bytes;
}
