/**
 * Turning user data into checked tensors for a model, and cutting them into batches. Every check happens before any
 * training step, so bad data never touches the weights.
 */
import { RnnError } from '../errors';
import { checkFloat32, invalid, isPlainObject } from '../validate';
import { checkInChunks, gatherRows, Tensor, TensorLike, toTensor, toTensorAsync } from '../tensor';
import type { LossName } from './losses';
import type { NativeBatch } from '../native';

export interface ModelShapes {
  inputShape: readonly number[];
  outputShape: readonly number[];
  loss?: LossName;
  /** When the first layer is an embedding: its vocabulary size; inputs must be integer ids below it. */
  tokenLimit?: number;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * x as [N, ...inputShape]; a single sample without the batch dimension is not guessed at. The value checks run in
 * chunks with yields to the event loop between them (a large dataset must not stall the process).
 */
export async function prepareInputs(x: TensorLike, shapes: ModelShapes, name = 'x'): Promise<Tensor> {
  const t = await toTensorAsync(x, name);
  const expected = shapes.inputShape;
  const sampleShape = t.shape.slice(1);
  // -1: a time dimension of any length (one length per array: a batch of one input has one length).
  if (t.rank !== expected.length + 1 || sampleShape.some((d, i) => d !== expected[i] && !(expected[i] === -1 && d > 0))) {
    throw new RnnError('SHAPE', `Expected ${name} of shape [batch, ${expected.map((d) => (d === -1 ? 'null' : d)).join(', ')}] but received ${shapeText(t.shape)}`);
  }
  if (t.shape[0] === 0) throw new RnnError('SHAPE', `Expected at least one sample in ${name} but received an empty batch`);
  if (shapes.tokenLimit !== undefined) {
    const limit = shapes.tokenLimit;
    const steps = sampleShape[0];
    await checkInChunks(t.data.length, (from, to) => checkTokenIds(t.data, limit, name, from, to,
      (i) => `sample ${Math.floor(i / steps)}, step ${i % steps}`));
  }
  return t;
}

/**
 * The token id check of an input read by embeddings (model.predict / fit / evaluate, and the stream pool's id
 * chunks): values[from, to) must be integers in [0, limit); `at(i)` says where value i is. ARGUMENT otherwise.
 * @internal
 */
export function checkTokenIds(values: ArrayLike<number>, limit: number, name: string, from: number, to: number, at: (i: number) => string): void {
  for (let i = from; i < to; i++) {
    const id = values[i];
    if (!(Number.isInteger(id) && id >= 0 && id < limit)) {
      throw new RnnError('ARGUMENT', `Expected token ids that are integers in [0, ${limit}) in ${name} but received ${id} at ${at(i)}`);
    }
  }
}

/**
 * y as the flat targets the native loss expects: [N, ...outputShape], or for sparseCategoricalCrossentropy class
 * indices [N] (or [N, T] for sequence outputs; a trailing dimension of 1 is accepted).
 */
export async function prepareTargets(y: TensorLike, shapes: ModelShapes, samples: number, name = 'y'): Promise<Tensor> {
  const t = await toTensorAsync(y, name);
  if (t.shape[0] !== samples) {
    throw new RnnError('SHAPE', `Expected ${name} to hold ${samples} samples (one per sample of x) but received ${t.shape[0] ?? 0}`);
  }
  const out = shapes.outputShape;
  if (shapes.loss === 'sparseCategoricalCrossentropy') {
    const expected = out.slice(0, -1);
    let sampleShape = t.shape.slice(1);
    if (sampleShape.length === expected.length + 1 && sampleShape[sampleShape.length - 1] === 1) sampleShape = sampleShape.slice(0, -1);
    if (sampleShape.length !== expected.length || sampleShape.some((d, i) => d !== expected[i] && expected[i] !== -1)) {
      throw new RnnError('SHAPE', `Expected ${name} of class indices with shape [batch${expected.map((d) => `, ${d === -1 ? 'null' : d}`).join('')}] but received ${shapeText(t.shape)}`);
    }
    const classes = out[out.length - 1];
    for (let i = 0; i < t.data.length; i++) {
      const label = t.data[i];
      if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
        throw new RnnError('ARGUMENT', `Expected class indices that are integers in [0, ${classes}) in ${name} but received ${label} at position ${i}`);
      }
    }
    return new Tensor(t.data, [samples, ...sampleShape]);
  }
  const sampleShape = t.shape.slice(1);
  if (sampleShape.length !== out.length || sampleShape.some((d, i) => d !== out[i] && out[i] !== -1)) {
    const hint = out[out.length - 1] > 1 && sampleShape.length === out.length - 1
      ? ' (class indices need loss sparseCategoricalCrossentropy, or one-hot encode them)' : '';
    throw new RnnError('SHAPE', `Expected ${name} of shape [batch, ${out.map((d) => (d === -1 ? 'null' : d)).join(', ')}] but received ${shapeText(t.shape)}${hint}`);
  }
  return t;
}

