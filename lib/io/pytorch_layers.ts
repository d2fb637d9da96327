/**
 * One PyTorch module's tensors -> one rnnkit layer's weights (Keras layout). Checking (`plan*`) reads only the
 * header's shapes, so matching modules to layers costs nothing; values are decoded once the whole plan holds.
 *
 * Gate blocks (rows of PyTorch's weight_ih [G*H, in] / weight_hh [G*H, H], columns of Keras's kernel [in, G*H] /
 * recurrent_kernel [H, G*H]):
 *   nn.LSTM i f g o  -> LSTM i f c o   (same order)
 *   nn.GRU  r z n    -> GRU  z r h     (reset-after form: PyTorch applies r to (W_hn h + b_hn))
 *   nn.RNN  one block -> SimpleRNN
 * Biases: LSTM and SimpleRNN have one Keras bias = b_ih + b_hh; a reset-after GRU keeps both as rows of bias [2, 3H]
 * (input row, then recurrent row), because b_hn sits inside r * (...).
 */
import { RnnError } from '../errors';
import { Dense, Embedding } from '../layers/core';
import type { Layer } from '../layers/layer';
import { RecurrentLayer } from '../layers/recurrent';
import { Bidirectional, TimeDistributed } from '../layers/wrappers';
import { Tensor } from '../tensor';
import { SafetensorsEntry } from './safetensors';

/** The tensors of one PyTorch module (the state dict names up to the last dot), by parameter name. */
export interface TorchModule {
  /** The module's path in the state dict ('' for a bare module's own state dict). */
  readonly prefix: string;
  /** Parameter name (after the last dot) -> tensor. */
  readonly params: ReadonlyMap<string, SafetensorsEntry>;
  /** For nn.RNN / nn.LSTM / nn.GRU: how many stacked layers (`_l{k}`), and whether it has `_reverse` tensors. */
  readonly recurrent?: { readonly layers: number; readonly bidirectional: boolean };
  /** The nonlinearity the file's `__metadata__` states for an nn.RNN (`<prefix>.nonlinearity`), if it does. */
  readonly nonlinearity?: string;
}

/** One tensor's part in a layer's new weights: which Keras weight it fills, and how. */
interface Source {
  readonly entry: SafetensorsEntry;
  /** 'transpose': [rows, cols] -> [cols, rows] with `order` over row blocks; 'copy': the blocks in `order`. */
  readonly how: 'transpose' | 'copy';
  /** Keras gate block j takes PyTorch's block order[j] (rows for weights, elements for biases). */
  readonly order: readonly number[];
}

/** How to build one layer's weights: per Keras weight, the tensors it is made from (two are added). */
export interface LayerPlan {
  /** The rnnkit layer. */
  readonly layer: Layer;
  /** For each of the layer's weights in order: its shape and the tensors whose (reordered) values make it. */
  readonly weights: ReadonlyArray<{ readonly shape: readonly number[]; readonly parts: readonly Source[][] }>;
}

const GATE_ORDER: Record<string, readonly number[]> = { lstm: [0, 1, 2, 3], gru: [1, 0, 2], simpleRNN: [0] };
const TORCH_CLASS: Record<string, string> = { lstm: 'nn.LSTM', gru: 'nn.GRU', simpleRNN: 'nn.RNN' };

/** The module's name in messages. */
export function moduleLabel(module: TorchModule): string {
  return module.prefix === '' ? 'the top-level module' : `module '${module.prefix}'`;
}

