/**
 * SimpleRNN, LSTM and GRU layers (Keras arguments and defaults, camelCase). Gate order in the weights, as in Keras and
 * tfjs: LSTM i, f, c, o; GRU z, r, h. Weights: kernel [features, gates*units], recurrent_kernel [units, gates*units],
 * bias [gates*units] (GRU with resetAfter: [2, 3*units], input bias row then recurrent bias row).
 */
import { RnnError } from '../errors';
import { InitializerSpec } from '../initializers';
import { checkBoolean, checkInteger, checkKnownKeys, checkNumber, describeValue, optionsOrEmpty } from '../validate';
import type { NativeLayerSpec } from '../native';
import {
  ActivationName, BASE_LAYER_KEYS, BaseLayerArgs, checkActivation, checkRegularizer, checkShapeRank, Layer,
  RegularizerSpec, resolveInitializer, WeightSpec,
} from './layer';

/** The recurrent cells: a plain tanh RNN, LSTM and GRU. */
export type CellType = 'simpleRNN' | 'lstm' | 'gru';

/** Arguments shared by the recurrent layers. */
export interface RecurrentLayerArgs extends BaseLayerArgs {
  /** Size of the hidden state. Required. */
  units: number;
  /** Output / candidate activation. Default 'tanh'. */
  activation?: Exclude<ActivationName, 'softmax'>;
  /** Whether the layer has biases. Default true. */
  useBias?: boolean;
  /** Initializer of the input kernel. Default 'glorotUniform' (Keras). */
  kernelInitializer?: InitializerSpec;
  /** Initializer of the recurrent kernel. Default 'orthogonal' (Keras). */
  recurrentInitializer?: InitializerSpec;
  /** Initializer of the bias. Default 'zeros'. */
  biasInitializer?: InitializerSpec;
  /** Fraction of the input features dropped during training (one mask per sample for all steps). Default 0. */
  dropout?: number;
  /**
   * Fraction of the recurrent state dropped during training, in [0, 1). Default 0. As in Keras: one mask per
   * sample and unit for all steps (kept units scaled by 1 / (1 - rate)), applied to h_{t-1} where it enters the
   * recurrent kernel (for a GRU the blend z * h_{t-1} + (1 - z) * hh keeps the unmasked state). Inference
   * (predict, evaluate) never drops.
   */
  recurrentDropout?: number;
  /** Return the output at every step ([T, units]) instead of the last ([units]). Default false. */
  returnSequences?: boolean;
  /**
   * Also return the final states: the layer's outputs become `[output, h]` (LSTM: `[output, h, c]`), each state
   * `[units]` per sample, the state after the sample's last valid step (Keras `return_state`). Only in functional
   * models (a sequential model has one output). Default false.
   */
  returnState?: boolean;
  /**
   * Keep each sample's final state as the next batch's initial state (Keras `stateful`): sample i of a batch
   * continues sample i of the previous one. Needs `batchInputShape` on the model's first layer; reset with
   * `layer.resetStates()` / `model.resetStates()`. Default false.
   */
  stateful?: boolean;
  /** Process the sequence backwards; outputs come in processing order, as in Keras. Default false. */
  goBackwards?: boolean;
  /** Penalty on the input kernel. */
  kernelRegularizer?: RegularizerSpec;
  /** Penalty on the recurrent kernel. */
  recurrentRegularizer?: RegularizerSpec;
  /** Penalty on the bias. */
  biasRegularizer?: RegularizerSpec;
}

/** LSTM and GRU gate activation option. */
export interface GatedLayerArgs extends RecurrentLayerArgs {
  /** Gate activation. Default 'sigmoid' (Keras; tfjs defaults to 'hardSigmoid'). */
  recurrentActivation?: 'sigmoid' | 'hardSigmoid';
}

/** Arguments of `rk.layers.lstm`. */
export interface LSTMLayerArgs extends GatedLayerArgs {
  /** Add 1 to the forget-gate bias at initialisation (Jozefowicz et al.). Default true (Keras). */
  unitForgetBias?: boolean;
}

/** Arguments of `rk.layers.gru`. */
export interface GRULayerArgs extends GatedLayerArgs {
  /** Apply the reset gate after the recurrent matrix product (Keras 2+/cuDNN form, two bias rows). Default true. */
  resetAfter?: boolean;
}

