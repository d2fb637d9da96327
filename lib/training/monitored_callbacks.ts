/**
 * Callbacks that watch one metric across epochs (Keras semantics): earlyStopping, reduceLROnPlateau and
 * modelCheckpoint.
 */
import { RnnError } from '../errors';
import { Tensor } from '../tensor';
import { checkBoolean, checkInteger, checkKnownKeys, checkNumber, checkOneOf, optionsOrEmpty } from '../validate';
import { BaseCallback, CallbackModel, MONITOR_MODES, Monitor, MonitorMode } from './callback_base';
import type { Logs } from './history';

function checkMonitor(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new RnnError('ARGUMENT', `Expected a metric name for ${name}`);
  return v;
}

/** Options of {@link EarlyStopping}. */
export interface EarlyStoppingOptions {
  /** Metric to watch. Default 'val_loss'. */
  monitor?: string;
  /** Smallest change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Epochs without improvement before stopping. Default 0 (stop at the first epoch that does not improve). */
  patience?: number;
  /** Direction of improvement; 'auto' is 'max' for accuracy-like names, else 'min'. Default 'auto'. */
  mode?: MonitorMode;
  /** Training stops unless the metric beats this value within `patience` epochs. Default: none. */
  baseline?: number;
  /** Put back the weights of the best epoch when training ends (stopped early or not). Default false. */
  restoreBestWeights?: boolean;
}

const EARLY_STOPPING_KEYS = ['monitor', 'minDelta', 'patience', 'mode', 'baseline', 'restoreBestWeights'];

function copyWeights(weights: Tensor[]): Tensor[] {
  // getWeights() may return views of live buffers; keep our own copy.
  return weights.map((w) => new Tensor(w.data.slice(), w.shape));
}

/** Stops training when the monitored metric has stopped improving (Keras 3 `EarlyStopping`). */
export class EarlyStopping extends BaseCallback {
  /** The epoch at which training was stopped, or undefined if it was not stopped by this callback. */
  stoppedEpoch: number | undefined;
  /** The epoch with the best monitored value so far, or undefined before any value was seen. */
  bestEpoch: number | undefined;
  /** The best monitored value so far. */
  best: number;
  private readonly monitor: Monitor;
  private readonly minDelta: number;
  private readonly patience: number;
  private readonly baseline: number | undefined;
  private readonly restoreBestWeights: boolean;
  private wait = 0;
  private firstEpoch: number | undefined;
  private bestWeights: Tensor[] | undefined;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(options?: EarlyStoppingOptions) {
    super();
    const o = optionsOrEmpty(options, 'earlyStopping options');
    checkKnownKeys(o, EARLY_STOPPING_KEYS, 'earlyStopping options');
    const monitor = checkMonitor(o.monitor ?? 'val_loss', 'monitor');
    this.monitor = new Monitor(monitor, checkOneOf(o.mode ?? 'auto', 'mode', MONITOR_MODES), 'earlyStopping');
    this.minDelta = Math.abs(checkNumber(o.minDelta ?? 0, 'minDelta'));
    this.patience = checkInteger(o.patience ?? 0, 'patience', { min: 0 });
    this.baseline = o.baseline === undefined ? undefined : checkNumber(o.baseline, 'baseline');
    this.restoreBestWeights = checkBoolean(o.restoreBestWeights ?? false, 'restoreBestWeights');
    this.best = this.monitor.worst;
  }

