/** evaluate and predict: batched forward passes on the worker thread, results gathered on the JS side. */
import { Tensor, TensorLike } from '../tensor';
import { checkInteger, checkKnownKeys, optionsOrEmpty } from '../validate';
import type { Model } from '../models/model';
import { checkStatefulSamples, statefulBatchSize } from '../models/stateful_runner';
import { Batcher, DEFAULT_BATCH_SIZE } from './data';
import { ModelMetricAccumulator } from './losses';
import { ModelData, prepareModelData, prepareModelInputs, PreparedData } from './model_data';

/** Options of `model.evaluate`. */
export interface EvaluateOptions {
  /** Samples per forward pass. Default 32 (a stateful model: its batchInputShape[0], the only value it takes). */
  batchSize?: number;
  /** Per-sample loss weights [N] (applied to every output's loss). */
  sampleWeight?: TensorLike;
}

/** Options of `model.predict`. */
export interface PredictOptions {
  /** Samples per forward pass. Default 32 (a stateful model: its batchInputShape[0], the only value it takes). */
  batchSize?: number;
}

function batchSizeOption(value: unknown): number {
  return value === undefined ? DEFAULT_BATCH_SIZE : checkInteger(value, 'batchSize', { min: 1 });
}

/** `options.batchSize`: B for a stateful model (any other value is an error), else default 32. */
function batchSizeFor(model: Model, value: unknown, what: string): number {
  return model.stateful ? statefulBatchSize(model.stateful, model.name, value, what) : batchSizeOption(value);
}

/**
 * Loss and metrics over already-prepared data (used by evaluate and by fit's validation). A stateful model runs from
 * its kept states; `keep`: its final states become the kept states (evaluate), else they are dropped (validation).
 * @internal
 */
export async function evaluateTensors(model: Model, data: PreparedData, batchSize: number, prefix = '', keep = false): Promise<Record<string, number>> {
  const compiled = model.requireCompiled();
  const network = model.batchRunner(false);
  const batcher = new Batcher(data.xs, data.ys, data.weights);
  const accumulator = new ModelMetricAccumulator(compiled.outputs);
  for (let start = 0; start < data.samples; start += batchSize) {
    const end = Math.min(data.samples, start + batchSize);
    const batch = batcher.batch(null, start, end);
    const metrics = await network.evaluateBatch(batch);
    accumulator.add(metrics, batch.size);
  }
  if (keep) network.keep();
  return accumulator.logs(prefix);
}

export async function evaluateLoop(model: Model, x: ModelData, y: ModelData, options: EvaluateOptions): Promise<Record<string, number>> {
  const opts = optionsOrEmpty(options, 'evaluate options');
  checkKnownKeys(opts, ['batchSize', 'sampleWeight'], 'evaluate options');
  const batchSize = batchSizeFor(model, opts.batchSize, 'evaluate');
  const compiled = model.requireCompiled();
  const data = await prepareModelData(model.dataSpec(compiled), x, y, opts.sampleWeight);
  if (model.stateful) checkStatefulSamples(model.stateful, model.name, data.samples, 'evaluate');
  return evaluateTensors(model, data, batchSize, '', true);
}

/** One tensor per output, [N, ...per-sample output shape of that batch]. */
export async function predictLoop(model: Model, x: ModelData, options: PredictOptions): Promise<Tensor[]> {
  const opts = optionsOrEmpty(options, 'predict options');
  checkKnownKeys(opts, ['batchSize'], 'predict options');
  const batchSize = batchSizeFor(model, opts.batchSize, 'predict');
  const { samples, xs } = await prepareModelInputs(model.dataSpec(), x);
  if (model.stateful) checkStatefulSamples(model.stateful, model.name, samples, 'predict');
  const network = model.batchRunner(false);
  const batcher = new Batcher(xs);
  let outputs: Float32Array[] = [];
  let shapes: number[][] = [];
  for (let start = 0; start < samples; start += batchSize) {
    const end = Math.min(samples, start + batchSize);
    const result = await network.predict(batcher.batch(null, start, end));
    if (start === 0) {
      // Every batch of x has the same lengths, so the output shapes of the first batch hold for all.
      shapes = result.shapes;
      outputs = shapes.map((shape) => new Float32Array(samples * shape.reduce((a, b) => a * b, 1)));
    }
    result.outputs.forEach((values, k) => outputs[k].set(values, start * (values.length / (end - start))));
  }
  network.keep();
  return outputs.map((values, k) => new Tensor(values, [samples, ...shapes[k]]));
}
