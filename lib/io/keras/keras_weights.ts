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
import type { Layer } from '../../layers/layer';

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

/** The Keras 3 layout of a list of layers in one container (`layers`), each named by class with a counter. */
export function keras3Layout(layers: readonly Layer[], weightCounts: readonly number[]): Keras3LayerLayout[] {
  const used = new Map<string, number>();
  return layers.map((layer, i) => {
    const base = kerasSnakeCase(layer.className);
    const seen = used.get(base);
    used.set(base, seen === undefined ? 0 : seen + 1);
    return keras3LayerLayout(layer, `layers/${seen === undefined ? base : `${base}_${seen + 1}`}`, weightCounts[i]);
  });
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