const RECURRENT_KEYS = [
  ...BASE_LAYER_KEYS, 'units', 'activation', 'useBias', 'kernelInitializer', 'recurrentInitializer', 'biasInitializer',
  'dropout', 'recurrentDropout', 'returnSequences', 'returnState', 'stateful', 'goBackwards', 'kernelRegularizer',
  'recurrentRegularizer', 'biasRegularizer',
] as const;

const GATES: Record<CellType, number> = { simpleRNN: 1, lstm: 4, gru: 3 };
const CLASS_NAMES: Record<CellType, string> = { simpleRNN: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU' };

/** A SimpleRNN, LSTM or GRU layer over `[T, F]` sequences; build one with `rk.layers.simpleRNN`, `lstm` or `gru`. */
export class RecurrentLayer extends Layer {
  /** Which cell the layer runs. */
  readonly cell: CellType;
  /** Size of the hidden state. */
  readonly units: number;
  /** Output / candidate activation. */
  readonly activation: Exclude<ActivationName, 'softmax'>;
  /** Gate activation (LSTM, GRU; 'sigmoid' for a SimpleRNN, which has no gates). */
  readonly recurrentActivation: 'sigmoid' | 'hardSigmoid';
  /** Whether the layer has biases. */
  readonly useBias: boolean;
  /** LSTM: whether 1 was added to the forget-gate bias at initialisation (false for other cells). */
  readonly unitForgetBias: boolean;
  /** GRU: whether the reset gate applies after the recurrent product (false for other cells). */
  readonly resetAfter: boolean;
  /** Fraction of the input features dropped during training. */
  readonly dropout: number;
  /** Fraction of the recurrent state dropped during training. */
  readonly recurrentDropout: number;
  /** Whether the output is every step's (`[T, units]`) or the last (`[units]`). */
  readonly returnSequences: boolean;
  /** Whether the sequence is processed backwards. */
  readonly goBackwards: boolean;
  /** Whether the layer also returns its final states (outputs `[output, ...states]`). */
  readonly returnState: boolean;
  /** Whether the final states carry over to the next batch (Keras `stateful`). */
  readonly stateful: boolean;
  /** Initializer of the input kernel. */
  readonly kernelInitializer: InitializerSpec;
  /** Initializer of the recurrent kernel. */
  readonly recurrentInitializer: InitializerSpec;
  /** Initializer of the bias. */
  readonly biasInitializer: InitializerSpec;
  /** Penalty on the input kernel, if any. */
  readonly kernelRegularizer?: Required<RegularizerSpec>;
  /** Penalty on the recurrent kernel, if any. */
  readonly recurrentRegularizer?: Required<RegularizerSpec>;
  /** Penalty on the bias, if any. */
  readonly biasRegularizer?: Required<RegularizerSpec>;

  /** Validates every option eagerly; throws an `ARGUMENT` {@link RnnError} naming the bad one. */
  constructor(cell: CellType, args: LSTMLayerArgs & GRULayerArgs) {
    const context = `${cell} layer options`;
    const options = optionsOrEmpty(args, context);
    const extra = cell === 'simpleRNN' ? [] : cell === 'lstm' ? ['recurrentActivation', 'unitForgetBias'] : ['recurrentActivation', 'resetAfter'];
    checkKnownKeys(options, [...RECURRENT_KEYS, ...extra], context);
    super(options, cell === 'simpleRNN' ? 'simple_rnn' : cell);
    const n = this.name;
    this.cell = cell;
    this.units = checkInteger(options.units, `${n}.units`, { min: 1 });
    this.activation = checkActivation(options.activation ?? 'tanh', `${n}.activation`, false) as Exclude<ActivationName, 'softmax'>;
    const recurrent = checkActivation(options.recurrentActivation ?? 'sigmoid', `${n}.recurrentActivation`, false);
    if (recurrent !== 'sigmoid' && recurrent !== 'hardSigmoid') {
      throw new RnnError('ARGUMENT', `Expected 'sigmoid' or 'hardSigmoid' for ${n}.recurrentActivation but received '${recurrent}'`);
    }
    this.recurrentActivation = recurrent;
    this.useBias = options.useBias === undefined ? true : checkBoolean(options.useBias, `${n}.useBias`);
    this.unitForgetBias = cell === 'lstm' && (options.unitForgetBias === undefined ? true : checkBoolean(options.unitForgetBias, `${n}.unitForgetBias`));
    this.resetAfter = cell === 'gru' && (options.resetAfter === undefined ? true : checkBoolean(options.resetAfter, `${n}.resetAfter`));
    this.dropout = options.dropout === undefined ? 0 : checkNumber(options.dropout, `${n}.dropout`, { min: 0, max: 0.999 });
    this.recurrentDropout = options.recurrentDropout === undefined ? 0
      : checkNumber(options.recurrentDropout, `${n}.recurrentDropout`, { min: 0, maxExclusive: 1 });
    this.returnState = options.returnState === undefined ? false : checkBoolean(options.returnState, `${n}.returnState`);
    this.stateful = options.stateful === undefined ? false : checkBoolean(options.stateful, `${n}.stateful`);
    this.returnSequences = options.returnSequences === undefined ? false : checkBoolean(options.returnSequences, `${n}.returnSequences`);
    this.goBackwards = options.goBackwards === undefined ? false : checkBoolean(options.goBackwards, `${n}.goBackwards`);
    this.kernelInitializer = resolveInitializer(options.kernelInitializer, 'glorotUniform', `${n}.kernelInitializer`);
    this.recurrentInitializer = resolveInitializer(options.recurrentInitializer, 'orthogonal', `${n}.recurrentInitializer`);
    this.biasInitializer = resolveInitializer(options.biasInitializer, 'zeros', `${n}.biasInitializer`);
    this.kernelRegularizer = checkRegularizer(options.kernelRegularizer, `${n}.kernelRegularizer`);
    this.recurrentRegularizer = checkRegularizer(options.recurrentRegularizer, `${n}.recurrentRegularizer`);
    this.biasRegularizer = checkRegularizer(options.biasRegularizer, `${n}.biasRegularizer`);
  }

  get className(): string {
    return CLASS_NAMES[this.cell];
  }

  /** Number of gate blocks in the weights: LSTM 4, GRU 3, SimpleRNN 1. */
  get gates(): number {
    return GATES[this.cell];
  }

  /** @internal Kept states of a stateful layer: one [batch * units] array per state tensor; undefined = zeros. */
  keptStates?: Float32Array[];

  /**
   * Stateful layers: sets the states the next batch starts from: zeros without argument, else one Float32Array of
   * batch * units values per state tensor (h, then c for an LSTM), row-major (Keras `reset_states(states)`).
   */
  resetStates(states?: Float32Array[]): void {
    this.keptStates = checkKeptStates(this, states, this.stateCount, this.units);
  }

  /** Copies of the kept states (one [batch * units] array per state tensor), or undefined before any batch. */
  getStates(): Float32Array[] | undefined {
    return this.keptStates?.map((s) => s.slice());
  }

  /** Number of state tensors per direction: 2 for an LSTM (h, c), 1 otherwise (h). */
  get stateCount(): number {
    return this.cell === 'lstm' ? 2 : 1;
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    checkShapeRank(this, inputShape, [2], 'sequences of shape [timeSteps, features]');
    return this.returnSequences ? [inputShape[0], this.units] : [this.units];
  }

  /**
   * Inputs `[x]` or `[x, ...initialStates]` (each state `[units]`, h then c for an LSTM); outputs `[output]` or, with
   * returnState, `[output, ...finalStates]`. Throws a SHAPE RnnError naming the layer when the inputs do not fit.
   */
  computeOutputShapes(inputShapes: readonly (readonly number[])[]): number[][] {
    return recurrentOutputShapes(this, inputShapes, this.stateCount, this.units, this.returnState);
  }

  weightSpecs(inputShape: readonly number[]): WeightSpec[] {
    this.computeOutputShape(inputShape);
    const width = this.gates * this.units;
    const specs: WeightSpec[] = [
      { name: 'kernel', shape: [inputShape[1], width], initializer: this.kernelInitializer },
      { name: 'recurrent_kernel', shape: [this.units, width], initializer: this.recurrentInitializer },
    ];
    if (this.useBias) {
      const units = this.units;
      specs.push({
        name: 'bias',
        shape: this.resetAfter ? [2, width] : [width],
        initializer: this.biasInitializer,
        // Keras: the forget block (the second of i, f, c, o) starts at 1.
        postInit: this.unitForgetBias ? (values) => values.fill(1, units, 2 * units) : undefined,
      });
    }
    return specs;
  }

  toNative(): NativeLayerSpec {
    return {
      kind: 'recurrent', name: this.name, cell: this.cell, units: this.units, activation: this.activation,
      recurrentActivation: this.recurrentActivation, useBias: this.useBias, resetAfter: this.resetAfter,
      returnSequences: this.returnSequences, returnState: this.returnState, goBackwards: this.goBackwards,
      bidirectional: false, mergeMode: 'concat',
      dropout: this.dropout, recurrentDropout: this.recurrentDropout, kernelRegularizer: this.kernelRegularizer, recurrentRegularizer: this.recurrentRegularizer,
      biasRegularizer: this.biasRegularizer,
    };
  }

  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      name: this.name, trainable: this.trainable, units: this.units, activation: this.activation, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, recurrentInitializer: this.recurrentInitializer,
      biasInitializer: this.biasInitializer, dropout: this.dropout, recurrentDropout: this.recurrentDropout,
      returnSequences: this.returnSequences, returnState: this.returnState, goBackwards: this.goBackwards,
    };
    if (this.stateful) config.stateful = true;
    if (this.inputShape && this.batchSize !== undefined) config.batchInputShape = [this.batchSize, ...this.inputShape];
    else if (this.inputShape) config.inputShape = this.inputShape.slice();
    if (this.cell !== 'simpleRNN') config.recurrentActivation = this.recurrentActivation;
    if (this.cell === 'lstm') config.unitForgetBias = this.unitForgetBias;
    if (this.cell === 'gru') config.resetAfter = this.resetAfter;
    if (this.kernelRegularizer) config.kernelRegularizer = this.kernelRegularizer;
    if (this.recurrentRegularizer) config.recurrentRegularizer = this.recurrentRegularizer;
    if (this.biasRegularizer) config.biasRegularizer = this.biasRegularizer;
    return config;
  }
}

