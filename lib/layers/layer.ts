/**
 * The base of every layer: a name, a per-sample input shape when it is the first layer, the weights it declares
 * for a given input shape, and the spec the native network runs. Weights live in the model that holds the layer;
 * a layer that is not in a built model has none.
 */
import { RnnError } from '../errors';
import { checkInitializer, InitializerSpec } from '../initializers';
import { Tensor } from '../tensor';
import { checkBoolean, checkFloat32, checkInteger, checkNumber, describeValue, invalid, isPlainObject } from '../validate';
import type { NativeLayerSpec, NativeRegularizer } from '../native';
import { applyLayer, ApplyArgs, checkSampleShape, SymbolicTensor } from '../models/symbolic';

/** Activations available to layers (recurrent layers: all but softmax). */
export type ActivationName = 'linear' | 'tanh' | 'sigmoid' | 'hardSigmoid' | 'relu' | 'softmax';
export const ACTIVATIONS: readonly ActivationName[] = ['linear', 'tanh', 'sigmoid', 'hardSigmoid', 'relu', 'softmax'];

/** An L1/L2 weight penalty: loss += l1 * sum|w| + l2 * sum w^2. Build one with `rk.regularizers`. */
export interface RegularizerSpec {
  /** Factor of the L1 penalty. Default 0. */
  l1?: number;
  /** Factor of the L2 penalty. Default 0. */
  l2?: number;
}

/** Options every layer accepts. */
export interface BaseLayerArgs {
  /** Unique name within the model. Default: the layer type with a counter, e.g. `lstm_1`. */
  name?: string;
  /**
   * Per-sample input shape, required on the first layer of a sequential model (e.g. `[timeSteps, features]`; null
   * for a time dimension of any length, e.g. `[null, features]`).
   */
  inputShape?: (number | null)[];
  /**
   * Input shape with the batch size first, `[B, T, F]` (Keras `batch_input_shape`): needed on the first layer of a
   * model with stateful recurrent layers, whose batches must all hold B samples. Give it or inputShape, not both.
   */
  batchInputShape?: (number | null)[];
  /** Whether fit updates this layer's weights. Default true. Takes effect at the next fit. */
  trainable?: boolean;
}
export const BASE_LAYER_KEYS = ['name', 'inputShape', 'batchInputShape', 'trainable'] as const;

/** A weight the layer needs for a given input shape, with how to initialise it. */
export interface WeightSpec {
  /** The weight's name within its layer (`kernel`, `recurrentKernel`, `bias`, ...). */
  name: string;
  /** The weight's shape, row-major. */
  shape: number[];
  /** How the weight's first values are drawn. */
  initializer: InitializerSpec;
  /** Adjusts the initial values after the initializer ran (LSTM unit forget bias). */
  postInit?: (values: Float32Array) => void;
}

/** What a model gives its layers: access to their weights. @internal */
export interface LayerHost {
  getLayerWeights(layer: Layer): Tensor[];
  setLayerWeights(layer: Layer, weights: Tensor[]): void;
  layerTrainableChanged(layer: Layer): void;
  /** True once the host freed its weights. */
  readonly isDisposed: boolean;
}

const nameCounters = new Map<string, number>();
function uniqueName(prefix: string): string {
  const count = nameCounters.get(prefix) ?? 0;
  nameCounters.set(prefix, count + 1);
  return count === 0 ? prefix : `${prefix}_${count}`;
}

/** The base class of every layer; build layers with the `rk.layers` factories. */
export abstract class Layer {
  /** The layer's name, unique within its model. */
  readonly name: string;
  /** Per-sample input shape given at construction, if any. */
  readonly inputShape?: readonly number[];
  /** The fixed batch size from batchInputShape, if given. */
  readonly batchSize?: number;
  private trainableFlag: boolean;
  /** @internal */
  host?: LayerHost;

  /** Checks the options every layer shares; `defaultPrefix` starts the generated name. */
  protected constructor(args: BaseLayerArgs, defaultPrefix: string) {
    if (args.name !== undefined && (typeof args.name !== 'string' || args.name.length === 0)) {
      throw invalid('ARGUMENT', 'a non-empty string', 'name', args.name);
    }
    this.name = args.name ?? uniqueName(defaultPrefix);
    if (args.batchInputShape !== undefined) {
      if (args.inputShape !== undefined) throw new RnnError('ARGUMENT', `Expected inputShape or batchInputShape for layer '${this.name}' but received both`);
      if (!Array.isArray(args.batchInputShape) || args.batchInputShape.length < 2) throw invalid('ARGUMENT', 'an array [batch, ...dims]', `${this.name}.batchInputShape`, args.batchInputShape);
      this.batchSize = checkInteger(args.batchInputShape[0], `${this.name}.batchInputShape[0]`, { min: 1 });
      args = { ...args, inputShape: args.batchInputShape.slice(1) };
    }
    if (args.inputShape !== undefined) {
      // -1 (null publicly) is a time dimension of any length; only the first dimension may be one.
      const shape = checkSampleShape(args.inputShape, `${this.name}.inputShape`);
      shape.slice(1).forEach((d, i) => checkInteger(d, `${this.name}.inputShape[${i + 1}]`, { min: 1 }));
      this.inputShape = Object.freeze(shape);
    }
    this.trainableFlag = args.trainable === undefined ? true : checkBoolean(args.trainable, `${this.name}.trainable`);
  }

