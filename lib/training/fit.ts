/**
 * The training loop behind model.fit: validation split, shuffling, batching, callbacks, progress, abort.
 * Each batch is one native call on a worker thread (forward, loss, BPTT, update), so the event loop stays free.
 */
import { RnnError } from '../errors';
import { toRnnError } from '../native';
import { globalRandom, Random } from '../random';
import { Tensor, TensorLike } from '../tensor';
import { checkBoolean, checkInteger, checkKnownKeys, checkNumber, checkOneOf, invalid, optionsOrEmpty } from '../validate';
import type { SaveOptions } from '../io';
import type { Model } from '../models/model';
import { checkStatefulSamples, statefulBatchSize } from '../models/stateful_runner';
import type { Callback, CallbackModel } from './callback_base';
import { CallbackList } from './callbacks';
import { Batcher, DEFAULT_BATCH_SIZE } from './data';
import { evaluateTensors } from './evaluate';
import { History, Logs } from './history';
import { batchLogs, metricKeys, ModelMetricAccumulator } from './losses';
import { ModelData, prepareModelData, PreparedData, sliceData } from './model_data';
import { progressLogger } from './progress';

/** Options of `model.fit` (Keras defaults). */
export interface FitOptions {
  /** Index one past the last epoch (Keras counts from 0, not from initialEpoch). Default 1. */
  epochs?: number;
  /** Samples per training step. Default 32 (a stateful model: its batchInputShape[0], the only value it takes). */
  batchSize?: number;
  /**
   * Shuffle the training samples before every epoch. Default true; false for a stateful model, for which true is an
   * ARGUMENT error (each batch row continues the sequence of the same row of the previous batch; see Model.fit).
   */
  shuffle?: boolean;
  /** Fraction of the samples, taken from the end before shuffling (Keras), held out for validation. Default 0. */
  validationSplit?: number;
  /** Validation data `[x, y]` or `[x, y, sampleWeight]`; takes precedence over validationSplit. */
  validationData?: [ModelData, ModelData] | [ModelData, ModelData, TensorLike];
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
  /**
   * What to do when a training step would make a weight or an optimizer slot NaN or infinite. The step is always
   * rolled back natively first (weights, optimizer state and step count exactly as before it); then:
   * 'throw' rejects fit with a NOT_FINITE RnnError naming the layer and the weight; 'skip' goes on with the next
   * batch (the skipped batch fires onBatchBegin but not onBatchEnd, and is listed in `history.skippedSteps`);
   * 'stop' ends fit as an abort does (its partial epoch is not reported). Default 'throw'.
   */
  onNonFinite?: NonFinitePolicy;
}

/** What fit does when a step would make a weight or optimizer state non-finite: throw, skip the step, or stop. */
export type NonFinitePolicy = 'throw' | 'skip' | 'stop';
export const NON_FINITE_POLICIES: readonly NonFinitePolicy[] = ['throw', 'skip', 'stop'];

const FIT_KEYS = ['epochs', 'batchSize', 'shuffle', 'validationSplit', 'validationData', 'classWeight', 'sampleWeight',
  'initialEpoch', 'verbose', 'callbacks', 'signal', 'seed', 'onNonFinite'] as const;

/** The seed of one epoch's generator: distinct for every (seed mod 2^32, epoch < 2^20), a safe integer. */
function epochSeed(seed: number, epoch: number): number {
  return (seed % 2 ** 32) * 2 ** 20 + (epoch % 2 ** 20);
}

