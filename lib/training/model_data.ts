/**
 * A model's data as one array per input and per output: x and y may be a tensor (one input / output), an array in
 * input / output order, or an object keyed by input / output name. Every array is checked against the model
 * (shape, token ids, class indices, one sample count for all) before any batch runs.
 */
import { RnnError } from '../errors';
import { sliceRows, Tensor, TensorLike } from '../tensor';
import { describeValue, isPlainObject } from '../validate';
import { ModelShapes, prepareInputs, prepareSampleWeights, prepareTargets } from './data';
import type { LossName } from './losses';

/** Data for a model's inputs or outputs: one tensor, an array in order, or an object keyed by name. */
export type ModelData = TensorLike | TensorLike[] | Record<string, TensorLike>;

/** What a model's data must look like. @internal */
export interface DataSpec {
  inputs: { name: string; shape: readonly number[]; tokenLimit?: number }[];
  outputs: { name: string; shape: readonly number[] }[];
  /** Per output, when compiled. */
  losses?: LossName[];
}

/** Prepared data: one tensor per input (and per output), all with `samples` rows. @internal */
export interface PreparedData {
  samples: number;
  xs: Tensor[];
  ys?: Tensor[];
  weights?: Float32Array;
}

function isTensorLikeObject(v: unknown): boolean {
  return v instanceof Tensor || (typeof v === 'object' && v !== null && typeof (v as { dataSync?: unknown }).dataSync === 'function');
}

/**
 * `value` as one entry per name. With one name, anything but an object keyed by that name or a one-element array of
 * tensors is the data itself (a nested number array is one tensor, not a list).
 */
export function splitByName(value: unknown, names: readonly string[], what: string): TensorLike[] {
  if (isPlainObject(value) && !isTensorLikeObject(value)) {
    const keys = Object.keys(value);
    const unknown = keys.find((k) => !names.includes(k));
    if (unknown !== undefined) throw new RnnError('ARGUMENT', `Expected ${what} keyed by ${names.map((n) => `'${n}'`).join(', ')} but received key '${unknown}'`);
    return names.map((n) => {
      if (!Object.prototype.hasOwnProperty.call(value, n)) throw new RnnError('ARGUMENT', `Expected ${what} for '${n}' but it is missing`);
      return value[n] as TensorLike;
    });
  }
  if (names.length === 1) {
    if (Array.isArray(value) && value.length === 1 && isTensorLikeObject(value[0])) return [value[0] as TensorLike];
    return [value as TensorLike];
  }
  if (!Array.isArray(value) || value.length !== names.length) {
    throw new RnnError('ARGUMENT', `Expected ${what} as an array of ${names.length} (${names.map((n) => `'${n}'`).join(', ')}) or an object keyed by those names but received ${Array.isArray(value) ? `an array of ${value.length}` : describeValue(value)}`);
  }
  return value as TensorLike[];
}

/** The ModelShapes of input i / output k (the per-tensor checks of data.ts). */
function pairShapes(spec: DataSpec, input: number, output: number): ModelShapes {
  const i = spec.inputs[input];
  const o = spec.outputs[output];
  return { inputShape: i?.shape ?? [], outputShape: o?.shape ?? [], loss: spec.losses?.[output], tokenLimit: i?.tokenLimit };
}

function label(what: string, names: readonly string[], k: number): string {
  return names.length === 1 ? what : `${what} '${names[k]}'`;
}

/** x checked against the inputs: one tensor per input, one sample count. */
export async function prepareModelInputs(spec: DataSpec, x: unknown, what = 'x'): Promise<{ samples: number; xs: Tensor[] }> {
  const names = spec.inputs.map((i) => i.name);
  const parts = splitByName(x, names, what);
  const xs: Tensor[] = [];
  for (let k = 0; k < parts.length; k++) xs.push(await prepareInputs(parts[k], pairShapes(spec, k, 0), label(what, names, k)));
  const samples = xs[0].shape[0];
  xs.forEach((t, k) => {
    if (t.shape[0] !== samples) throw new RnnError('SHAPE', `Expected every input to hold ${samples} samples but ${label(what, names, k)} holds ${t.shape[0]}`);
  });
  return { samples, xs };
}

/** y checked against the outputs and their losses. */
export async function prepareModelTargets(spec: DataSpec, y: unknown, samples: number, what = 'y'): Promise<Tensor[]> {
  const names = spec.outputs.map((o) => o.name);
  const parts = splitByName(y, names, what);
  const ys: Tensor[] = [];
  for (let k = 0; k < parts.length; k++) ys.push(await prepareTargets(parts[k], pairShapes(spec, 0, k), samples, label(what, names, k)));
  return ys;
}

/** Per-sample weights (applied to every output's loss); classWeight needs a model with one output. */
export function prepareModelWeights(spec: DataSpec, samples: number, ys: Tensor[], sampleWeight?: TensorLike, classWeight?: Record<number, number>): Float32Array | undefined {
  if (classWeight !== undefined && spec.outputs.length !== 1) {
    throw new RnnError('ARGUMENT', `Expected classWeight only for a model with one output but this one has ${spec.outputs.length}; use sampleWeight`);
  }
  return prepareSampleWeights(samples, ys[0], pairShapes(spec, 0, 0), sampleWeight, classWeight);
}

/** x, y and the sample weights of fit / evaluate, all checked. */
export async function prepareModelData(spec: DataSpec, x: unknown, y: unknown, sampleWeight?: TensorLike,
  classWeight?: Record<number, number>, prefix = ''): Promise<PreparedData> {
  const { samples, xs } = await prepareModelInputs(spec, x, `${prefix}x`);
  const ys = await prepareModelTargets(spec, y, samples, `${prefix}y`);
  return { samples, xs, ys, weights: prepareModelWeights(spec, samples, ys, sampleWeight, classWeight) };
}

/** Rows [start, end) of every tensor (validationSplit). */
export function sliceData(data: PreparedData, start: number, end: number): PreparedData {
  const slice = (t: Tensor) => sliceRows(t, start, end);
  return {
    samples: end - start,
    xs: data.xs.map(slice),
    ys: data.ys?.map(slice),
    weights: data.weights?.subarray(start, end),
  };
}
