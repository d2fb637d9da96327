/** Dense, Dropout, Masking and Embedding layers (Keras arguments and defaults, camelCase). */
import { InitializerSpec } from '../initializers';
import { checkBoolean, checkInteger, checkKnownKeys, checkNumber, optionsOrEmpty } from '../validate';
import type { NativeLayerSpec } from '../native';
import {
  ActivationName, BASE_LAYER_KEYS, BaseLayerArgs, checkActivation, checkRegularizer, checkShapeRank, Layer,
  RegularizerSpec, resolveInitializer, WeightSpec,
} from './layer';

/** Arguments of `rk.layers.dense`. */
export interface DenseLayerArgs extends BaseLayerArgs {
  /** Output size. Required. */
  units: number;
  /** Default 'linear'. */
  activation?: ActivationName;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerSpec;
  /** Default 'zeros'. */
  biasInitializer?: InitializerSpec;
  /** Penalty on the kernel. */
  kernelRegularizer?: RegularizerSpec;
  /** Penalty on the bias. */
  biasRegularizer?: RegularizerSpec;
}

/** A fully connected layer; on sequences ([T, F]) it applies the same weights at every step (timeDistributed). */
export class Dense extends Layer {
  /** Output size. */
  readonly units: number;
  /** Activation applied to the output. */
  readonly activation: ActivationName;
  /** Whether the layer has a bias. */
  readonly useBias: boolean;
  /** Initializer of the kernel. */
  readonly kernelInitializer: InitializerSpec;
  /** Initializer of the bias. */
  readonly biasInitializer: InitializerSpec;
  /** Penalty on the kernel, if any. */
  readonly kernelRegularizer?: Required<RegularizerSpec>;
  /** Penalty on the bias, if any. */
  readonly biasRegularizer?: Required<RegularizerSpec>;

  /** Validates every option eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: DenseLayerArgs) {
    const options = optionsOrEmpty(args, 'dense layer options');
    checkKnownKeys(options, [...BASE_LAYER_KEYS, 'units', 'activation', 'useBias', 'kernelInitializer',
      'biasInitializer', 'kernelRegularizer', 'biasRegularizer'], 'dense layer options');
    super(options, 'dense');
    const n = this.name;
    this.units = checkInteger(options.units, `${n}.units`, { min: 1 });
    this.activation = checkActivation(options.activation ?? 'linear', `${n}.activation`);
    this.useBias = options.useBias === undefined ? true : checkBoolean(options.useBias, `${n}.useBias`);
    this.kernelInitializer = resolveInitializer(options.kernelInitializer, 'glorotUniform', `${n}.kernelInitializer`);
    this.biasInitializer = resolveInitializer(options.biasInitializer, 'zeros', `${n}.biasInitializer`);
    this.kernelRegularizer = checkRegularizer(options.kernelRegularizer, `${n}.kernelRegularizer`);
    this.biasRegularizer = checkRegularizer(options.biasRegularizer, `${n}.biasRegularizer`);
  }

  get className(): string {
    return 'Dense';
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    checkShapeRank(this, inputShape, [1, 2], 'vectors [features] or sequences [timeSteps, features]');
    return [...inputShape.slice(0, -1), this.units];
  }

  weightSpecs(inputShape: readonly number[]): WeightSpec[] {
    this.computeOutputShape(inputShape);
    const specs: WeightSpec[] = [
      { name: 'kernel', shape: [inputShape[inputShape.length - 1], this.units], initializer: this.kernelInitializer },
    ];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.units], initializer: this.biasInitializer });
    return specs;
  }

  toNative(): NativeLayerSpec {
    return {
      kind: 'dense', name: this.name, units: this.units, activation: this.activation, useBias: this.useBias,
      kernelRegularizer: this.kernelRegularizer, biasRegularizer: this.biasRegularizer,
    };
  }

  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      name: this.name, trainable: this.trainable, units: this.units, activation: this.activation, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
    };
    if (this.inputShape) config.inputShape = this.inputShape.slice();
    if (this.kernelRegularizer) config.kernelRegularizer = this.kernelRegularizer;
    if (this.biasRegularizer) config.biasRegularizer = this.biasRegularizer;
    return config;
  }
}

/** Arguments of `rk.layers.dropout`. */
export interface DropoutLayerArgs extends BaseLayerArgs {
  /** Fraction of values set to zero during training (kept ones are scaled by 1 / (1 - rate)). Required. */
  rate: number;
}

/** Sets a random fraction of its inputs to zero during training; passes them through at inference. */
export class Dropout extends Layer {
  /** Fraction of values set to zero during training. */
  readonly rate: number;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: DropoutLayerArgs) {
    const options = optionsOrEmpty(args, 'dropout layer options');
    checkKnownKeys(options, [...BASE_LAYER_KEYS, 'rate'], 'dropout layer options');
    super(options, 'dropout');
    this.rate = checkNumber(options.rate, `${this.name}.rate`, { min: 0, max: 0.999 });
  }

  get className(): string {
    return 'Dropout';
  }
  computeOutputShape(inputShape: readonly number[]): number[] {
    return inputShape.slice();
  }
  weightSpecs(): WeightSpec[] {
    return [];
  }
  toNative(): NativeLayerSpec {
    return { kind: 'dropout', name: this.name, rate: this.rate };
  }
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: this.trainable, rate: this.rate, ...(this.inputShape ? { inputShape: this.inputShape.slice() } : {}) };
  }
}

