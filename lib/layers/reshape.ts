/**
 * Layers that rearrange values (Keras reshaping/, tfjs names): RepeatVector, Reshape and Flatten. None of them has
 * weights, and none passes a mask on (Keras drops the mask of their input; tfjs refuses it).
 */
import { RnnError } from '../errors';
import { checkInteger, checkKnownKeys, invalid, optionsOrEmpty } from '../validate';
import type { NativeLayerSpec } from '../binding_types';
import { BASE_LAYER_KEYS, BaseLayerArgs, checkShapeRank, Layer, WeightSpec } from './layer';
import { formatShape } from './merge';

/** A shape whose size must be known (no time dimension of any length). */
function requireKnownSize(layer: Layer, inputShape: readonly number[]): number {
  if (inputShape.length === 0 || inputShape.some((d) => d === -1)) {
    throw new RnnError('SHAPE', `Expected an input of known size for layer '${layer.name}' (${layer.className}) but received per-sample shape ${formatShape(inputShape)}`);
  }
  return inputShape.reduce((a, b) => a * b, 1);
}

function configOf(layer: Layer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: layer.name, trainable: layer.trainable, ...extra, ...(layer.inputShape ? { inputShape: layer.inputShape.slice() } : {}) };
}

/** Arguments of `rk.layers.repeatVector`. */
export interface RepeatVectorLayerArgs extends BaseLayerArgs {
  /** How many times the input vector is repeated. Required. */
  n: number;
}

/** `[features]` -> `[n, features]`: the input vector repeated n times (e.g. an encoding fed to every decoder step). */
export class RepeatVector extends Layer {
  /** How many times the input vector is repeated. */
  readonly n: number;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: RepeatVectorLayerArgs) {
    const options = optionsOrEmpty(args, 'repeatVector layer options');
    checkKnownKeys(options, [...BASE_LAYER_KEYS, 'n'], 'repeatVector layer options');
    super(options, 'repeat_vector');
    this.n = checkInteger(options.n, `${this.name}.n`, { min: 1 });
  }

  get className(): string {
    return 'RepeatVector';
  }
  computeOutputShape(inputShape: readonly number[]): number[] {
    checkShapeRank(this, inputShape, [1], 'vectors of shape [features]');
    return [this.n, inputShape[0]];
  }
  weightSpecs(): WeightSpec[] {
    return [];
  }
  toNative(): NativeLayerSpec {
    return { kind: 'repeatVector', name: this.name, n: this.n };
  }
  getConfig(): Record<string, unknown> {
    return configOf(this, { n: this.n });
  }
}

/** Arguments of `rk.layers.reshape`. */
export interface ReshapeLayerArgs extends BaseLayerArgs {
  /** The per-sample output shape (no batch dimension). One entry may be -1 (or null): inferred from the input's size. Required. */
  targetShape: (number | null)[];
}

/** Reshapes each sample to `targetShape`, keeping the row-major order of the values. */
export class Reshape extends Layer {
  /** The per-sample output shape; -1 marks the dimension inferred from the input's size. */
  readonly targetShape: readonly number[];

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: ReshapeLayerArgs) {
    const options = optionsOrEmpty(args, 'reshape layer options');
    checkKnownKeys(options, [...BASE_LAYER_KEYS, 'targetShape'], 'reshape layer options');
    super(options, 'reshape');
    const target = options.targetShape;
    const name = `${this.name}.targetShape`;
    if (!Array.isArray(target) || target.length === 0) throw invalid('ARGUMENT', 'a non-empty array of dimensions', name, target);
    const dims = target.map((d, i) => (d === null || d === -1 ? -1 : checkInteger(d, `${name}[${i}]`, { min: 1 })));
    if (dims.filter((d) => d === -1).length > 1) {
      throw new RnnError('ARGUMENT', `Expected at most one inferred dimension (-1 or null) in ${name} but received ${formatShape(dims)}`);
    }
    this.targetShape = Object.freeze(dims);
  }

  get className(): string {
    return 'Reshape';
  }
  computeOutputShape(inputShape: readonly number[]): number[] {
    const size = requireKnownSize(this, inputShape);
    const known = this.targetShape.reduce((a, d) => (d === -1 ? a : a * d), 1);
    const output = this.targetShape.map((d) => (d === -1 ? size / known : d));
    if (output.reduce((a, b) => a * b, 1) !== size || !output.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new RnnError('SHAPE', `Expected an input whose number of values fits the targetShape ${formatShape(this.targetShape)} of layer '${this.name}' but received per-sample shape ${formatShape(inputShape)} (${size} values)`);
    }
    return output;
  }
  weightSpecs(): WeightSpec[] {
    return [];
  }
  toNative(): NativeLayerSpec {
    return { kind: 'reshape', name: this.name, targetShape: this.targetShape.slice() };
  }
  getConfig(): Record<string, unknown> {
    return configOf(this, { targetShape: this.targetShape.slice() });
  }
}

/** Arguments of `rk.layers.flatten`. */
export type FlattenLayerArgs = BaseLayerArgs;

/** Flattens each sample to one dimension: `[T, F]` -> `[T * F]`. */
export class Flatten extends Layer {
  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: FlattenLayerArgs = {}) {
    const options = optionsOrEmpty(args, 'flatten layer options');
    checkKnownKeys(options, BASE_LAYER_KEYS, 'flatten layer options');
    super(options, 'flatten');
  }

  get className(): string {
    return 'Flatten';
  }
  computeOutputShape(inputShape: readonly number[]): number[] {
    return [requireKnownSize(this, inputShape)];
  }
  weightSpecs(): WeightSpec[] {
    return [];
  }
  toNative(): NativeLayerSpec {
    return { kind: 'flatten', name: this.name };
  }
  getConfig(): Record<string, unknown> {
    return configOf(this);
  }
}
