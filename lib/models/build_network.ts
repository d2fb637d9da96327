/**
 * Creating the native network of a model's graph: the graph spec (inputs, weight-owning layers, nodes over tensor
 * ids, outputs), which native parameters belong to which layer, and the initial values (kept from a previous build,
 * or drawn by each weight's initializer for the shape of the layer's first use).
 */
import { initialize } from '../initializers';
import type { Layer } from '../layers/layer';
import { loadNative, NativeGraphSpec, NativeNetwork, toRnnError } from '../native';
import { globalRandom } from '../random';
import { applyThreadEnvironment } from '../threads';
import type { SymbolicTensor } from './symbolic';
import type { Topology } from './topology';

export interface BuiltNetwork {
  network: NativeNetwork;
  /** Native parameter indices of each layer, in the layer's weight order. */
  paramIndices: Map<Layer, number[]>;
}

/** The native description of a topology: tensor ids 0..inputs-1 are the inputs, node outputs follow in order. */
export function graphSpec(topology: Topology): NativeGraphSpec {
  const ids = new Map<SymbolicTensor, number>();
  topology.inputs.forEach((t, i) => ids.set(t, i));
  const layerIndex = new Map<Layer, number>(topology.layers.map((l, i) => [l, i]));
  const nodes = topology.nodes.map((node) => {
    const outputs = node.outputs.map((t) => {
      ids.set(t, ids.size);
      return ids.size - 1;
    });
    return { layer: layerIndex.get(node.layer)!, inputs: node.inputs.map((t) => ids.get(t)!), outputs };
  });
  return {
    inputs: topology.inputs.map((t) => ({ name: t.name, shape: t.sampleShape.slice() })),
    layers: topology.layers.map((l) => (topology.returnStateLayers?.has(l) ? { ...l.toNative(), returnState: true } : l.toNative())),
    nodes,
    outputs: topology.outputs.map((t) => ids.get(t)!),
  };
}

/**
 * Layers found in `previous` get those weights back; the others are initialised from the global generator
 * (rk.setSeed makes this repeatable).
 */
export function buildNetwork(topology: Topology, previous: ReadonlyMap<Layer, Float32Array[]>): BuiltNetwork {
  const { Network } = loadNative();
  applyThreadEnvironment();
  let network: NativeNetwork;
  try {
    network = new Network(graphSpec(topology));
  } catch (error) {
    throw toRnnError(error);
  }
  const paramIndices = new Map<Layer, number[]>();
  network.params().forEach((info, i) => {
    const layer = topology.layers[info.layer];
    paramIndices.set(layer, [...(paramIndices.get(layer) ?? []), i]);
  });
  const rng = globalRandom();
  for (const layer of topology.layers) {
    const own = paramIndices.get(layer) ?? [];
    const kept = previous.get(layer);
    layer.weightSpecs(topology.firstUse.get(layer)!.inputs[0].sampleShape).forEach((spec, k) => {
      let values = kept?.[k];
      if (!values) {
        values = initialize(spec.initializer, spec.shape, rng);
        spec.postInit?.(values);
      }
      network.setParam(own[k], values);
    });
  }
  return { network, paramIndices };
}
