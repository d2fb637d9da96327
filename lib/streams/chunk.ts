/**
 * What `pool.step` accepts, turned into the flat float32 rows the pool batches: one step `[F]` or a chunk `[t, F]` per
 * model input (nested arrays, a Float32Array of t*F values, or a Tensor). A model with several inputs takes an array
 * with one entry per input (model input order); any model takes an object keyed by input name. Every input's chunk
 * has the same number of steps t. Everything is checked and copied before the pool queues anything, so a refused
 * step changes no stream.
 */
import { RnnError } from '../errors';
import { Tensor } from '../tensor';
import { describeValue, isPlainObject } from '../validate';

/** A step or a chunk of one input: [F], [t, F] (nested arrays or a Tensor), or t*F values. */
export type StreamInput = Tensor | number[] | number[][] | Float32Array;

/**
 * What pool.step takes: a StreamInput for a model with one input; for several inputs an array of StreamInputs in
 * model input order; for any model an object keyed by input name.
 */
export type StreamStep = StreamInput | StreamInput[] | { [inputName: string]: StreamInput };

/** One queued step: the copied values of every input ([t * F_i] each) and its number of steps t. @internal */
export interface StepValues {
  values: Float32Array[];
  steps: number;
}

/** The copied values of one input's step or chunk; `label` names the input in messages ('' for a single input). */
function chunkValues(x: unknown, features: number, label: string): Float32Array {
  const F = features;
  let values: Float32Array;
  if (x instanceof Tensor) {
    const rank = x.shape.length;
    if ((rank !== 1 && rank !== 2) || x.shape[rank - 1] !== F || (rank === 2 && x.shape[0] < 1)) {
      throw new RnnError('SHAPE', `Expected a step [${F}] or a chunk [t, ${F}]${label} but received a tensor [${x.shape.join(', ')}]`);
    }
    values = Float32Array.from(x.dataSync());
  } else if (x instanceof Float32Array) {
    if (x.length === 0 || x.length % F !== 0) throw new RnnError('SHAPE', `Expected a step of ${F} features (or t*${F} values)${label} but received ${x.length} values`);
    values = x.slice();
  } else if (Array.isArray(x) && x.length > 0 && x.every((v) => typeof v === 'number')) {
    if (x.length !== F) throw new RnnError('SHAPE', `Expected a step of ${F} features${label} but received ${x.length}`);
    values = Float32Array.from(x as number[]);
  } else if (Array.isArray(x) && x.length > 0 && x.every((r) => Array.isArray(r))) {
    values = new Float32Array(x.length * F);
    (x as number[][]).forEach((row, t) => {
      if (row.length !== F || !row.every((v) => typeof v === 'number')) throw new RnnError('SHAPE', `Expected step ${t} of the chunk${label} to hold ${F} numbers but received ${describeValue(row)}`);
      values.set(row, t * F);
    });
  } else {
    throw new RnnError('ARGUMENT', `Expected a step [${F}] or a chunk [t, ${F}]${label} (numbers, nested arrays, a Float32Array or a Tensor) but received ${describeValue(x)}`);
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RnnError('NOT_FINITE', `Expected finite step values${label} but value ${i} is ${values[i]}`);
  }
  return values;
}

/** The per-input entries of a multi-input step, in model input order. */
function perInput(x: unknown, names: readonly string[]): unknown[] {
  const list = names.map((n) => `'${n}'`).join(', ');
  if (Array.isArray(x)) {
    if (x.length !== names.length) {
      throw new RnnError('ARGUMENT', `Expected a step for each of the ${names.length} model inputs (${list}) but received an array of ${x.length}`);
    }
    return x;
  }
  if (isPlainObject(x)) {
    const unknown = Object.keys(x).find((key) => !names.includes(key));
    if (unknown !== undefined) throw new RnnError('ARGUMENT', `Expected a step keyed by the model inputs ${list} but received key '${unknown}'`);
    return names.map((n) => {
      if (!Object.prototype.hasOwnProperty.call(x, n)) throw new RnnError('ARGUMENT', `Expected a step for model input '${n}' but it is missing`);
      return x[n];
    });
  }
  throw new RnnError('ARGUMENT', `Expected a step as an array of ${names.length} (${list}) or an object keyed by those input names but received ${describeValue(x)}`);
}

/**
 * Checks and copies one pool.step argument for a model whose inputs have `features[i]` features and names `names`.
 * @internal
 */
export function stepValues(x: unknown, features: readonly number[], names: readonly string[]): StepValues {
  if (features.length === 1 && !isPlainObject(x)) {
    const values = chunkValues(x, features[0], '');
    return { values: [values], steps: values.length / features[0] };
  }
  const values = perInput(x, names).map((entry, i) => chunkValues(entry, features[i], ` for input '${names[i]}'`));
  const steps = values.map((v, i) => v.length / features[i]);
  const bad = steps.findIndex((t) => t !== steps[0]);
  if (bad >= 0) {
    throw new RnnError('SHAPE', `Expected the same number of steps for every input but input '${names[0]}' has ${steps[0]} and input '${names[bad]}' has ${steps[bad]}`);
  }
  return { values, steps: steps[0] };
}
