/**
 * Attention and AdditiveAttention as ONNX nodes, following rnnkit's kernel (native/kernels/attention.cc) exactly:
 *
 *   scores  dot: c (Q K^T); concat: w sum_d tanh(a (q_d + k_d)); additive: sum_d u_d tanh(q_d + k_d)
 *   weights softmax over the attendable value steps (the value's window, and j <= i with the causal mask), exactly 0
 *           elsewhere; a query step with no attendable step gets 1 / Tv on every step
 *   output  weights V, rows of masked query steps 0; the output carries the query's mask
 *
 * Masked scores are replaced by -1e30 before the Softmax: exp(-1e30 - m) is exactly 0 in float32 beside any finite
 * score, and a row where every step is masked holds equal values, whose softmax is the uniform 1 / Tv. Dropout is
 * the identity (inference).
 */
import type { AdditiveAttention, Attention } from '../../layers/attention';
import type { NodeDescription } from './description';
import type { GraphBuilder } from './graph_builder';
import { dimsOf } from './graph_layers';
import { EmitContext, GraphValue, MaskValue, timeSteps } from './values';

/** keep [B, T] (bool): step t of sample b lies in its window. */
function windowKeep(graph: GraphBuilder, mask: MaskValue, like: string): string {
  const positions = graph.op('Range', [graph.constant('zero_i', 'int64', [], [0]), timeSteps(graph, like), graph.constant('one_i', 'int64', [], [1])]);
  const start = graph.op('Unsqueeze', [mask.start, graph.constant('axes', 'int64', [1], [1])]); // [B, 1]
  const end = graph.op('Add', [start, graph.op('Unsqueeze', [graph.op('Cast', [mask.lengths], { to: 7 }), graph.constant('axes', 'int64', [1], [1])])]);
  return graph.op('And', [graph.op('GreaterOrEqual', [positions, start]), graph.op('Less', [positions, end])]);
}

/** Emits an Attention or AdditiveAttention call: [query, value] or [query, value, key]. */
export function emitAttention(ctx: EmitContext, node: NodeDescription, inputs: GraphValue[]): GraphValue[] {
  const { graph } = ctx;
  const layer = node.layer as Attention | AdditiveAttention;
  const [query, value] = inputs;
  const key = inputs[2] ?? value;
  const weights = node.weights.map((w) => w.data);
  const mode = layer.className === 'AdditiveAttention' ? 'additive' : (layer as Attention).scoreMode;
  let scores: string;
  if (mode === 'dot') {
    scores = graph.op('MatMul', [query.name, graph.op('Transpose', [key.name], { perm: [0, 2, 1] })]);
    if (layer.useScale) scores = graph.op('Mul', [scores, graph.constant(`${layer.name}_scale`, 'float32', [], [weights[0][0]])]);
  } else {
    // [B, Tq, 1, D] + [B, 1, Tv, D] -> tanh -> weighted sum over D.
    const q = graph.op('Unsqueeze', [query.name, graph.constant('axes', 'int64', [1], [2])]);
    const k = graph.op('Unsqueeze', [key.name, graph.constant('axes', 'int64', [1], [1])]);
    let sum = graph.op('Add', [q, k]);
    if (mode === 'concat' && layer.useScale) sum = graph.op('Mul', [sum, graph.constant(`${layer.name}_scale`, 'float32', [], [weights[0][0]])]);
    let terms = graph.op('Tanh', [sum]);
    const features = query.dims[2] as number;
    if (mode === 'additive' && layer.useScale) terms = graph.op('Mul', [terms, graph.constant(`${layer.name}_scale`, 'float32', [features], weights[0])]);
    scores = graph.op('ReduceSum', [terms, graph.constant('axes', 'int64', [1], [3])], { keepdims: 0 }); // axes input: opset >= 13
    if (mode === 'concat') scores = graph.op('Mul', [scores, graph.constant(`${layer.name}_concat_weight`, 'float32', [], [weights[layer.useScale ? 1 : 0][0]])]);
  }
  // attend [B or 1, Tq or 1, Tv]: the value's window and the causal mask.
  let attend: string | undefined;
  if (value.mask) attend = graph.op('Unsqueeze', [windowKeep(graph, value.mask, value.name), graph.constant('axes', 'int64', [1], [1])]);
  if (layer.useCausalMask) {
    const zero = graph.constant('zero_i', 'int64', [], [0]), one = graph.constant('one_i', 'int64', [], [1]);
    const i = graph.op('Unsqueeze', [graph.op('Range', [zero, timeSteps(graph, query.name), one]), graph.constant('axes', 'int64', [1], [1])]); // [Tq, 1]
    const j = graph.op('Range', [zero, timeSteps(graph, value.name), one]); // [Tv]
    const causal = graph.op('LessOrEqual', [j, i]); // [Tq, Tv]
    attend = attend ? graph.op('And', [attend, causal]) : causal;
  }
  if (attend) scores = graph.op('Where', [attend, scores, graph.constant('masked_score', 'float32', [], [-1e30])]);
  const probabilities = graph.op('Softmax', [scores], { axis: -1 });
  let output = graph.op('MatMul', [probabilities, value.name]);
  if (query.mask) {
    const keep = graph.op('Cast', [graph.op('Unsqueeze', [windowKeep(graph, query.mask, query.name), graph.constant('axes', 'int64', [1], [2])])], { to: 1 });
    output = graph.op('Mul', [output, keep]);
  }
  const outputs: GraphValue[] = [{ name: output, dims: dimsOf(node.outbound[0].shape), mask: query.mask }];
  if (layer.returnAttentionScores) outputs.push({ name: probabilities, dims: dimsOf(node.outbound[1].shape) });
  return outputs;
}
