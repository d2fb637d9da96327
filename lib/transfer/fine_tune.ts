/**
 * rk.fineTune: staged training of a (transferred) model. Each stage sets which layers train, a learning rate and
 * optional per-layer learning-rate multipliers, then runs fit with a fresh optimizer (as a Keras recompile after
 * unfreezing). Trainable flags and multipliers are put back as they were when fineTune returns or throws.
 */
import { RnnError } from '../errors';
import { Sequential } from '../models/sequential';
import { Optimizer, OPTIMIZER_NAMES, OptimizerName } from '../optimizers';
import { globalRandom, Random } from '../random';
import { Tensor, TensorLike, gatherRows, toTensor } from '../tensor';
import { Callback, callbacks as builtInCallbacks } from '../training/callbacks';
import { History } from '../training/history';
import type { LossName } from '../training/losses';
import { checkInteger, checkKnownKeys, checkNumber, invalid, isPlainObject, optionsOrEmpty } from '../validate';
import { defaultEpochs, defaultStages } from './schedule';

/** One stage of a fine-tuning schedule. */
export interface FineTuneStage {
  /** Epochs of this stage (an upper bound when `patience` is set). Required. */
  epochs: number;
  /**
   * Which layers keep their weights fixed in this stage: `true` every layer but the head (the last layer with
   * weights), `false` none, or a list of layer names (all others train). Default: the flags as they are.
   */
  freeze?: boolean | string[];
  /** Learning rate of this stage. Default: the optimizer's own. */
  learningRate?: number;
  /** Per-layer multipliers of the learning rate, by layer name, e.g. `{ lstm: 0.1 }`. Default 1. */
  layerLearningRates?: Record<string, number>;
  /**
   * End the stage when val_loss has not improved for this many epochs and restore the weights of its best epoch.
   * Needs `validationSplit`. Default: run every epoch.
   */
  patience?: number;
}

export interface FineTuneOptions {
  /** Optimizer name or rk.optimizers object (cloned for every stage). Default: the compiled one, else 'adam'. */
  optimizer?: OptimizerName | Optimizer;
  /** Default: the compiled loss (required when the model is not compiled). */
  loss?: LossName | 'mse' | 'mae';
  /** Default: the compiled metrics, else none. */
  metrics?: string[] | string;
  /**
   * Epoch budget of the default schedule (explicit `stages` set their own, so not both). Default: enough epochs for
   * about 300 steps, at least 10.
   */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /**
   * Fraction of the samples held out for validation: chosen at random once (seeded), shared by every stage (fit's
   * validationSplit takes the last rows instead). With the default schedule it also turns on early stopping in the
   * second stage. Default 0.
   */
  validationSplit?: number;
  /** Callbacks given to every stage's fit. */
  callbacks?: Callback[];
  /** 0 silent; 1 one line per stage plus fit's progress. Default 1. */
  verbose?: 0 | 1;
  /** Seed of the validation split and of every stage's shuffling and dropout. Default: from rk.setSeed's generator. */
  seed?: number;
  /**
   * The schedule. Default (DEFAULT_SCHEDULE in lib/transfer/schedule.ts, chosen from measurements): 10% of the
   * epochs on the head alone at 3x the learning rate, then every layer at the base rate (with early stopping on
   * val_loss, restoring the best epoch, when validationSplit is given).
   */
  stages?: FineTuneStage[];
}

export interface FineTuneStageResult {
  /** The stage as it ran (defaults filled in). */
  stage: FineTuneStage;
  /** Names of the layers that trained. */
  trainable: string[];
  learningRate: number;
  history: History;
}

export interface FineTuneResult {
  stages: FineTuneStageResult[];
}

const FINE_TUNE_KEYS = ['optimizer', 'loss', 'metrics', 'epochs', 'batchSize', 'validationSplit', 'callbacks', 'verbose', 'seed', 'stages'] as const;
const STAGE_KEYS = ['epochs', 'freeze', 'learningRate', 'layerLearningRates', 'patience'] as const;

function checkLayerName(model: Sequential, name: unknown, what: string): string {
  if (typeof name !== 'string' || !model.layers.some((l) => l.name === name)) {
    throw invalid('ARGUMENT', `a layer name of model '${model.name}' (${model.layers.map((l) => `'${l.name}'`).join(', ')})`, what, name);
  }
  return name;
}

