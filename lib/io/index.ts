/**
 * Saving and loading models: `model.save(path, options)` and `rk.loadModel(path)`.
 * - format 'rnnkit' (default): one file with the topology, the weights, the compile settings and, with
 *   includeOptimizer, the optimizer state, so training resumes exactly where it stopped.
 * - format 'tfjs': a directory with model.json + weights.bin, the layout @tensorflow/tfjs reads and writes.
 * - format 'onnx': one ONNX model for inference in onnxruntime, Triton and the like (onnx/export.ts); save only.
 * Every file is replaced atomically (atomic_write.ts), so a crash during a save keeps the previous file.
 */
import { join } from 'path';
import { RnnError } from '../errors';
import type { Model } from '../models/model';
import { registerModelIo } from '../models/model_io';
import type { OnnxExportOptions } from './onnx/export';
import { checkBoolean, checkInteger, checkKnownKeys, checkOneOf, invalid, optionsOrEmpty } from '../validate';
import { pathKind, writeFileAtomic } from './atomic_write';
import { ConfinedReader, DEFAULT_LOAD_BUDGET_BYTES } from './confined_read';
import { hasMagic } from './binary_format';
import { decodeModelFile, encodeModelFile } from './model_file';
import { loadTfjsModel, saveTfjsModel, TFJS_MODEL_FILE } from './tfjs_format';
import { isHdf5, isZip, loadKerasArchive, loadKerasH5, saveKerasModel } from './keras/keras_format';
import { saveOnnxModel } from './onnx/save';
import { loadWeightsInto } from './load_weights';
import { kerasLayerOrder } from './keras/keras_graph';
import { Sequential } from '../models/sequential';

export interface SaveOptions {
  /**
   * 'rnnkit': one file (any name, e.g. `model.rnnkit`). 'tfjs': `path` is a directory (created if missing) that
   * receives `model.json` and `weights.bin` for `tf.loadLayersModel` (a functional model as tfjs' `class_name:
   * 'Model'`); GRU layers need `resetAfter: false` there.
   * 'keras': a Keras 3 `.keras` archive (config.json, metadata.json, model.weights.h5) for `keras.saving.load_model`
   * (docs/interchange.md). 'onnx': one ONNX model for inference (onnxruntime, Triton), with the options `stateInputs`
   * and `opset`; it cannot be loaded back. Default 'rnnkit'.
   */
  format?: 'rnnkit' | 'tfjs' | 'keras' | 'onnx';
  /**
   * Also store the optimizer state (moments, accumulators, step count), so `fit` resumes exactly. The model must
   * be compiled. Only for format 'rnnkit'. Default false (the compile settings are saved either way).
   */
  includeOptimizer?: boolean;
  /** Only for format 'onnx': expose the recurrent layers' states as graph inputs and outputs ({@link OnnxExportOptions}). */
  stateInputs?: boolean;
  /** Only for format 'onnx': the opset to write, 14 to 21. Default 17. */
  opset?: number;
}

const SAVE_KEYS = ['format', 'includeOptimizer', 'stateInputs', 'opset'] as const;
export const SAVE_FORMATS = ['rnnkit', 'tfjs', 'keras', 'onnx'] as const;

/** Writes `model` to `path`. The model's values are copied before the first await. @internal (use model.save) */
export async function saveModel(model: Model, path: string, options?: SaveOptions): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('ARGUMENT', 'a non-empty path', 'save path', path);
  const opts = optionsOrEmpty(options, 'save options');
  checkKnownKeys(opts, SAVE_KEYS, 'save options');
  const format = checkOneOf(opts.format ?? 'rnnkit', 'format', SAVE_FORMATS);
  const includeOptimizer = opts.includeOptimizer === undefined ? false : checkBoolean(opts.includeOptimizer, 'includeOptimizer');
  if (format === 'onnx') {
    if (includeOptimizer) throw new RnnError('ARGUMENT', "Expected includeOptimizer false for format 'onnx' (an inference graph has no optimizer) but received true");
    await saveOnnxModel(model, path, { stateInputs: opts.stateInputs, opset: opts.opset });
    return;
  }
  for (const key of ['stateInputs', 'opset'] as const) {
    if (opts[key] !== undefined) throw new RnnError('ARGUMENT', `Expected ${key} only with format 'onnx' but received it with format '${format}'`);
  }
  if (format !== 'rnnkit' && includeOptimizer) {
    throw new RnnError('ARGUMENT', `Expected includeOptimizer false for format '${format}' (rnnkit's optimizer state has no ${format} form) but received true`);
  }
  if (format === 'tfjs') return saveTfjsModel(model, path);
  if (format === 'keras') return saveKerasModel(model, path);
  await writeFileAtomic(path, encodeModelFile(model, includeOptimizer));
}

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /**
   * The most bytes one load may read, over every file of the model together; a larger model is refused (MEMORY)
   * before the file that would exceed it is read. Default 2 GiB.
   */
  maxBytes?: number;
}

/**
 * Loads a model saved by `model.save`: an rnnkit file, a tfjs layers model given as its directory or its
 * `model.json`, or a Keras model: a Keras 3 `.keras` archive or a Keras 2 legacy `.h5` (recognised by content).
 * Resolves to a `Sequential` for a sequential model and to a functional `Model` for a graph (`class_name: 'Model'` in
 * tfjs files); narrow with `instanceof rk.Sequential` where it matters. rnnkit files come back compiled when they were saved compiled (with the optimizer state when it was
 * included); tfjs models come back uncompiled. Malformed files raise FORMAT, file-system failures IO. Files the model
 * lists must be regular files inside its real folder (symlinks resolved), each listed once (confined_read.ts).
 */
export async function loadModel(path: string, options?: LoadOptions): Promise<Model> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('ARGUMENT', 'a non-empty path', 'loadModel path', path);
  const opts = optionsOrEmpty(options, 'loadModel options');
  checkKnownKeys(opts, ['maxBytes'], 'loadModel options');
  const budget = opts.maxBytes === undefined ? DEFAULT_LOAD_BUDGET_BYTES : checkInteger(opts.maxBytes, 'maxBytes', { min: 1 });
  const file = (await pathKind(path)) === 'directory' ? join(path, TFJS_MODEL_FILE) : path;
  const reader = await ConfinedReader.forFile(file, budget);
  const bytes = await reader.read(file, 'the model file');
  if (hasMagic(bytes)) return decodeModelFile(bytes, path);
  if (isZip(bytes) || file.toLowerCase().endsWith('.keras')) return loadKerasArchive(bytes, path, budget - bytes.length);
  if (isHdf5(bytes) || file.toLowerCase().endsWith('.h5')) return loadKerasH5(bytes, path);
  if (file.toLowerCase().endsWith('.json')) return loadTfjsModel(file, reader, bytes);
  return decodeModelFile(bytes, path); // raises the FORMAT error that explains the expected magic
}

registerModelIo({
  save: saveModel,
  loadWeights: (model, path, options) => loadWeightsInto({
    name: model.name, layers: model.layers, kerasOrder: model instanceof Sequential || !model.topology ? model.layers : kerasLayerOrder(model),
    layerWeights: (layer) => model.readLayerWeights(layer), writeAll: (weights) => model.writeAllWeights(weights),
  }, path, options),
});
