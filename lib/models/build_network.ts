/**
 * Creating the native network for a list of layers: the network itself, which native parameters belong to which
 * layer, and the initial values (kept from a previous build, or drawn by each weight's initializer).
 */
import { initialize } from '../initializers';
import type { Layer } from '../layers/layer';
import { loadNative, NativeNetwork, toRnnError } from '../native';
import { globalRandom } from '../random';
import { applyThreadEnvironment } from '../threads';

export interface BuiltNetwork {
  network: NativeNetwork;
  /** Native parameter indices of each layer, in the layer's weight order. */
  paramIndices: Map<Layer, number[]>;
}

/**
 * shapes[i] is the per-sample input shape of layer i. Layers found in `previous` get those weights back; the others
 * are initialised from the global generator (rk.setSeed makes this repeatable).
 */
export function buildNetwork(layers: readonly Layer[], shapes: readonly (readonly number[])[],
  previous: Map<Layer, Float32Array[]>): BuiltNetwork {
  const { Network } = loadNative();
  applyThreadEnvironment();
  let network: NativeNetwork;
  try {
    network = new Network({ inputShape: shapes[0].slice(), layers: layers.map((l) => l.toNative()) });
  } catch (error) {
    throw toRnnError(error);
  }
  const paramIndices = new Map<Layer, number[]>();
  network.params().forEach((info, i) => {
    const layer = layers[info.layer];
    paramIndices.set(layer, [...(paramIndices.get(layer) ?? []), i]);
  });
  const rng = globalRandom();
  layers.forEach((layer, li) => {
    const own = paramIndices.get(layer) ?? [];
    const kept = previous.get(layer);
    layer.weightSpecs(shapes[li]).forEach((spec, k) => {
      let values = kept?.[k];
      if (!values) {
        values = initialize(spec.initializer, spec.shape, rng);
        spec.postInit?.(values);
      }
      network.setParam(own[k], values);
    });
  });
  return { network, paramIndices };
}
