/**
 * Keras models in and out: `.keras` (Keras 3: a zip of metadata.json, config.json and model.weights.h5, written as
 * keras/src/saving/saving_lib.py writes it) and the Keras 2 legacy `.h5` (the `model_config` attribute and
 * `model_weights/<layer>/...`). Keras itself is not installed where rnnkit is developed: the layouts follow Keras's
 * saving code as read (saving_lib.py, serialization_lib.py, the layers' get_config), and the tests check them
 * against fixtures written with h5py the same way (scripts/fixtures/keras_fixtures.py).
 */
import { RnnError } from '../../errors';
import type { LoadWeightsReport, WeightsTarget } from '../load_weights';
import type { Layer } from '../../layers/layer';
import type { Model } from '../../models/model';
import { blueprintFromConfig, planOf } from '../../models/model_config';
import { Sequential } from '../../models/sequential';
import { Tensor } from '../../tensor';
import { writeFileAtomic } from '../atomic_write';
import { DEFAULT_LOAD_BUDGET_BYTES } from '../confined_read';
import { asFormatError, packageVersion } from '../model_plan';
import { isPlainObject } from '../../validate';
import { parseUntrustedJson } from '../validation';
import { childGroup, H5Group, readFloatDataset, readHdf5, readStringAttribute, writeHdf5 } from './hdf5';
import { fromKerasFunctional, hasNestedModel, kerasLayerOrder, kerasOperationOrder, toKeras3Functional } from './keras_graph';
import { kerasObject } from './keras_layers';
import { buildSequential, describeSequential, readKerasModelConfig, toKeras3ModelConfig } from './keras_model';
import type { WeightPlace } from './keras_nested';
import { keras3LayerLayout, keras3Layout } from './keras_weights';
import { KERAS_CONFIG, KERAS_WEIGHTS, readKerasArchive, writeKerasArchive } from './zip';

/** The weight shapes of each layer of `model`, in getWeights order. */
function layerShapes(model: Model): number[][][] {
  return planOf(model.topology!).map((p) => p.specs.map((spec) => spec.shape));
}

/** Whether a Keras model config is a functional graph ('Functional'; Keras 2 also wrote 'Model'). */
function isFunctional(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && ['Functional', 'Model'].includes((raw as { class_name?: unknown }).class_name as string);
}

/**
 * A model from a Keras model config, and where each of its layers' weights are in the file: a Sequential from a
 * chain, a functional Model through the model factory from a graph (also a Sequential holding nested models, whose
 * layers are inlined).
 */
function buildKerasModel(raw: unknown, file: string, flavor: 'keras3' | 'keras2'): { model: Model; places: Map<Layer, WeightPlace> } {
  const { config } = kerasObject(raw, 'the model config', file);
  if (!isFunctional(raw) && !hasNestedModel(config)) {
    const model = buildSequential(readKerasModelConfig(raw, file, flavor), file);
    const layout = keras3Layout(model.layers, model.layers.map(() => 0));
    return { model, places: new Map(model.layers.map((layer, i) => [layer, { path: layout[i].path, group: layer.name, nested: false }])) };
  }
  const sequential = isFunctional(raw) ? undefined : { buildInputShape: isPlainObject((raw as Record<string, unknown>).build_config) ? ((raw as Record<string, unknown>).build_config as Record<string, unknown>).input_shape : undefined };
  const { graph, places } = fromKerasFunctional(config, file, flavor, sequential);
  const model = asFormatError(file, 'model', () => blueprintFromConfig(graph, 'config', undefined, true).build());
  return { model, places: new Map(model.layers.map((layer) => [layer, places.get(layer.name)!])) };
}

function decodeJson(bytes: Uint8Array, file: string, what: string): unknown {
  return parseUntrustedJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), file, what);
}

/** Reads one weight at `group`/`name`, checking it has `shape`. */
function readWeight(root: H5Group, group: string, name: string, shape: number[], label: string): Tensor {
  const parent = childGroup(root, group, label);
  if (!parent) throw new RnnError('FORMAT', `${label}: expected the group '${group}' holding a weight of shape [${shape.join(', ')}] but there is none`);
  const size = shape.reduce((a, b) => a * b, 1);
  const { shape: found, values } = readFloatDataset(parent, name, `${label} (${group})`, size);
  if (found.join() !== shape.join()) {
    throw new RnnError('FORMAT', `${label}: expected shape [${shape.join(', ')}] for '${group}/${name}' but received [${found.join(', ')}]`);
  }
  return new Tensor(values, shape);
}

/** Weights of `model` from a Keras 3 weights file (each layer's at its Keras container path, `places`). */
function readKeras3Weights(root: H5Group, model: Model, places: ReadonlyMap<Layer, WeightPlace>, label: string): Tensor[] {
  const shapes = layerShapes(model);
  return model.layers.flatMap((layer, i) => keras3LayerLayout(layer, places.get(layer)!.path, shapes[i].length).weights
    .map(([group, name], k) => readWeight(root, group, name, shapes[i][k], label)));
}

