/**
 * The state topology of a model: the same layers (same Layer objects, so the same weights) in a graph whose
 * recurrent nodes also take their initial states as inputs and return their final states as outputs (the graph
 * engine's state inputs and outputs). The initial states are plain inputs, so no gradient flows into them: training
 * over it is truncated backpropagation through time, as Keras trains stateful layers. A stateful model's own
 * network is built from it (lib/models/stateful_runner.ts); the stream pool runs it in a hidden model
 * (lib/streams/state_graph.ts).
 */
import { RnnError } from '../errors';
import { Embedding } from '../layers/core';
import type { Layer } from '../layers/layer';
import { RecurrentLayer } from '../layers/recurrent';
import { Bidirectional } from '../layers/wrappers';
import { ANY_LENGTH, GraphNode, SymbolicTensor } from './symbolic';
import type { Topology } from './topology';

/** One recurrent node's state tensors. @internal */
export interface StateSlot {
  /** The recurrent layer (a bidirectional wrapper counts as one). */
  readonly layer: Layer;
  /** Values of each state tensor ([units] each). */
  readonly sizes: readonly number[];
  /** Offset of the slot's first value in a sample's flat state. */
  readonly offset: number;
}

/** True for layers that carry state across steps (simpleRNN, lstm, gru, bidirectional). @internal */
export function isRecurrent(layer: Layer): layer is RecurrentLayer | Bidirectional {
  return layer instanceof RecurrentLayer || layer instanceof Bidirectional;
}

function stateShape(layer: RecurrentLayer | Bidirectional): number[] {
  if (layer instanceof Bidirectional) return new Array<number>(2 * layer.layer.stateCount).fill(layer.layer.units);
  return new Array<number>(layer.stateCount).fill(layer.units);
}

/** The state topology of `base` and the state slots, in node order. @internal */
export function stateTopology(base: Topology, modelName: string): { topology: Topology; slots: StateSlot[] } {
  const slots: StateSlot[] = [];
  const stateInputs: SymbolicTensor[] = [];
  const stateOutputs: SymbolicTensor[] = [];
  const nodes: GraphNode[] = [];
  const firstUse = new Map<Layer, GraphNode>();
  const recurrentLayers = new Set<Layer>();
  let offset = 0;
  // The sequence inputs take any number of steps: a chunk of a stream has its own length.
  // An input [T] read by an embedding is a sequence of ids; another rank-1 input is a per-sample vector.
  const readByEmbedding = (t: SymbolicTensor) => base.nodes.some((n) => n.inputs[0] === t && n.layer instanceof Embedding);
  const inputs = base.inputs.map((t) => (t.sampleShape.length >= 2 || (t.sampleShape.length === 1 && readByEmbedding(t))
    ? new SymbolicTensor([ANY_LENGTH, ...t.sampleShape.slice(1)], t.name, t.dtype) : t));
  const mapped = new Map<SymbolicTensor, SymbolicTensor>(base.inputs.map((t, i) => [t, inputs[i]]));
  const map = (t: SymbolicTensor) => mapped.get(t) ?? t;
  for (const node of base.nodes) {
    const layer = node.layer;
    let next: GraphNode = { layer, inputs: node.inputs.map(map), outputs: node.outputs, initialStates: node.initialStates };
    if (isRecurrent(layer)) {
      if (node.initialStates > 0) {
        throw new RnnError('ARGUMENT', `Expected the recurrent layers of model '${modelName}' to start from their own state to run it with kept state, but layer '${layer.name}' is given initialState tensors`);
      }
      const sizes = stateShape(layer);
      const ins = sizes.map((u, k) => new SymbolicTensor([u], `${layer.name}/state_in_${k}`, 'float32'));
      const main = layer instanceof Bidirectional ? layer.mainOutputs : 1;
      const outs = layer.returnState ? node.outputs.slice(main)
        : sizes.map((u, k) => new SymbolicTensor([u], `${layer.name}/state_out_${k}`, 'float32'));
      next = { layer, inputs: [...next.inputs, ...ins], outputs: [...node.outputs.slice(0, main), ...outs], initialStates: sizes.length };
      stateInputs.push(...ins);
      stateOutputs.push(...outs);
      slots.push({ layer, sizes, offset });
      offset += sizes.reduce((a, b) => a + b, 0);
      recurrentLayers.add(layer);
    }
    nodes.push(next);
    if (!firstUse.has(layer)) firstUse.set(layer, { ...next, inputs: node.inputs });
  }
  if (slots.length === 0) {
    throw new RnnError('ARGUMENT', `Expected model '${modelName}' to have a recurrent layer (simpleRNN, lstm, gru, bidirectional) to keep state but it has none`);
  }
  const topology: Topology = {
    inputs: [...inputs, ...stateInputs],
    outputs: [...base.outputs, ...stateOutputs],
    nodes,
    layers: base.layers,
    firstUse,
    returnStateLayers: recurrentLayers,
  };
  return { topology, slots };
}