/** Per-sample weights [N] from sampleWeight and/or classWeight (class = argmax of a one-hot row, or the index). */
export function prepareSampleWeights(
  samples: number, targets: Tensor, shapes: ModelShapes, sampleWeight?: TensorLike,
  classWeight?: Record<number, number>,
): Float32Array | undefined {
  const loss = shapes.loss;
  let weights: Float32Array | undefined;
  if (sampleWeight !== undefined) {
    const t = toTensor(sampleWeight, 'sampleWeight');
    if (t.size !== samples) throw new RnnError('SHAPE', `Expected ${samples} sample weights but received ${t.size}`);
    weights = Float32Array.from(t.data);
    weights.forEach((w, i) => {
      // A weight is multiplied into the loss gradient: Infinity or NaN there makes every weight of the model NaN.
      if (!(w >= 0 && Number.isFinite(w))) throw new RnnError('ARGUMENT', `Expected sample weights that are finite numbers >= 0 (in float32) but received ${w} at sample ${i}`);
    });
  }
  if (classWeight !== undefined) {
    if (!isPlainObject(classWeight)) throw invalid('ARGUMENT', 'an object { classIndex: weight }', 'classWeight', classWeight);
    const perSample = targets.size / samples;
    const sparse = loss === 'sparseCategoricalCrossentropy';
    if (!sparse && perSample !== targets.shape[targets.rank - 1]) {
      throw new RnnError('ARGUMENT', 'Expected classWeight only for models with one label per sample (not sequence outputs)');
    }
    const classes = sparse ? shapes.outputShape[shapes.outputShape.length - 1] : Math.max(perSample, 2);
    const table = classWeightTable(classWeight as Record<string, unknown>, classes);
    weights = weights ?? new Float32Array(samples).fill(1);
    for (let i = 0; i < samples; i++) {
      let cls: number;
      if (sparse) cls = targets.data[i];
      else if (perSample === 1) cls = targets.data[i] > 0.5 ? 1 : 0;
      else {
        cls = 0;
        for (let c = 1; c < perSample; c++) if (targets.data[i * perSample + c] > targets.data[i * perSample + cls]) cls = c;
      }
      const w = table.get(cls);
      if (w !== undefined) {
        weights[i] *= w;
        if (!Number.isFinite(weights[i])) {
          throw new RnnError('ARGUMENT', `Expected sampleWeight x classWeight to stay finite in float32 but sample ${i} (class ${cls}) received ${weights[i]}`);
        }
      }
    }
  }
  return weights;
}

/**
 * classWeight as a Map from class index to weight. Only own keys count (a prototype key such as 'toString' is not
 * a class), each must be a class index of this model, and each weight a finite float32 >= 0: `Infinity` or `1e39`
 * (Infinity in float32) would make every weight of the model NaN.
 */
function classWeightTable(classWeight: Record<string, unknown>, classes: number): Map<number, number> {
  const table = new Map<number, number>();
  for (const key of Object.keys(classWeight)) {
    const cls = Number(key);
    if (!(Number.isInteger(cls) && cls >= 0 && cls < classes && String(cls) === key)) {
      throw invalid('ARGUMENT', `class indices in [0, ${classes}) as keys`, 'classWeight', key);
    }
    table.set(cls, checkFloat32(classWeight[key], `classWeight[${key}]`, { min: 0 }));
  }
  return table;
}

/** Rows `indices[start..end)` of t, contiguous: a view when already contiguous, else gathered into a reused buffer. */
class RowSource {
  private buffer?: Float32Array;
  readonly rowSize: number;
  constructor(readonly tensor: Tensor) {
    this.rowSize = tensor.size / tensor.shape[0];
  }
  rows(indices: Int32Array | null, start: number, end: number): Float32Array {
    if (indices === null) return this.tensor.data.subarray(start * this.rowSize, end * this.rowSize);
    const size = (end - start) * this.rowSize;
    if (this.buffer === undefined || this.buffer.length < size) this.buffer = new Float32Array(size);
    return gatherRows(this.tensor, indices.subarray(start, end), this.buffer);
  }
}

/** Samples per step or forward pass when no batchSize is given (Keras). */
export const DEFAULT_BATCH_SIZE = 32;

/** Reusable gather buffers for one stream of batches of a model's inputs (and targets and sample weights). */
export class Batcher {
  private readonly xs: RowSource[];
  private readonly ys?: RowSource[];
  private wBuffer?: Float32Array;

  constructor(xs: readonly Tensor[], ys?: readonly Tensor[], private readonly weights?: Float32Array) {
    this.xs = xs.map((t) => new RowSource(t));
    this.ys = ys?.map((t) => new RowSource(t));
  }

  /** The rows `indices[start..end)` (or start..end in order when indices is null) as one native batch. */
  batch(indices: Int32Array | null, start: number, end: number): NativeBatch & { size: number } {
    const size = end - start;
    const result: NativeBatch & { size: number } = {
      batch: size, size,
      inputs: this.xs.map((x) => x.rows(indices, start, end)),
      shapes: this.xs.map((x) => x.tensor.shape.slice(1)),
      sampleWeights: null,
    };
    if (this.ys) result.targets = this.ys.map((y) => y.rows(indices, start, end));
    if (this.weights) {
      if (indices === null) result.sampleWeights = this.weights.subarray(start, end);
      else {
        if (this.wBuffer === undefined || this.wBuffer.length < size) this.wBuffer = new Float32Array(size);
        for (let i = 0; i < size; i++) this.wBuffer[i] = this.weights[indices[start + i]];
        result.sampleWeights = this.wBuffer.subarray(0, size);
      }
    }
    return result;
  }
}