function tensorName(module: TorchModule, param: string): string {
  return module.prefix === '' ? param : `${module.prefix}.${param}`;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks that layer `k` of `module` (a recurrent module) or the whole module (Linear, Embedding) fits `layer`,
 * whose current weights have `shapes`; returns the plan, or throws an RnnError naming the tensor, expected and
 * received.
 */
export function planLayer(module: TorchModule, k: number, layer: Layer, shapes: readonly (readonly number[])[]): LayerPlan {
  const inner = layer instanceof Bidirectional ? layer.layer : layer instanceof TimeDistributed ? layer.layer : layer;
  if (inner instanceof RecurrentLayer) {
    if (!module.recurrent) {
      throw new RnnError('SHAPE', `Expected ${TORCH_CLASS[inner.cell]} tensors (weight_ih_l0, ...) for ${inner.className} layer '${layer.name}' but ${moduleLabel(module)} has ${[...module.params.keys()].join(', ')}`);
    }
    const bidirectional = layer instanceof Bidirectional;
    if (module.recurrent.bidirectional !== bidirectional) {
      throw new RnnError('SHAPE', bidirectional
        ? `Expected ${moduleLabel(module)} to be bidirectional (with _reverse tensors) for bidirectional layer '${layer.name}' but it has none`
        : `Expected a one-direction module for layer '${layer.name}' but ${moduleLabel(module)} is bidirectional (it has _reverse tensors); load it into a bidirectional layer`);
    }
    checkCellSemantics(module, inner, layer.name);
    const half = shapes.length / (bidirectional ? 2 : 1);
    const forward = planDirection(module, k, '', inner, layer.name, shapes.slice(0, half));
    const backward = bidirectional ? planDirection(module, k, '_reverse', inner, layer.name, shapes.slice(half)) : [];
    return { layer, weights: [...forward, ...backward] };
  }
  if (module.recurrent) {
    throw new RnnError('SHAPE', `Expected ${describeLayer(layer)} tensors for layer '${layer.name}' but ${moduleLabel(module)} is a recurrent module (${[...module.params.keys()].join(', ')})`);
  }
  if (inner instanceof Dense) return planLinear(module, layer, inner.useBias, shapes);
  if (inner instanceof Embedding) return planEmbedding(module, layer, shapes);
  throw new RnnError('ARGUMENT', `Expected a simpleRNN, lstm, gru, bidirectional, dense, timeDistributed or embedding layer to receive PyTorch weights but layer '${layer.name}' is ${layer.className}`);
}

function describeLayer(layer: Layer): string {
  return layer instanceof Embedding ? 'nn.Embedding' : 'nn.Linear';
}

/** PyTorch's cells are fixed: LSTM/GRU sigmoid gates with tanh, GRU reset-after, RNN tanh or relu. */
function checkCellSemantics(module: TorchModule, cell: RecurrentLayer, layerName: string): void {
  const torchClass = TORCH_CLASS[cell.cell];
  if (cell.cell === 'simpleRNN') {
    if (cell.activation !== 'tanh' && cell.activation !== 'relu') {
      throw new RnnError('ARGUMENT', `Expected activation 'tanh' or 'relu' (nn.RNN's nonlinearities) for layer '${layerName}' but it has '${cell.activation}'`);
    }
    if (module.nonlinearity !== undefined && module.nonlinearity !== cell.activation) {
      throw new RnnError('ARGUMENT', `Expected layer '${layerName}' to have activation '${module.nonlinearity}' (the file's metadata says ${moduleLabel(module)} has nonlinearity '${module.nonlinearity}') but it has '${cell.activation}'`);
    }
    return;
  }
  if (cell.activation !== 'tanh' || cell.recurrentActivation !== 'sigmoid') {
    throw new RnnError('ARGUMENT', `Expected activation 'tanh' and recurrentActivation 'sigmoid' (as ${torchClass} computes) for layer '${layerName}' but it has '${cell.activation}' and '${cell.recurrentActivation}'`);
  }
  if (cell.cell === 'gru' && !cell.resetAfter) {
    throw new RnnError('ARGUMENT', `Expected resetAfter: true for GRU layer '${layerName}': nn.GRU applies the reset gate after the recurrent product (reset-after form), which resetAfter: false cannot represent`);
  }
}

/** One direction of stacked layer k: kernel, recurrent kernel and (if the layer has one) bias. */
function planDirection(module: TorchModule, k: number, suffix: string, cell: RecurrentLayer, layerName: string, shapes: readonly (readonly number[])[]): LayerPlan['weights'] {
  const order = GATE_ORDER[cell.cell];
  const [kernel, recurrent, bias] = shapes;
  const width = kernel[1];
  const units = recurrent[0];
  const context = `${cell.className} layer '${layerName}' (${units} units on ${kernel[0]} features)`;
  const param = (name: string) => `${name}_l${k}${suffix}`;
  const hh = take(module, param('weight_hh'), [width, units], context);
  if (hh.shape[1] !== units) {
    throw new RnnError('SHAPE', `Expected tensor '${tensorName(module, hh.name)}' to have shape ${shapeText([width, units])} for ${context} but received ${shapeText(hh.shape)} (hidden_size ${hh.shape[1]} where the layer has ${units} units)`);
  }
  const weights: Array<{ shape: readonly number[]; parts: Source[][] }> = [
    { shape: kernel, parts: [[{ entry: take(module, param('weight_ih'), [width, kernel[0]], context), how: 'transpose', order }]] },
    { shape: recurrent, parts: [[{ entry: hh, how: 'transpose', order }]] },
  ];
  const hasBias = module.params.has(param('bias_ih')) || module.params.has(param('bias_hh'));
  if (bias === undefined) {
    if (hasBias) throw new RnnError('SHAPE', `Expected no bias tensors for ${context} (useBias: false) but the file has '${tensorName(module, param('bias_ih'))}'; build the layer with useBias: true`);
    return weights;
  }
  const ih: Source = { entry: take(module, param('bias_ih'), [width], context), how: 'copy', order };
  const rec: Source = { entry: take(module, param('bias_hh'), [width], context), how: 'copy', order };
  // Reset-after GRU: bias [2, 3H], the rows kept apart; otherwise one bias, the sum of the two.
  weights.push({ shape: bias, parts: bias.length === 2 ? [[ih], [rec]] : [[ih, rec]] });
  return weights;
}

/** nn.Linear: weight [out, in] -> kernel [in, out]; bias [out]. */
function planLinear(module: TorchModule, layer: Layer, useBias: boolean, shapes: readonly (readonly number[])[]): LayerPlan {
  const [kernel, bias] = shapes;
  const context = `${layer.className} layer '${layer.name}' (${kernel[1]} units on ${kernel[0]} features)`;
  checkOnly(module, useBias ? ['weight', 'bias'] : ['weight'], context);
  const weights: Array<{ shape: readonly number[]; parts: Source[][] }> = [
    { shape: kernel, parts: [[{ entry: take(module, 'weight', [kernel[1], kernel[0]], context), how: 'transpose', order: [0] }]] },
  ];
  if (bias) weights.push({ shape: bias, parts: [[{ entry: take(module, 'bias', bias, context), how: 'copy', order: [0] }]] });
  return { layer, weights };
}

/** nn.Embedding: weight [vocabulary, dimension], the same layout as Keras's embeddings. */
function planEmbedding(module: TorchModule, layer: Layer, shapes: readonly (readonly number[])[]): LayerPlan {
  const [table] = shapes;
  const context = `Embedding layer '${layer.name}' (${table[0]} tokens of ${table[1]} values)`;
  checkOnly(module, ['weight'], context);
  return { layer, weights: [{ shape: table, parts: [[{ entry: take(module, 'weight', table, context), how: 'copy', order: [0] }]] }] };
}

function checkOnly(module: TorchModule, allowed: readonly string[], context: string): void {
  for (const name of module.params.keys()) {
    if (!allowed.includes(name)) {
      throw new RnnError('SHAPE', `Expected only ${allowed.map((a) => `'${tensorName(module, a)}'`).join(' and ')} for ${context} but the file also has '${tensorName(module, name)}'`);
    }
  }
}

function take(module: TorchModule, param: string, shape: readonly number[], context: string): SafetensorsEntry {
  const entry = module.params.get(param);
  const name = tensorName(module, param);
  if (!entry) throw new RnnError('SHAPE', `Expected tensor '${name}' of shape ${shapeText(shape)} for ${context} but the file has no such tensor`);
  if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
    throw new RnnError('SHAPE', `Expected tensor '${name}' to have shape ${shapeText(shape)} for ${context} but received ${shapeText(entry.shape)}`);
  }
  return entry;
}

