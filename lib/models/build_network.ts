/**
 * Creating the native network for a list of layers: the network itself, which native parameters belong to which
 * layer, and the initial values (kept from a previous build, or drawn by each weight's initializer).
 */
import { initialize } from '../initializers';
import type { Layer } from '../layers/layer';
import {
  loadNative, NativeBatch, NativeBatchMetrics, NativeGraphSpec, NativeMetrics, NativeNetwork, toRnnError,
} from '../native';
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
    network = new Network(chainGraph(layers, shapes[0]));
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

/**
 * The graph of a sequential model: the chain input (tensor 0) -> layer 0 (tensor 1) -> layer 1 (tensor 2) -> ...,
 * whose last tensor is the one model output.
 */
export function chainGraph(layers: readonly Layer[], inputShape: readonly number[]): NativeGraphSpec {
  return {
    inputs: [{ name: 'input', shape: inputShape.slice() }],
    layers: layers.map((l) => l.toNative()),
    nodes: layers.map((_, i) => ({ layer: i, inputs: [i], outputs: [i + 1] })),
    outputs: [layers.length],
  };
}

/** A batch of a one-input, one-output model for the native engine. */
export function singleBatch(x: Float32Array, batch: number, inputShape: readonly number[], y?: Float32Array,
  sampleWeights?: Float32Array | null): NativeBatch {
  return { batch, inputs: [x], shapes: [inputShape.slice()], targets: y ? [y] : undefined, sampleWeights: sampleWeights ?? null };
}

/** The metrics of a one-output model: its output's sums, with the total loss (weight penalties included). */
export function singleMetrics(metrics: NativeBatchMetrics): NativeMetrics {
  return { ...metrics.outputs[0], loss: metrics.loss };
}
