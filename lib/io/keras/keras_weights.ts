/**
 * Where Keras keeps each layer's weights in HDF5.
 *
 * Keras 3 (`model.weights.h5` in a .keras file, and `.weights.h5` files): saving_lib.py's H5IOStore walks the model
 * and makes a group `<path>/vars` for every saveable it visits, holding that object's own variables as datasets
 * '0', '1', ... (Layer.save_own_variables: trainable then non-trainable, in creation order). A Sequential's layers
 * are visited as the container `layers`, each named by its class in snake_case with a counter per class
 * (`_save_container_state`: dense, dense_1, ...), never by the layer's own name. Below a layer, its sub-layers by
 * attribute name: an RNN's variables live in its `cell`, Bidirectional's in `forward_layer` / `backward_layer`,
 * TimeDistributed's in `layer`. The model itself has an empty root `vars`.
 *
 * Keras 2 (legacy `.h5`): `model_weights/<layer name>/` with the attribute `weight_names` listing the datasets
 * (e.g. `lstm/lstm_cell/kernel:0`) in get_weights order; `model_weights` lists `layer_names`.
 */
import { RnnError } from '../../errors';
import type { Layer } from '../../layers/layer';
import { Tensor } from '../../tensor';
import { childGroup, H5Group, readFloatDataset, readStringAttribute } from './hdf5';

/** Keras's naming.to_snake_case: 'SimpleRNN' -> 'simple_rnn', 'TimeDistributed' -> 'time_distributed'. */
export function kerasSnakeCase(name: string): string {
  return name.replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** One layer's place in a Keras 3 weights file: the groups Keras makes, and the dataset of each weight in order. */
export interface Keras3LayerLayout {
  /** The layer's container path, e.g. 'layers/lstm_1'. */
  path: string;
  /** Every `vars` group Keras creates for the layer and its sub-layers. */
  groups: string[];
  /** `[group, dataset name]` of each weight, in rnnkit's (= Keras's get_weights) order. */
  weights: Array<[group: string, name: string]>;
}

/** The container paths Keras gives a list of layers of these classes: 'layers/lstm', 'layers/dense', 'layers/lstm_1'. */
export function keras3ContainerPaths(classNames: readonly string[]): string[] {
  const used = new Map<string, number>();
  return classNames.map((className) => {
    const base = kerasSnakeCase(className);
    const seen = used.get(base);
    used.set(base, seen === undefined ? 0 : seen + 1);
    return `layers/${seen === undefined ? base : `${base}_${seen + 1}`}`;
  });
}

/** The Keras 3 layout of a list of layers in one container (`layers`), each named by class with a counter. */
export function keras3Layout(layers: readonly Layer[], weightCounts: readonly number[]): Keras3LayerLayout[] {
  const paths = keras3ContainerPaths(layers.map((layer) => layer.className));
  return layers.map((layer, i) => keras3LayerLayout(layer, paths[i], weightCounts[i]));
}

/** The Keras 3 layout of one layer with `count` weights at the container path `path` (e.g. 'layers/lstm_1'). */
export function keras3LayerLayout(layer: Layer, path: string, count: number): Keras3LayerLayout {
  const numbered = (group: string, n: number, from = 0): Array<[string, string]> => Array.from({ length: n }, (_, k) => [group, String(k + from)]);
  switch (layer.className) {
    case 'SimpleRNN': case 'LSTM': case 'GRU':
      return { path, groups: [`${path}/vars`, `${path}/cell/vars`], weights: numbered(`${path}/cell/vars`, count) };
    case 'Bidirectional': {
      const half = count / 2;
      const forward = `${path}/forward_layer`;
      const backward = `${path}/backward_layer`;
      return {
        path,
        groups: [`${path}/vars`, `${forward}/vars`, `${forward}/cell/vars`, `${backward}/vars`, `${backward}/cell/vars`],
        weights: [...numbered(`${forward}/cell/vars`, half), ...numbered(`${backward}/cell/vars`, half)],
      };
    }
    case 'TimeDistributed':
      return { path, groups: [`${path}/vars`, `${path}/layer/vars`], weights: numbered(`${path}/layer/vars`, count) };
    default:
      return { path, groups: [`${path}/vars`], weights: numbered(`${path}/vars`, count) };
  }
}

/** Reads one weight at `group`/`name`, checking it has `shape`. */
export function readWeight(root: H5Group, group: string, name: string, shape: number[], label: string): Tensor {
  const parent = childGroup(root, group, label);
  if (!parent) throw new RnnError('FORMAT', `${label}: expected the group '${group}' holding a weight of shape [${shape.join(', ')}] but there is none`);
  const size = shape.reduce((a, b) => a * b, 1);
  const { shape: found, values } = readFloatDataset(parent, name, `${label} (${group})`, size);
  if (found.join() !== shape.join()) {
    throw new RnnError('FORMAT', `${label}: expected shape [${shape.join(', ')}] for '${group}/${name}' but received [${found.join(', ')}]`);
  }
  return new Tensor(values, shape);
}

/**
 * Weights of the layer `layerName` from a Keras 2 `model_weights` group, in its weight_names order. `inner`: the
 * group is a nested model's, holding the weights of its layer `inner` (names starting with `inner/`).
 */
export function readKeras2LayerWeights(weightsGroup: H5Group, layerName: string, shapes: number[][], label: string, inner?: string): Tensor[] | undefined {
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