function checkStage(model: Sequential, value: unknown, index: number, hasValidation: boolean): FineTuneStage {
  const at = `stages[${index}]`;
  if (!isPlainObject(value)) throw invalid('ARGUMENT', 'a stage object { epochs, freeze, learningRate }', at, value);
  checkKnownKeys(value, STAGE_KEYS, `${at} options`);
  const stage: FineTuneStage = { epochs: checkInteger(value.epochs, `${at}.epochs`, { min: 1 }) };
  if (value.freeze !== undefined) {
    if (Array.isArray(value.freeze)) stage.freeze = value.freeze.map((n, i) => checkLayerName(model, n, `${at}.freeze[${i}]`));
    else if (typeof value.freeze === 'boolean') stage.freeze = value.freeze;
    else throw invalid('ARGUMENT', 'true, false or a list of layer names', `${at}.freeze`, value.freeze);
  }
  if (value.learningRate !== undefined) stage.learningRate = checkNumber(value.learningRate, `${at}.learningRate`, { minExclusive: 0 });
  if (value.layerLearningRates !== undefined) {
    if (!isPlainObject(value.layerLearningRates)) throw invalid('ARGUMENT', 'an object { layerName: multiplier }', `${at}.layerLearningRates`, value.layerLearningRates);
    const rates: Record<string, number> = {};
    for (const [name, scale] of Object.entries(value.layerLearningRates)) {
      checkLayerName(model, name, `a key of ${at}.layerLearningRates`);
      rates[name] = checkNumber(scale, `${at}.layerLearningRates['${name}']`, { min: 0 });
    }
    stage.layerLearningRates = rates;
  }
  if (value.patience !== undefined) {
    stage.patience = checkInteger(value.patience, `${at}.patience`, { min: 0 });
    if (!hasValidation) throw new RnnError('ARGUMENT', `Expected validationSplit > 0 for ${at}.patience (early stopping watches val_loss) but received none`);
  }
  return stage;
}

/** The layers a stage freezes; `true` means every layer but the head (the last layer with weights). */
function frozenNames(model: Sequential, freeze: boolean | string[] | undefined): Set<string> | undefined {
  if (freeze === undefined) return undefined;
  if (Array.isArray(freeze)) return new Set(freeze);
  if (!freeze) return new Set();
  const withWeights = model.layers.filter((l) => model.paramIndicesOf(l).length > 0);
  return new Set(withWeights.slice(0, -1).map((l) => l.name));
}

/** A fresh optimizer of the same kind and settings, with another learning rate. */
function cloneOptimizer(base: Optimizer, learningRate: number): Optimizer {
  const { kind, ...settings } = base.getConfig();
  return new Optimizer(kind, { ...settings, learningRate });
}

/** Rows of x and y split once at random into training and validation parts. */
function splitRows(x: Tensor, y: Tensor, fraction: number, rng: Random): { train: [Tensor, Tensor]; validation?: [Tensor, Tensor] } {
  const samples = x.shape[0];
  if (y.shape[0] !== samples) throw new RnnError('SHAPE', `Expected y to hold ${samples} samples (one per sample of x) but received ${y.shape[0]}`);
  if (fraction === 0) return { train: [x, y] };
  const held = Math.floor(samples * fraction);
  if (held < 1 || held >= samples) {
    throw new RnnError('ARGUMENT', `Expected validationSplit to leave at least one sample on each side of ${samples} samples but received ${fraction}`);
  }
  const order = Array.from({ length: samples }, (_, i) => i);
  rng.shuffle(order);
  const take = (t: Tensor, rows: number[]) => new Tensor(gatherRows(t, rows), [rows.length, ...t.shape.slice(1)]);
  const trainRows = order.slice(held).sort((a, b) => a - b);
  const validationRows = order.slice(0, held).sort((a, b) => a - b);
  return { train: [take(x, trainRows), take(y, trainRows)], validation: [take(x, validationRows), take(y, validationRows)] };
}

function resolveOptimizer(model: Sequential, value: unknown): Optimizer {
  if (value instanceof Optimizer) return value;
  if (typeof value === 'string' && (OPTIMIZER_NAMES as readonly string[]).includes(value)) return new Optimizer(value as OptimizerName);
  if (value !== undefined) throw invalid('ARGUMENT', `an optimizer name (${OPTIMIZER_NAMES.join(', ')}) or rk.optimizers object`, 'optimizer', value);
  try {
    return model.optimizer;
  } catch {
    return new Optimizer('adam');
  }
}

/**
 * Trains `model` on (x, y) in stages and returns each stage's history. Without `stages`, runs the default schedule
 * (see FineTuneOptions.stages). The model ends compiled with the last stage's optimizer; its trainable flags and
 * per-layer learning rates are put back as they were, also when a stage throws.
 */
