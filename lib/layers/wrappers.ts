/** Bidirectional (around a recurrent layer) and TimeDistributed (around a dense layer). */
import { RnnError } from '../errors';
import { checkKnownKeys, checkOneOf, optionsOrEmpty } from '../validate';
import type { NativeLayerSpec } from '../native';
import { Dense } from './core';
import { BASE_LAYER_KEYS, BaseLayerArgs, Layer, LayerHost, WeightSpec } from './layer';
import { checkKeptStates, RecurrentLayer, recurrentOutputShapes } from './recurrent';

/**
 * Makes a wrapped layer's `trainable` count: the wrapper is trainable only while it and its inner layer both are
 * (Keras), setting the wrapper's flag sets the inner layer's too (Keras sets it on every sublayer), and a change of
 * the inner layer's flag reaches the model that holds the wrapper. The inner layer has no weights of its own, so it
 * still refuses getWeights / setWeights (read them through the wrapper).
 */
function linkInnerTrainable(wrapper: Layer, inner: Layer): void {
  if (inner.host) throw new RnnError('STATE', `Layer '${inner.name}' already belongs to a model or a wrapper; create a new layer to wrap`);
  const refuse = (): never => {
    throw new RnnError('STATE', `Layer '${inner.name}' is wrapped by '${wrapper.name}', which holds the weights; read or set them through '${wrapper.name}'`);
  };
  const host: LayerHost = {
    getLayerWeights: refuse,
    setLayerWeights: refuse,
    layerTrainableChanged: () => wrapper.host?.layerTrainableChanged(wrapper),
    isDisposed: false,
  };
  inner.host = host;
}

/** How Bidirectional combines the forward and backward outputs: concatenated, summed, multiplied or averaged. */
export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave';

/** Arguments of `rk.layers.bidirectional`. */
export interface BidirectionalLayerArgs extends BaseLayerArgs {
  /** The recurrent layer to run in both directions (its config is used twice; its weights are separate). */
  layer: RecurrentLayer;
  /**
   * How the two directions' outputs combine. Default 'concat'. `null` (Keras `merge_mode=None`, tfjs `mergeMode:
   * null`) leaves them apart: the layer has two outputs, forward then backward (in time order), before any states.
   */
  mergeMode?: MergeMode | null;
  /** Whether fit updates the weights; when given it is set on the inner layer too, else the inner layer's decides. */
  trainable?: boolean;
}

