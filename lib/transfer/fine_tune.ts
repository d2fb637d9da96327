/**
 * rk.fineTune: trains a (transferred) model on the target domain's labelled data with a published recipe
 * (./recipes.ts), an explicit schedule of stages (./stages.ts), or, by default, the recipe that wins a
 * cross-validation on the data given (./select.ts; why: ./schedule.ts). Returns what ran and a report.
 */
import { RnnError } from '../errors';
import { Model } from '../models/model';
import { checkOneInputOneOutput } from './clone';
import { Optimizer, OptimizerName, resolveOptimizer } from '../optimizers';
import { globalRandom, Random } from '../random';
import { Tensor, TensorLike, toTensor } from '../tensor';
import { Callback } from '../training/callbacks';
import { checkLoss, isClassificationLoss, LossName } from '../training/losses';
import { DEFAULT_BATCH_SIZE } from '../training/data';
import { checkInteger, checkKnownKeys, checkNumber, checkOneOf, invalid, optionsOrEmpty } from '../validate';
import { FineTuneReport } from './fine_tune_report';
import { classIds, takeRows } from './folds';
import { bodyFeatures, chooseDecay, ProbeOptions, ProbeResult, probeSite } from './probe';
import { FineTuneRecipe, L2spOptions, RecipeContext, RECIPES, runRecipe } from './recipes';
import { defaultEpochs, RECIPE_DEFAULTS } from './schedule';
import { CandidateScore, selectRecipe } from './select';
import { checkStage, FineTuneStage, FineTuneStageResult, runStages } from './stages';

export type { FineTuneStage, FineTuneStageResult } from './stages';

/** 'auto' (the default) or one recipe of ./recipes.ts. */
export type FineTuneStrategy = 'auto' | FineTuneRecipe;

/** Options of rk.fineTune; every one has a documented default. */
export interface FineTuneOptions {
  /** Optimizer name or rk.optimizers object (cloned for every stage). Default: the compiled one, else 'adam'. */
  optimizer?: OptimizerName | Optimizer;
  /** Default: the compiled loss (required when the model is not compiled). */
  loss?: LossName | 'mse' | 'mae';
  /** Default: the compiled metrics, else none. */
  metrics?: string[] | string;
  /**
   * Epoch budget of a recipe's gradient stages (explicit `stages` set their own, so not both). Default: enough epochs
   * for about 300 steps, at least 10.
   */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /**
   * Fraction of the samples held out for validation: chosen at random once (seeded), never trained on and never used
   * to choose a recipe; every fit reports val_loss on it, and stages may stop early on it (`patience`). Default 0.
   */
  validationSplit?: number;
  /** Callbacks given to every fit of the recipe that trains the returned model (not to the cross-validation's). */
  callbacks?: Callback[];
  /** 0 silent; 1 one line per stage and per cross-validation fold, plus fit's progress. Default 1. */
  verbose?: 0 | 1;
  /** Seed of the splits, the folds, fresh weights, and every stage's shuffling and dropout. Default: from rk.setSeed's generator. */
  seed?: number;
  /**
   * What to run: 'auto' chooses among `candidates` by cross-validation; a recipe name runs that recipe: 'probe',
   * 'lpft', 'l2sp', 'finetune', 'ulmfit', 'scratch' (each described, with its paper, in lib/transfer/recipes.ts).
   * Default 'auto' (or the given `stages`).
   */
  strategy?: FineTuneStrategy;
  /** An explicit schedule instead of a strategy. */
  stages?: FineTuneStage[];
  /**
   * The recipes 'auto' compares. The first is the prior choice: another replaces it only when it predicts the held-out
   * samples better by more than 1.645 standard errors (lib/transfer/select.ts). Default ['lpft', 'probe', 'l2sp',
   * 'scratch'] below 500 training samples, ['lpft', 'finetune', 'probe', 'l2sp', 'scratch'] from 500 on.
   */
  candidates?: FineTuneRecipe[];
  /** Stratified folds of 'auto''s cross-validation (>= 2). Default 2. */
  folds?: number;
  /** The probe's weight decay (one value, or several to choose from by cross-validation) and iteration bound. */
  probe?: ProbeOptions;
  /** L2-SP's penalty factors. */
  l2sp?: L2spOptions;
}

