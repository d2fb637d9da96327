/**
 * A minimal dense float32 tensor (row-major) and the conversions from what users pass in:
 * nested arrays, flat arrays with a shape, Float32Array rows, and @tensorflow/tfjs tensors.
 */
import { types } from 'util';
import { RnnError } from './errors';
import { loadNative } from './native';
import { describeValue, invalid } from './validate';

/** Nested number arrays, as returned by tfjs `tensor.arraySync()`. */
export type NestedArray = Array<number | NestedArray>;

/** Anything with a shape and a `dataSync()`, e.g. a @tensorflow/tfjs tensor. */
export interface TensorLikeObject {
  /** The tensor's shape, e.g. `[batch, timeSteps, features]`. */
  shape: number[];
  /** tfjs dtype; only 'float32' and 'int32' are accepted. Default: treated as numeric. */
  dtype?: string;
  /** The values, row-major. */
  dataSync(): ArrayLike<number>;
}

/** Inputs accepted wherever rnnkit takes data. `Float32Array[]` is a list of rows (rank 2). */
export type TensorLike = Tensor | NestedArray | number[] | Float32Array[] | TensorLikeObject;

function product(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function checkShape(shape: unknown, name: string): readonly number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid('SHAPE', 'an array of non-negative integers', name, shape);
  }
  return shape as number[];
}

/** Set only inside trustedTensor: the frozen, already checked shape the constructor takes as is. */
let trustedShape: readonly number[] | undefined;

/** A dense row-major float32 tensor. The data is not copied: the tensor wraps the given buffer. */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** The values in row-major order; `data.length` equals the product of `shape`. */
  readonly data: Float32Array;

  /** Wraps `data` (no copy); throws a `SHAPE` {@link RnnError} if its length is not the product of `shape`. */
  constructor(data: Float32Array, shape: readonly number[]) {
    if (trustedShape !== undefined) {
      // trustedTensor: shape frozen and data.length checked by the caller, once for many tensors.
      this.shape = trustedShape;
      this.data = data;
      return;
    }
    if (!types.isFloat32Array(data)) throw invalid('DTYPE', 'a Float32Array', 'tensor data', data);
    const checked = checkShape(shape, 'tensor shape');
    if (data.length !== product(checked)) {
      throw new RnnError(
        'SHAPE',
        `Expected ${product(checked)} values for shape ${formatShape(checked)} but received ${data.length}`,
      );
    }
    this.shape = Object.freeze(checked.slice());
    this.data = data;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** The values as nested arrays, like tfjs `arraySync()`. Rank-0 tensors are rejected (use `dataSync()[0]`). */
  array(): NestedArray {
    if (this.rank === 0) {
      throw new RnnError('SHAPE', 'Expected a tensor of rank >= 1 for array() but received a scalar; use dataSync()[0]');
    }
    return nest(this.data, this.shape, 0, 0) as NestedArray;
  }

  /** The backing buffer itself (no copy), like tfjs `dataSync()`. Writing to it changes the tensor. */
  dataSync(): Float32Array {
    return this.data;
  }

  /** The same data viewed with another shape; one dimension may be -1 and is then inferred. */
  reshape(shape: readonly number[]): Tensor {
    if (!Array.isArray(shape)) throw invalid('SHAPE', 'an array', 'reshape shape', shape);
    const inferred = shape.indexOf(-1);
    if (inferred >= 0 && shape.lastIndexOf(-1) === inferred) {
      const known = product(shape.filter((_, i) => i !== inferred));
      if (known > 0 && this.size % known === 0) {
        const resolved = shape.slice();
        resolved[inferred] = this.size / known;
        return new Tensor(this.data, resolved);
      }
    }
    const checked = checkShape(shape, 'reshape shape');
    if (product(checked) !== this.size) {
      throw new RnnError(
        'SHAPE',
        `Expected a shape with ${this.size} elements for reshape of ${formatShape(this.shape)} ` +
          `but received ${formatShape(checked)} (${product(checked)} elements)`,
      );
    }
    return new Tensor(this.data, checked);
  }

  /** A short description: shape and the first values, e.g. `Tensor [2, 3] [0.1, 0.2, ...]`. */
  toString(): string {
    return `Tensor${formatShape(this.shape)}`;
  }
}

