/**
 * The training loop behind model.fit: validation split, shuffling, batching, callbacks, progress, abort.
 * Each batch is one native call on a worker thread (forward, loss, BPTT, update), so the event loop stays free.
 */
import { RnnError } from '../errors';
import { toRnnError } from '../native';
import { globalRandom, Random } from '../random';
import { Tensor, TensorLike, sliceRows } from '../tensor';
import { checkBoolean, checkInteger, checkKnownKeys, checkNumber, invalid, optionsOrEmpty } from '../validate';
import type { Sequential } from '../models/sequential';
import type { Callback, CallbackModel } from './callback_base';
import { CallbackList } from './callbacks';
import { Batcher, prepareInputs, prepareSampleWeights, prepareTargets } from './data';
import { evaluateTensors } from './evaluate';
import { History, Logs } from './history';
import { batchLogs, MetricAccumulator } from './losses';
import { progressLogger } from './progress';

/** Options of `model.fit` (Keras defaults). */
export interface FitOptions {
  /** Index one past the last epoch (Keras counts from 0, not from initialEpoch). Default 1. */
  epochs?: number;
  /** Samples per training step. Default 32. */
  batchSize?: number;
  /** Shuffle the training samples before every epoch. Default true. */
  shuffle?: boolean;
  /** Fraction of the samples, taken from the end before shuffling (Keras), held out for validation. Default 0. */
  validationSplit?: number;
  /** Validation data `[x, y]` or `[x, y, sampleWeight]`; takes precedence over validationSplit. */
  validationData?: [TensorLike, TensorLike] | [TensorLike, TensorLike, TensorLike];
  /** Loss weight per class index, e.g. `{ 0: 1, 1: 5 }` for a rare class 1. */
  classWeight?: Record<number, number>;
  /** Loss weight per training sample [N]. */
  sampleWeight?: TensorLike;
  /** Epoch to start from (for resuming). Default 0. */
  initialEpoch?: number;
  /** 0 silent; 1 a progress bar on a terminal, one line per epoch otherwise. Default 1. */
  verbose?: 0 | 1;
  /** Callback objects (rk.callbacks.* or plain objects with onEpochEnd etc.). */
  callbacks?: Callback[];
  /** Stops training cleanly after the current batch when aborted; fit then resolves with the history so far. */
  signal?: AbortSignal;
  /** Seed for shuffling and dropout of this call. Default: drawn from the global generator (rk.setSeed). */
  seed?: number;
}

const FIT_KEYS = ['epochs', 'batchSize', 'shuffle', 'validationSplit', 'validationData', 'classWeight', 'sampleWeight',
  'initialEpoch', 'verbose', 'callbacks', 'signal', 'seed'] as const;

