/**
 * `model.loadWeights(path, { from, map })`: weights trained elsewhere into an rnnkit model whose layers are already
 * built. The options are shared by every source framework (`from`): PyTorch state dicts saved as safetensors
 * (pytorch_weights.ts) and Keras weight files, Keras 2 `.h5` and Keras 3 `.weights.h5` (keras/keras_format.ts).
 * Pickle files (`torch.save`'s `.pt` / `.pth` / `.bin`) are refused, with the two lines of Python that convert them:
 * unpickling runs arbitrary code, so rnnkit never reads pickles.
 */
import { RnnError } from '../errors';
import { checkInteger, checkKnownKeys, describeValue, invalid, optionsOrEmpty } from '../validate';
import { ConfinedReader, DEFAULT_LOAD_BUDGET_BYTES } from './confined_read';
import type { Layer } from '../layers/layer';
import type { Tensor } from '../tensor';
import { loadKerasWeights } from './keras/keras_transfer';
import { checkWeightsMap, loadPytorchWeights } from './pytorch_weights';
import { readSafetensors } from './safetensors';

/** The model as `loadWeights` sees it: its layers, their current weights, and an all-checked write. @internal */
export interface WeightsTarget {
  /** The model's name (for messages). */
  readonly name: string;
  /** The model's layers, in order. */
  readonly layers: readonly Layer[];
  /** The same layers in the order Keras would list them (a functional model's operation order), for loading by structure. */
  readonly kerasOrder: readonly Layer[];
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
  /** Layers with weights that the file did not touch (only possible with `map` or `skipMismatch`). */
  readonly unchanged: readonly string[];
}

/** Options of `model.loadWeights`. */
export interface LoadWeightsOptions {
  /**
   * The framework that wrote the file. 'pytorch': a state dict saved as `.safetensors`. 'keras': a Keras 2 `.h5` or a
   * Keras 3 `.weights.h5` or `.keras`. Required.
   */
  from: 'pytorch' | 'keras';
  /**
   * Which layer each source goes to: `{ '<source>': '<rnnkit layer name>' }`. PyTorch: the source is a module, the
   * tensor names up to the last dot (`'encoder.rnn'`); a stacked recurrent module (`_l0`, `_l1`, ...) fills the
   * named layer and the next ones. Keras: a Keras layer name (Keras 2 files, `.keras` archives) or a Keras 3 path
   * such as 'layers/lstm_1'. Sources not named go onto the remaining layers (PyTorch: in model order, each layer
   * taking the one module whose tensors fit it; Keras: as `match` says). Default: no map, and every layer with
   * weights must receive some; with a map, layers that receive nothing keep their weights.
   */
  map?: Record<string, string>;
  /**
   * Keras only: how the file's weights find the model's layers. 'name': by layer name, as Keras 2's
   * `load_weights(by_name=True)` (a Keras 2 `.h5`, or a `.keras` archive, whose config.json names its layers).
   * 'structure': as Keras's own `load_weights`, the model's layers in Keras's order (a functional model's operation
   * order) take the file's in order (Keras 3 class-named paths, or a Keras 2 file's `layer_names`). Default: 'name',
   * except for a Keras 3 `.weights.h5`, which names no layers: 'structure'.
   */
  match?: 'name' | 'structure';
  /**
   * Keras only (Keras's `skip_mismatch`): a layer the file has no weights for, or whose weights differ in count or
   * shape, keeps its weights and is listed in `unchanged`, instead of an error. Default false.
   */
  skipMismatch?: boolean;
  /** The most bytes the load may read; a larger file is refused (MEMORY) before it is read. Default 2 GiB. */
  maxBytes?: number;
}

/** The frameworks this build imports weights from. */
export const WEIGHT_SOURCES = ['pytorch', 'keras'] as const;

const PICKLE_EXTENSIONS = ['.pt', '.pth', '.bin'];

/** Reads `path` and loads it into `target`, all or nothing. @internal (use model.loadWeights) */
export async function loadWeightsInto(target: WeightsTarget, path: string, options: LoadWeightsOptions): Promise<LoadWeightsReport> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('ARGUMENT', 'a non-empty path', 'loadWeights path', path);
  const opts = optionsOrEmpty(options, 'loadWeights options');
  checkKnownKeys(opts, ['from', 'map', 'maxBytes', 'match', 'skipMismatch'], 'loadWeights options');
  if (!(WEIGHT_SOURCES as readonly unknown[]).includes(opts.from)) {
    throw new RnnError('ARGUMENT', `Expected ${WEIGHT_SOURCES.map((s) => `'${s}'`).join(' or ')} for loadWeights option from (the sources this build imports) but received ${describeValue(opts.from)}`);
  }
  const map = checkWeightsMap(opts.map);
  const budget = opts.maxBytes === undefined ? DEFAULT_LOAD_BUDGET_BYTES : checkInteger(opts.maxBytes, 'maxBytes', { min: 1 });
  const reader = await ConfinedReader.forFile(path, budget);
  if (opts.from !== 'keras') {
    for (const key of ['match', 'skipMismatch'] as const) {
      if (opts[key] !== undefined) throw new RnnError('ARGUMENT', `Expected no ${key} for loadWeights from '${String(opts.from)}' (it applies to from: 'keras'; PyTorch modules are matched by their tensors and map) but received ${describeValue(opts[key])}`);
    }
  }
  if (opts.match !== undefined && opts.match !== 'name' && opts.match !== 'structure') {
    throw new RnnError('ARGUMENT', `Expected 'name' or 'structure' for loadWeights option match but received ${describeValue(opts.match)}`);
  }
  if (opts.skipMismatch !== undefined && typeof opts.skipMismatch !== 'boolean') {
    throw new RnnError('ARGUMENT', `Expected a boolean for loadWeights option skipMismatch but received ${describeValue(opts.skipMismatch)}`);
  }
  if (opts.from === 'keras') {
    const bytes = await reader.read(path, 'the weights file');
    return loadKerasWeights(target, bytes, path, { map, match: opts.match, skipMismatch: opts.skipMismatch }, budget - bytes.length);
  }
  if (PICKLE_EXTENSIONS.some((ext) => path.toLowerCase().endsWith(ext))) throw pickleError(path, 'its name ends in a pickle extension');
  const opened = await reader.open(path, 'the weights file');
  try {
    const first = await opened.read(0, Math.min(4, opened.size));
    if (first.length >= 2 && first[0] === 0x80 && first[1] >= 2 && first[1] <= 5) throw pickleError(path, 'it starts with the pickle protocol marker');
    if (first.length >= 4 && first.readUInt32BE(0) === 0x504b0304) throw pickleError(path, "it is a zip archive (torch.save's format)");
    return loadPytorchWeights(target, await readSafetensors(opened, path), path, map);
  } finally {
    await opened.close();
  }
}

function pickleError(path: string, why: string): RnnError {
  return new RnnError('FORMAT', `${path}: expected a .safetensors file but this looks like a torch.save pickle (${why}); rnnkit does not unpickle (it can run arbitrary code). Convert it in Python:\n` +
    '  import torch; from safetensors.torch import save_file\n' +
    `  save_file(model.state_dict(), 'state.safetensors')   # or save_file(torch.load('${path.replace(/'/g, "\\'")}', map_location='cpu'), 'state.safetensors') for a saved state dict`);
}