/** Arguments of `rk.layers.masking`. */
export interface MaskingLayerArgs extends BaseLayerArgs {
  /** Steps whose features all equal this value are padding. Default 0. */
  maskValue?: number;
}

/**
 * Marks padding steps so recurrent layers skip them. Padding is taken as the steps before a sample's first and after
 * its last unmasked step (pre- or post-padding); a fully masked step between unmasked ones is processed normally.
 */
export class Masking extends Layer {
  /** Steps whose features all equal this value are padding. */
  readonly maskValue: number;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: MaskingLayerArgs = {}) {
    const options = optionsOrEmpty(args, 'masking layer options');
    checkKnownKeys(options, [...BASE_LAYER_KEYS, 'maskValue'], 'masking layer options');
    super(options, 'masking');
    this.maskValue = options.maskValue === undefined ? 0 : checkNumber(options.maskValue, `${this.name}.maskValue`);
  }

  get className(): string {
    return 'Masking';
  }
  computeOutputShape(inputShape: readonly number[]): number[] {
    checkShapeRank(this, inputShape, [2], 'sequences of shape [timeSteps, features]');
    return inputShape.slice();
  }
  weightSpecs(): WeightSpec[] {
    return [];
  }
  toNative(): NativeLayerSpec {
    return { kind: 'masking', name: this.name, maskValue: this.maskValue };
  }
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: this.trainable, maskValue: this.maskValue, ...(this.inputShape ? { inputShape: this.inputShape.slice() } : {}) };
  }
}

/** Arguments of `rk.layers.embedding`. */
export interface EmbeddingLayerArgs extends BaseLayerArgs {
  /** Vocabulary size: ids are integers in [0, inputDim). Required. */
  inputDim: number;
  /** Size of each vector. Required. */
  outputDim: number;
  /** Treat id 0 as padding (masked, as with Masking). Default false. */
  maskZero?: boolean;
  /** Sequence length; the same as inputShape: [inputLength]. */
  inputLength?: number;
  /** Default 'randomUniform' (-0.05, 0.05), as in Keras. */
  embeddingsInitializer?: InitializerSpec;
  /** Penalty on the embedding matrix. */
  embeddingsRegularizer?: RegularizerSpec;
}

/** Token ids [T] -> vectors [T, outputDim]. */
export class Embedding extends Layer {
  /** Vocabulary size: ids are integers in [0, inputDim). */
  readonly inputDim: number;
  /** Size of each vector. */
  readonly outputDim: number;
  /** Whether id 0 is padding. */
  readonly maskZero: boolean;
  /** Initializer of the embedding matrix. */
  readonly embeddingsInitializer: InitializerSpec;
  /** Penalty on the embedding matrix, if any. */
  readonly embeddingsRegularizer?: Required<RegularizerSpec>;

  /** Validates every option eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: EmbeddingLayerArgs) {
    const options = optionsOrEmpty(args, 'embedding layer options');
    checkKnownKeys(options, [...BASE_LAYER_KEYS, 'inputDim', 'outputDim', 'maskZero', 'inputLength',
      'embeddingsInitializer', 'embeddingsRegularizer'], 'embedding layer options');
    const inputShape = options.inputShape ?? (options.inputLength !== undefined ? [checkInteger(options.inputLength, 'embedding.inputLength', { min: 1 })] : undefined);
    super({ ...options, inputShape }, 'embedding');
    const n = this.name;
    this.inputDim = checkInteger(options.inputDim, `${n}.inputDim`, { min: 1 });
    this.outputDim = checkInteger(options.outputDim, `${n}.outputDim`, { min: 1 });
    this.maskZero = options.maskZero === undefined ? false : checkBoolean(options.maskZero, `${n}.maskZero`);
    this.embeddingsInitializer = resolveInitializer(options.embeddingsInitializer, 'randomUniform', `${n}.embeddingsInitializer`);
    this.embeddingsRegularizer = checkRegularizer(options.embeddingsRegularizer, `${n}.embeddingsRegularizer`);
  }

  get className(): string {
    return 'Embedding';
  }
  computeOutputShape(inputShape: readonly number[]): number[] {
    checkShapeRank(this, inputShape, [1], 'token ids of shape [timeSteps]');
    return [inputShape[0], this.outputDim];
  }
  weightSpecs(inputShape: readonly number[]): WeightSpec[] {
    this.computeOutputShape(inputShape);
    return [{ name: 'embeddings', shape: [this.inputDim, this.outputDim], initializer: this.embeddingsInitializer }];
  }
  toNative(): NativeLayerSpec {
    return {
      kind: 'embedding', name: this.name, inputDim: this.inputDim, outputDim: this.outputDim, maskZero: this.maskZero,
      embeddingsRegularizer: this.embeddingsRegularizer,
    };
  }
  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      name: this.name, trainable: this.trainable, inputDim: this.inputDim, outputDim: this.outputDim,
      maskZero: this.maskZero, embeddingsInitializer: this.embeddingsInitializer,
    };
    if (this.inputShape) config.inputShape = this.inputShape.slice();
    if (this.embeddingsRegularizer) config.embeddingsRegularizer = this.embeddingsRegularizer;
    return config;
  }
}
