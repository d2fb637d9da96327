/** Graph specs and batches for tests that drive the raw addon (loadNative().Network) directly. */
import type { NativeBatch, NativeGraphSpec, NativeLayerSpec } from '../../lib/native';

/** The chain input -> layers[0] -> layers[1] -> ... with one input of `inputShape` and the last tensor as output. */
export function chainSpec(inputShape: number[], layers: NativeLayerSpec[]): NativeGraphSpec {
  return {
    inputs: [{ name: 'input', shape: inputShape }],
    layers,
    nodes: layers.map((_, i) => ({ layer: i, inputs: [i], outputs: [i + 1] })),
    outputs: [layers.length],
  };
}

/** A batch of a one-input (one-output) network. */
export function oneBatch(x: Float32Array, batch: number, shape: number[], y?: Float32Array): NativeBatch {
  return { batch, inputs: [x], shapes: [shape], targets: y ? [y] : undefined, sampleWeights: null };
}
