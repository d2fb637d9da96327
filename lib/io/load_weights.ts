/**
 * `model.loadWeights(path, { from, map })`: weights trained elsewhere into an rnnkit model whose layers are already
 * built. The options are shared by every source framework (`from`); this build reads PyTorch state dicts saved as
 * safetensors (pytorch_weights.ts). Pickle files (`torch.save`'s `.pt` / `.pth` / `.bin`) are refused, with the
 * two lines of Python that convert them: unpickling runs arbitrary code, so rnnkit never reads pickles.
 */
import { RnnError } from '../errors';
import { checkInteger, checkKnownKeys, describeValue, invalid, optionsOrEmpty } from '../validate';
import { ConfinedReader, DEFAULT_LOAD_BUDGET_BYTES } from './confined_read';
import { checkWeightsMap, loadPytorchWeights, LoadWeightsReport, WeightsTarget } from './pytorch_weights';
import { readSafetensors } from './safetensors';

export type { LoadWeightsReport, WeightsTarget } from './pytorch_weights';

/** Options of `model.loadWeights`. */
export interface LoadWeightsOptions {
  /**
   * The framework that wrote the file. 'pytorch': a state dict saved as `.safetensors`. 'keras' is reserved for
   * Keras `.weights.h5` files and is an ARGUMENT error in this build. Required.
   */
  from: 'pytorch' | 'keras';
  /**
   * Which layer each source module goes to: `{ 'encoder.rnn': 'lstm_1' }` (PyTorch: the tensor names up to the
   * last dot). A stacked recurrent module (`_l0`, `_l1`, ...) fills the named layer and the next ones with weights.
   * Modules not named go onto the remaining layers in model order, each layer taking the one module whose tensors
   * fit it; with a map, layers that receive nothing keep their weights. Default: no map (every layer with weights
   * must receive some).
   */
  map?: Record<string, string>;
  /** The most bytes the load may read; a larger file is refused (MEMORY) before it is read. Default 2 GiB. */
  maxBytes?: number;
}

/** The frameworks this build imports weights from. */
export const WEIGHT_SOURCES = ['pytorch'] as const;

const PICKLE_EXTENSIONS = ['.pt', '.pth', '.bin'];

/** Reads `path` and loads it into `target`, all or nothing. @internal (use model.loadWeights) */
export async function loadWeightsInto(target: WeightsTarget, path: string, options: LoadWeightsOptions): Promise<LoadWeightsReport> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('ARGUMENT', 'a non-empty path', 'loadWeights path', path);
  const opts = optionsOrEmpty(options, 'loadWeights options');
  checkKnownKeys(opts, ['from', 'map', 'maxBytes'], 'loadWeights options');
  if (!(WEIGHT_SOURCES as readonly unknown[]).includes(opts.from)) {
    const note = opts.from === 'keras' ? '; Keras .weights.h5 import is not in this build' : '';
    throw new RnnError('ARGUMENT', `Expected ${WEIGHT_SOURCES.map((s) => `'${s}'`).join(' or ')} for loadWeights option from (the sources this build imports${note}) but received ${describeValue(opts.from)}`);
  }
  const map = checkWeightsMap(opts.map);
  const budget = opts.maxBytes === undefined ? DEFAULT_LOAD_BUDGET_BYTES : checkInteger(opts.maxBytes, 'maxBytes', { min: 1 });
  if (PICKLE_EXTENSIONS.some((ext) => path.toLowerCase().endsWith(ext))) throw pickleError(path, 'its name ends in a pickle extension');
  const reader = await ConfinedReader.forFile(path, budget);
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