  /** Forgets the previous run: best value, patience count and kept weights. */
  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = undefined;
    this.bestEpoch = undefined;
    this.firstEpoch = undefined;
    this.bestWeights = undefined;
    this.best = this.monitor.worst;
    this.monitor.resetWarning();
  }

  /** Counts epochs without improvement and stops (restoring the best weights if asked) when patience runs out. */
  onEpochEnd(epoch: number, logs?: Logs): void {
    const current = this.monitor.read(logs);
    if (current === undefined) return;
    const model = this.requireModel();
    this.firstEpoch ??= epoch;
    if (this.restoreBestWeights && this.bestWeights === undefined) {
      // Until something improves, the first weights seen are the best ones.
      this.bestWeights = copyWeights(model.getWeights());
      this.bestEpoch = epoch;
    }
    this.wait++;
    if (this.monitor.isBetter(current, this.best, this.minDelta)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = copyWeights(model.getWeights());
      // Patience restarts only when the value beats both the previous best and the baseline.
      if (this.baseline === undefined || this.monitor.isBetter(current, this.baseline, this.minDelta)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > this.firstEpoch) {
      this.stoppedEpoch = epoch;
      model.stopTraining = true;
      if (this.bestWeights !== undefined) model.setWeights(this.bestWeights);
    }
  }

  /** Restores the best weights also when training ran to the end (Keras 3), if `restoreBestWeights`. */
  onTrainEnd(): void {
    // Keras 3 also restores when training ran to the end (or another callback stopped it).
    if (this.stoppedEpoch === undefined && this.bestWeights !== undefined) {
      this.requireModel().setWeights(this.bestWeights);
    }
    this.bestWeights = undefined;
  }
}

/** Options of {@link ReduceLROnPlateau}. */
export interface ReduceLROnPlateauOptions {
  /** Metric to watch. Default 'val_loss'. */
  monitor?: string;
  /** Multiplier applied to the learning rate, in (0, 1). Default 0.1. */
  factor?: number;
  /** Epochs without improvement before reducing. Default 10. */
  patience?: number;
  /** Direction of improvement; 'auto' is 'max' for accuracy-like names, else 'min'. Default 'auto'. */
  mode?: MonitorMode;
  /** Smallest change that counts as an improvement. Default 1e-4. */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again. Default 0. */
  cooldown?: number;
  /** Lower bound of the learning rate. Default 0. */
  minLr?: number;
  /** 1: log every reduction to the console. Default 0. */
  verbose?: number;
}

const REDUCE_LR_KEYS = ['monitor', 'factor', 'patience', 'mode', 'minDelta', 'cooldown', 'minLr', 'verbose'];

/** Multiplies the learning rate by `factor` when the monitored metric stops improving (Keras `ReduceLROnPlateau`). */
export class ReduceLROnPlateau extends BaseCallback {
  private readonly monitor: Monitor;
  private readonly factor: number;
  private readonly patience: number;
  private readonly minDelta: number;
  private readonly cooldown: number;
  private readonly minLr: number;
  private readonly verbose: number;
  private wait = 0;
  private cooldownCounter = 0;
  private best: number;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(options?: ReduceLROnPlateauOptions) {
    super();
    const o = optionsOrEmpty(options, 'reduceLROnPlateau options');
    checkKnownKeys(o, REDUCE_LR_KEYS, 'reduceLROnPlateau options');
    const monitor = checkMonitor(o.monitor ?? 'val_loss', 'monitor');
    this.monitor = new Monitor(monitor, checkOneOf(o.mode ?? 'auto', 'mode', MONITOR_MODES), 'reduceLROnPlateau');
    this.factor = checkNumber(o.factor ?? 0.1, 'factor', { minExclusive: 0, maxExclusive: 1 });
    this.patience = checkInteger(o.patience ?? 10, 'patience', { min: 0 });
    this.minDelta = checkNumber(o.minDelta ?? 1e-4, 'minDelta', { min: 0 });
    this.cooldown = checkInteger(o.cooldown ?? 0, 'cooldown', { min: 0 });
    this.minLr = checkNumber(o.minLr ?? 0, 'minLr', { min: 0 });
    this.verbose = checkInteger(o.verbose ?? 0, 'verbose', { min: 0, max: 1 });
    this.best = this.monitor.worst;
  }

  /** Forgets the previous run: best value, patience and cooldown counts. */
  onTrainBegin(): void {
    this.wait = 0;
    this.cooldownCounter = 0;
    this.best = this.monitor.worst;
    this.monitor.resetWarning();
  }