function fisherYates(order: Int32Array, rng: Random): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.integer(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

/** The view of the model that callbacks get: weight access between batches is allowed during fit. */
function callbackView(model: Sequential): CallbackModel {
  return {
    get stopTraining() { return model.stopTraining; },
    set stopTraining(value: boolean) { model.stopTraining = value; },
    getWeights: () => model.readAllWeights(),
    setWeights: (weights: Tensor[]) => model.writeAllWeights(weights),
    get optimizer() { return model.optimizer; },
    save: (path: string) => model.saveBetweenBatches(path),
  };
}

export async function fitLoop(model: Sequential, x: TensorLike, y: TensorLike, options: FitOptions): Promise<History> {
  const opts = optionsOrEmpty(options, 'fit options');
  checkKnownKeys(opts, FIT_KEYS, 'fit options');
  const epochs = opts.epochs === undefined ? 1 : checkInteger(opts.epochs, 'epochs', { min: 0 });
  const batchSize = opts.batchSize === undefined ? 32 : checkInteger(opts.batchSize, 'batchSize', { min: 1 });
  const shuffle = opts.shuffle === undefined ? true : checkBoolean(opts.shuffle, 'shuffle');
  const validationSplit = opts.validationSplit === undefined ? 0 : checkNumber(opts.validationSplit, 'validationSplit', { min: 0, max: 0.999 });
  const initialEpoch = opts.initialEpoch === undefined ? 0 : checkInteger(opts.initialEpoch, 'initialEpoch', { min: 0 });
  const verbose = opts.verbose === undefined ? 1 : checkInteger(opts.verbose, 'verbose', { min: 0, max: 1 });
  const seed = opts.seed === undefined ? globalRandom().integer(0x7fffffff) : checkInteger(opts.seed, 'seed', { min: 0 });
  if (opts.signal !== undefined && (typeof opts.signal !== 'object' || typeof opts.signal.aborted !== 'boolean')) {
    throw invalid('ARGUMENT', 'an AbortSignal', 'signal', opts.signal);
  }
  const compiled = model.requireCompiled();
  const shapes = model.dataShapes(compiled.loss);

  // Everything is validated before the first step, so bad data never reaches the weights.
  let inputs = await prepareInputs(x, shapes);
  let targets = await prepareTargets(y, shapes, inputs.shape[0]);
  let weights = prepareSampleWeights(inputs.shape[0], targets, compiled.loss, opts.sampleWeight, opts.classWeight);
  let validation: { x: Tensor; y: Tensor; w?: Float32Array } | undefined;
  if (opts.validationData !== undefined) {
    if (!Array.isArray(opts.validationData) || opts.validationData.length < 2 || opts.validationData.length > 3) {
      throw invalid('ARGUMENT', 'an array [x, y] or [x, y, sampleWeight]', 'validationData', opts.validationData);
    }
    const vx = await prepareInputs(opts.validationData[0], shapes, 'validationData x');
    const vy = await prepareTargets(opts.validationData[1], shapes, vx.shape[0], 'validationData y');
    validation = { x: vx, y: vy, w: prepareSampleWeights(vx.shape[0], vy, compiled.loss, opts.validationData[2]) };
  } else if (validationSplit > 0) {
    const total = inputs.shape[0];
    const trainCount = Math.floor(total * (1 - validationSplit));
    if (trainCount < 1 || trainCount >= total) {
      throw new RnnError('ARGUMENT', `Expected validationSplit to leave at least one sample on each side of ${total} samples but received ${validationSplit}`);
    }
    validation = { x: sliceRows(inputs, trainCount, total), y: sliceRows(targets, trainCount, total), w: weights?.subarray(trainCount) };
    inputs = sliceRows(inputs, 0, trainCount);
    targets = sliceRows(targets, 0, trainCount);
    weights = weights?.subarray(0, trainCount);
  }

  const callbackList = new CallbackList(opts.callbacks ?? []);
  if (verbose === 1) callbackList.append(progressLogger());
  const samples = inputs.shape[0];
  const stepsPerEpoch = Math.ceil(samples / batchSize);
  const metricNames = ['loss', ...compiled.metrics.map((m) => m)];
  callbackList.setModel(callbackView(model));
  callbackList.setParams({
    epochs, initialEpoch, samples, batchSize, stepsPerEpoch, verbose,
    metrics: validation ? [...metricNames, ...metricNames.map((m) => `val_${m}`)] : metricNames,
  });

  const network = model.requireNetwork();
  model.applyTrainable();
  model.stopTraining = false;
  const rng = new Random(seed);
  const history = new History();
  const batcher = new Batcher(inputs, targets, weights);
  const order = new Int32Array(samples).map((_, i) => i);
  const aborted = () => opts.signal?.aborted === true;

  await callbackList.onTrainBegin();
  try {
    await runEpochs();
  } finally {
    // Also after a failed batch: the progress line is closed and callbacks such as earlyStopping can restore weights.
    await callbackList.onTrainEnd();
  }
  return history;

  async function runEpochs(): Promise<void> {
    for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining && !aborted(); epoch++) {
      await callbackList.onEpochBegin(epoch);
      if (shuffle) fisherYates(order, rng);
      const accumulator = new MetricAccumulator(compiled.metrics);
      for (let step = 0; step < stepsPerEpoch; step++) {
        const start = step * batchSize;
        const end = Math.min(samples, start + batchSize);
        await callbackList.onBatchBegin(step, { batch: step, size: end - start });
        const batch = batcher.batch(shuffle ? order : null, start, end);
        const metrics = await network.trainBatch(batch.x, batch.size, batch.y!, batch.w ?? null, rng.integer(0x7fffffff))
          .catch((e) => { throw toRnnError(e); });
        accumulator.add(metrics, batch.size);
        await callbackList.onBatchEnd(step, { batch: step, size: batch.size, ...batchLogs(metrics, compiled.metrics, batch.size) });
        if (aborted()) break;
      }
      const logs: Logs = accumulator.logs();
      if (validation) Object.assign(logs, await evaluateTensors(model, validation.x, validation.y, validation.w, batchSize, 'val_'));
      history.record(epoch, logs);
      await callbackList.onEpochEnd(epoch, logs);
    }
  }
}