/** What rk.fineTune ran. */
export interface FineTuneResult {
  /** The recipe that trained the model ('stages' for an explicit schedule). */
  strategy: FineTuneRecipe | 'stages';
  /** Every gradient stage that trained the returned model (none for the probe). */
  stages: FineTuneStageResult[];
  /** The probe's result when the recipe includes it. */
  probe?: ProbeResult;
  /** Candidates, scores, choice and cost; `report.toString()` prints them. */
  report: FineTuneReport;
}

const FINE_TUNE_KEYS = ['optimizer', 'loss', 'metrics', 'epochs', 'batchSize', 'validationSplit', 'callbacks', 'verbose', 'seed',
  'strategy', 'stages', 'candidates', 'folds', 'probe', 'l2sp'] as const;
const STRATEGIES: readonly FineTuneStrategy[] = ['auto', ...RECIPES];
const PROBE_RECIPES: readonly FineTuneRecipe[] = ['probe', 'lpft'];

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
  const trainRows = order.slice(held).sort((a, b) => a - b);
  const validationRows = order.slice(0, held).sort((a, b) => a - b);
  return { train: [takeRows(x, trainRows), takeRows(y, trainRows)], validation: [takeRows(x, validationRows), takeRows(y, validationRows)] };
}

function checkProbeOptions(value: unknown): ProbeOptions {
  const opts = optionsOrEmpty(value as ProbeOptions, 'probe options');
  checkKnownKeys(opts, ['l2', 'maxIterations'], 'probe options');
  const out: ProbeOptions = {};
  if (opts.l2 !== undefined) {
    const list = Array.isArray(opts.l2) ? opts.l2 : [opts.l2];
    if (list.length === 0) throw invalid('ARGUMENT', 'a weight decay >= 0 or a non-empty list of them', 'probe.l2', opts.l2);
    out.l2 = list.map((v, i) => checkNumber(v, `probe.l2${Array.isArray(opts.l2) ? `[${i}]` : ''}`, { min: 0, max: 1e6 }));
  }
  if (opts.maxIterations !== undefined) out.maxIterations = checkInteger(opts.maxIterations, 'probe.maxIterations', { min: 1 });
  return out;
}

function checkL2sp(value: unknown): Required<L2spOptions> {
  const opts = optionsOrEmpty(value as L2spOptions, 'l2sp options');
  checkKnownKeys(opts, ['alpha', 'beta'], 'l2sp options');
  return {
    alpha: opts.alpha === undefined ? RECIPE_DEFAULTS.l2spAlpha : checkNumber(opts.alpha, 'l2sp.alpha', { min: 0, max: 1e6 }),
    beta: opts.beta === undefined ? RECIPE_DEFAULTS.l2spBeta : checkNumber(opts.beta, 'l2sp.beta', { min: 0, max: 1e6 }),
  };
}

/** Refuses options that the chosen strategy would not use (an accepted option must do something). */
function checkUsed(opts: FineTuneOptions, strategy: FineTuneStrategy | 'stages', recipes: readonly FineTuneRecipe[]): void {
  const refuse = (key: string, why: string) => {
    throw new RnnError('ARGUMENT', `Expected no ${key} in fineTune options with ${strategy === 'stages' ? 'explicit stages' : `strategy '${strategy}'`} (${why}) but received one`);
  };
  if (strategy !== 'auto' && opts.candidates !== undefined) refuse('candidates', "only 'auto' compares candidates");
  if (strategy !== 'auto' && opts.folds !== undefined) refuse('folds', "only 'auto' cross-validates");
  if (opts.probe !== undefined && !recipes.some((r) => PROBE_RECIPES.includes(r))) refuse('probe', 'no probe runs');
  if (opts.l2sp !== undefined && !recipes.includes('l2sp')) refuse('l2sp', 'no L2-SP runs');
  if (strategy === 'probe' && opts.epochs !== undefined) refuse('epochs', 'the probe is solved to convergence: it has no epochs');
  if (strategy === 'stages' && opts.epochs !== undefined) {
    throw new RnnError('ARGUMENT', 'Expected either epochs (a recipe\'s budget) or stages (each with its epochs) in fineTune options but received both');
  }
}

