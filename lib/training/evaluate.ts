/** evaluate and predict: batched forward passes on the worker thread, results gathered on the JS side. */
import { toRnnError } from '../native';
import { Tensor, TensorLike } from '../tensor';
import { checkInteger, checkKnownKeys, optionsOrEmpty } from '../validate';
import type { Sequential } from '../models/sequential';
import { singleBatch, singleMetrics } from '../models/build_network';
import { Batcher, prepareInputs, prepareSampleWeights, prepareTargets } from './data';
import { MetricAccumulator } from './losses';

/** Options of `model.evaluate`. */
export interface EvaluateOptions {
  /** Samples per forward pass. Default 32. */
  batchSize?: number;
  /** Per-sample loss weights [N]. */
  sampleWeight?: TensorLike;
}

/** Options of `model.predict`. */
export interface PredictOptions {
  /** Samples per forward pass. Default 32. */
  batchSize?: number;
}

/** Loss and metrics over already-prepared tensors (used by evaluate and by fit's validation). @internal */
export async function evaluateTensors(
  model: Sequential, x: Tensor, y: Tensor, weights: Float32Array | undefined, batchSize: number, prefix = '',
): Promise<Record<string, number>> {
  const compiled = model.requireCompiled();
  const network = model.requireNetwork();
  const samples = x.shape[0];
  const batcher = new Batcher(x, y, weights);
  const accumulator = new MetricAccumulator(compiled.metrics);
  for (let start = 0; start < samples; start += batchSize) {
    const end = Math.min(samples, start + batchSize);
    const batch = batcher.batch(null, start, end);
    const metrics = await network.evaluateBatch(singleBatch(batch.x, batch.size, model.inputShape, batch.y!, batch.w)).catch((e) => { throw toRnnError(e); });
    accumulator.add(singleMetrics(metrics), batch.size);
  }
  return accumulator.logs(prefix);
}

export async function evaluateLoop(model: Sequential, x: TensorLike, y: TensorLike, options: EvaluateOptions): Promise<Record<string, number>> {
  const opts = optionsOrEmpty(options, 'evaluate options');
  checkKnownKeys(opts, ['batchSize', 'sampleWeight'], 'evaluate options');
  const batchSize = opts.batchSize === undefined ? 32 : checkInteger(opts.batchSize, 'batchSize', { min: 1 });
  const compiled = model.requireCompiled();
  const shapes = model.dataShapes(compiled.loss);
  const inputs = await prepareInputs(x, shapes);
  const targets = await prepareTargets(y, shapes, inputs.shape[0]);
  const weights = prepareSampleWeights(inputs.shape[0], targets, shapes, opts.sampleWeight);
  return evaluateTensors(model, inputs, targets, weights, batchSize);
}

export async function predictLoop(model: Sequential, x: TensorLike, options: PredictOptions): Promise<Tensor> {
  const opts = optionsOrEmpty(options, 'predict options');
  checkKnownKeys(opts, ['batchSize'], 'predict options');
  const batchSize = opts.batchSize === undefined ? 32 : checkInteger(opts.batchSize, 'batchSize', { min: 1 });
  const inputs = await prepareInputs(x, model.dataShapes());
  const network = model.requireNetwork();
  const samples = inputs.shape[0];
  const perSample = model.outputShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(samples * perSample);
  const batcher = new Batcher(inputs);
  for (let start = 0; start < samples; start += batchSize) {
    const end = Math.min(samples, start + batchSize);
    const batch = batcher.batch(null, start, end);
    const values = await network.predict(singleBatch(batch.x, batch.size, model.inputShape)).catch((e) => { throw toRnnError(e); });
    out.set(values.outputs[0], start * perSample);
  }
  return new Tensor(out, [samples, ...model.outputShape]);
}