function fisherYates(order: Int32Array, rng: Random): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.integer(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

/** The view of the model that callbacks get: weight access between batches is allowed during fit. */
function callbackView(model: Model): CallbackModel {
  return {
    get stopTraining() { return model.stopTraining; },
    set stopTraining(value: boolean) { model.stopTraining = value; },
    getWeights: () => model.readAllWeights(),
    setWeights: (weights: Tensor[]) => model.writeAllWeights(weights),
    get optimizer() { return model.optimizer; },
    // Every save option is passed on and validated by saveModel (a checkpoint once dropped includeOptimizer).
    save: (path: string, options?: SaveOptions) => model.saveBetweenBatches(path, options),
    resetStates: () => model.resetStatesBetweenBatches(),
  };
}

export async function fitLoop(model: Model, x: ModelData, y: ModelData, options: FitOptions): Promise<History> {
  const opts = optionsOrEmpty(options, 'fit options');
  checkKnownKeys(opts, FIT_KEYS, 'fit options');
  const epochs = opts.epochs === undefined ? 1 : checkInteger(opts.epochs, 'epochs', { min: 0 });
  const stateful = model.stateful;
  const batchSize = stateful ? statefulBatchSize(stateful, model.name, opts.batchSize, 'fit')
    : opts.batchSize === undefined ? DEFAULT_BATCH_SIZE : checkInteger(opts.batchSize, 'batchSize', { min: 1 });
  const shuffle = opts.shuffle === undefined ? !stateful : checkBoolean(opts.shuffle, 'shuffle');
  if (stateful && shuffle) {
    throw new RnnError('ARGUMENT', `Expected shuffle false (the default) for stateful model '${model.name}' but received true: each batch row continues the sequence of the same row of the previous batch, so shuffling would start samples from another sequence's state`);
  }
  const validationSplit = opts.validationSplit === undefined ? 0 : checkNumber(opts.validationSplit, 'validationSplit', { min: 0, max: 0.999 });
  const initialEpoch = opts.initialEpoch === undefined ? 0 : checkInteger(opts.initialEpoch, 'initialEpoch', { min: 0 });
  const verbose = opts.verbose === undefined ? 1 : checkInteger(opts.verbose, 'verbose', { min: 0, max: 1 });
  const seed = opts.seed === undefined ? globalRandom().integer(0x7fffffff) : checkInteger(opts.seed, 'seed', { min: 0 });
  const onNonFinite = opts.onNonFinite === undefined ? 'throw' : checkOneOf(opts.onNonFinite, 'onNonFinite', NON_FINITE_POLICIES);
  if (opts.signal !== undefined && (typeof opts.signal !== 'object' || typeof opts.signal.aborted !== 'boolean')) {
    throw invalid('ARGUMENT', 'an AbortSignal', 'signal', opts.signal);
  }
  const compiled = model.requireCompiled();
  const spec = model.dataSpec(compiled);

  // Everything is validated before the first step, so bad data never reaches the weights.
  let train = await prepareModelData(spec, x, y, opts.sampleWeight, opts.classWeight);
  let validation: PreparedData | undefined;
  if (opts.validationData !== undefined) {
    if (!Array.isArray(opts.validationData) || opts.validationData.length < 2 || opts.validationData.length > 3) {
      throw invalid('ARGUMENT', 'an array [x, y] or [x, y, sampleWeight]', 'validationData', opts.validationData);
    }
    const [vx, vy, vw] = opts.validationData;
    validation = await prepareModelData(spec, vx, vy, vw as TensorLike | undefined, undefined, 'validationData ');
  } else if (validationSplit > 0) {
    const total = train.samples;
    const trainCount = Math.floor(total * (1 - validationSplit));
    if (trainCount < 1 || trainCount >= total) {
      throw new RnnError('ARGUMENT', `Expected validationSplit to leave at least one sample on each side of ${total} samples but received ${validationSplit}`);
    }
    validation = sliceData(train, trainCount, total);
    train = sliceData(train, 0, trainCount);
  }
  if (stateful) {
    checkStatefulSamples(stateful, model.name, train.samples, 'fit');
    if (validation) checkStatefulSamples(stateful, model.name, validation.samples, opts.validationData !== undefined ? 'validationData' : 'the validationSplit part');
  }

  const callbackList = new CallbackList(opts.callbacks ?? []);
  if (verbose === 1) callbackList.append(progressLogger());
  const samples = train.samples;
  const stepsPerEpoch = Math.ceil(samples / batchSize);
  const metricNames = metricKeys(compiled.outputs);
  callbackList.setModel(callbackView(model));
  callbackList.setParams({
    epochs, initialEpoch, samples, batchSize, stepsPerEpoch, verbose,
    metrics: validation ? [...metricNames, ...metricNames.map((m) => `val_${m}`)] : metricNames,
  });

  // A stateful model's runner keeps the states after every step (the weights moved too).
  const network = model.batchRunner(true);
  model.applyTrainable();
  model.stopTraining = false;
  const history = new History();
  const batcher = new Batcher(train.xs, train.ys, train.weights);
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

  /** One training step; undefined when it was rolled back for a non-finite update and the policy lets fit go on. */
  async function trainStep(batch: ReturnType<Batcher['batch']>, epoch: number, step: number, rng: Random) {
    try {
      return await network.trainBatch(batch, rng.integer(0x7fffffff));
    } catch (raw) {
      const error = toRnnError(raw);
      if (!(error instanceof RnnError && error.code === 'NOT_FINITE') || onNonFinite === 'throw') throw error;
      history.skippedSteps.push({ epoch, batch: step, message: error.message });
      return undefined;
    }
  }

  async function runEpochs(): Promise<void> {
    for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining && !aborted(); epoch++) {
      await callbackList.onEpochBegin(epoch);
      // Each epoch's shuffle and dropout seeds come from (seed, epoch) alone, so a fit resumed at initialEpoch k
      // (from a checkpoint saved with includeOptimizer) repeats epochs k.. of the uninterrupted run bit for bit,
      // with shuffle: true as well.
      const rng = new Random(epochSeed(seed, epoch));
      if (shuffle) {
        for (let i = 0; i < samples; i++) order[i] = i;
        fisherYates(order, rng);
      }
      const accumulator = new ModelMetricAccumulator(compiled.outputs);
      let interrupted = false;
      for (let step = 0; step < stepsPerEpoch; step++) {
        const start = step * batchSize;
        const end = Math.min(samples, start + batchSize);
        await callbackList.onBatchBegin(step, { batch: step, size: end - start });
        const batch = batcher.batch(shuffle ? order : null, start, end);
        const metrics = await trainStep(batch, epoch, step, rng);
        if (metrics === undefined) {
          if (onNonFinite === 'stop') {
            interrupted = true;
            break;
          }
          continue;
        }
        accumulator.add(metrics, batch.size);
        await callbackList.onBatchEnd(step, { batch: step, size: batch.size, ...batchLogs(metrics, compiled.outputs, batch.size) });
        if (aborted() && step < stepsPerEpoch - 1) {
          interrupted = true;
          break;
        }
      }
      // An interrupted epoch (abort, or a stop for a non-finite step) is not complete: it is neither validated nor
      // reported to onEpochEnd, so a checkpoint never records it as done and a resume repeats it from the start.
      if (interrupted) return;
      const logs: Logs = accumulator.logs();
      if (validation) Object.assign(logs, await evaluateTensors(model, validation, batchSize, 'val_'));
      history.record(epoch, logs);
      await callbackList.onEpochEnd(epoch, logs);
    }
  }
}
