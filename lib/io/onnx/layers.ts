/**
 * One emitter per layer class: how a layer call becomes ONNX nodes. Table-driven; a class without an entry is
 * refused with an error naming it (never exported approximately). Tensors are batch-major: [B, F] or [B, T, F].
 */
import { RnnError } from '../../errors';
import { Dense, Embedding, Masking } from '../../layers/core';
import { RecurrentLayer } from '../../layers/recurrent';
import { Bidirectional, TimeDistributed } from '../../layers/wrappers';
import type { Tensor } from '../../tensor';
import type { NodeDescription } from './description';
import { emitAttention } from './attention';
import { GRAPH_EMITTERS } from './graph_layers';
import { emitRecurrent } from './recurrent';
import { applyActivation, EmitContext, GraphValue, windowFromKeep } from './values';

type Emitter = (ctx: EmitContext, node: NodeDescription, inputs: GraphValue[]) => GraphValue | GraphValue[];

/** Emitters by layer class name. */
const EMITTERS: Record<string, Emitter> = {
  SimpleRNN: recurrent,
  LSTM: recurrent,
  GRU: recurrent,
  Bidirectional: bidirectional,
  Dense: (ctx, node, [input]) => dense(ctx, node.layer as Dense, node.weights, input),
  TimeDistributed: (ctx, node, [input]) => dense(ctx, (node.layer as TimeDistributed).layer, node.weights, input),
  Dropout: (_ctx, _node, [input]) => input, // inference: the identity
  Masking: masking,
  Embedding: embedding,
  ...Object.fromEntries(Object.entries(GRAPH_EMITTERS).map(([name, entry]) => [name, entry.emit])),
  Attention: emitAttention,
  AdditiveAttention: emitAttention,
};

/** Classes that read several tensors (merges); recurrent layers read initial states after their input. */
const MANY_INPUTS = new Set([...Object.keys(GRAPH_EMITTERS).filter((name) => GRAPH_EMITTERS[name].manyInputs), 'Attention', 'AdditiveAttention']);
const WITH_STATES = new Set(['SimpleRNN', 'LSTM', 'GRU', 'Bidirectional']);

/** The layer classes the exporter writes. */
export const EXPORTABLE_CLASSES = Object.keys(EMITTERS);

/** Emits `node`'s ONNX nodes (one value per outbound tensor); refuses a layer class the exporter does not have. */
export function emitNode(ctx: EmitContext, node: NodeDescription, inputs: GraphValue[]): GraphValue | GraphValue[] {
  const className = node.layer.className;
  const emitter = Object.prototype.hasOwnProperty.call(EMITTERS, className) ? EMITTERS[className] : undefined;
  if (!emitter) {
    throw new RnnError('ARGUMENT', `Expected layers the ONNX exporter writes (${EXPORTABLE_CLASSES.join(', ')}) but layer '${node.layer.name}' is a ${className}`);
  }
  if (inputs.length !== 1 && !MANY_INPUTS.has(className) && !WITH_STATES.has(className)) {
    throw new RnnError('ARGUMENT', `Expected one input tensor for layer '${node.layer.name}' (${className}) in the ONNX export but received ${inputs.length}`);
  }
  return emitter(ctx, node, inputs);
}

function recurrent(ctx: EmitContext, node: NodeDescription, [input, ...states]: GraphValue[]): GraphValue[] {
  const layer = node.layer as RecurrentLayer;
  return emitRecurrent(ctx, { name: layer.name, cell: layer, directions: [node.weights], ...stateArgs(ctx, node, states) }, input);
}

function bidirectional(ctx: EmitContext, node: NodeDescription, [input, ...states]: GraphValue[]): GraphValue[] {
  const layer = node.layer as Bidirectional;
  if (layer.layer.goBackwards) {
    throw new RnnError('ARGUMENT', `Expected goBackwards false in the layer wrapped by bidirectional '${layer.name}' for the ONNX export (ONNX's bidirectional operator runs the first direction forwards) but received true`);
  }
  const half = node.weights.length / 2;
  return emitRecurrent(ctx, {
    name: layer.name, cell: layer.layer, mergeMode: layer.mergeMode,
    directions: [node.weights.slice(0, half), node.weights.slice(half)], ...stateArgs(ctx, node, states),
  }, input);
}

