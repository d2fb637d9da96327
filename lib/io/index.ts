/**
 * Saving and loading models: `model.save(path, options)` and `rk.loadModel(path)`.
 * - format 'rnnkit' (default): one file with the topology, the weights, the compile settings and, with
 *   includeOptimizer, the optimizer state, so training resumes exactly where it stopped.
 * - format 'tfjs': a directory with model.json + weights.bin, the layout @tensorflow/tfjs reads and writes.
 * Every file is replaced atomically (atomic_write.ts), so a crash during a save keeps the previous file.
 */
import { join } from 'path';
import { RnnError } from '../errors';
import type { Model } from '../models/model';
import { registerModelIo } from '../models/model_io';
import { checkBoolean, checkInteger, checkKnownKeys, checkOneOf, invalid, optionsOrEmpty } from '../validate';
import { pathKind, writeFileAtomic } from './atomic_write';
import { ConfinedReader, DEFAULT_LOAD_BUDGET_BYTES } from './confined_read';
import { hasMagic } from './binary_format';
import { decodeModelFile, encodeModelFile } from './model_file';
import { loadTfjsModel, saveTfjsModel, TFJS_MODEL_FILE } from './tfjs_format';

export interface SaveOptions {
  /**
   * 'rnnkit': one file (any name, e.g. `model.rnnkit`). 'tfjs': `path` is a directory (created if missing) that
   * receives `model.json` and `weights.bin` for `tf.loadLayersModel` (a functional model as tfjs' `class_name:
   * 'Model'`); GRU layers need `resetAfter: false` there.
   * Default 'rnnkit'.
   */
  format?: 'rnnkit' | 'tfjs';
  /**
   * Also store the optimizer state (moments, accumulators, step count), so `fit` resumes exactly. The model must
   * be compiled. Only for format 'rnnkit'. Default false (the compile settings are saved either way).
   */
  includeOptimizer?: boolean;
}

const SAVE_KEYS = ['format', 'includeOptimizer'] as const;
export const SAVE_FORMATS = ['rnnkit', 'tfjs'] as const;

/** Writes `model` to `path`. The model's values are copied before the first await. @internal (use model.save) */
export async function saveModel(model: Model, path: string, options?: SaveOptions): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('ARGUMENT', 'a non-empty path', 'save path', path);
  const opts = optionsOrEmpty(options, 'save options');
  checkKnownKeys(opts, SAVE_KEYS, 'save options');
  const format = checkOneOf(opts.format ?? 'rnnkit', 'format', SAVE_FORMATS);
  const includeOptimizer = opts.includeOptimizer === undefined ? false : checkBoolean(opts.includeOptimizer, 'includeOptimizer');
  if (format === 'tfjs') {
    if (includeOptimizer) {
      throw new RnnError('ARGUMENT', "Expected includeOptimizer false for format 'tfjs' (rnnkit's optimizer state has no tfjs form) but received true");
    }
    await saveTfjsModel(model, path);
    return;
  }
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
 * Loads a model saved by `model.save`: an rnnkit file, or a tfjs layers model given as its directory or its
 * `model.json`. Resolves to a `Sequential` for a sequential model and to a functional `Model` for a graph
 * (`class_name: 'Model'` in tfjs files); narrow with `instanceof rk.Sequential` where it matters. rnnkit files come back compiled when they were saved compiled (with the optimizer state when it was
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
  if (file.toLowerCase().endsWith('.json')) return loadTfjsModel(file, reader, bytes);
  return decodeModelFile(bytes, path); // raises the FORMAT error that explains the expected magic
}

registerModelIo({ save: saveModel });
