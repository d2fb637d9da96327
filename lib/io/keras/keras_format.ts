/**
 * Keras models in and out: `.keras` (Keras 3: a zip of metadata.json, config.json and model.weights.h5, written as
 * keras/src/saving/saving_lib.py writes it) and the Keras 2 legacy `.h5` (the `model_config` attribute and
 * `model_weights/<layer>/...`). Keras itself is not installed where rnnkit is developed: the layouts follow Keras's
 * saving code as read (saving_lib.py, serialization_lib.py, the layers' get_config), and the tests check them
 * against fixtures written with h5py the same way (scripts/fixtures/keras_fixtures.py).
 */
import { RnnError } from '../../errors';
import type { Layer } from '../../layers/layer';
import type { Model } from '../../models/model';
import { blueprintFromConfig, planOf } from '../../models/model_config';
import { Sequential } from '../../models/sequential';
import { Tensor } from '../../tensor';
import { writeFileAtomic } from '../atomic_write';
import { asFormatError, packageVersion } from '../model_plan';
import { isPlainObject } from '../../validate';
import { parseUntrustedJson } from '../validation';
import { childGroup, H5Group, readHdf5, readStringAttribute, writeHdf5 } from './hdf5';
import { fromKerasFunctional, hasNestedModel, isKerasFunctional, kerasLayerOrder, kerasOperationOrder, toKeras3Functional } from './keras_graph';
import { kerasObject } from './keras_layers';
import { buildSequential, describeSequential, readKerasModelConfig, toKeras3ModelConfig } from './keras_model';
import type { WeightPlace } from './keras_nested';
import { keras3LayerLayout, keras3Layout, readKeras2LayerWeights, readWeight } from './keras_weights';
import { KERAS_CONFIG, KERAS_WEIGHTS, readKerasArchive, writeKerasArchive } from './zip';

/** The weight shapes of each layer of `model`, in getWeights order. */
function layerShapes(model: Model): number[][][] {
  return planOf(model.topology!).map((p) => p.specs.map((spec) => spec.shape));
}

/**
 * A model from a Keras model config, and where each of its layers' weights are in the file: a Sequential from a
 * chain, a functional Model through the model factory from a graph (also a Sequential holding nested models, whose
 * layers are inlined).
 */
function buildKerasModel(raw: unknown, file: string, flavor: 'keras3' | 'keras2'): { model: Model; places: Map<Layer, WeightPlace> } {
  const { config } = kerasObject(raw, 'the model config', file);
  if (!isKerasFunctional(raw) && !hasNestedModel(config)) {
    const model = buildSequential(readKerasModelConfig(raw, file, flavor), file);
    const layout = keras3Layout(model.layers, model.layers.map(() => 0));
    return { model, places: new Map(model.layers.map((layer, i) => [layer, { path: layout[i].path, group: layer.name, nested: false }])) };
  }
  const sequential = isKerasFunctional(raw) ? undefined : { buildInputShape: isPlainObject((raw as Record<string, unknown>).build_config) ? ((raw as Record<string, unknown>).build_config as Record<string, unknown>).input_shape : undefined };
  const { graph, places } = fromKerasFunctional(config, file, flavor, sequential);
  const model = asFormatError(file, 'model', () => blueprintFromConfig(graph, 'config', undefined, true).build());
  return { model, places: new Map(model.layers.map((layer) => [layer, places.get(layer.name)!])) };
}

function decodeJson(bytes: Uint8Array, file: string, what: string): unknown {
  return parseUntrustedJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), file, what);
}

/** Weights of `model` from a Keras 3 weights file (each layer's at its Keras container path, `places`). */
function readKeras3Weights(root: H5Group, model: Model, places: ReadonlyMap<Layer, WeightPlace>, label: string): Tensor[] {
  const shapes = layerShapes(model);
  return model.layers.flatMap((layer, i) => keras3LayerLayout(layer, places.get(layer)!.path, shapes[i].length).weights
    .map(([group, name], k) => readWeight(root, group, name, shapes[i][k], label)));
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
