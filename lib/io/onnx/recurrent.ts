/**
 * SimpleRNN / LSTM / GRU (one-way or Bidirectional) as ONNX's own RNN / LSTM / GRU operators.
 *
 * Weights, per direction d (forward first): Keras kernel [F, G*H], recurrent_kernel [H, G*H], bias [G*H] (GRU
 * reset-after: [2, G*H], input row then recurrent row) become ONNX W [D, G*H, F], R [D, G*H, H] (the transposes,
 * gate blocks reordered) and B [D, 2*G*H] = [Wb, Rb]. Gate blocks: Keras LSTM i f c o -> ONNX i o f c; GRU z r h in
 * both (ONNX's GRU is h_t = (1 - z) * h~ + z * h_{t-1}, Keras's z * h_{t-1} + (1 - z) * h~: the same); RNN one block.
 * A single Keras bias goes to Wb with Rb = 0; GRU reset-after is `linear_before_reset = 1` with its two bias rows.
 *
 * ONNX layouts (layout = 0): X [T, B, F]; Y [T, D, B, H]; Y_h / Y_c [D, B, H]. The reverse direction's Y is aligned
 * with time, as the backward half of a Keras Bidirectional is; a one-way goBackwards layer emits its outputs in
 * processing order (Keras), which is Y reversed over the whole time axis.
 *
 * Masks (values.ts): the input is shifted left by each sample's window start so its valid steps begin at step 0,
 * sequence_lens = end - start, and the per-step outputs are moved to where rnnkit puts them: back by start (time
 * order), or, for a one-way goBackwards layer (processing order, right-aligned at T - end), the reversed Y shifted
 * left by start. Y_h is the state after the last valid step either way.
 */
import type { RecurrentLayer } from '../../layers/recurrent';
import type { MergeMode } from '../../layers/wrappers';
import type { Tensor } from '../../tensor';
import type { GraphBuilder } from './graph_builder';
import { EmitContext, GraphValue, recurrentActivations, shiftTime, timeSteps } from './values';

/** ONNX block j holds Keras block GATE_ORDER[cell][j]. */
const GATE_ORDER: Record<RecurrentLayer['cell'], number[]> = { lstm: [0, 3, 1, 2], gru: [0, 1, 2], simpleRNN: [0] };
const OP_TYPES: Record<RecurrentLayer['cell'], string> = { lstm: 'LSTM', gru: 'GRU', simpleRNN: 'RNN' };

/** How the recurrent layer is run: its config, the directions' weights (Keras order each), the merge of two. */
export interface RecurrentCall {
  /** The layer whose name the state inputs/outputs take (the Bidirectional wrapper for a bidirectional one). */
  name: string;
  cell: RecurrentLayer;
  directions: Tensor[][];
  /** How two directions merge (default concat); null: not at all, the forward then the backward output. */
  mergeMode?: MergeMode | null;
  /**
   * Initial states from the graph, [B, H] each, Keras order: per direction (forward, then backward) h then c for an
   * LSTM. Undefined: zeros (or the stateInputs graph inputs).
   */
  initial?: GraphValue[];
  /** Also return the final states, [B, H] each, in the order of `initial` (the layer's returnState). */
  returnState?: boolean;
}

/**
 * Emits the operator for `call` on `input` [B, T, F]; returns [B, T, H'] (returnSequences) or [B, H'] (mergeMode
 * null: one such output per direction, sliced from the operator's num_directions axis), followed by the final states
 * with returnState.
 */