/** Runs a recurrent layer forwards and backwards and merges the two outputs step by step. */
export class Bidirectional extends Layer {
  /** The wrapped recurrent layer (its config; each direction has its own weights). */
  readonly layer: RecurrentLayer;
  /** How the two directions' outputs combine; null: not at all (two outputs, forward then backward). */
  readonly mergeMode: MergeMode | null;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: BidirectionalLayerArgs) {
    const options = optionsOrEmpty(args, 'bidirectional options');
    checkKnownKeys(options, [...BASE_LAYER_KEYS, 'layer', 'mergeMode'], 'bidirectional options');
    if (!(options.layer instanceof RecurrentLayer)) {
      throw new RnnError('ARGUMENT', 'Expected a simpleRNN, lstm or gru layer for bidirectional.layer');
    }
    const inner = options.layer;
    const inherited = options.inputShape !== undefined || options.batchInputShape !== undefined ? {}
      : inner.batchSize !== undefined && inner.inputShape ? { batchInputShape: [inner.batchSize, ...inner.inputShape] }
        : { inputShape: inner.inputShape?.slice() };
    super({ ...options, ...inherited }, `bidirectional_${options.layer.name}`);
    this.layer = options.layer;
    this.mergeMode = options.mergeMode === null ? null
      : checkOneOf(options.mergeMode ?? 'concat', `${this.name}.mergeMode`, ['concat', 'sum', 'mul', 'ave'] as const);
    if (options.trainable !== undefined) this.layer.trainable = super.trainable;
    linkInnerTrainable(this, this.layer);
  }

  get className(): string {
    return 'Bidirectional';
  }
  /** Whether fit updates the weights: only while both this wrapper and its inner layer are trainable. */
  get trainable(): boolean {
    return super.trainable && this.layer.trainable;
  }
  /** Sets the flag on the wrapper and its inner layer (Keras). */
  set trainable(value: boolean) {
    super.trainable = value;
    this.layer.trainable = value;
  }
  /** Whether the layer also returns the final states (the inner layer's returnState, as in Keras). */
  get returnState(): boolean {
    return this.layer.returnState;
  }

  /** @internal Kept states (forward then backward), as RecurrentLayer.keptStates. */
  keptStates?: Float32Array[];

  /** Stateful layers: sets the next batch's states (forward then backward; see RecurrentLayer.resetStates). */
  resetStates(states?: Float32Array[]): void {
    this.keptStates = checkKeptStates(this, states, 2 * this.layer.stateCount, this.layer.units);
  }

  /** Copies of the kept states (forward then backward), or undefined before any batch. */
  getStates(): Float32Array[] | undefined {
    return this.keptStates?.map((s) => s.slice());
  }

  /** Whether the final states carry over to the next batch (the inner layer's stateful, as in Keras). */
  get stateful(): boolean {
    return this.layer.stateful;
  }
  /** The outputs before the states: 2 with mergeMode null (forward, backward), else 1 (the merged output). */
  get mainOutputs(): number {
    return this.mergeMode === null ? 2 : 1;
  }
  /**
   * Inputs `[x]` or `[x, ...forward states, ...backward states]` (Keras splits initial states in halves); outputs the
   * merged output (mergeMode null: the forward then the backward output) and, with the inner layer's returnState,
   * the forward then the backward final states.
   */
  computeOutputShapes(inputShapes: readonly (readonly number[])[]): number[][] {
    const shapes = recurrentOutputShapes(this, inputShapes, 2 * this.layer.stateCount, this.layer.units, this.returnState);
    if (this.mergeMode === null) shapes.splice(1, 0, shapes[0].slice());
    return shapes;
  }
  /** The merged output's shape (mergeMode null: each direction's output). */
  computeOutputShape(inputShape: readonly number[]): number[] {
    const inner = this.layer.computeOutputShape(inputShape);
    if (this.mergeMode === 'concat') inner[inner.length - 1] *= 2;
    return inner;
  }
  weightSpecs(inputShape: readonly number[]): WeightSpec[] {
    const inner = this.layer.weightSpecs(inputShape);
    return [
      ...inner.map((w) => ({ ...w, name: `forward/${w.name}` })),
      ...inner.map((w) => ({ ...w, name: `backward/${w.name}` })),
    ];
  }
  toNative(): NativeLayerSpec {
    const inner = this.layer.toNative();
    return { ...inner, name: this.name, bidirectional: true, mergeMode: this.mergeMode ?? 'none' } as NativeLayerSpec;
  }
  getConfig(): Record<string, unknown> {
    return {
      name: this.name, trainable: this.trainable, mergeMode: this.mergeMode,
      layer: { className: this.layer.className, config: this.layer.getConfig() },
      ...(this.inputShape && this.batchSize !== undefined ? { batchInputShape: [this.batchSize, ...this.inputShape] }
        : this.inputShape ? { inputShape: this.inputShape.slice() } : {}),
    };
  }
}

/** Arguments of `rk.layers.timeDistributed`. */
export interface TimeDistributedLayerArgs extends BaseLayerArgs {
  /** The dense layer applied at every time step. */
  layer: Dense;
  /** Whether fit updates the weights; when given it is set on the inner layer too, else the inner layer's decides. */
  trainable?: boolean;
}

/** Applies a dense layer at every step of a sequence [T, F] -> [T, units]. */
export class TimeDistributed extends Layer {
  /** The dense layer applied at every step. */
  readonly layer: Dense;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: TimeDistributedLayerArgs) {
    const options = optionsOrEmpty(args, 'timeDistributed options');
    checkKnownKeys(options, [...BASE_LAYER_KEYS, 'layer'], 'timeDistributed options');
    if (!(options.layer instanceof Dense)) throw new RnnError('ARGUMENT', 'Expected a dense layer for timeDistributed.layer');
    super({ ...options, inputShape: options.inputShape ?? options.layer.inputShape?.slice() }, `time_distributed`);
    this.layer = options.layer;
    if (options.trainable !== undefined) this.layer.trainable = super.trainable;
    linkInnerTrainable(this, this.layer);
  }

  get className(): string {
    return 'TimeDistributed';
  }
  /** Whether fit updates the weights: only while both this wrapper and its inner layer are trainable. */
  get trainable(): boolean {
    return super.trainable && this.layer.trainable;
  }
  /** Sets the flag on the wrapper and its inner layer (Keras). */
  set trainable(value: boolean) {
    super.trainable = value;
    this.layer.trainable = value;
  }
  computeOutputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 2) {
      throw new RnnError('SHAPE', `Expected sequences [timeSteps, features] as input of layer '${this.name}' but received [${inputShape.join(', ')}]`);
    }
    return this.layer.computeOutputShape(inputShape);
  }
  weightSpecs(inputShape: readonly number[]): WeightSpec[] {
    this.computeOutputShape(inputShape);
    return this.layer.weightSpecs(inputShape);
  }
  toNative(): NativeLayerSpec {
    return { ...this.layer.toNative(), name: this.name };
  }
  getConfig(): Record<string, unknown> {
    return {
      name: this.name, trainable: this.trainable, layer: { className: 'Dense', config: this.layer.getConfig() },
      ...(this.inputShape ? { inputShape: this.inputShape.slice() } : {}),
    };
  }
}
