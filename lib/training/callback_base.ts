/**
 * The callback contract between the fit loop and callbacks, plus the pieces the built-in callbacks share:
 * a base class holding the model and params, and {@link Monitor} for "is this epoch better" decisions.
 */
import { RnnError } from '../errors';
import type { SaveOptions } from '../io';
import type { Tensor } from '../tensor';
import type { Logs } from './history';

/** What a callback may see and change of the model being trained. */
export interface CallbackModel {
  /** Set to true to end training after the current epoch. */
  stopTraining: boolean;
  /** The current weights, in a fixed order. The returned tensors may share memory with the model. */
  getWeights(): Tensor[];
  /** Replaces the weights (same order and shapes as `getWeights()`). */
  setWeights(weights: Tensor[]): void;
  /** The optimizer; its learning rate may be changed between batches. */
  readonly optimizer: {
    /** The step size of the next batch. */
    learningRate: number;
  };
  /** Saves the model to `path` with model.save's options, every one honoured (needed by modelCheckpoint only). */
  save?(path: string, options?: SaveOptions): Promise<void>;
  /**
   * Zeros the kept states of the model's stateful layers before the next batch (Keras: `model.reset_states()` in
   * `on_epoch_begin` when every epoch replays the same sequences); nothing for a model without stateful layers.
   */
  resetStates?(): void;
}

/** The parameters of a `fit()` call, given to callbacks before training starts. */
export interface TrainParams {
  /** Index one past the last epoch to run (as in Keras, epochs counts from 0, not from initialEpoch). */
  epochs: number;
  /** Index of the first epoch to run. */
  initialEpoch: number;
  /** Number of training samples. */
  samples: number;
  /** Samples per batch (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** Batches per epoch. */
  stepsPerEpoch: number;
  /** Names of the reported metrics, e.g. ['loss', 'accuracy', 'val_loss', 'val_accuracy']. */
  metrics: string[];
  /** Verbosity given to fit(). */
  verbose: number;
}

/**
 * Hooks called by the fit loop. Every hook is optional and may return a promise, which is awaited before training
 * continues. Epoch and batch indices are 0-based; batch indices restart every epoch.
 */
export interface Callback {
  /** Called once before training with the model being trained. */
  setModel?(model: CallbackModel): void;
  /** Called once before training with the parameters of the fit call. */
  setParams?(params: TrainParams): void;
  /** Called once when training starts. */
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  /** Called once when training ends, also after an error or a stop; `logs` are the last epoch's. */
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  /** Called at the start of every epoch. */
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  /** Called after every epoch with its mean loss and metrics (and `val_*` ones with validation data). */
  onEpochEnd?(epoch: number, logs?: Logs): void | Promise<void>;
  /** Called before every batch. */
  onBatchBegin?(batch: number, logs?: Logs): void | Promise<void>;
  /** Called after every batch with that batch's loss and metrics. */
  onBatchEnd?(batch: number, logs?: Logs): void | Promise<void>;
}

/** Holds the model and params given by the fit loop. */
export abstract class BaseCallback implements Callback {
  /** The model being trained, once the fit loop called setModel. */
  protected model: CallbackModel | undefined;
  /** The fit parameters, once the fit loop called setParams. */
  protected params: TrainParams | undefined;

  setModel(model: CallbackModel): void {
    this.model = model;
  }

  setParams(params: TrainParams): void {
    this.params = params;
  }

  /** The model, or a `STATE` error when the fit loop never called setModel. */
  protected requireModel(): CallbackModel {
    if (this.model === undefined) {
      throw new RnnError('STATE', `${this.constructor.name} has no model: setModel() must be called before training`);
    }
    return this.model;
  }
}

/** 'min': lower is better; 'max': higher is better; 'auto': decided from the monitored name. */
export type MonitorMode = 'auto' | 'min' | 'max';

/** Valid values of {@link MonitorMode}. */
export const MONITOR_MODES: readonly MonitorMode[] = ['auto', 'min', 'max'];

/** 'auto' resolves to 'max' for accuracy-like names (containing 'acc') and to 'min' otherwise (losses, errors). */
export function resolveMode(mode: MonitorMode, monitor: string): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return monitor.includes('acc') ? 'max' : 'min';
}

/** Reads one monitored value from epoch logs and compares values in the monitored direction. */
export class Monitor {
  /** 'min' or 'max', after resolving 'auto'. */
  readonly direction: 'min' | 'max';
  private warned = false;

  /** `owner` names the callback in the missing-key warning. */
  constructor(readonly key: string, mode: MonitorMode, private readonly owner: string) {
    this.direction = resolveMode(mode, key);
  }

  /** The value every real value improves on: +Infinity for 'min', -Infinity for 'max'. */
  get worst(): number {
    return this.direction === 'min' ? Infinity : -Infinity;
  }

  /** True when `current` beats `reference` by more than `minDelta` (>= 0) in the monitored direction. */
  isBetter(current: number, reference: number, minDelta = 0): boolean {
    return this.direction === 'min' ? current + minDelta < reference : current - minDelta > reference;
  }

  /** The monitored value, or undefined with a console warning (once per training run) when logs lack it. */
  read(logs: Logs | undefined): number | undefined {
    const value = logs?.[this.key];
    if (typeof value === 'number') return value;
    if (!this.warned) {
      this.warned = true;
      const available = logs === undefined ? [] : Object.keys(logs);
      console.warn(
        `rnnkit: ${this.owner} monitors '${this.key}', which is not in the epoch logs ` +
          `(available: ${available.length === 0 ? 'none' : available.join(', ')}); it does nothing until it appears. ` +
          (this.key.startsWith('val_') ? 'Validation metrics need validationData or validationSplit in fit(). ' : '') +
          'Choose another monitor to silence this warning.',
      );
    }
    return undefined;
  }

  /** Lets the next missing value warn again (call at train begin). */
  resetWarning(): void {
    this.warned = false;
  }
}
