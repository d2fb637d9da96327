/**
 * The exporter's view of a tensor in the graph being built, with the mask that travels with it, and the helpers the
 * layer emitters share (activations, masks).
 *
 * Masks: rnnkit gives each sample a valid window [start, end) (first to last unmasked step; [0, 0) when every step
 * is masked). ONNX's recurrent operators take `sequence_lens` (steps 0 .. len-1 of each sample), so the graph
 * computes each window from the data, shifts every sequence left by its start before a recurrent operator, passes
 * len = end - start as sequence_lens, and shifts the outputs back to rnnkit's positions. Pre-, post- and
 * both-side-padded batches are therefore exact, as in rnnkit.
 */
import type { ActivationName } from '../../layers/layer';
import type { GraphBuilder, OnnxDim } from './graph_builder';

/** A mask as the graph carries it: each sample's window start (int64 [B]) and length (int32 [B], sequence_lens). */
export interface MaskValue {
  start: string;
  lengths: string;
}

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
  /**
   * The recurrent states (stateInputs), in graph order: the input's name (already a graph input), the output's name
   * and the tensor it takes its value from (made a graph output after the model's outputs), [batch, directions, units].
   */
  states: Array<{ input: string; output: string; source: string; dims: OnnxDim[] }>;
}

/** An ONNX activation for rnnkit's, with HardSigmoid's alpha/beta (rnnkit: clip(0.2 x + 0.5, 0, 1), Keras 2/tfjs). */
const ONNX_ACTIVATIONS: Record<Exclude<ActivationName, 'softmax'>, { op: string; alpha?: number; beta?: number }> = {
  linear: { op: 'Affine', alpha: 1, beta: 0 },
  tanh: { op: 'Tanh' },
  sigmoid: { op: 'Sigmoid' },
  hardSigmoid: { op: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  relu: { op: 'Relu' },
};

/**
 * The recurrent operators' `activations` with `activation_alpha` / `activation_beta` for the parameterised ones, in
 * order of use (as onnxruntime consumes them). The values equal ONNX's defaults for those functions, so a runtime
 * that reads the lists one entry per activation computes the same.
 */
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

/** The number of steps of a batch-major [B, T, ...] tensor, as an int64 scalar. */
export function timeSteps(graph: GraphBuilder, value: string): string {
  return graph.op('Gather', [graph.op('Shape', [value]), graph.constant('time_axis', 'int64', [], [1])], { axis: 0 });
}

/**
 * The windows of a float keep-mask [B, T] (1 = unmasked step): start = first unmasked step, end = last + 1 (both 0
 * when every step is masked, as rnnkit has it). Float arithmetic is exact here for T < 2^24.
 */
export function windowFromKeep(graph: GraphBuilder, keep: string): MaskValue {
  const steps = graph.op('Cast', [timeSteps(graph, keep)], { to: 1 });
  const zero = graph.constant('zero', 'float32', [], [0]);
  const one = graph.constant('one', 'float32', [], [1]);
  const positions = graph.op('Range', [zero, steps, one]); // [T]: 0 .. T-1
  const end = graph.reduce('ReduceMax', graph.op('Mul', [keep, graph.op('Add', [positions, one])]), [1], false);
  // A masked step counts as T, so the minimum is the first unmasked step (T when there is none; min(., end) -> 0).
  const masked = graph.op('Sub', [one, keep]);
  const candidates = graph.op('Add', [graph.op('Mul', [keep, positions]), graph.op('Mul', [masked, steps])]);
  const start = graph.op('Min', [graph.reduce('ReduceMin', candidates, [1], false), end]);
  return {
    start: graph.op('Cast', [start], { to: 7 }),
    lengths: graph.op('Cast', [graph.op('Sub', [end, start])], { to: 6 }),
  };
}

/**
 * Moves every sample of a batch-major [B, T, C] tensor along time by its own offset: 'left' gives out[b, t] =
 * in[b, t + offset_b], 'right' out[b, t] = in[b, t - offset_b]; positions that read outside [0, T) are 0.
 */
export function shiftTime(graph: GraphBuilder, value: string, offset: string, direction: 'left' | 'right'): string {
  const steps = timeSteps(graph, value);
  const positions = graph.op('Range', [graph.constant('zero_i', 'int64', [], [0]), steps, graph.constant('one_i', 'int64', [], [1])]);
  const perSample = graph.op('Unsqueeze', [offset, graph.constant('axes', 'int64', [1], [1])]); // [B, 1]
  const source = graph.op(direction === 'left' ? 'Add' : 'Sub', [positions, perSample]); // [B, T]
  const last = graph.op('Sub', [steps, graph.constant('one_i', 'int64', [], [1])]);
  const inside = graph.op('And', [
    graph.op('GreaterOrEqual', [source, graph.constant('zero_i', 'int64', [], [0])]),
    graph.op('LessOrEqual', [source, last]),
  ]);
  const clamped = graph.op('Max', [graph.op('Min', [source, last]), graph.constant('zero_i', 'int64', [], [0])]);
  const indices = graph.op('Unsqueeze', [clamped, graph.constant('axes', 'int64', [1], [2])]); // [B, T, 1]
  const gathered = graph.op('GatherND', [value, indices], { batch_dims: 1 });
  const keep = graph.op('Unsqueeze', [graph.op('Cast', [inside], { to: 1 }), graph.constant('axes', 'int64', [1], [2])]);
  return graph.op('Mul', [gathered, keep]);
}
