/**
 * Merge layers (Keras merging/, tfjs names): Concatenate along an axis and the element-wise Add, Subtract, Multiply,
 * Average and Maximum of 2 or more tensors. They take several inputs, so they are applied in functional models
 * (`rk.model`), not added to a sequential model. Masks of the inputs are combined as in Keras (logical AND).
 */
import { RnnError } from '../errors';
import { checkInteger, checkKnownKeys, optionsOrEmpty } from '../validate';
import type { NativeLayerSpec } from '../binding_types';
import { BaseLayerArgs, Layer, WeightSpec } from './layer';

/** Options of every merge layer: a name and whether it is trainable (merges have no weights). */
export type MergeLayerArgs = Omit<BaseLayerArgs, 'inputShape'>;
const MERGE_KEYS = ['name', 'trainable'] as const;

/** A per-sample shape for messages, with a time dimension of any length shown as null (as Keras prints None). */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((d) => (d === -1 ? 'null' : String(d))).join(', ')}]`;
}

function formatShapes(shapes: readonly (readonly number[])[]): string {
  return shapes.map(formatShape).join(', ');
}

/** Which element-wise merge (or concatenation) a merge layer computes; also its name prefix. */
export type MergeKind = 'add' | 'subtract' | 'multiply' | 'average' | 'maximum' | 'concatenate';

/** The base of the merge layers: 2 or more inputs (Subtract: exactly 2), no weights. */
export abstract class Merge extends Layer {
  /** Validates the options shared by merges; `kind` is the native op and the default name prefix. */
  protected constructor(args: MergeLayerArgs, private readonly kind: MergeKind, extraKeys: string[] = []) {
    const options = optionsOrEmpty(args, `${kind} layer options`);
    checkKnownKeys(options, [...MERGE_KEYS, ...extraKeys], `${kind} layer options`);
    super(options, kind);
  }

  /** A merge needs a list of inputs: one shape alone is a SHAPE error. */
  computeOutputShape(inputShape: readonly number[]): number[] {
    return this.computeOutputShapes([inputShape])[0];
  }

  /** Throws a SHAPE RnnError unless there are 2 or more inputs (exactly 2 for subtract). */
  protected checkCount(inputShapes: readonly (readonly number[])[]): void {
    const exactlyTwo = this.kind === 'subtract';
    if (exactlyTwo ? inputShapes.length !== 2 : inputShapes.length < 2) {
      throw new RnnError('SHAPE', `Expected ${exactlyTwo ? 'exactly 2' : 'at least 2'} input tensors for ${this.kind} layer '${this.name}' but received ${inputShapes.length}`);
    }
  }

  /** Merges have no weights. */
  weightSpecs(): WeightSpec[] {
    return [];
  }
  /** @internal */
  toNative(): NativeLayerSpec {
    return { kind: this.kind, name: this.name } as NativeLayerSpec;
  }
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: this.trainable };
  }
}

/** Element-wise merges: every input must have the same per-sample shape (no broadcasting). */
abstract class ElementwiseMerge extends Merge {
  computeOutputShapes(inputShapes: readonly (readonly number[])[]): number[][] {
    this.checkCount(inputShapes);
    const first = inputShapes[0];
    if (inputShapes.some((s) => s.length !== first.length || s.some((d, i) => d !== first[i]))) {
      throw new RnnError('SHAPE', `Expected inputs of one shape for layer '${this.name}' (${this.className}) but received ${formatShapes(inputShapes)}`);
    }
    return [first.slice()];
  }
}

/** Element-wise sum of its inputs. */
export class Add extends ElementwiseMerge {
  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: MergeLayerArgs = {}) {
    super(args, 'add');
  }
  get className(): string {
    return 'Add';
  }
}

/** `x0 - x1`, element-wise: exactly two inputs. */
export class Subtract extends ElementwiseMerge {
  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: MergeLayerArgs = {}) {
    super(args, 'subtract');
  }
  get className(): string {
    return 'Subtract';
  }
}

/** Element-wise product of its inputs. */
export class Multiply extends ElementwiseMerge {
  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: MergeLayerArgs = {}) {
    super(args, 'multiply');
  }
  get className(): string {
    return 'Multiply';
  }
}

/** Element-wise mean of its inputs. */
export class Average extends ElementwiseMerge {
  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: MergeLayerArgs = {}) {
    super(args, 'average');
  }
  get className(): string {
    return 'Average';
  }
}

/** Element-wise maximum of its inputs; the gradient goes to the first input holding the maximum (as tf.maximum). */
export class Maximum extends ElementwiseMerge {
  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: MergeLayerArgs = {}) {
    super(args, 'maximum');
  }
  get className(): string {
    return 'Maximum';
  }
}

/** Arguments of `rk.layers.concatenate`. */
export interface ConcatenateLayerArgs extends MergeLayerArgs {
  /**
   * The axis to join along, counting the batch dimension as 0 (Keras): on `[batch, time, features]` inputs, 1 is the
   * time axis and -1 (or 2) the features. Negative values count from the end. Default -1.
   */
  axis?: number;
}

/** Joins its inputs along one axis; off that axis their shapes must be equal. */
export class Concatenate extends Merge {
  /** The axis to join along (Keras: the batch dimension is 0, negative from the end). */
  readonly axis: number;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: ConcatenateLayerArgs = {}) {
    super(args, 'concatenate', ['axis']);
    const axis = args.axis === undefined ? -1 : checkInteger(args.axis, `${this.name}.axis`, { min: -64, max: 64 });
    if (axis === 0) throw new RnnError('ARGUMENT', `Expected an axis other than 0 (the batch dimension) for ${this.name}.axis but received 0`);
    this.axis = axis;
  }

  get className(): string {
    return 'Concatenate';
  }

  computeOutputShapes(inputShapes: readonly (readonly number[])[]): number[][] {
    this.checkCount(inputShapes);
    const rank = inputShapes[0].length;
    if (inputShapes.some((s) => s.length !== rank)) {
      throw new RnnError('SHAPE', `Expected inputs of one rank for layer '${this.name}' (Concatenate) but received ${formatShapes(inputShapes)}`);
    }
    const axis = this.axis < 0 ? rank + this.axis : this.axis - 1;
    if (axis < 0 || axis >= rank) {
      throw new RnnError('SHAPE', `Expected an axis within the ${rank + 1} dimensions of the inputs (batch included: 1..${rank} or -${rank}..-1) for layer '${this.name}' but received ${this.axis}`);
    }
    const output = inputShapes[0].slice();
    for (const shape of inputShapes.slice(1)) {
      if (shape.some((d, i) => i !== axis && d !== output[i])) {
        throw new RnnError('SHAPE', `Expected inputs of equal shapes except along axis ${this.axis} for layer '${this.name}' (Concatenate) but received ${formatShapes(inputShapes)}`);
      }
      output[axis] = output[axis] === -1 || shape[axis] === -1 ? -1 : output[axis] + shape[axis];
    }
    return [output];
  }

  /** @internal */
  toNative(): NativeLayerSpec {
    return { kind: 'concatenate', name: this.name, axis: this.axis };
  }
  getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}
