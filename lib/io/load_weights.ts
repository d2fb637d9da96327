/**
 * `model.loadWeights(path, { from, map })`: weights trained elsewhere into an rnnkit model whose layers are already
 * built. The options are shared by every source framework (`from`); this build reads Keras weight files
 * (keras/keras_format.ts): Keras 2 `.h5` and Keras 3 `.weights.h5`.
 */
import { RnnError } from '../errors';
import { checkInteger, checkKnownKeys, describeValue, invalid, isPlainObject, optionsOrEmpty } from '../validate';
import { ConfinedReader, DEFAULT_LOAD_BUDGET_BYTES } from './confined_read';
import type { Layer } from '../layers/layer';
import type { Tensor } from '../tensor';
import { loadKerasWeights } from './keras/keras_format';

/** The model as `loadWeights` sees it: its layers, their current weights, and an all-checked write. @internal */
export interface WeightsTarget {
  /** The model's name (for messages). */
  readonly name: string;
  /** The model's layers, in order. */
  readonly layers: readonly Layer[];
  /** A layer's current weights (their shapes are what the file must match). */
  layerWeights(layer: Layer): Tensor[];
  /** Replaces every weight of the model (getWeights order), checking all before writing any. */
  writeAll(weights: Tensor[]): void;
}

/** One layer that `model.loadWeights` filled. */
export interface LoadedLayer {
  /** The rnnkit layer's name. */
  readonly layer: string;
  /** The file's tensors it came from (Keras 3 dataset paths, or the Keras 2 layer group). */
  readonly tensors: readonly string[];
}

/** What `model.loadWeights` did. */
export interface LoadWeightsReport {
  /** Layers that received weights, in model order. */
  readonly loaded: readonly LoadedLayer[];
  /** Layers with weights that the file did not touch (only possible with `map`). */
  readonly unchanged: readonly string[];
}

/** Options of `model.loadWeights`. */
export interface LoadWeightsOptions {
  /** The framework that wrote the file. 'keras': a Keras 2 `.h5`, a Keras 3 `.weights.h5` or `.keras`. Required. */
  from: 'keras';
  /**
   * Which layer each source goes to: `{ '<source>': '<rnnkit layer name>' }`, the source being a Keras layer name
   * (Keras 2 files) or a Keras 3 path such as 'layers/lstm_1'. Sources not named match by layer name (Keras 2) or by
   * Keras's class-named path in model order (Keras 3). Without a map every layer with weights must receive some;
   * with one, layers that receive nothing keep their weights. Default: no map.
   */
  map?: Record<string, string>;
  /** The most bytes the load may read; a larger file is refused (MEMORY) before it is read. Default 2 GiB. */
  maxBytes?: number;
}

/** The frameworks this build imports weights from. */
export const WEIGHT_SOURCES = ['keras'] as const;

function checkWeightsMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new RnnError('ARGUMENT', `Expected an object { '<source>': '<layer name>' } for map but received ${describeValue(value)}`);
  for (const [key, name] of Object.entries(value)) {
    if (typeof name !== 'string') throw new RnnError('ARGUMENT', `Expected a layer name (string) for map['${key}'] but received ${describeValue(name)}`);
  }
  return value as Record<string, string>;
}

/** Reads `path` and loads it into `target`, all or nothing. @internal (use model.loadWeights) */
export async function loadWeightsInto(target: WeightsTarget, path: string, options: LoadWeightsOptions): Promise<LoadWeightsReport> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('ARGUMENT', 'a non-empty path', 'loadWeights path', path);
  const opts = optionsOrEmpty(options, 'loadWeights options');
  checkKnownKeys(opts, ['from', 'map', 'maxBytes'], 'loadWeights options');
  if (!(WEIGHT_SOURCES as readonly unknown[]).includes(opts.from)) {
    throw new RnnError('ARGUMENT', `Expected ${WEIGHT_SOURCES.map((s) => `'${s}'`).join(' or ')} for loadWeights option from (the sources this build imports) but received ${describeValue(opts.from)}`);
  }
  const map = checkWeightsMap(opts.map);
  const budget = opts.maxBytes === undefined ? DEFAULT_LOAD_BUDGET_BYTES : checkInteger(opts.maxBytes, 'maxBytes', { min: 1 });
  const reader = await ConfinedReader.forFile(path, budget);
  const bytes = await reader.read(path, 'the weights file');
  return loadKerasWeights(target, bytes, path, map, budget - bytes.length);
}
