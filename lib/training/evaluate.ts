/** evaluate and predict: batched forward passes on the worker thread, results gathered on the JS side. */
import { toRnnError } from '../native';
import { Tensor, TensorLike } from '../tensor';
import { checkInteger, checkKnownKeys, optionsOrEmpty } from '../validate';
import type { Model } from '../models/model';
import { Batcher, DEFAULT_BATCH_SIZE } from './data';
import { ModelMetricAccumulator } from './losses';
import { ModelData, prepareModelData, prepareModelInputs, PreparedData } from './model_data';

/** Options of `model.evaluate`. */
export interface EvaluateOptions {
  /** Samples per forward pass. Default 32. */
  batchSize?: number;
  /** Per-sample loss weights [N] (applied to every output's loss). */
  sampleWeight?: TensorLike;
}

/** Options of `model.predict`. */
export interface PredictOptions {
  /** Samples per forward pass. Default 32. */
  batchSize?: number;
}

function batchSizeOption(value: unknown): number {
  return value === undefined ? DEFAULT_BATCH_SIZE : checkInteger(value, 'batchSize', { min: 1 });
}

/** Loss and metrics over already-prepared data (used by evaluate and by fit's validation). @internal */
export async function evaluateTensors(model: Model, data: PreparedData, batchSize: number, prefix = ''): Promise<Record<string, number>> {
  const compiled = model.requireCompiled();
  const network = model.requireNetwork();
  const batcher = new Batcher(data.xs, data.ys, data.weights);
  const accumulator = new ModelMetricAccumulator(compiled.outputs);
  for (let start = 0; start < data.samples; start += batchSize) {
    const end = Math.min(data.samples, start + batchSize);
    const batch = batcher.batch(null, start, end);
    const metrics = await network.evaluateBatch(batch).catch((e) => { throw toRnnError(e); });
    accumulator.add(metrics, batch.size);
  }
  return accumulator.logs(prefix);
}

export async function evaluateLoop(model: Model, x: ModelData, y: ModelData, options: EvaluateOptions): Promise<Record<string, number>> {
  const opts = optionsOrEmpty(options, 'evaluate options');
  checkKnownKeys(opts, ['batchSize', 'sampleWeight'], 'evaluate options');
  const batchSize = batchSizeOption(opts.batchSize);
  const compiled = model.requireCompiled();
  const data = await prepareModelData(model.dataSpec(compiled), x, y, opts.sampleWeight);
  return evaluateTensors(model, data, batchSize);
}

/** One tensor per output, [N, ...per-sample output shape of that batch]. */
export async function predictLoop(model: Model, x: ModelData, options: PredictOptions): Promise<Tensor[]> {
  const opts = optionsOrEmpty(options, 'predict options');
  checkKnownKeys(opts, ['batchSize'], 'predict options');
  const batchSize = batchSizeOption(opts.batchSize);
  const { samples, xs } = await prepareModelInputs(model.dataSpec(), x);
  const network = model.requireNetwork();
  const batcher = new Batcher(xs);
  let outputs: Float32Array[] = [];
  let shapes: number[][] = [];
  for (let start = 0; start < samples; start += batchSize) {
    const end = Math.min(samples, start + batchSize);
    const result = await network.predict(batcher.batch(null, start, end)).catch((e) => { throw toRnnError(e); });
    if (start === 0) {
      // Every batch of x has the same lengths, so the output shapes of the first batch hold for all.
      shapes = result.shapes;
      outputs = shapes.map((shape) => new Float32Array(samples * shape.reduce((a, b) => a * b, 1)));
    }
    result.outputs.forEach((values, k) => outputs[k].set(values, start * (values.length / (end - start))));
  }
  return outputs.map((values, k) => new Tensor(values, [samples, ...shapes[k]]));
}
