/**
 * What `pool.step` accepts, turned into the flat float32 rows the pool batches, per model input:
 * - a sequence input `[null, F]`: one step `[F]` or a chunk `[t, F]` (nested arrays, a Float32Array of t*F values,
 *   or a Tensor);
 * - an id sequence input `[null]` read by an embedding: one id (a number) or a chunk of ids `[t]` (an array, a
 *   Float32Array or Int32Array, or a Tensor [t]); ids are checked as model.predict checks them (integers in
 *   [0, inputDim));
 * - a non-sequence input `[F]` (a conditioning vector beside the sequences): its F values, given with EVERY
 *   pool.step and applied to every step of that chunk, as model.predict applies it to the whole sequence. The pool
 *   keeps no per-stream inputs: a step without it is refused.
 * A model with several inputs takes an array with one entry per input (model input order); any model takes an
 * object keyed by input name. Every sequence input's chunk has the same number of steps t. Everything is checked and
 * copied before the pool queues anything, so a refused step changes no stream.
 */
import { RnnError } from '../errors';
import { Tensor } from '../tensor';
import { checkTokenIds } from '../training/data';
import { describeValue, isPlainObject } from '../validate';

/** One input's step or chunk: [F] or [t, F] (nested arrays or a Tensor), t*F values, one id, or ids [t]. */
export type StreamInput = Tensor | number | number[] | number[][] | Float32Array | Int32Array;

/**
 * What pool.step takes: a StreamInput for a model with one input; for several inputs an array of StreamInputs in
 * model input order; for any model an object keyed by input name.
 */
export type StreamStep = StreamInput | StreamInput[] | { [inputName: string]: StreamInput };

/**
 * How the pool reads one model input: 'sequence' ([null, F]: F floats per step), 'ids' ([null] or a fixed [T] read
 * by an embedding, or [null]: one value per step, an id below tokenLimit when an embedding reads it), 'vector'
 * ([F]: one per pool.step, not per time step). @internal
 */
export interface StreamInputSpec {
  name: string;
  kind: 'sequence' | 'ids' | 'vector';
  /** Values per step (sequence), 1 (ids), values per call (vector). */
  features: number;
  /** The vocabulary of the embeddings reading an id input. */
  tokenLimit?: number;
  /**
   * The padding value of a masking layer (all features equal to it) or a maskZero embedding (id 0) reading the input.
   * Such steps are refused: rnnkit masks are windows (first to last unmasked step of a sequence), so padding inside
   * a chunk would run as an ordinary step but be skipped at a chunk's edge, and a stream would depend on how it was
   * cut. A stream needs no padding.
   */
  padding?: number;
}

/** One queued step: the copied values of every input ([t * F_i], [t] or [F_i] each) and its number of steps t. @internal */
export interface StepValues {
  values: Float32Array[];
  steps: number;
}

/** Refuses a padded step (see StreamInputSpec.padding): `width` values per step. */
function unpadded(values: Float32Array, spec: StreamInputSpec, width: number, label: string): Float32Array {
  const pad = spec.padding;
  if (pad === undefined) return values;
  for (let t = 0; t * width < values.length; t++) {
    if (values.subarray(t * width, (t + 1) * width).every((v) => v === pad)) {
      throw new RnnError('ARGUMENT', `Expected no padding in a stream but step ${t} of the chunk${label} is all ${pad}, which the model masks as padding (a stream pool runs only real steps and needs no padding)`);
    }
  }
  return values;
}

function finite(values: Float32Array, label: string): Float32Array {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RnnError('NOT_FINITE', `Expected finite step values${label} but value ${i} is ${values[i]}`);
  }
  return values;
}

const isNumbers = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((v) => typeof v === 'number');

/** The copied values of one sequence input's step or chunk; `label` names the input in messages ('' for a single input). */
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
  } else if (isNumbers(x)) {
    if (x.length !== F) throw new RnnError('SHAPE', `Expected a step of ${F} features${label} but received ${x.length}`);
    values = Float32Array.from(x);
  } else if (Array.isArray(x) && x.length > 0 && x.every((r) => Array.isArray(r))) {
    values = new Float32Array(x.length * F);
    (x as number[][]).forEach((row, t) => {
      if (row.length !== F || !row.every((v) => typeof v === 'number')) throw new RnnError('SHAPE', `Expected step ${t} of the chunk${label} to hold ${F} numbers but received ${describeValue(row)}`);
      values.set(row, t * F);
    });
  } else {
    throw new RnnError('ARGUMENT', `Expected a step [${F}] or a chunk [t, ${F}]${label} (numbers, nested arrays, a Float32Array or a Tensor) but received ${describeValue(x)}`);
  }
  return finite(values, label);
}

