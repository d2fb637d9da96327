/**
 * `model.loadWeights(path, { from, map })`: weights only, from another library's file, into the layers of an
 * existing model (for transfer). `from: 'keras'` reads Keras weight files (keras/keras_format.ts); each source
 * format lives in its own module and is dispatched here.
 */
import type { Sequential } from '../models/sequential';
import { checkInteger, checkKnownKeys, checkOneOf, invalid, optionsOrEmpty } from '../validate';
import { ConfinedReader, DEFAULT_LOAD_BUDGET_BYTES } from './confined_read';
import { checkWeightMap, loadKerasWeights, LoadWeightsReport } from './keras/keras_format';

export type { LoadWeightsReport } from './keras/keras_format';

/** Options of `model.loadWeights`. */
export interface LoadWeightsOptions {
  /** The library that wrote the file: 'keras' (a Keras 2 `.h5` or Keras 3 `.weights.h5` / model weights file). Required. */
  from: 'keras';
  /**
   * rnnkit layer name -> the name of its source in the file (a Keras 2 layer name, or a Keras 3 path such as
   * 'layers/lstm_1'). Layers not named here are matched by their own name (Keras 2) or by Keras's class-named path
   * in order (Keras 3). Default {}.
   */
  map?: Record<string, string>;
  /** The most bytes the load may read. Default 2 GiB. */
  maxBytes?: number;
}

export const WEIGHT_SOURCES = ['keras'] as const;

/** Reads the weights file at `path` into `model`. @internal (use model.loadWeights) */
export async function loadWeightsInto(model: Sequential, path: string, options: LoadWeightsOptions): Promise<LoadWeightsReport> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('ARGUMENT', 'a non-empty path', 'loadWeights path', path);
  const opts = optionsOrEmpty(options, 'loadWeights options');
  checkKnownKeys(opts, ['from', 'map', 'maxBytes'], 'loadWeights options');
  checkOneOf(opts.from, 'from', WEIGHT_SOURCES);
  const map = checkWeightMap(opts.map);
  const budget = opts.maxBytes === undefined ? DEFAULT_LOAD_BUDGET_BYTES : checkInteger(opts.maxBytes, 'maxBytes', { min: 1 });
  const reader = await ConfinedReader.forFile(path, budget);
  const bytes = await reader.read(path, 'the weights file');
  return loadKerasWeights(model, bytes, path, map);
}
