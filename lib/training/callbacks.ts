/**
 * Training callbacks, tfjs/Keras style: the {@link Callback} contract, {@link CallbackList} used by the fit loop,
 * and the built-in callbacks as factories on the {@link callbacks} namespace object.
 */
import { invalid } from '../validate';
import type { Callback, CallbackModel, TrainParams } from './callback_base';
import { CsvLogger, CsvLoggerOptions, LearningRateSchedule, LearningRateScheduler, TerminateOnNaN } from './epoch_callbacks';
import type { Logs } from './history';
import {
  EarlyStopping,
  EarlyStoppingOptions,
  ModelCheckpoint,
  ModelCheckpointOptions,
  ReduceLROnPlateau,
  ReduceLROnPlateauOptions,
} from './monitored_callbacks';
import { PlotCallback, PlotOptions } from './plot_callback';

export { BaseCallback, Monitor, resolveMode } from './callback_base';
export type { Callback, CallbackModel, MonitorMode, TrainParams } from './callback_base';
export { CsvLogger, LearningRateScheduler, TerminateOnNaN } from './epoch_callbacks';
export type { CsvLoggerOptions, LearningRateSchedule } from './epoch_callbacks';
export { EarlyStopping, ModelCheckpoint, ReduceLROnPlateau } from './monitored_callbacks';
export type { EarlyStoppingOptions, ModelCheckpointOptions, ReduceLROnPlateauOptions } from './monitored_callbacks';
export { PlotCallback } from './plot_callback';
export type { PlotOptions } from './plot_callback';

const HOOKS = [
  'setModel', 'setParams', 'onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd',
] as const;

type EventHook = Exclude<(typeof HOOKS)[number], 'setModel' | 'setParams'>;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** Calls each hook on every callback in order, awaiting the ones that return a promise. */
export class CallbackList {
  /** The callbacks, in call order. */
  readonly callbacks: Callback[] = [];

  /** Throws an `ARGUMENT` {@link RnnError} if an entry is not an object or has a hook that is not a function. */
  constructor(callbacks: readonly Callback[] = []) {
    if (!Array.isArray(callbacks)) throw invalid('ARGUMENT', 'an array of callbacks', 'callbacks', callbacks);
    callbacks.forEach((c, i) => this.append(c, `callbacks[${i}]`));
  }

  /** Adds a callback at the end. */
  append(callback: Callback, name = `callbacks[${this.callbacks.length}]`): void {
    if (typeof callback !== 'object' || callback === null || Array.isArray(callback)) {
      throw invalid('ARGUMENT', 'a callback object', name, callback);
    }
    for (const hook of HOOKS) {
      const fn: unknown = (callback as Record<string, unknown>)[hook];
      if (fn !== undefined && typeof fn !== 'function') throw invalid('ARGUMENT', 'a function', `${name}.${hook}`, fn);
    }
    this.callbacks.push(callback);
  }

  /** Gives every callback the model. */
  setModel(model: CallbackModel): void {
    for (const c of this.callbacks) c.setModel?.(model);
  }

  /** Gives every callback the fit parameters. */
  setParams(params: TrainParams): void {
    for (const c of this.callbacks) c.setParams?.(params);
  }

  /** Runs every callback's onTrainBegin, in order. */
  onTrainBegin(logs?: Logs): Promise<void> {
    return this.run('onTrainBegin', [logs]);
  }

  /** Runs every callback's onTrainEnd, in order. */
  onTrainEnd(logs?: Logs): Promise<void> {
    return this.run('onTrainEnd', [logs]);
  }

  /** Runs every callback's onEpochBegin, in order. */
  onEpochBegin(epoch: number, logs?: Logs): Promise<void> {
    return this.run('onEpochBegin', [epoch, logs]);
  }

  /** Runs every callback's onEpochEnd, in order. */
  onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    return this.run('onEpochEnd', [epoch, logs]);
  }

  /** Runs every callback's onBatchBegin, in order. */
  onBatchBegin(batch: number, logs?: Logs): Promise<void> {
    return this.run('onBatchBegin', [batch, logs]);
  }

  /** Runs every callback's onBatchEnd, in order. */
  onBatchEnd(batch: number, logs?: Logs): Promise<void> {
    return this.run('onBatchEnd', [batch, logs]);
  }

  private async run(hook: EventHook, args: unknown[]): Promise<void> {
    for (const callback of this.callbacks) {
      const fn = callback[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (fn === undefined) continue;
      const result = fn.apply(callback, args);
      if (isThenable(result)) await result;
    }
  }
}

/** The built-in callbacks. Every factory validates its options eagerly and throws an `ARGUMENT` error on misuse. */
export const callbacks = {
  /** Stops training when the monitored metric stops improving. See {@link EarlyStoppingOptions}. */
  earlyStopping: (options?: EarlyStoppingOptions): EarlyStopping => new EarlyStopping(options),
  /** Reduces the learning rate when the monitored metric stops improving. See {@link ReduceLROnPlateauOptions}. */
  reduceLROnPlateau: (options?: ReduceLROnPlateauOptions): ReduceLROnPlateau => new ReduceLROnPlateau(options),
  /** Sets the learning rate at every epoch start to `schedule(epoch, currentLearningRate)`. */
  learningRateScheduler: (schedule: LearningRateSchedule): LearningRateScheduler => new LearningRateScheduler(schedule),
  /** Stops training when the loss becomes NaN or infinite. */
  terminateOnNaN: (): TerminateOnNaN => new TerminateOnNaN(),
  /** Writes the epoch logs to a CSV file. See {@link CsvLoggerOptions}. */
  csvLogger: (path: string, options?: CsvLoggerOptions): CsvLogger => new CsvLogger(path, options),
  /** Saves the model after each epoch with model.save; `{epoch}` in the path is the 1-based epoch. */
  modelCheckpoint: (path: string, options?: ModelCheckpointOptions): ModelCheckpoint => new ModelCheckpoint(path, options),
  /** Writes the learning curves (loss and metrics per epoch) to an SVG file when fit ends; needs vega and vega-lite. */
  plot: (path: string, options?: PlotOptions): PlotCallback => new PlotCallback(path, options),
} as const;