export async function fineTune(model: Sequential, x: TensorLike, y: TensorLike, options: FineTuneOptions = {}): Promise<FineTuneResult> {
  if (!(model instanceof Sequential)) throw invalid('ARGUMENT', 'a Sequential model', 'model', model);
  const opts = optionsOrEmpty(options, 'fineTune options');
  checkKnownKeys(opts, FINE_TUNE_KEYS, 'fineTune options');
  let compiled: { loss: LossName; metrics: string[] } | undefined;
  try {
    const state = model.requireCompiled();
    compiled = { loss: state.loss, metrics: state.metrics };
  } catch {
    compiled = undefined;
  }
  const loss = opts.loss ?? compiled?.loss;
  if (loss === undefined) throw new RnnError('ARGUMENT', `Expected loss in fineTune options (model '${model.name}' is not compiled) but received undefined`);
  const metrics = opts.metrics ?? compiled?.metrics;
  const baseOptimizer = resolveOptimizer(model, opts.optimizer);
  if (opts.epochs !== undefined) checkInteger(opts.epochs, 'epochs', { min: 2 });
  if (opts.epochs !== undefined && opts.stages !== undefined) {
    throw new RnnError('ARGUMENT', 'Expected either epochs (the default schedule\'s budget) or stages (each with its epochs) in fineTune options but received both');
  }
  const validationSplit = opts.validationSplit === undefined ? 0 : checkNumber(opts.validationSplit, 'validationSplit', { min: 0, max: 0.9 });
  const verbose = (opts.verbose === undefined ? 1 : checkInteger(opts.verbose, 'verbose', { min: 0, max: 1 })) as 0 | 1;
  const seed = opts.seed === undefined ? globalRandom().integer(0x7fffffff) : checkInteger(opts.seed, 'seed', { min: 0 });
  const batchSize = opts.batchSize === undefined ? 32 : checkInteger(opts.batchSize, 'batchSize', { min: 1 });
  if (opts.callbacks !== undefined && !Array.isArray(opts.callbacks)) throw invalid('ARGUMENT', 'an array of callbacks', 'callbacks', opts.callbacks);

  const rng = new Random(seed);
  const data = splitRows(toTensor(x, 'x'), toTensor(y, 'y'), validationSplit, rng);
  const epochs = opts.epochs ?? defaultEpochs(data.train[0].shape[0], batchSize);
  const rawStages = opts.stages ?? defaultStages(epochs, baseOptimizer.learningRate, validationSplit > 0);
  if (!Array.isArray(rawStages) || rawStages.length === 0) throw invalid('ARGUMENT', 'a non-empty array of stages', 'stages', rawStages);
  const stages = rawStages.map((s, i) => checkStage(model, s, i, validationSplit > 0));

  const originalTrainable = model.layers.map((l) => l.trainable);
  const network = model.requireNetwork();
  const results: FineTuneStageResult[] = [];
  try {
    for (const [index, stage] of stages.entries()) {
      const frozen = frozenNames(model, stage.freeze);
      model.layers.forEach((layer, i) => { layer.trainable = frozen ? !frozen.has(layer.name) : originalTrainable[i]; });
      const learningRate = stage.learningRate ?? baseOptimizer.learningRate;
      model.compile({ optimizer: cloneOptimizer(baseOptimizer, learningRate), loss, metrics });
      for (const layer of model.layers) {
        const scale = stage.layerLearningRates?.[layer.name] ?? 1;
        for (const param of model.paramIndicesOf(layer)) network.setLearningRateScale(param, scale);
      }
      const training = model.layers.filter((l) => l.trainable && model.paramIndicesOf(l).length > 0).map((l) => l.name);
      if (verbose) {
        const scales = stage.layerLearningRates ? `, layer rates ${JSON.stringify(stage.layerLearningRates)}` : '';
        const stop = stage.patience === undefined ? '' : `, early stopping (patience ${stage.patience})`;
        console.log(`fineTune stage ${index + 1}/${stages.length}: up to ${stage.epochs} epochs, training ${training.join(', ') || 'nothing'} at learning rate ${learningRate}${scales}${stop}`);
      }
      const stageCallbacks = [...(opts.callbacks ?? [])];
      if (stage.patience !== undefined) stageCallbacks.push(builtInCallbacks.earlyStopping({ monitor: 'val_loss', patience: stage.patience, restoreBestWeights: true }));
      const history = await model.fit(data.train[0], data.train[1], {
        epochs: stage.epochs, batchSize, validationData: data.validation, callbacks: stageCallbacks, verbose, seed: rng.integer(0x7fffffff),
      });
      results.push({ stage, trainable: training, learningRate, history });
    }
  } finally {
    for (const layer of model.layers) for (const param of model.paramIndicesOf(layer)) network.setLearningRateScale(param, 1);
    model.layers.forEach((layer, i) => { layer.trainable = originalTrainable[i]; });
  }
  return { stages: results };
}