/**
 * The shapes of a recurrent layer (or its bidirectional wrapper) applied to `[x, ...initialStates]`: `stateTensors`
 * states of `[units]` may follow x; the outputs are `output` and, with `returnState`, the `stateTensors` final
 * states. A SHAPE RnnError names the layer, the expected and the received shapes. @internal
 */
export function recurrentOutputShapes(layer: Layer, inputShapes: readonly (readonly number[])[], stateTensors: number,
  units: number, returnState: boolean): number[][] {
  const expected = `x and ${stateTensors} initial state${stateTensors > 1 ? 's' : ''}`;
  if (inputShapes.length !== 1 && inputShapes.length !== 1 + stateTensors) {
    throw new RnnError('SHAPE', `Expected 1 input tensor (x) or ${1 + stateTensors} (${expected}) for layer '${layer.name}' but received ${inputShapes.length}`);
  }
  inputShapes.slice(1).forEach((shape, k) => {
    if (shape.length !== 1 || shape[0] !== units) {
      throw new RnnError('SHAPE', `Expected initial state ${k} of layer '${layer.name}' to have per-sample shape [${units}] but received [${shape.join(', ')}]`);
    }
  });
  const outputs = [layer.computeOutputShape(inputShapes[0])];
  if (returnState) for (let k = 0; k < stateTensors; k++) outputs.push([units]);
  return outputs;
}

/** Validates states given to resetStates: `count` Float32Arrays of one common length, a multiple of units. @internal */
export function checkKeptStates(layer: Layer, states: unknown, count: number, units: number): Float32Array[] | undefined {
  if (!(layer as { stateful?: boolean }).stateful) throw new RnnError('STATE', `Expected a stateful layer (stateful: true) for resetStates but layer '${layer.name}' keeps no state`);
  if (states === undefined) return undefined;
  if (!Array.isArray(states) || states.length !== count || !states.every((s) => s instanceof Float32Array)) {
    throw new RnnError('ARGUMENT', `Expected ${count} Float32Array state(s) for layer '${layer.name}' but received ${describeValue(states)}`);
  }
  const length = (states[0] as Float32Array).length;
  if (length === 0 || length % units !== 0 || states.some((s: Float32Array) => s.length !== length)) {
    throw new RnnError('SHAPE', `Expected each state of layer '${layer.name}' to hold batch * ${units} values but received lengths ${states.map((s: Float32Array) => s.length).join(', ')}`);
  }
  return states.map((s: Float32Array) => s.slice());
}
