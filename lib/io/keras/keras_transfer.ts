/**
 * `model.loadWeights(path, { from: 'keras' })`: the weights of a Keras file into the layers of a model built here
 * (transfer). Two ways to match, as Keras has:
 *
 * - by layer name (`match: 'name'`, the default where the file names its layers): Keras 2's
 *   `load_weights(by_name=True)` (legacy_h5_format.load_weights_from_hdf5_group_by_name): a Keras 2 file keeps each
 *   layer's weights in a group named after it (a nested model's layers in the nested model's group, found through
 *   a whole-model file's model_config); a `.keras` archive names them in config.json, whose layers give the
 *   class-named path of each layer's weights in model.weights.h5 (nested models included).
 * - by structure (`match: 'structure'`, the default for a Keras 3 `.weights.h5`, which names no layers): Keras's
 *   own `load_weights`: the model's layers in Keras's order (a functional model's operation order, as Keras would
 *   build it) take the file's class-named paths (`layers/lstm`, `layers/dense_1`), or a Keras 2 file's groups in its
 *   `layer_names` order.
 *
 * A layer the file has no weights for, or whose weights differ in count or shape, is an error naming it, unless
 * `skipMismatch` (Keras's skip_mismatch) or a `map` says to keep its weights. Every weight is read and checked
 * before any is written.
 */
import { RnnError } from '../../errors';
import { Tensor } from '../../tensor';
import { DEFAULT_LOAD_BUDGET_BYTES } from '../confined_read';
import type { LoadWeightsReport, WeightsTarget } from '../load_weights';
import { parseUntrustedJson } from '../validation';
import { childGroup, H5Group, readHdf5, readStringAttribute } from './hdf5';
import { isZip } from './keras_format';
import { fromKerasFunctional, hasNestedModel, isKerasFunctional } from './keras_graph';
import { kerasObject } from './keras_layers';
import type { WeightPlace } from './keras_nested';
import { readKerasModelConfig } from './keras_model';
import { keras3ContainerPaths, keras3LayerLayout, readKeras2LayerWeights, readWeight } from './keras_weights';
import { KERAS_CONFIG, KERAS_WEIGHTS, readKerasArchive } from './zip';

/** How loadWeights matches a Keras file's weights to layers. */
export interface KerasWeightsOptions {
  /** Source -> rnnkit layer name: a Keras layer name or a Keras 3 path ('layers/lstm_1'). */
  map?: Record<string, string>;
  /** 'name' or 'structure'; default 'name' when the file names its layers (Keras 2, .keras), else 'structure'. */
  match?: 'name' | 'structure';
  /** Keep the weights of layers the file has none for, or whose weights differ in count or shape. */
  skipMismatch?: boolean;
}

/** Where the weights of the Keras layer named `name` are in a `.keras` archive's model.weights.h5. */
function keras3PathsByName(rawConfig: unknown, file: string): Map<string, string> {
  const { config } = kerasObject(rawConfig, 'the model config', file);
  if (isKerasFunctional(rawConfig) || hasNestedModel(config)) {
    const sequential = isKerasFunctional(rawConfig) ? undefined : { buildInputShape: (rawConfig as { build_config?: { input_shape?: unknown } }).build_config?.input_shape };
    const { places } = fromKerasFunctional(config, file, 'keras3', sequential, false);
    return new Map([...places].map(([name, place]) => [name, place.path]));
  }
  const { layers } = readKerasModelConfig(rawConfig, file, 'keras3');
  const paths = keras3ContainerPaths(layers.map((l) => l.layer.className));
  return new Map(layers.map((l, i) => [String(l.layer.config.name), paths[i]]));
}

/**
 * Keras 2: the group holding each named layer's weights, from the model_config of a whole-model `.h5` (a nested
 * model's layers are in the nested model's group); undefined for a weights-only file (each layer its own group).
 */
function keras2GroupsByName(root: H5Group, file: string): Map<string, WeightPlace> | undefined {
  const text = readStringAttribute(root, 'model_config', file);
  if (typeof text !== 'string') return undefined;
  const raw = parseUntrustedJson(text, file, 'model_config');
  const { config } = kerasObject(raw, 'the model config', file);
  if (!isKerasFunctional(raw) && !hasNestedModel(config)) return undefined;
  const sequential = isKerasFunctional(raw) ? undefined : { buildInputShape: undefined };
  return fromKerasFunctional(config, file, 'keras2', sequential, false).places;
}

/** A Keras 2 file's layer groups that hold weights, in its layer_names order (Keras 2 topological loading). */
function keras2GroupsInOrder(root: H5Group, file: string): string[] {
  const names = readStringAttribute(root, 'layer_names', file) ?? [];
  return (Array.isArray(names) ? names : [names]).filter((name) => {
    const group = childGroup(root, name, file);
    const weights = group ? readStringAttribute(group, 'weight_names', file) ?? [] : [];
    return (Array.isArray(weights) ? weights : [weights]).length > 0;
  });
}

type Found = { index: number; tensors: string[]; weights: Tensor[] };

/**
 * Loads the weights of a Keras file (`bytes`: a Keras 2 `.h5`, a Keras 3 `.weights.h5`, or a `.keras` archive
 * within `budget` bytes) into `target`, as the header says.
 */