/**
 * Weights of the layer `layerName` from a Keras 2 `model_weights` group, in its weight_names order. `inner`: the
 * group is a nested model's, holding the weights of its layer `inner` (names starting with `inner/`).
 */
function readKeras2LayerWeights(weightsGroup: H5Group, layerName: string, shapes: number[][], label: string, inner?: string): Tensor[] | undefined {
  const group = childGroup(weightsGroup, layerName, label);
  if (!group) return undefined;
  const names = readStringAttribute(group, 'weight_names', `${label} (${layerName})`) ?? [];
  const all = Array.isArray(names) ? names : [names];
  const list = inner === undefined ? all : all.filter((name) => name.startsWith(`${inner}/`));
  if (list.length !== shapes.length) {
    throw new RnnError('FORMAT', `${label}: expected ${shapes.length} weights for layer '${inner ?? layerName}' but ${inner === undefined ? 'its' : `the weight_names of nested model '${layerName}'`} weight_names lists ${list.length}`);
  }
  return list.map((name, k) => {
    const slash = name.lastIndexOf('/');
    const parent = slash < 0 ? layerName : `${layerName}/${name.slice(0, slash)}`;
    return readWeight(weightsGroup, parent, name.slice(slash + 1), shapes[k], label);
  });
}

/** Loads a `.keras` archive already read (within the load's budget) as `bytes`. */
export async function loadKerasArchive(bytes: Uint8Array, file: string, budget: number): Promise<Model> {
  const entries = readKerasArchive(bytes, file, budget);
  const { model, places } = buildKerasModel(decodeJson(entries.get(KERAS_CONFIG)!, file, KERAS_CONFIG), file, 'keras3');
  const label = `${file} (${KERAS_WEIGHTS})`;
  try {
    model.writeAllWeights(await readHdf5(entries.get(KERAS_WEIGHTS)!, label, (root) => readKeras3Weights(root, model, places, label)));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** Loads a Keras 2 legacy `.h5` model already read as `bytes`. */
export async function loadKerasH5(bytes: Uint8Array, file: string): Promise<Model> {
  return readHdf5(bytes, file, (root) => {
    const text = readStringAttribute(root, 'model_config', file);
    if (typeof text !== 'string') {
      throw new RnnError('FORMAT', `${file}: expected a Keras model file with a 'model_config' attribute but it has none (a weights-only file loads with model.loadWeights(path, { from: 'keras' }))`);
    }
    const { model, places } = buildKerasModel(parseUntrustedJson(text, file, 'model_config'), file, 'keras2');
    try {
      const weightsGroup = childGroup(root, 'model_weights', file);
      if (!weightsGroup) throw new RnnError('FORMAT', `${file}: expected the group 'model_weights' but there is none`);
      const shapes = layerShapes(model);
      const weights = model.layers.flatMap((layer, i) => {
        if (shapes[i].length === 0) return [];
        const { group, nested } = places.get(layer)!;
        const found = readKeras2LayerWeights(weightsGroup, group, shapes[i], file, nested ? layer.name : undefined);
        if (!found) throw new RnnError('FORMAT', `${file}: expected the weights of layer '${group}' in model_weights but there is no such group`);
        return found;
      });
      model.writeAllWeights(weights);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  });
}

/**
 * Loads the weights of a Keras weights file (Keras 2 `.h5`: model_weights or layer groups at the root, named by
 * layer; Keras 3 `.weights.h5` or the weights of a `.keras` archive, within `budget` bytes: Keras's class-named container paths 'layers/lstm', 'layers/dense_1', matched to the
 * model's layers in order as Keras does) into `target`. `map` names sources explicitly (a Keras layer name or Keras 3
 * path -> an rnnkit layer name); without a map every layer with weights must find its source, with one the layers
 * that find none keep their weights. Every weight is read and checked before any is written.
 */
export async function loadKerasWeights(target: WeightsTarget, bytes: Uint8Array, file: string, map: Record<string, string> | undefined, budget = DEFAULT_LOAD_BUDGET_BYTES): Promise<LoadWeightsReport> {
  // A whole .keras model: its model.weights.h5 (Keras's own load_weights accepts .keras files too).
  const h5 = isZip(bytes) ? readKerasArchive(bytes, file, budget).get(KERAS_WEIGHTS)! : bytes;
  const layers = target.layers;
  const shapes = layers.map((layer) => target.layerWeights(layer).map((w) => w.shape.slice()));
  const sourceOf = new Map<string, string>();
  for (const [source, layerName] of Object.entries(map ?? {})) {
    if (!layers.some((layer) => layer.name === layerName)) throw new RnnError('ARGUMENT', `Expected a layer name of model '${target.name}' for map['${source}'] but received '${layerName}'`);
    sourceOf.set(layerName, source);
  }
  const found = await readHdf5(h5, file, (root) => {
    const keras3 = childGroup(root, 'layers', file) !== undefined;
    const layout = keras3Layout(layers, shapes.map((s) => s.length));
    const legacyRoot = childGroup(root, 'model_weights', file) ?? root;
    const result: Array<{ index: number; tensors: string[]; weights: Tensor[] }> = [];
    layers.forEach((layer, i) => {
      if (shapes[i].length === 0) return;
      if (keras3) {
        const source = sourceOf.get(layer.name) ?? layout[i].path;
        if (!childGroup(root, source, file)) return;
        const own = keras3Layout([layer], [shapes[i].length])[0];
        const places = own.weights.map(([group, name]) => [source + group.slice(own.path.length), name] as const);
        result.push({ index: i, tensors: places.map(([g, n]) => `${g}/${n}`), weights: places.map(([group, name], k) => readWeight(root, group, name, shapes[i][k], file)) });
      } else {
        const source = sourceOf.get(layer.name) ?? layer.name;
        const weights = readKeras2LayerWeights(legacyRoot, source, shapes[i], file);
        if (weights) result.push({ index: i, tensors: [source], weights });
      }
    });
    return result;
  });
  const missing = layers.filter((layer, i) => shapes[i].length > 0 && !found.some((f) => f.index === i)).map((l) => l.name);
  if (found.length === 0 || (map === undefined && missing.length > 0)) {
    throw new RnnError('FORMAT', `${file}: expected weights for ${map === undefined ? 'every' : 'at least one'} layer with weights of model '${target.name}' but none were found for ${missing.join(', ')} (name the sources with map: { '<Keras layer or path>': '<layer>' })`);
  }
  const all = layers.map((layer) => target.layerWeights(layer));
  for (const { index, weights } of found) all[index] = weights;
  target.writeAll(all.flat());
  return { loaded: found.map(({ index, tensors }) => ({ layer: layers[index].name, tensors })), unchanged: missing };
}

/** Writes `model` as a Keras 3 `.keras` archive. Values are copied before the first await. */
export async function saveKerasModel(model: Model, path: string): Promise<void> {
  if (!model.topology || model.layers.length === 0) throw new RnnError('STATE', `Model '${model.name}' has no layers yet; there is nothing to save`);
  const config = model instanceof Sequential
    ? toKeras3ModelConfig(describeSequential(model), model.layers.map((_, i) => model.layerInputShape(i)))
    : toKeras3Functional(model);
  // Keras walks a functional model's layers (InputLayers included: empty vars groups) in its operation order.
  const order = model instanceof Sequential ? model.layers.slice() : kerasLayerOrder(model);
  const inputCount = model instanceof Sequential ? 0 : kerasOperationOrder(model).length - order.length;
  const inputGroups = Array.from({ length: inputCount }, (_, i) => `layers/input_layer${i === 0 ? '' : `_${i}`}/vars`);
  const counts = layerShapes(model).map((s) => s.length);
  const all = model.readAllWeights();
  const own = new Map<Layer, Tensor[]>();
  let at = 0;
  model.layers.forEach((layer, i) => { own.set(layer, all.slice(at, at + counts[i])); at += counts[i]; });
  const layout = keras3Layout(order, order.map((layer) => own.get(layer)!.length));
  const values = order.flatMap((layer) => own.get(layer)!);
  const date = new Date().toISOString();
  const metadata = {
    keras_version: '3', // the format version written (Keras's saving_lib layout); rnnkit is not Keras
    date_saved: `${date.slice(0, 10)}@${date.slice(11, 19)}`,
    generated_by: `rnnkit ${packageVersion()}`,
  };
  const weights = await writeHdf5((root) => {
    root.create_group('vars');
    const made = new Set<string>();
    const ensure = (p: string): H5Group => {
      let group = root;
      let sofar = '';
      for (const part of p.split('/')) {
        sofar = sofar ? `${sofar}/${part}` : part;
        if (!made.has(sofar)) {
          group.create_group(part);
          made.add(sofar);
        }
        group = group.get(part) as H5Group;
      }
      return group;
    };
    for (const g of inputGroups) ensure(g);
    let next = 0;
    for (const { groups, weights: places } of layout) {
      for (const g of groups) ensure(g);
      for (const [group, name] of places) {
        const tensor = values[next++];
        ensure(group).create_dataset({ name, data: tensor.data, shape: tensor.shape.slice(), dtype: '<f' });
      }
    }
  });
  await writeFileAtomic(path, [writeKerasArchive(JSON.stringify(metadata), JSON.stringify(config), weights)]);
}

/** Whether `bytes` start like an HDF5 file (its signature, at offset 0 for the files Keras writes). */
export function isHdf5(bytes: Uint8Array): boolean {
  const signature = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes.length >= 8 && signature.every((b, i) => bytes[i] === b);
}

/** Whether `bytes` start like a zip archive ('PK\x03\x04'). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}