  /** The class name used in saved models and summaries (Keras names). */
  abstract get className(): string;
  /** Per-sample output shape for a per-sample input shape; throws a SHAPE RnnError when the input does not fit. */
  abstract computeOutputShape(inputShape: readonly number[]): number[];
  /**
   * Per-sample output shapes for the per-sample shapes of each input tensor (-1: a time dimension of any length).
   * One input and one output by default; layers with several inputs (merges, initial states) or outputs (returned
   * states) override it. Throws a SHAPE RnnError naming the layer when the inputs do not fit.
   */
  computeOutputShapes(inputShapes: readonly (readonly number[])[]): number[][] {
    if (inputShapes.length !== 1) {
      throw new RnnError('SHAPE', `Expected 1 input tensor for layer '${this.name}' but received ${inputShapes.length}`);
    }
    return [this.computeOutputShape(inputShapes[0])];
  }
  /** The weights this layer needs for the input shape (the first input's), in the order getWeights returns them. */
  abstract weightSpecs(inputShape: readonly number[]): WeightSpec[];
  /** The native network's description of this layer. @internal */
  abstract toNative(): NativeLayerSpec;
  /** The layer's configuration (constructor arguments, defaults filled in); `fromConfig` rebuilds the layer. */
  abstract getConfig(): Record<string, unknown>;

  /** Whether fit updates this layer's weights; a change takes effect at the next fit (no recompile needed). */
  get trainable(): boolean {
    return this.trainableFlag;
  }
  /** Sets whether fit updates this layer's weights (see the getter). */
  set trainable(value: boolean) {
    this.trainableFlag = checkBoolean(value, `${this.name}.trainable`);
    this.host?.layerTrainableChanged(this);
  }

  /**
   * Applies the layer to symbolic tensors (from rk.input or another layer), recording a node of a functional model:
   * `dense.apply(x)`, `concatenate.apply([a, b])`, `lstm.apply(x, { initialState: [h, c] })`. Returns the output
   * tensor, or an array when the layer has several outputs (e.g. `returnState`). Shapes are checked here: a SHAPE
   * RnnError names the layer and the shapes it received. Applying one layer object twice shares its weights.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[], args?: ApplyArgs): SymbolicTensor | SymbolicTensor[] {
    return applyLayer(this, inputs, args);
  }

  /** Copies of the layer's weights (Keras order). Throws STATE when the layer is not in a built model. */
  getWeights(): Tensor[] {
    return this.requireHost('read its weights').getLayerWeights(this);
  }

  /** Replaces the layer's weights (shapes must match, Keras order). */
  setWeights(weights: Tensor[]): void {
    this.requireHost('set its weights').setLayerWeights(this, weights);
  }

  /** Number of weight values for the given input shape. */
  countParams(inputShape: readonly number[]): number {
    return this.weightSpecs(inputShape).reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
  }

  private requireHost(what: string): LayerHost {
    if (!this.host) throw new RnnError('STATE', `Layer '${this.name}' is not in a built model, so it cannot ${what}`);
    return this.host;
  }
}

export function checkActivation(value: unknown, name: string, allowSoftmax = true): ActivationName {
  const allowed = allowSoftmax ? ACTIVATIONS : ACTIVATIONS.filter((a) => a !== 'softmax');
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new RnnError('ARGUMENT', `Expected one of ${allowed.join(', ')} for ${name} but received ${describeValue(value)}`);
  }
  return value as ActivationName;
}

export function checkRegularizer(value: unknown, name: string): Required<RegularizerSpec> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw invalid('ARGUMENT', 'a regularizer such as rk.regularizers.l2(0.01)', name, value);
  for (const key of Object.keys(value)) {
    if (key !== 'l1' && key !== 'l2') throw invalid('ARGUMENT', 'a regularizer with only l1 and l2', name, value);
  }
  return {
    l1: value.l1 === undefined ? 0 : checkFloat32(value.l1, `${name}.l1`, { min: 0 }),
    l2: value.l2 === undefined ? 0 : checkFloat32(value.l2, `${name}.l2`, { min: 0 }),
  };
}

/** Validates an initializer option and returns it as given (or the default), ready for `initialize`. */
export function resolveInitializer(value: InitializerSpec | undefined, fallback: InitializerSpec, name: string): InitializerSpec {
  const spec = value === undefined ? fallback : value;
  checkInitializer(spec, name);
  return typeof spec === 'string' ? spec : { ...spec };
}

export function checkShapeRank(layer: Layer, inputShape: readonly number[], ranks: number[], what: string): void {
  if (!ranks.includes(inputShape.length)) {
    throw new RnnError('SHAPE', `Expected ${what} as input of layer '${layer.name}' but received per-sample shape [${inputShape.join(', ')}]`);
  }
}