export async function loadKerasWeights(target: WeightsTarget, bytes: Uint8Array, file: string, options: KerasWeightsOptions, budget = DEFAULT_LOAD_BUDGET_BYTES): Promise<LoadWeightsReport> {
  const { map, skipMismatch = false } = options;
  const archive = isZip(bytes) ? readKerasArchive(bytes, file, budget) : undefined;
  const h5 = archive ? archive.get(KERAS_WEIGHTS)! : bytes;
  const namedPaths = archive ? keras3PathsByName(parseUntrustedJson(Buffer.from(archive.get(KERAS_CONFIG)!).toString('utf8'), file, KERAS_CONFIG), file) : undefined;
  const layers = target.layers;
  const shapes = layers.map((layer) => target.layerWeights(layer).map((w) => w.shape.slice()));
  const sourceOf = new Map<string, string>();
  for (const [source, layerName] of Object.entries(map ?? {})) {
    if (!layers.some((layer) => layer.name === layerName)) throw new RnnError('ARGUMENT', `Expected a layer name of model '${target.name}' for map['${source}'] but received '${layerName}'`);
    sourceOf.set(layerName, source);
  }
  const skipped: string[] = [];
  let match: 'name' | 'structure' = 'name';
  const found = await readHdf5(h5, file, (root) => {
    const keras3 = childGroup(root, 'layers', file) !== undefined;
    match = options.match ?? (keras3 && !namedPaths ? 'structure' : 'name');
    if (match === 'name' && keras3 && !namedPaths) {
      throw new RnnError('ARGUMENT', `Expected match: 'structure' for ${file}: a Keras 3 .weights.h5 names no layers (its paths are class names: layers/lstm, layers/dense_1), so it loads by structure, as Keras's load_weights does; load the .keras file to match by layer name`);
    }
    // Structure: the model's layers with weights in Keras's order take the file's places in the same order.
    const order = target.kerasOrder.filter((layer) => shapes[layers.indexOf(layer)].length > 0);
    const structurePaths = new Map(keras3ContainerPaths(target.kerasOrder.map((l) => l.className)).map((p, i) => [target.kerasOrder[i], p]));
    const legacyRoot = childGroup(root, 'model_weights', file) ?? root;
    const legacyPlaces = !keras3 && match === 'name' ? keras2GroupsByName(root, file) : undefined;
    const legacyOrder = !keras3 && match === 'structure' ? keras2GroupsInOrder(legacyRoot, file) : [];
    if (!keras3 && match === 'structure' && legacyOrder.length !== order.length && !skipMismatch) {
      throw new RnnError('FORMAT', `${file}: expected ${order.length} layers with weights (model '${target.name}', loading by structure) but the file has ${legacyOrder.length}; load by name, or pass skipMismatch: true`);
    }
    const result: Found[] = [];
    layers.forEach((layer, i) => {
      if (shapes[i].length === 0) return;
      const read = (): Found | undefined => {
        if (keras3) {
          const mapped = sourceOf.get(layer.name);
          const path = mapped !== undefined ? (namedPaths?.get(mapped) ?? mapped) : match === 'name' ? namedPaths!.get(layer.name) : structurePaths.get(layer);
          if (path === undefined || !childGroup(root, path, file)) return undefined;
          const places = keras3LayerLayout(layer, path, shapes[i].length).weights;
          return { index: i, tensors: places.map(([g, n]) => `${g}/${n}`), weights: places.map(([group, name], k) => readWeight(root, group, name, shapes[i][k], file)) };
        }
        const place = sourceOf.has(layer.name) ? undefined : legacyPlaces?.get(layer.name);
        const source = sourceOf.get(layer.name) ?? (match === 'name' ? place?.group ?? layer.name : legacyOrder[order.indexOf(layer)]);
        const weights = source === undefined ? undefined : readKeras2LayerWeights(legacyRoot, source, shapes[i], file, place?.nested ? layer.name : undefined);
        return weights ? { index: i, tensors: [source!], weights } : undefined;
      };
      try {
        const one = read();
        if (one) result.push(one);
      } catch (error) {
        // Keras's skip_mismatch: a layer whose weights differ in count or shape keeps its own.
        if (!skipMismatch || !(error instanceof RnnError) || error.code !== 'FORMAT') throw error;
        skipped.push(layer.name);
      }
    });
    return result;
  });
  const missing = layers.filter((layer, i) => shapes[i].length > 0 && !found.some((f) => f.index === i)).map((l) => l.name);
  const notFound = missing.filter((name) => !skipped.includes(name));
  if (found.length === 0 || (map === undefined && !skipMismatch && notFound.length > 0)) {
    throw new RnnError('FORMAT', `${file}: expected weights for ${map === undefined && !skipMismatch ? 'every' : 'at least one'} layer with weights of model '${target.name}' but the file has none for ${missing.join(', ')} (matching by ${match === 'name' ? `name${namedPaths ? `: the file's layers are ${[...namedPaths.keys()].join(', ')}` : ''}; match: 'structure' loads as Keras's load_weights does` : 'structure, in Keras\'s layer order'}; name the sources with map: { '<Keras layer or path>': '<layer>' }, or pass skipMismatch: true to keep those layers' weights)`);
  }
  const all = layers.map((layer) => target.layerWeights(layer));
  for (const { index, weights } of found) all[index] = weights;
  target.writeAll(all.flat());
  return { loaded: found.map(({ index, tensors }) => ({ layer: layers[index].name, tensors })), unchanged: missing };
}