  /** Multiplies the learning rate by `factor` when the monitored value stopped improving for `patience` epochs. */
  onEpochEnd(epoch: number, logs?: Logs): void {
    const current = this.monitor.read(logs);
    if (current === undefined) return;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.wait = 0;
    }
    if (this.monitor.isBetter(current, this.best, this.minDelta)) {
      this.best = current;
      this.wait = 0;
      return;
    }
    if (this.cooldownCounter > 0) return;
    this.wait++;
    if (this.wait < this.patience) return;
    const optimizer = this.requireModel().optimizer;
    const oldLr = optimizer.learningRate;
    if (oldLr > this.minLr) {
      const newLr = Math.max(oldLr * this.factor, this.minLr);
      optimizer.learningRate = newLr;
      if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: reduceLROnPlateau set the learning rate to ${newLr}.`);
      this.cooldownCounter = this.cooldown;
      this.wait = 0;
    }
  }
}

/** Options of {@link ModelCheckpoint}. */
export interface ModelCheckpointOptions {
  /** Metric compared when `saveBestOnly`. Default 'val_loss'. */
  monitor?: string;
  /** Save only when the monitored metric improves on the best value seen so far. Default false. */
  saveBestOnly?: boolean;
  /** Direction of improvement; 'auto' is 'max' for accuracy-like names, else 'min'. Default 'auto'. */
  mode?: MonitorMode;
  /**
   * Also save the optimizer state (moments, step count), so that `rk.loadModel` + `fit({ initialEpoch })` resumes
   * exactly where the checkpoint was taken. Default false.
   */
  includeOptimizer?: boolean;
}

const CHECKPOINT_KEYS = ['monitor', 'saveBestOnly', 'mode', 'includeOptimizer'];

/**
 * Saves the model after every epoch (or only after improving ones) with `model.save(path)`, where `{epoch}` in the
 * path becomes the 1-based epoch number. The best value persists across fit() calls, as in Keras, so a later run
 * does not overwrite a better saved model.
 */
export class ModelCheckpoint extends BaseCallback {
  private readonly path: string;
  private readonly monitor: Monitor;
  private readonly saveBestOnly: boolean;
  private readonly includeOptimizer: boolean;
  private best: number;

  /** Validates the options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(path: string, options?: ModelCheckpointOptions) {
    super();
    if (typeof path !== 'string' || path.length === 0) {
      throw new RnnError('ARGUMENT', `Expected a non-empty file path for modelCheckpoint but received ${typeof path}`);
    }
    const o = optionsOrEmpty(options, 'modelCheckpoint options');
    checkKnownKeys(o, CHECKPOINT_KEYS, 'modelCheckpoint options');
    this.path = path;
    const monitor = checkMonitor(o.monitor ?? 'val_loss', 'monitor');
    this.monitor = new Monitor(monitor, checkOneOf(o.mode ?? 'auto', 'mode', MONITOR_MODES), 'modelCheckpoint');
    this.saveBestOnly = checkBoolean(o.saveBestOnly ?? false, 'saveBestOnly');
    this.includeOptimizer = checkBoolean(o.includeOptimizer ?? false, 'includeOptimizer');
    this.best = this.monitor.worst;
  }

  setModel(model: CallbackModel): void {
    if (typeof model.save !== 'function') {
      throw new RnnError(
        'STATE',
        'modelCheckpoint needs a model with a save(path) method, and this model has none; ' +
          'save the weights yourself in an onEpochEnd callback instead',
      );
    }
    super.setModel(model);
  }

  /** Checks that the model can save before the first epoch. */
  onTrainBegin(): void {
    this.requireModel();
    this.monitor.resetWarning();
  }

  /** Saves the model (only when the monitored value improved, with `saveBestOnly`). */
  async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.saveBestOnly) {
      const current = this.monitor.read(logs);
      if (current === undefined || !this.monitor.isBetter(current, this.best)) return;
      this.best = current;
    }
    const model = this.requireModel();
    const save = model.save as NonNullable<CallbackModel['save']>;
    await save.call(model, this.path.replace(/\{epoch\}/g, String(epoch + 1)), { includeOptimizer: this.includeOptimizer });
  }
}