/** The copied ids of one id input's step (a number) or chunk [t], checked as model.predict checks them. */
function idValues(x: unknown, spec: StreamInputSpec, label: string): Float32Array {
  let values: Float32Array;
  if (typeof x === 'number') values = Float32Array.of(x);
  else if (isNumbers(x) || ((x instanceof Float32Array || x instanceof Int32Array) && x.length > 0)) values = Float32Array.from(x);
  else if (x instanceof Tensor && x.shape.length === 1 && x.shape[0] > 0) values = Float32Array.from(x.dataSync());
  else {
    const got = x instanceof Tensor ? `a tensor [${x.shape.join(', ')}]` : describeValue(x);
    const code = x instanceof Tensor || Array.isArray(x) ? 'SHAPE' : 'ARGUMENT';
    throw new RnnError(code, `Expected one id (a number) or a chunk of ids [t] (an array, Float32Array, Int32Array or Tensor)${label} but received ${got}`);
  }
  finite(values, label);
  if (spec.tokenLimit !== undefined) {
    checkTokenIds(values, spec.tokenLimit, label === '' ? 'the step' : `the step${label}`, 0, values.length, (i) => `step ${i} of the chunk`);
  }
  return unpadded(values, spec, 1, label);
}

/** The copied values of a non-sequence input [F]: one per pool.step, for every step of the chunk. */
function vectorValues(x: unknown, spec: StreamInputSpec, label: string): Float32Array {
  const F = spec.features;
  const ok = (x instanceof Tensor && x.shape.length === 1 && x.shape[0] === F)
    || ((isNumbers(x) || x instanceof Float32Array) && x.length === F);
  if (!ok) {
    const got = x instanceof Tensor ? `a tensor [${x.shape.join(', ')}]` : Array.isArray(x) || x instanceof Float32Array ? `${describeValue(x)} (${x.length} entries)` : describeValue(x);
    throw new RnnError(Array.isArray(x) || x instanceof Tensor || x instanceof Float32Array ? 'SHAPE' : 'ARGUMENT',
      `Expected the ${F} values of non-sequence input '${spec.name}' (one [${F}] with every pool.step, used for every step of the chunk; not one per time step) but received ${got}`);
  }
  return finite(x instanceof Tensor ? Float32Array.from(x.dataSync()) : Float32Array.from(x as ArrayLike<number>), label);
}

/** The per-input entries of a multi-input step, in model input order. */
function perInput(x: unknown, specs: readonly StreamInputSpec[]): unknown[] {
  const names = specs.map((s) => s.name);
  const list = names.map((n) => `'${n}'`).join(', ');
  if (Array.isArray(x)) {
    if (x.length !== names.length) {
      throw new RnnError('ARGUMENT', `Expected a step for each of the ${names.length} model inputs (${list}) but received an array of ${x.length}${missingHint(specs)}`);
    }
    return x;
  }
  if (isPlainObject(x)) {
    const unknown = Object.keys(x).find((key) => !names.includes(key));
    if (unknown !== undefined) throw new RnnError('ARGUMENT', `Expected a step keyed by the model inputs ${list} but received key '${unknown}'`);
    return names.map((n) => {
      if (!Object.prototype.hasOwnProperty.call(x, n)) throw new RnnError('ARGUMENT', `Expected a step for model input '${n}' but it is missing${missingHint(specs, n)}`);
      return x[n];
    });
  }
  throw new RnnError('ARGUMENT', `Expected a step as an array of ${names.length} (${list}) or an object keyed by those input names but received ${describeValue(x)}`);
}

/** Why every pool.step names the non-sequence inputs: the pool keeps no per-stream inputs. */
function missingHint(specs: readonly StreamInputSpec[], name?: string): string {
  const vectors = specs.filter((s) => s.kind === 'vector' && (name === undefined || s.name === name)).map((s) => `'${s.name}'`);
  return vectors.length === 0 ? '' : ` (non-sequence input ${vectors.join(', ')} is given with every pool.step; the pool keeps no per-stream inputs)`;
}

function oneInput(x: unknown, spec: StreamInputSpec, label: string): Float32Array {
  if (spec.kind === 'ids') return idValues(x, spec, label);
  if (spec.kind === 'vector') return vectorValues(x, spec, label);
  return unpadded(chunkValues(x, spec.features, label), spec, spec.features, label);
}

/** Checks and copies one pool.step argument for a model whose inputs are read as `specs` say. @internal */
export function stepValues(x: unknown, specs: readonly StreamInputSpec[]): StepValues {
  if (specs.length === 1 && (x instanceof Float32Array || !isPlainObject(x))) {  // a typed array is no plain object
    const values = oneInput(x, specs[0], '');
    return { values: [values], steps: values.length / specs[0].features };
  }
  const values = perInput(x, specs).map((entry, i) => oneInput(entry, specs[i], ` for input '${specs[i].name}'`));
  const sequences = specs.map((s, i) => i).filter((i) => specs[i].kind !== 'vector');
  const steps = sequences.map((i) => values[i].length / specs[i].features);
  const bad = steps.findIndex((t) => t !== steps[0]);
  if (bad >= 0) {
    throw new RnnError('SHAPE', `Expected the same number of steps for every sequence input but input '${specs[sequences[0]].name}' has ${steps[0]} and input '${specs[sequences[bad]].name}' has ${steps[bad]}`);
  }
  return { values, steps: steps[0] };
}
