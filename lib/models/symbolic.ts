/**
 * Symbolic tensors and the nodes that connect them: what `rk.input` and `layer.apply` record before a model is
 * built. A symbolic tensor holds no values, only a per-sample shape (internally -1 for a time dimension of any
 * length; `shape` shows it as null, with the batch dimension first, as Keras and tfjs do) and the node that produced
 * it. `rk.model` walks these links back from its outputs (lib/models/topology.ts).
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import { checkKnownKeys, checkOneOf, describeValue, invalid, isPlainObject } from '../validate';

/** A dimension of any length (`null` in public shapes). */
export const ANY_LENGTH = -1;

/** Element types an input may declare; every value reaches the native network as float32 (ids included). */
export type InputDtype = 'float32' | 'int32';

let nextTensorId = 0;

/** One use of a layer: the tensors it reads (initial states last) and the tensors it produces. @internal */
export interface GraphNode {
  /** The layer that runs (its weights are shared by every node that uses it). */
  readonly layer: Layer;
  /** Inbound tensors, in the order computeOutputShapes received their shapes. */
  readonly inputs: readonly SymbolicTensor[];
  /** Outbound tensors, one per shape computeOutputShapes returned. */
  readonly outputs: readonly SymbolicTensor[];
  /** How many of `inputs` (at the end) are initial states. */
  readonly initialStates: number;
}

/**
 * A placeholder for the data that will flow through a model: made by `rk.input` and returned by `layer.apply`.
 * Pass it to further layers and to `rk.model({ inputs, outputs })`.
 */
export class SymbolicTensor {
  /** @internal Unique over the process; orders tensors deterministically. */
  readonly id: number;
  /** The tensor's name: the input's name, or the producing layer's name (with `:k` for its output k > 0). */
  readonly name: string;
  /** Element type of the data expected here. */
  readonly dtype: InputDtype;
  /** @internal Per-sample shape, -1 for a dimension of any length. */
  readonly sampleShape: readonly number[];
  /** @internal The node that produced this tensor; undefined for a model input. */
  readonly node?: GraphNode;
  /** @internal Which output of its node this tensor is. */
  readonly outputIndex: number;

  /** @internal Use `rk.input` or `layer.apply`. */
  constructor(sampleShape: readonly number[], name: string, dtype: InputDtype, node?: GraphNode, outputIndex = 0) {
    this.id = nextTensorId++;
    this.sampleShape = Object.freeze(sampleShape.slice());
    this.name = name;
    this.dtype = dtype;
    this.node = node;
    this.outputIndex = outputIndex;
  }

  /** The shape with the batch dimension first: `[null, ...perSample]`, null for a dimension of any length. */
  get shape(): (number | null)[] {
    return [null, ...publicShape(this.sampleShape)];
  }

  /** Rank including the batch dimension. */
  get rank(): number {
    return this.sampleShape.length + 1;
  }

  /** True for a tensor made by `rk.input` (not by a layer). */
  get isInput(): boolean {
    return this.node === undefined;
  }

  /** e.g. `SymbolicTensor encoder_input [null, null, 8]`. */
  toString(): string {
    return `SymbolicTensor ${this.name} ${shapeText(this.sampleShape)}`;
  }
}

/** Per-sample shape with null for any length. */
export function publicShape(shape: readonly number[]): (number | null)[] {
  return shape.map((d) => (d === ANY_LENGTH ? null : d));
}

/** `[batch, null, 8]`-style text of a per-sample shape, for messages. */
export function shapeText(shape: readonly number[]): string {
  return `[${['batch', ...publicShape(shape).map(String)].join(', ')}]`;
}

/** Arguments of `rk.input`. */
export interface InputArgs {
  /** Per-sample shape (no batch dimension), e.g. `[null, 8]`: any number of time steps of 8 features. */
  shape: (number | null)[];
  /** The input's name (keys x objects in fit/predict, and the summary). Default `input_1`, `input_2`, ... */
  name?: string;
  /** 'float32' (default) or 'int32' (token ids for an embedding; values are checked to be integers). */
  dtype?: InputDtype;
}

let inputCounter = 0;

/**
 * Per-sample shape from a public one: positive integers, null (or -1) for a dimension of any length; `what` names
 * it in errors.
 */
