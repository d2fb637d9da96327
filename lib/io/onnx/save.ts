/** `model.save(path, { format: 'onnx' })`: the export written atomically. */
import type { Model } from '../../models/model';
import { writeFileAtomic } from '../atomic_write';
import type { OnnxExportOptions } from './export';
import { toBytes } from './index';

/** Writes `model` as an ONNX file at `path` (atomically). @internal (use model.save with format 'onnx') */
export async function saveOnnxModel(model: Model, path: string, options: OnnxExportOptions): Promise<void> {
  const bytes = toBytes(model, options);
  await writeFileAtomic(path, [bytes]);
}
