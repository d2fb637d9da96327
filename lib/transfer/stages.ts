/**
 * Staged training, the mechanism under every gradient-based recipe of rk.fineTune: each stage sets which layers train,
 * a learning rate and optional per-layer learning-rate multipliers, then runs fit with a fresh optimizer (as a Keras
 * recompile after unfreezing). Trainable flags and multipliers are put back as they were when the stages end or throw.
 */
import { RnnError } from '../errors';
import type { Model } from '../models/model';
import { Optimizer } from '../optimizers';
import { Random } from '../random';
import { Tensor } from '../tensor';
import { Callback, callbacks as builtInCallbacks } from '../training/callbacks';
import { History } from '../training/history';
import type { LossName } from '../training/losses';
import { checkInteger, checkKnownKeys, checkNumber, invalid, isPlainObject } from '../validate';

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

/** One stage as it ran. */
export interface FineTuneStageResult {
  /** The stage as it ran (defaults filled in). */
  stage: FineTuneStage;
  /** Names of the layers that trained. */
  trainable: string[];
  /** The stage's base learning rate. */
  learningRate: number;
  /** The stage's fit history. */
  history: History;
}

/** What every stage of one run shares. @internal */
export interface StageContext {
  loss: LossName;
  metrics?: string[] | string;
  baseOptimizer: Optimizer;
  batchSize: number;
  callbacks: Callback[];
  verbose: 0 | 1;
  rng: Random;
  validation?: [Tensor, Tensor];
}

const STAGE_KEYS = ['epochs', 'freeze', 'learningRate', 'layerLearningRates', 'patience'] as const;

function checkLayerName(model: Model, name: unknown, what: string): string {
  if (typeof name !== 'string' || !model.layers.some((l) => l.name === name)) {
    throw invalid('ARGUMENT', `a layer name of model '${model.name}' (${model.layers.map((l) => `'${l.name}'`).join(', ')})`, what, name);
  }
  return name;
}

/** A stage given by the caller, checked against the model (layer names) and the data (patience needs validation). */
export function checkStage(model: Model, value: unknown, index: number, hasValidation: boolean): FineTuneStage {
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

/** The layers with weights, in order; the last one is the head. */
export function weightedLayers(model: Model): string[] {
  return model.layers.filter((l) => model.paramIndicesOf(l).length > 0).map((l) => l.name);
}

/** The layers a stage freezes; `true` means every layer but the head (the last layer with weights). */
function frozenNames(model: Model, freeze: boolean | string[] | undefined): Set<string> | undefined {
  if (freeze === undefined) return undefined;
  if (Array.isArray(freeze)) return new Set(freeze);
  if (!freeze) return new Set();
  return new Set(weightedLayers(model).slice(0, -1));
}

/**
 * Trains `model` on `train` stage by stage and returns each stage's result. The model ends compiled with the last
 * stage's optimizer; its trainable flags and per-layer learning rates are put back as they were, also on a throw.
 */
export async function runStages(model: Model, train: [Tensor, Tensor], stages: FineTuneStage[], ctx: StageContext): Promise<FineTuneStageResult[]> {
  const originalTrainable = model.layers.map((l) => l.trainable);
  const network = model.requireNetwork();
  const results: FineTuneStageResult[] = [];
  try {
    for (const [index, stage] of stages.entries()) {
      const frozen = frozenNames(model, stage.freeze);
      model.layers.forEach((layer, i) => { layer.trainable = frozen ? !frozen.has(layer.name) : originalTrainable[i]; });
      const learningRate = stage.learningRate ?? ctx.baseOptimizer.learningRate;
      model.compile({ optimizer: ctx.baseOptimizer.clone(learningRate), loss: ctx.loss, metrics: ctx.metrics });
      for (const layer of model.layers) {
        const scale = stage.layerLearningRates?.[layer.name] ?? 1;
        for (const param of model.paramIndicesOf(layer)) network.setLearningRateScale(param, scale);
      }
      const training = model.layers.filter((l) => l.trainable && model.paramIndicesOf(l).length > 0).map((l) => l.name);
      if (ctx.verbose) {
        const scales = stage.layerLearningRates ? `, layer rates ${JSON.stringify(stage.layerLearningRates)}` : '';
        const stop = stage.patience === undefined ? '' : `, early stopping (patience ${stage.patience})`;
        console.log(`fineTune stage ${index + 1}/${stages.length}: up to ${stage.epochs} epochs, training ${training.join(', ') || 'nothing'} at learning rate ${learningRate}${scales}${stop}`);
      }
      const stageCallbacks = [...ctx.callbacks];
      if (stage.patience !== undefined) stageCallbacks.push(builtInCallbacks.earlyStopping({ monitor: 'val_loss', patience: stage.patience, restoreBestWeights: true }));
      const history = await model.fit(train[0], train[1], {
        epochs: stage.epochs, batchSize: ctx.batchSize, validationData: ctx.validation, callbacks: stageCallbacks, verbose: ctx.verbose, seed: ctx.rng.integer(0x7fffffff),
      });
      results.push({ stage, trainable: training, learningRate, history });
    }
  } finally {
    for (const layer of model.layers) for (const param of model.paramIndicesOf(layer)) network.setLearningRateScale(param, 1);
    model.layers.forEach((layer, i) => { layer.trainable = originalTrainable[i]; });
  }
  return results;
}
