/**
 * The exporter's view of a tensor in the graph being built, with the mask that travels with it, and the helpers the
 * layer emitters share (activations, sequence lengths from a mask).
 *
 * Masks: rnnkit gives each sample a valid window [start, end) (first to last unmasked step). ONNX's recurrent
 * operators take `sequence_lens` (steps 0 .. len-1), so a window is exact in ONNX when it starts at step 0: the
 * exported graph computes end = last unmasked step + 1 and treats the input as post-padded. A tensor whose windows
 * cannot start at 0 (the outputs of a one-way goBackwards layer are right-aligned) carries an `unexpressible` mask,
 * and a recurrent layer that would read it refuses to export.
 */
import type { ActivationName } from '../../layers/layer';
import type { GraphBuilder, OnnxDim } from './graph_builder';

/** A mask as the graph carries it: int32 lengths [B] (post-padded windows), or why it has no exact ONNX form. */
export type MaskValue = { lengths: string } | { unexpressible: string };

/** A tensor of the graph being built: its ONNX name, its batch-major dims ('batch', 'time' dynamic), its mask. */
export interface GraphValue {
  name: string;
  dims: OnnxDim[];
  mask?: MaskValue;
}

/** Options every emitter sees. */
export interface EmitContext {
  graph: GraphBuilder;
  /** Expose each recurrent layer's initial state as a graph input and its final state as a graph output. */
  stateInputs: boolean;
  /** The state inputs and outputs added so far (stateInputs), in graph order. */
  states: Array<{ input: string; output: string; dims: OnnxDim[] }>;
}

/** An ONNX activation for rnnkit's, with HardSigmoid's alpha/beta (rnnkit: clip(0.2 x + 0.5, 0, 1), Keras 2/tfjs). */
const ONNX_ACTIVATIONS: Record<Exclude<ActivationName, 'softmax'>, { op: string; alpha?: number; beta?: number }> = {
  linear: { op: 'Affine', alpha: 1, beta: 0 },
  tanh: { op: 'Tanh' },
  sigmoid: { op: 'Sigmoid' },
  hardSigmoid: { op: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  relu: { op: 'Relu' },
};

/** The recurrent operators' `activations` with `activation_alpha` / `activation_beta` in the order they are used. */
export function recurrentActivations(names: Array<Exclude<ActivationName, 'softmax'>>): Record<string, string[] | number[]> {
  const activations = names.map((n) => ONNX_ACTIVATIONS[n]);
  const parameterised = activations.filter((a) => a.alpha !== undefined);
  const attributes: Record<string, string[] | number[]> = { activations: activations.map((a) => a.op) };
  if (parameterised.length > 0) {
    attributes.activation_alpha = parameterised.map((a) => a.alpha!);
    attributes.activation_beta = parameterised.map((a) => a.beta!);
  }
  return attributes;
}

/** Applies a layer activation to `input` (softmax over the last axis); 'linear' adds no node. */
export function applyActivation(graph: GraphBuilder, activation: ActivationName, input: string): string {
  switch (activation) {
    case 'linear': return input;
    case 'softmax': return graph.op('Softmax', [input], { axis: -1 });
    case 'hardSigmoid': return graph.op('HardSigmoid', [input], { alpha: 0.2, beta: 0.5 }, ['alpha', 'beta']);
    default: return graph.op(ONNX_ACTIVATIONS[activation].op, [input]);
  }
}

/**
 * int32 lengths [B] from a float keep-mask [B, T] (1 = unmasked step): the last unmasked step + 1, 0 when every
 * step is masked. Exact for post-padded sequences, where the window starts at step 0.
 */
export function lengthsFromKeep(graph: GraphBuilder, keep: string): string {
  const shape = graph.op('Shape', [keep]);
  const steps = graph.op('Gather', [shape, graph.constant('time_axis', 'int64', [], [1])], { axis: 0 });
  const limit = graph.op('Add', [graph.op('Cast', [steps], { to: 1 }), graph.constant('one', 'float32', [], [1])]);
  const positions = graph.op('Range', [graph.constant('one', 'float32', [], [1]), limit, graph.constant('one', 'float32', [], [1])]);
  const last = graph.reduce('ReduceMax', graph.op('Mul', [keep, positions]), [1], false);
  return graph.op('Cast', [last], { to: 6 });
}