function checkCandidates(value: unknown): FineTuneRecipe[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('ARGUMENT', `a non-empty list of recipes (${RECIPES.join(', ')})`, 'candidates', value);
  const list = value.map((r, i) => checkOneOf(r, `candidates[${i}]`, RECIPES));
  if (new Set(list).size !== list.length) throw invalid('ARGUMENT', 'a list without repeats', 'candidates', value);
  return list;
}

/**
 * Trains `model` in place on (x, y) for a new domain and returns what ran. Without `strategy` or `stages` it
 * cross-validates the candidate recipes on (x, y) and retrains the best on all of it (see FineTuneOptions). The model
 * ends compiled; its trainable flags and per-layer learning rates are put back as they were, also when it throws.
 */
export async function fineTune(model: Model, x: TensorLike, y: TensorLike, options: FineTuneOptions = {}): Promise<FineTuneResult> {
  const started = Date.now();
  if (!(model instanceof Model)) throw invalid('ARGUMENT', 'a model (rk.sequential or rk.model)', 'model', model);
  checkOneInputOneOutput(model, 'fineTune');
  const opts = optionsOrEmpty(options, 'fineTune options');
  checkKnownKeys(opts, FINE_TUNE_KEYS, 'fineTune options');
  if (opts.stages !== undefined && opts.strategy !== undefined) {
    throw new RnnError('ARGUMENT', 'Expected either strategy or stages in fineTune options but received both');
  }
  const strategy: FineTuneStrategy | 'stages' = opts.stages !== undefined ? 'stages' : opts.strategy === undefined ? 'auto' : checkOneOf(opts.strategy, 'strategy', STRATEGIES);
  const givenCandidates = opts.candidates === undefined ? undefined : checkCandidates(opts.candidates);
  const compiled = model.compiledSettings;
  const loss = opts.loss !== undefined ? checkLoss(opts.loss) : compiled?.loss;
  if (loss === undefined) throw new RnnError('ARGUMENT', `Expected loss in fineTune options (model '${model.name}' is not compiled) but received undefined`);
  const metrics = opts.metrics ?? compiled?.metrics;
  const baseOptimizer = resolveOptimizer(opts.optimizer) ?? compiled?.optimizer ?? new Optimizer('adam');
  if (opts.epochs !== undefined) checkInteger(opts.epochs, 'epochs', { min: 1 });
  const validationSplit = opts.validationSplit === undefined ? 0 : checkNumber(opts.validationSplit, 'validationSplit', { min: 0, max: 0.9 });
  const verbose = (opts.verbose === undefined ? 1 : checkInteger(opts.verbose, 'verbose', { min: 0, max: 1 })) as 0 | 1;
  const seed = opts.seed === undefined ? globalRandom().integer(0x7fffffff) : checkInteger(opts.seed, 'seed', { min: 0 });
  const batchSize = opts.batchSize === undefined ? DEFAULT_BATCH_SIZE : checkInteger(opts.batchSize, 'batchSize', { min: 1 });
  const folds = opts.folds === undefined ? RECIPE_DEFAULTS.folds : checkInteger(opts.folds, 'folds', { min: 2 });
  if (opts.callbacks !== undefined && !Array.isArray(opts.callbacks)) throw invalid('ARGUMENT', 'an array of callbacks', 'callbacks', opts.callbacks);
  const probe = opts.probe === undefined ? {} : checkProbeOptions(opts.probe);
  const l2sp = checkL2sp(opts.l2sp);

  const rng = new Random(seed);
  const data = splitRows(toTensor(x, 'x'), toTensor(y, 'y'), validationSplit, rng);
  const [trainX, trainY] = data.train;
  const samples = trainX.shape[0];
  const candidates = givenCandidates
    ?? [...(samples < RECIPE_DEFAULTS.manyLabels ? RECIPE_DEFAULTS.candidates : RECIPE_DEFAULTS.manyLabelCandidates)];
  const recipes: FineTuneRecipe[] = strategy === 'auto' ? candidates : strategy === 'stages' ? [] : [strategy];
  checkUsed(opts, strategy, recipes);
  if (strategy === 'auto' && samples < 2 * folds) {
    throw new RnnError('ARGUMENT', `Expected at least ${2 * folds} training samples for ${folds}-fold cross-validation but received ${samples}`);
  }
  const epochs = opts.epochs ?? defaultEpochs(samples, batchSize);
  const plainFitPasses = epochs * samples;
  const ctx: RecipeContext = {
    loss, metrics, baseOptimizer, batchSize, callbacks: opts.callbacks ?? [], verbose, rng, validation: data.validation, epochs,
    ids: classIds(trainY, isClassificationLoss(loss)), probe, l2sp,
    probeSeed: rng.integer(0x7fffffff),
  };

  if (strategy === 'stages') {
    if (!Array.isArray(opts.stages) || opts.stages.length === 0) throw invalid('ARGUMENT', 'a non-empty array of stages', 'stages', opts.stages);
    const stages = opts.stages.map((s, i) => checkStage(model, s, i, validationSplit > 0));
    const results = await runStages(model, data.train, stages, ctx);
    const passes = results.reduce((n, r) => n + r.history.epoch.length * samples, 0);
    const cost = { samplePasses: passes, plainFitPasses, ratio: passes / plainFitPasses, seconds: (Date.now() - started) / 1000 };
    return { strategy, stages: results, report: new FineTuneReport('stages', 'given', [], 0, undefined, cost) };
  }

  // The probe's features: one inference pass of the body over the training rows, shared by every fold.
  const skip = new Map<FineTuneRecipe, string>();
  if (recipes.some((r) => PROBE_RECIPES.includes(r))) {
    const site = probeSite(model);
    if ('reason' in site) {
      if (strategy !== 'auto') throw new RnnError('ARGUMENT', `Expected a model whose last layer is a Dense head on feature vectors for strategy '${strategy}' but ${site.reason}`);
      for (const r of PROBE_RECIPES) skip.set(r, site.reason);
    } else {
      ctx.features = { all: await bodyFeatures(model, site, trainX), site, solved: new Map() };
      // 'auto': the probe's weight decay is chosen once, by cross-validation on all training rows, and every fold
      // reuses it (nested choices per fold cost 3x the solves for a single scalar hyperparameter).
      if (strategy === 'auto') ctx.features.decay = await chooseDecay(model, site, ctx.features.all, trainY, loss, new Random(ctx.probeSeed), { ...probe, ids: ctx.ids });
    }
  }
  let chosen: FineTuneRecipe;
  let scores: CandidateScore[] = [];
  if (strategy === 'auto') {
    if (candidates.every((c) => skip.has(c))) throw new RnnError('ARGUMENT', `Expected at least one candidate that can run on model '${model.name}' but ${skip.values().next().value}`);
    const selection = await selectRecipe(model, trainX, trainY, candidates, folds, RECIPE_DEFAULTS.switchMargin, ctx, skip);
    chosen = selection.chosen;
    scores = selection.scores;
    if (verbose) console.log(`fineTune auto: chose '${chosen}' by ${folds}-fold cross-validation`);
  } else {
    chosen = strategy;
  }
  const all = Array.from({ length: samples }, (_, i) => i);
  const run = await runRecipe(chosen, model, { x: trainX, y: trainY, rows: all }, ctx);
  // The probe trains no stage: compile as a stage would, so the model is ready to evaluate.
  if (run.stages.length === 0) model.compile({ optimizer: baseOptimizer.clone(), loss, metrics });
  const samplePasses = run.samplePasses + scores.reduce((n, s) => n + s.samplePasses, 0);
  const cost = { samplePasses, plainFitPasses, ratio: samplePasses / plainFitPasses, seconds: (Date.now() - started) / 1000 };
  const report = new FineTuneReport(chosen, strategy === 'auto' ? 'cross-validation' : 'given', scores, strategy === 'auto' ? folds : 0, run.probe, cost);
  return { strategy: chosen, stages: run.stages, probe: run.probe, report };
}