/**
 * A recurrent node's initial states (graph inputs of the layer) and returnState (extra outputs). With stateInputs
 * the graph inputs `<layer>_h_in` already start every layer, so a layer started from other tensors is refused there.
 */
function stateArgs(ctx: EmitContext, node: NodeDescription, states: GraphValue[]): { initial?: GraphValue[]; returnState: boolean } {
  if (states.length > 0 && ctx.stateInputs) {
    throw new RnnError('ARGUMENT', `Expected stateInputs false for a model whose layer '${node.layer.name}' starts from initial-state tensors (stateInputs would replace them with graph inputs) but received true`);
  }
  const main = node.layer instanceof Bidirectional ? node.layer.mainOutputs : 1; // mergeMode null: two outputs
  return { initial: states.length > 0 ? states : undefined, returnState: node.outbound.length > main };
}

/** Dense on [B, F] is Gemm; on sequences [B, T, F] MatMul + Add (the same weights at every step). */
function dense(ctx: EmitContext, layer: Dense, weights: Tensor[], input: GraphValue): GraphValue {
  const { graph } = ctx;
  const [kernel, bias] = weights;
  const features = input.dims[input.dims.length - 1] as number;
  const w = graph.constant(`${layer.name}_kernel`, 'float32', [features, layer.units], kernel.data);
  const b = bias ? graph.constant(`${layer.name}_bias`, 'float32', [layer.units], bias.data) : undefined;
  let out: string;
  if (input.dims.length === 2) {
    out = graph.op('Gemm', b ? [input.name, w, b] : [input.name, w]);
  } else {
    out = graph.op('MatMul', [input.name, w]);
    if (b) out = graph.op('Add', [out, b]);
  }
  return { name: applyActivation(graph, layer.activation, out), dims: [...input.dims.slice(0, -1), layer.units], mask: input.mask };
}

/**
 * Masking: a step whose features all equal maskValue is zeroed (as rnnkit does); each sample's window runs from its
 * first to its last unmasked step.
 */
function masking(ctx: EmitContext, node: NodeDescription, [input]: GraphValue[]): GraphValue {
  const { graph } = ctx;
  const layer = node.layer as Masking;
  const equal = graph.op('Cast', [graph.op('Equal', [input.name, graph.constant('mask_value', 'float32', [], [layer.maskValue])])], { to: 1 });
  const allEqual = graph.reduce('ReduceMin', equal, [2], true); // [B, T, 1]: 1 where every feature is the mask value
  const keep = graph.op('Sub', [graph.constant('one', 'float32', [], [1]), allEqual]);
  const zeroed = graph.op('Mul', [input.name, keep]);
  const mask = windowFromKeep(graph, graph.op('Squeeze', [keep, graph.constant('axes', 'int64', [1], [2])]));
  return { name: zeroed, dims: input.dims, mask };
}

/** Embedding: int64 ids [B, T] -> Gather rows of the table; maskZero: the window spans the first to the last non-zero id. */
function embedding(ctx: EmitContext, node: NodeDescription, [input]: GraphValue[]): GraphValue {
  const { graph } = ctx;
  const layer = node.layer as Embedding;
  const table = graph.constant(`${layer.name}_embeddings`, 'float32', [layer.inputDim, layer.outputDim], node.weights[0].data);
  const output: GraphValue = { name: graph.op('Gather', [table, input.name], { axis: 0 }), dims: [...input.dims, layer.outputDim] };
  if (layer.maskZero) {
    const isPadding = graph.op('Equal', [input.name, graph.constant('zero_id', 'int64', [], [0])]);
    const keep = graph.op('Cast', [graph.op('Not', [isPadding])], { to: 1 });
    output.mask = windowFromKeep(graph, keep);
  }
  return output;
}

/** Whether a model input read by `layer` holds token ids (int64 in the graph) rather than floats. */
export function readsTokenIds(layer: NodeDescription['layer']): boolean {
  return layer instanceof Embedding;
}