function nest(data: Float32Array, shape: readonly number[], dim: number, offset: number): NestedArray | number[] {
  const length = shape[dim];
  if (dim === shape.length - 1) return Array.from(data.subarray(offset, offset + length));
  const stride = product(shape.slice(dim + 1));
  const out: NestedArray = new Array(length);
  for (let i = 0; i < length; i++) out[i] = nest(data, shape, dim + 1, offset + i * stride);
  return out;
}

/** `values` is a row: a plain array or a non-BigInt typed array. */
function isRow(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (types.isTypedArray(v) && !types.isBigInt64Array(v) && !types.isBigUint64Array(v));
}

/** Shape of a nested array, read along the first element of every level. */
function inferShape(values: ArrayLike<unknown>): number[] {
  const shape: number[] = [];
  let level: unknown = values;
  while (isRow(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function pathOf(name: string, index: readonly number[], depth: number): string {
  let path = name;
  for (let d = 0; d < depth; d++) path += `[${index[d]}]`;
  return path;
}

/**
 * Copies a nested array into `out` in row-major order, checking it is rectangular with `shape` and holds only
 * numbers. `index` holds the current position for error messages.
 */
function fillNested(
  level: ArrayLike<unknown>, shape: readonly number[], depth: number, out: Float32Array, offset: number,
  name: string, index: number[],
): number {
  if (level.length !== shape[depth]) {
    throw new RnnError(
      'SHAPE',
      `Expected a rectangular array for ${name} (shape ${formatShape(shape)} from its first elements) ` +
        `but ${pathOf(name, index, depth)} has length ${level.length}, expected ${shape[depth]}`,
    );
  }
  const leaf = depth === shape.length - 1;
  for (let i = 0; i < level.length; i++) {
    const item = level[i];
    index[depth] = i;
    if (leaf) {
      if (typeof item !== 'number') {
        const code = isRow(item) ? 'SHAPE' : 'DTYPE';
        throw invalid(code, 'a number', pathOf(name, index, depth + 1), item);
      }
      out[offset++] = item;
    } else {
      if (!isRow(item)) {
        const code = typeof item === 'number' ? 'SHAPE' : 'DTYPE';
        throw invalid(code, `an array of length ${shape[depth + 1]}`, pathOf(name, index, depth + 1), item);
      }
      offset = fillNested(item, shape, depth + 1, out, offset, name, index);
    }
  }
  return offset;
}

function fromArray(values: ArrayLike<unknown>, name: string, shape?: readonly number[]): Tensor {
  const inferred = inferShape(values);
  const data = new Float32Array(product(inferred));
  fillNested(values, inferred, 0, data, 0, name, []);
  if (shape === undefined) return new Tensor(data, inferred);
  checkShape(shape, `shape for ${name}`);
  if (product(shape) !== data.length) {
    throw new RnnError(
      'SHAPE',
      `Expected ${product(shape)} values for ${name} with shape ${formatShape(shape)} but received ${data.length}`,
    );
  }
  return new Tensor(data, shape);
}

/**
 * Creates a tensor, like tf.tensor. Flat values (a Float32Array or number[]) take the given shape or become
 * rank 1; nested arrays infer their shape (which must be rectangular) and may be given a shape of the same size.
 * A Float32Array is wrapped without copying; arrays are copied.
 */
export function tensor(values: Float32Array | number[] | NestedArray | Float32Array[], shape?: number[]): Tensor {
  if (types.isFloat32Array(values)) {
    if (shape === undefined) return new Tensor(values, [values.length]);
    return new Tensor(values, checkShape(shape, 'tensor shape'));
  }
  if (!Array.isArray(values)) throw invalid('DTYPE', 'a Float32Array or an array of numbers', 'values', values);
  return fromArray(values, 'values', shape);
}

/** Options of {@link toTensor}. */
export interface ToTensorOptions {
  /** Required rank, or list of accepted ranks. Default: any rank. */
  rank?: number | number[];
  /** Accept NaN and +-Infinity. Default: false (they raise a `NOT_FINITE` error). */
  allowNonFinite?: boolean;
}

function isTensorLikeObject(v: object): v is TensorLikeObject {
  const candidate = v as Partial<TensorLikeObject>;
  return Array.isArray(candidate.shape) && typeof candidate.dataSync === 'function';
}

function fromTensorLikeObject(input: TensorLikeObject, name: string): Tensor {
  const dtype: unknown = input.dtype;
  if (dtype !== undefined && dtype !== 'float32' && dtype !== 'int32') {
    throw invalid('DTYPE', "a tensor of dtype 'float32' or 'int32'", name, dtype);
  }
  const shape = checkShape(input.shape.slice(), `shape of ${name}`);
  const values = input.dataSync();
  if (values.length !== product(shape)) {
    throw new RnnError('SHAPE', `Expected ${product(shape)} values for ${name} but dataSync() returned ${values.length}`);
  }
  // Copy: the source may be a tfjs buffer that gets disposed or reused.
  return new Tensor(Float32Array.from(values), shape);
}

function toTensorUnchecked(input: TensorLike, name: string): Tensor {
  if (input instanceof Tensor) return input;
  if (Array.isArray(input)) return fromArray(input, name);
  if (typeof input === 'object' && input !== null && isTensorLikeObject(input)) {
    return fromTensorLikeObject(input, name);
  }
  throw invalid('DTYPE', 'a Tensor, a (nested) array of numbers or a tfjs tensor', name, input);
}

function unravel(flatIndex: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flatIndex % shape[d];
    flatIndex = Math.floor(flatIndex / shape[d]);
  }
  return index;
}

function checkFiniteRange(t: Tensor, name: string, from: number, to: number): void {
  // The scan is native (a JavaScript loop costs ~3 ns per value: 0.7 ms per 200k-value batch).
  const i = loadNative().firstNonFinite(t.data, from, to);
  if (i >= 0) {
    throw new RnnError(
      'NOT_FINITE',
      `Expected finite values for ${name} but ${pathOf(name, unravel(i, t.shape), t.rank)} ` +
        `(flat index ${i}) is ${describeValue(t.data[i])}`,
    );
  }
}

function checkFinite(t: Tensor, name: string): void {
  checkFiniteRange(t, name, 0, t.size);
}

/**
 * Values checked between two yields to the event loop in the async checks: about 1-3 ms of JavaScript for the
 * token-id checks; the native finiteness scan gets through a chunk in well under a millisecond.
 */
export const CHECK_CHUNK = 1 << 20;

/**
 * Calls check(from, to) over [0, length) in chunks of CHECK_CHUNK, yielding to the event loop between chunks, so
 * validating a large dataset never blocks the process for long. Small inputs run in one go without yielding.
 */
export async function checkInChunks(length: number, check: (from: number, to: number) => void): Promise<void> {
  for (let from = 0; from < length; from += CHECK_CHUNK) {
    if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    check(from, Math.min(length, from + CHECK_CHUNK));
  }
}

/** {@link toTensor} for the async APIs: the finiteness check yields to the event loop on large inputs. */
export async function toTensorAsync(input: TensorLike, name: string, opts: ToTensorOptions = {}): Promise<Tensor> {
  const t = toTensor(input, name, { ...opts, allowNonFinite: true });
  if (opts.allowNonFinite !== true) await checkInChunks(t.size, (from, to) => checkFiniteRange(t, name, from, to));
  return t;
}

/**
 * Converts any {@link TensorLike} to a {@link Tensor} without mutating it (a Tensor is returned as is; tfjs tensors
 * are copied), then checks its rank (`SHAPE`) and, unless `allowNonFinite`, that every value is finite
 * (`NOT_FINITE`). Non-numeric input raises `DTYPE`. `name` is used in messages, e.g. `'x'`.
 */
export function toTensor(input: TensorLike, name: string, opts: ToTensorOptions = {}): Tensor {
  const t = toTensorUnchecked(input, name);
  if (opts.rank !== undefined) {
    const ranks = typeof opts.rank === 'number' ? [opts.rank] : opts.rank;
    if (!ranks.includes(t.rank)) {
      throw new RnnError(
        'SHAPE',
        `Expected a tensor of rank ${ranks.join(' or ')} for ${name} but received shape ${formatShape(t.shape)}`,
      );
    }
  }
  if (opts.allowNonFinite !== true) checkFinite(t, name);
  return t;
}

function checkRowIndex(index: number, rows: number, position: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= rows) {
    throw invalid('ARGUMENT', `a row index in [0, ${rows})`, `indices[${position}]`, index);
  }
}

/**
 * Copies rows `indices` of dim 0 of `t` into one contiguous buffer: `[indices.length, ...t.shape.slice(1)]`.
 * Reuses `out` (returning a view of its start) when it is large enough, else allocates.
 */
export function gatherRows(t: Tensor, indices: ArrayLike<number>, out?: Float32Array): Float32Array {
  if (t.rank === 0) throw new RnnError('SHAPE', 'Expected a tensor of rank >= 1 for gatherRows but received a scalar');
  const rows = t.shape[0];
  const rowSize = rows === 0 ? 0 : t.size / rows;
  const needed = indices.length * rowSize;
  const target = out !== undefined && out.length >= needed ? out.subarray(0, needed) : new Float32Array(needed);
  const data = t.data;
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i];
    checkRowIndex(row, rows, i);
    const from = row * rowSize;
    if (rowSize >= 16) {
      target.set(data.subarray(from, from + rowSize), i * rowSize);
    } else {
      // Short rows (labels): a plain loop beats allocating a subarray view per row.
      for (let k = 0; k < rowSize; k++) target[i * rowSize + k] = data[from + k];
    }
  }
  return target;
}