/** The layer's new weights from a checked plan; `decode` gives a tensor's float32 values. */
export function buildWeights(plan: LayerPlan, decode: (entry: SafetensorsEntry) => Float32Array): Tensor[] {
  return plan.weights.map(({ shape, parts }) => {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const rowLength = out.length / parts.length;
    parts.forEach((sources, row) => {
      // Two sources of one row (b_ih + b_hh) are summed in float64, then rounded once.
      const sum = new Float64Array(rowLength);
      for (const source of sources) accumulate(sum, decode(source.entry), source);
      out.set(sum, row * rowLength);
    });
    return new Tensor(out, shape.slice());
  });
}

/** sum += the source's values in Keras layout: gate block j of the result takes PyTorch's block order[j]. */
function accumulate(sum: Float64Array, values: Float32Array, source: Source): void {
  const blocks = source.order.length;
  if (source.how === 'copy') {
    const block = values.length / blocks;
    source.order.forEach((from, j) => {
      for (let u = 0; u < block; u++) sum[j * block + u] += values[from * block + u];
    });
    return;
  }
  // weight [G*H, in] (row-major) -> kernel [in, G*H]: kernel[i][j*H + u] = weight[order[j]*H + u][i].
  const [rows, cols] = source.entry.shape;
  const block = rows / blocks;
  for (let i = 0; i < cols; i++) {
    source.order.forEach((from, j) => {
      for (let u = 0; u < block; u++) sum[i * rows + j * block + u] += values[(from * block + u) * cols + i];
    });
  }
}