export function emitRecurrent(ctx: EmitContext, call: RecurrentCall, input: GraphValue): GraphValue[] {
  const { graph } = ctx;
  const { cell, name } = call;
  const numDirections = call.directions.length;
  const hidden = cell.units;
  const features = input.dims[2] as number;
  const { W, R, B } = onnxWeights(cell, call.directions, features);
  const aligned = input.mask ? shiftTime(graph, input.name, input.mask.start, 'left') : input.name;
  const x = graph.op('Transpose', [aligned], { perm: [1, 0, 2] });
  const inputs = [
    x,
    graph.constant(`${name}_W`, 'float32', [numDirections, cell.gates * hidden, features], W),
    graph.constant(`${name}_R`, 'float32', [numDirections, cell.gates * hidden, hidden], R),
    B ? graph.constant(`${name}_B`, 'float32', [numDirections, 2 * cell.gates * hidden], B) : '',
    input.mask ? input.mask.lengths : '',
  ];
  const stateNames = cell.cell === 'lstm' ? ['h', 'c'] : ['h'];
  const initialStates: string[] = []; // [D, B, H] each
  if (ctx.stateInputs) {
    // Serving layout: batch first, [B, D, H], so Triton's batcher can stack the states of a batch's sequences.
    for (const state of stateNames) {
      const stateInput = graph.addInput({ name: `${name}_${state}_in`, dtype: 'float32', dims: ['batch', numDirections, hidden] });
      initialStates.push(graph.op('Transpose', [stateInput], { perm: [1, 0, 2] }));
    }
    inputs.push(...initialStates);
  } else if (call.initial) {
    // rnnkit's [B, H] per direction and state -> ONNX's [D, B, H] per state.
    const perDirection = stateNames.length;
    for (let s = 0; s < perDirection; s++) {
      const stacked = call.directions.map((_, d) => graph.op('Unsqueeze', [call.initial![d * perDirection + s].name, graph.constant('axes', 'int64', [1], [0])]));
      initialStates.push(numDirections === 1 ? stacked[0] : graph.op('Concat', stacked, { axis: 0 }));
    }
    while (inputs.length < 5) inputs.push('');
    inputs.push(...initialStates);
  }
  while (inputs[inputs.length - 1] === '') inputs.pop();

  const direction = numDirections === 2 ? 'bidirectional' : cell.goBackwards ? 'reverse' : 'forward';
  const outputCount = cell.cell === 'lstm' ? 3 : 2;
  const states = ctx.stateInputs || call.returnState === true;
  const wanted = [cell.returnSequences ? 'Y' : '', !cell.returnSequences || states ? 'Y_h' : '',
    cell.cell === 'lstm' && states ? 'Y_c' : ''].slice(0, outputCount);
  const activations = cell.cell === 'lstm' ? [cell.recurrentActivation, cell.activation, cell.activation]
    : cell.cell === 'gru' ? [cell.recurrentActivation, cell.activation] : [cell.activation];
  const attributes = {
    hidden_size: hidden,
    direction,
    ...recurrentActivations(Array.from({ length: numDirections }, () => activations).flat()),
    ...(cell.cell === 'gru' ? { linear_before_reset: cell.resetAfter ? 1 : 0 } : {}),
  };
  const outputs = graph.node(OP_TYPES[cell.cell], inputs, attributes, wanted.map((w) => (w === '' ? '' : `${name}_${w}`)),
    ['activation_alpha', 'activation_beta']);
  const [y, operatorH, operatorC] = outputs;
  // A sample with no valid step keeps its initial state (rnnkit; a stream with nothing new in this call), where
  // onnxruntime returns zeros for sequence_lens 0.
  const keepInitial = (final: string, initial: string) => {
    if (!input.mask || initial === undefined) return final;
    const empty = graph.op('Equal', [input.mask.lengths, graph.constant('zero_length', 'int32', [], [0])]);
    const perSample = graph.op('Unsqueeze', [empty, graph.constant('axes', 'int64', [2], [0, 2])]); // [1, B, 1]
    return graph.op('Where', [perSample, initial, final]);
  };
  const yH = operatorH === '' ? '' : keepInitial(operatorH, initialStates[0]);
  const yC = operatorC === undefined || operatorC === '' ? '' : keepInitial(operatorC, initialStates[1]);

  if (ctx.stateInputs) {
    const finals = cell.cell === 'lstm' ? [yH, yC] : [yH];
    finals.forEach((final, i) => ctx.states.push({
      input: `${name}_${stateNames[i]}_in`,
      output: `${name}_${stateNames[i]}_out`,
      source: graph.op('Transpose', [final], { perm: [1, 0, 2] }),
      dims: ['batch', numDirections, hidden],
    }));
  }

  // returnState: [D, B, H] per state -> [B, H] per direction and state, forward h (c) then backward h (c).
  const finalStates: GraphValue[] = [];
  if (call.returnState) {
    const finals = cell.cell === 'lstm' ? [yH, yC] : [yH];
    for (let d = 0; d < numDirections; d++) {
      for (const final of finals) {
        const index = graph.constant('direction', 'int64', [], [d]);
        finalStates.push({ name: graph.op('Gather', [final, index], { axis: 0 }), dims: ['batch', hidden] });
      }
    }
  }
  const unmerged = numDirections === 2 && call.mergeMode === null;
  const width = numDirections === 2 && (call.mergeMode === undefined || call.mergeMode === 'concat') ? 2 * hidden : hidden;
  // The directions along `axis` merged into one value, or each on its own (mergeMode null).
  const outputsOf = (value: string, axis: number): string[] => (unmerged
    ? [0, 1].map((d) => pickDirection(graph, value, axis, d))
    : [mergeDirections(graph, value, axis, numDirections, call.mergeMode ?? 'concat')]);
  if (!cell.returnSequences) {
    // Y_h [D, B, H] -> [B, H'].
    return [...outputsOf(yH, 0).map((name) => ({ name, dims: ['batch', width] })), ...finalStates];
  }
  // Y [T, D, B, H] -> [T, B, H'] -> [B, T, H'].
  const backwards = numDirections === 1 && cell.goBackwards;
  const dims = ['batch', input.dims[1], width];
  const sequence = (timeMajor: string): GraphValue => {
    const batchMajor = graph.op('Transpose', [backwards ? reverseTime(graph, timeMajor) : timeMajor], { perm: [1, 0, 2] });
    if (!input.mask) return { name: batchMajor, dims };
    const { start, lengths } = input.mask;
    if (!backwards) return { name: shiftTime(graph, batchMajor, start, 'right'), dims, mask: input.mask };
    // Processing order: the outputs fill [T - end, T - start); that is the next layer's window.
    const end = graph.op('Add', [start, graph.op('Cast', [lengths], { to: 7 })]);
    const mask = { start: graph.op('Sub', [timeSteps(graph, input.name), end]), lengths };
    return { name: shiftTime(graph, batchMajor, start, 'left'), dims, mask };
  };
  return [...outputsOf(y, 1).map(sequence), ...finalStates];
}

