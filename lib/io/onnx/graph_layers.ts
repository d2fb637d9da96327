/**
 * Emitters of the layers that only functional graphs use: the merges (Concatenate, Add, Subtract, Multiply, Average,
 * Maximum) and the layers that rearrange values (RepeatVector, Reshape, Flatten). Tensors are batch-major.
 *
 * Masks follow rnnkit (native/ops/merge_layers.h, reshape_layers.h): a merge whose output keeps the time axis passes
 * on the intersection of its inputs' windows (start = max, end = min, empty when end <= start); a merge without a
 * time axis and the rearranging layers drop the mask.
 */
import { RnnError } from '../../errors';
import type { Concatenate } from '../../layers/merge';
import type { RepeatVector, Reshape } from '../../layers/reshape';
import type { NodeDescription } from './description';
import type { GraphBuilder, OnnxDim } from './graph_builder';
import type { EmitContext, GraphValue, MaskValue } from './values';

/** The batch-major dims of a per-sample shape (-1 = a dimension of any length). */
export function dimsOf(shape: readonly number[]): OnnxDim[] {
  return ['batch', ...shape.map((d, i) => (d === -1 ? (i === 0 ? 'time' : `dim${i + 1}`) : d))];
}

/** The intersection of the windows of the masked inputs (rnnkit's logical AND of masks). */
function intersect(graph: GraphBuilder, masks: MaskValue[]): MaskValue {
  if (masks.length === 1) return masks[0];
  const ends = masks.map((m) => graph.op('Add', [m.start, graph.op('Cast', [m.lengths], { to: 7 })]));
  const start = graph.op('Max', masks.map((m) => m.start));
  const end = graph.op('Min', ends);
  const empty = graph.op('LessOrEqual', [end, start]);
  const zero = graph.constant('zero_i', 'int64', [], [0]);
  return {
    start: graph.op('Where', [empty, zero, start]),
    lengths: graph.op('Cast', [graph.op('Where', [empty, zero, graph.op('Sub', [end, start])])], { to: 6 }),
  };
}

/** The mask of a merge's output: the intersection when the output keeps the time axis, none otherwise. */
function mergedMask(ctx: EmitContext, node: NodeDescription, inputs: GraphValue[]): MaskValue | undefined {
  const masks = inputs.map((v) => v.mask).filter((m): m is MaskValue => m !== undefined);
  if (masks.length === 0 || node.outbound[0].shape.length < 2) return undefined;
  return intersect(ctx.graph, masks);
}

function elementwise(op: 'Add' | 'Sub' | 'Mul' | 'Max' | 'Average') {
  return (ctx: EmitContext, node: NodeDescription, inputs: GraphValue[]): GraphValue => {
    const { graph } = ctx;
    const names = inputs.map((v) => v.name);
    let out: string;
    if (op === 'Sub') out = graph.op('Sub', names);
    else if (op === 'Average') out = graph.op('Div', [graph.op('Sum', names), graph.constant('count', 'float32', [], [names.length])]);
    else if (op === 'Max') out = graph.op('Max', names);
    else out = graph.op(op === 'Add' ? 'Sum' : 'Mul', op === 'Add' ? names : names.slice(0, 2));
    if (op === 'Mul') for (const name of names.slice(2)) out = graph.op('Mul', [out, name]);
    return { name: out, dims: inputs[0].dims, mask: mergedMask(ctx, node, inputs) };
  };
}

/** Concatenate: ONNX Concat on the same axis (Keras counts the batch as axis 0, as ONNX does). */
function concatenate(ctx: EmitContext, node: NodeDescription, inputs: GraphValue[]): GraphValue {
  const layer = node.layer as Concatenate;
  const rank = inputs[0].dims.length;
  const axis = layer.axis < 0 ? rank + layer.axis : layer.axis;
  if (axis === 1 && rank >= 3 && inputs.some((v) => v.mask)) {
    throw new RnnError('ARGUMENT', `Expected unmasked inputs for concatenate '${layer.name}' along the time axis in the ONNX export (rnnkit refuses the joined mask, which would have a gap) but an input carries a mask`);
  }
  const out = ctx.graph.op('Concat', inputs.map((v) => v.name), { axis });
  return { name: out, dims: dimsOf(node.outbound[0].shape), mask: mergedMask(ctx, node, inputs) };
}

/** RepeatVector: [B, F] -> [B, n, F] by Unsqueeze then Expand (the batch stays dynamic). */
function repeatVector(ctx: EmitContext, node: NodeDescription, [input]: GraphValue[]): GraphValue {
  const { graph } = ctx;
  const layer = node.layer as RepeatVector;
  const column = graph.op('Unsqueeze', [input.name, graph.constant('axes', 'int64', [1], [1])]);
  const out = graph.op('Expand', [column, graph.constant(`${layer.name}_shape`, 'int64', [3], [1, layer.n, 1])]);
  return { name: out, dims: dimsOf(node.outbound[0].shape) };
}

/** Reshape: the batch kept (0 in ONNX's shape), the per-sample target after it (-1 inferred). */
function reshape(ctx: EmitContext, node: NodeDescription, [input]: GraphValue[]): GraphValue {
  const { graph } = ctx;
  const layer = node.layer as Reshape;
  const target = graph.constant(`${layer.name}_shape`, 'int64', [layer.targetShape.length + 1], [0, ...layer.targetShape]);
  return { name: graph.op('Reshape', [input.name, target]), dims: dimsOf(node.outbound[0].shape) };
}

/** Flatten: ONNX Flatten with axis 1 ([B, prod(rest)]). */
function flatten(ctx: EmitContext, node: NodeDescription, [input]: GraphValue[]): GraphValue {
  return { name: ctx.graph.op('Flatten', [input.name], { axis: 1 }), dims: dimsOf(node.outbound[0].shape) };
}

type Emitter = (ctx: EmitContext, node: NodeDescription, inputs: GraphValue[]) => GraphValue;

/** Emitters by class name; the merges take several inputs. */
export const GRAPH_EMITTERS: Record<string, { emit: Emitter; manyInputs: boolean }> = {
  Concatenate: { emit: concatenate, manyInputs: true },
  Add: { emit: elementwise('Add'), manyInputs: true },
  Subtract: { emit: elementwise('Sub'), manyInputs: true },
  Multiply: { emit: elementwise('Mul'), manyInputs: true },
  Average: { emit: elementwise('Average'), manyInputs: true },
  Maximum: { emit: elementwise('Max'), manyInputs: true },
  RepeatVector: { emit: repeatVector, manyInputs: false },
  Reshape: { emit: reshape, manyInputs: false },
  Flatten: { emit: flatten, manyInputs: false },
};