/**
 * Rows `[start, end)` of dim 0 as a view sharing `t`'s buffer (no copy). `end` is clamped to the number of rows,
 * like `Array.prototype.slice`, so the last partial batch needs no special case.
 */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  if (t.rank === 0) throw new RnnError('SHAPE', 'Expected a tensor of rank >= 1 for sliceRows but received a scalar');
  const rows = t.shape[0];
  if (!Number.isInteger(start) || start < 0 || start > rows) {
    throw invalid('ARGUMENT', `an integer in [0, ${rows}]`, 'start', start);
  }
  if (!Number.isInteger(end) || end < start) throw invalid('ARGUMENT', `an integer >= start (${start})`, 'end', end);
  const stop = Math.min(end, rows);
  const rowSize = rows === 0 ? 0 : t.size / rows;
  return new Tensor(t.data.subarray(start * rowSize, stop * rowSize), [stop - start, ...t.shape.slice(1)]);
}

/**
 * A tensor over `data` with `shape` as is, without the constructor's checks: for hot paths (the stream pool's
 * per-stream outputs) that make many tensors of one shape. `shape` must be a frozen array of non-negative integers
 * (see {@link frozenShape}) whose product is `data.length`; it is shared, not copied. @internal
 */
export function trustedTensor(data: Float32Array, shape: readonly number[]): Tensor {
  trustedShape = shape;
  try {
    return new Tensor(data, shape);
  } finally {
    trustedShape = undefined;
  }
}

/**
 * `shape` checked as the Tensor constructor checks it (SHAPE error) and frozen, for {@link trustedTensor}; throws
 * if `size` is not its product. @internal
 */
export function frozenShape(shape: readonly number[], size: number): readonly number[] {
  const checked = checkShape(shape, 'tensor shape');
  if (size !== product(checked)) {
    throw new RnnError('SHAPE', `Expected ${product(checked)} values for shape ${formatShape(checked)} but received ${size}`);
  }
  return Object.freeze(checked.slice());
}