/** Direction `d` of `value` along `axis`, without that axis. */
function pickDirection(graph: GraphBuilder, value: string, axis: number, d: number): string {
  return graph.op('Gather', [value, graph.constant('direction', 'int64', [], [d])], { axis });
}

/** The directions of `value` along `axis` merged into one tensor without that axis (concat on the last axis). */
function mergeDirections(graph: GraphBuilder, value: string, axis: number, numDirections: number, mergeMode: MergeMode = 'concat'): string {
  const pick = (d: number) => pickDirection(graph, value, axis, d);
  if (numDirections === 1) return pick(0);
  const [forward, backward] = [pick(0), pick(1)];
  switch (mergeMode) {
    case 'concat': return graph.op('Concat', [forward, backward], { axis: -1 });
    case 'sum': return graph.op('Add', [forward, backward]);
    case 'mul': return graph.op('Mul', [forward, backward]);
    case 'ave': return graph.op('Mul', [graph.op('Add', [forward, backward]), graph.constant('half', 'float32', [], [0.5])]);
  }
}

/** [T, B, H] with the time axis reversed. */
function reverseTime(graph: GraphBuilder, value: string): string {
  // A very negative `ends` is clamped to -1, i.e. past the first element when stepping backwards.
  return graph.op('Slice', [value, graph.constant('starts', 'int64', [1], [-1]), graph.constant('ends', 'int64', [1], [Number.MIN_SAFE_INTEGER]),
    graph.constant('axes', 'int64', [1], [0]), graph.constant('steps', 'int64', [1], [-1])]);
}

/** W, R and B in ONNX's layout from each direction's Keras weights (B undefined when the layer has no bias). */
export function onnxWeights(cell: RecurrentLayer, directions: Tensor[][], features: number): { W: Float32Array; R: Float32Array; B?: Float32Array } {
  const hidden = cell.units;
  const gates = cell.gates;
  const width = gates * hidden;
  const order = GATE_ORDER[cell.cell];
  const W = new Float32Array(directions.length * width * features);
  const R = new Float32Array(directions.length * width * hidden);
  const B = cell.useBias ? new Float32Array(directions.length * 2 * width) : undefined;
  directions.forEach(([kernel, recurrent, bias], d) => {
    for (let j = 0; j < gates; j++) {
      const from = order[j] * hidden;
      for (let u = 0; u < hidden; u++) {
        const row = j * hidden + u;
        // W[d, row, f] = kernel[f, from + u]; R[d, row, k] = recurrent[k, from + u].
        for (let f = 0; f < features; f++) W[(d * width + row) * features + f] = kernel.data[f * width + from + u];
        for (let k = 0; k < hidden; k++) R[(d * width + row) * hidden + k] = recurrent.data[k * width + from + u];
        if (B && bias) {
          B[d * 2 * width + row] = bias.data[from + u];
          // GRU reset-after: the recurrent bias row goes to Rb; otherwise Rb stays 0.
          if (cell.resetAfter) B[d * 2 * width + width + row] = bias.data[width + from + u];
        }
      }
    }
  });
  return { W, R, B };
}