export function checkSampleShape(value: unknown, what: string, allowAny = true): number[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('ARGUMENT', 'a non-empty array of positive integers or null', what, value);
  return value.map((d, i) => {
    if ((d === null || d === ANY_LENGTH) && allowAny) return ANY_LENGTH;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      throw invalid('ARGUMENT', allowAny ? 'a positive integer or null' : 'a positive integer', `${what}[${i}]`, d);
    }
    return d;
  });
}

/** A symbolic model input (Keras `Input`, tfjs `tf.input`): the start of a functional model. */
export function input(args: InputArgs): SymbolicTensor {
  if (!isPlainObject(args)) throw invalid('ARGUMENT', 'an object { shape, name?, dtype? }', 'input options', args);
  checkKnownKeys(args, ['shape', 'name', 'dtype'], 'input options');
  const shape = checkSampleShape(args.shape, 'input shape');
  if (args.name !== undefined && (typeof args.name !== 'string' || args.name.length === 0)) {
    throw invalid('ARGUMENT', 'a non-empty string', 'input name', args.name);
  }
  const dtype = args.dtype === undefined ? 'float32' : checkOneOf(args.dtype, 'input dtype', ['float32', 'int32'] as const);
  inputCounter += 1;
  return new SymbolicTensor(shape, args.name ?? `input_${inputCounter}`, dtype);
}

/** Options of `layer.apply`. */
export interface ApplyArgs {
  /** Initial states of a recurrent layer (`[h]`, or `[h, c]` for an LSTM; forward then backward for bidirectional). */
  initialState?: SymbolicTensor | SymbolicTensor[];
}

/** `x` as a non-empty list of symbolic tensors; `what` names it in errors. */
export function symbolicList(x: unknown, what: string): SymbolicTensor[] {
  const list = Array.isArray(x) ? x : [x];
  if (list.length === 0) throw invalid('ARGUMENT', 'at least one symbolic tensor', what, x);
  list.forEach((t, i) => {
    if (!(t instanceof SymbolicTensor)) {
      throw new RnnError('ARGUMENT', `Expected a symbolic tensor (from rk.input or layer.apply) for ${what}${Array.isArray(x) ? `[${i}]` : ''} but received ${describeValue(t)}`);
    }
  });
  return list as SymbolicTensor[];
}

/**
 * Records one use of `layer` on `x` (plus initial states): checks the shapes with layer.computeOutputShapes and
 * returns its outputs. The SHAPE error names the layer and the shapes it received.
 */
export function applyLayer(layer: Layer, x: unknown, args: ApplyArgs | undefined): SymbolicTensor | SymbolicTensor[] {
  const options = args ?? {};
  if (!isPlainObject(options)) throw invalid('ARGUMENT', 'an object { initialState? }', `${layer.name}.apply options`, args);
  checkKnownKeys(options, ['initialState'], `${layer.name}.apply options`);
  const inputs = symbolicList(x, `the input of layer '${layer.name}'`);
  const states = options.initialState === undefined ? [] : symbolicList(options.initialState, `initialState of layer '${layer.name}'`);
  if (layer.inputShape && inputs.length === 1 && inputs[0].sampleShape.join() !== layer.inputShape.join()) {
    throw new RnnError('SHAPE', `Expected layer '${layer.name}' to receive its inputShape ${shapeText(layer.inputShape)} but received ${shapeText(inputs[0].sampleShape)}`);
  }
  const all = [...inputs, ...states];
  let shapes: number[][];
  try {
    shapes = layer.computeOutputShapes(all.map((t) => t.sampleShape));
  } catch (error) {
    if (error instanceof RnnError && !error.message.includes(`'${layer.name}'`)) {
      throw new RnnError(error.code, `Layer '${layer.name}' received ${all.map((t) => shapeText(t.sampleShape)).join(' and ')}: ${error.message}`);
    }
    throw error;
  }
  const outputs: SymbolicTensor[] = [];
  const node: GraphNode = { layer, inputs: all, outputs, initialStates: states.length };
  shapes.forEach((shape, k) => outputs.push(new SymbolicTensor(shape, k === 0 ? layer.name : `${layer.name}:${k}`, 'float32', node, k)));
  Object.freeze(outputs);
  return outputs.length === 1 ? outputs[0] : outputs.slice();
}
