/**
 * The fine-tuning recipes of rk.fineTune, each a published method run on the staged-training mechanism (./stages.ts)
 * or the linear probe (./probe.ts). `epochs` is the budget of the gradient stages; the probe has no epochs (it is
 * solved to convergence).
 *
 * - probe     Linear probe: the body stays frozen, the head is fitted to the optimum on cached body features.
 * - lpft      LP-FT (Kumar et al., ICLR 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
 *             Out-of-Distribution"): the probe first, then every layer trains, so the first gradients reaching the
 *             body come from a head that already fits instead of a random one.
 * - l2sp      L2-SP (Li, Grandvalet & Davoine, ICML 2018, "Explicit Inductive Bias for Transfer Learning with
 *             Convolutional Networks"): every layer trains with alpha * |w - w_source|^2 on the transferred weights
 *             (a penalty towards the starting point, not towards 0) and beta * |w|^2 on the new head's kernel.
 * - finetune  Every layer at the base learning rate.
 * - ulmfit    Gradual unfreezing with discriminative learning rates (Howard & Ruder, ACL 2018, "Universal Language
 *             Model Fine-tuning for Text Classification"): the head alone first, then one more layer from the top in
 *             each stage; a layer d layers below the head learns at base / 2.6^d.
 * - scratch   The same architecture from fresh initial weights (the guard: transfer must beat this to be chosen).
 */
import { RnnError } from '../errors';
import type { Model } from '../models/model';
import { Random } from '../random';
import { Tensor } from '../tensor';
import { cloneModel } from './clone';
import { takeRows } from './folds';
import { DecayChoice, fitProbe, ProbeOptions, ProbeResult, ProbeSite } from './probe';
import { RECIPE_DEFAULTS } from './schedule';
import { FineTuneStage, FineTuneStageResult, runStages, StageContext, weightedLayers } from './stages';

/** A recipe rk.fineTune can run ('auto' chooses among them); each is described, with its paper, in this file's header. */
export type FineTuneRecipe = 'probe' | 'lpft' | 'l2sp' | 'finetune' | 'ulmfit' | 'scratch';
/** Every recipe. */
export const RECIPES: readonly FineTuneRecipe[] = ['probe', 'lpft', 'l2sp', 'finetune', 'ulmfit', 'scratch'];

/** L2-SP's penalty factors (Keras l2 convention: factor * sum of squares). */
export interface L2spOptions {
  /** Towards the source weights, on every transferred layer. Default RECIPE_DEFAULTS.l2spAlpha. */
  alpha?: number;
  /** Towards 0, on the new head's kernel. Default RECIPE_DEFAULTS.l2spBeta. */
  beta?: number;
}

/** Everything a recipe needs besides the model. @internal */
export interface RecipeContext extends StageContext {
  /** Epoch budget of the gradient stages. */
  epochs: number;
  /**
   * The body's features for every row of the data rk.fineTune was given (the probe reads its rows from here), the
   * probe solutions found so far by rows, and (for 'auto') the weight decay chosen once on all rows for every fold.
   */
  features?: { all: Tensor; site: ProbeSite; solved: Map<string, { weights: Tensor[]; result: ProbeResult }>; decay?: DecayChoice };
  /** Seed of the probe's weight-decay folds (fixed per fineTune call, so a cached solution is the one it would find). */
  probeSeed: number;
  ids?: Int32Array;
  probe: ProbeOptions;
  l2sp: Required<L2spOptions>;
}

/** What one recipe did. @internal */
export interface RecipeRun {
  stages: FineTuneStageResult[];
  probe?: ProbeResult;
  /** Sample passes of training (epochs x rows, over every stage). */
  samplePasses: number;
}

/** Training rows: the tensors and their row indices into the data rk.fineTune was given. @internal */
export interface RecipeData {
  x: Tensor;
  y: Tensor;
  rows: number[];
}

/** A short label of what each recipe does (reports and verbose lines). */
export const RECIPE_LABELS: Record<FineTuneRecipe, string> = {
  probe: 'linear probe (frozen body, head fitted to convergence)',
  lpft: 'LP-FT (probe, then every layer)',
  l2sp: 'L2-SP (every layer, pulled towards the source weights)',
  finetune: 'fine-tune every layer',
  ulmfit: 'ULMFiT gradual unfreezing with discriminative rates',
  scratch: 'same architecture from scratch',
};

/**
 * The probe on `data`'s rows. The body features are cut from the cache; the solution is cached by rows, so the probe
 * and LP-FT candidates of one fold (which start from the same weights) solve it once.
 */
async function probeStep(model: Model, data: RecipeData, ctx: RecipeContext, recipe: FineTuneRecipe): Promise<ProbeResult> {
  if (!ctx.features) throw new RnnError('ARGUMENT', `Expected a model whose last layer is a Dense head on feature vectors for strategy '${recipe}'`);
  const { all, site, solved } = ctx.features;
  const head = model.layers[site.headIndex];
  const key = data.rows.join(',');
  const known = solved.get(key);
  if (known) {
    head.setWeights(known.weights);
    return known.result;
  }
  const ids = ctx.ids ? Int32Array.from(data.rows, (r) => ctx.ids![r]) : undefined;
  const result = await fitProbe(model, site, takeRows(all, data.rows), data.y, ctx.loss, new Random(ctx.probeSeed), { ...ctx.probe, ids, decided: ctx.features.decay });
  solved.set(key, { weights: head.getWeights(), result });
  return result;
}

/** ULMFiT's stages: k + 1 stages for k body layers with weights, each unfreezing one more layer from the top. */
function ulmfitStages(model: Model, epochs: number, baseRate: number): FineTuneStage[] {
  const layers = weightedLayers(model);
  const perStage = Math.max(1, Math.round(epochs / layers.length));
  return layers.map((_, stageIndex) => {
    const training = layers.slice(layers.length - 1 - stageIndex);
    const layerLearningRates: Record<string, number> = {};
    training.forEach((name, k) => { layerLearningRates[name] = RECIPE_DEFAULTS.ulmfitDecay ** -(training.length - 1 - k); });
    return { epochs: perStage, freeze: layers.filter((n) => !training.includes(n)), learningRate: baseRate, layerLearningRates };
  });
}

/** Sets (or, with factor 0, clears) L2-SP anchors: source values on the body, zeros on the head's kernel. */
function setAnchors(model: Model, alpha: number, beta: number, clear: boolean): void {
  const network = model.requireNetwork();
  const layers = weightedLayers(model);
  const infos = network.params();
  for (const layer of model.layers) {
    const isHead = layer.name === layers[layers.length - 1];
    for (const index of model.paramIndicesOf(layer)) {
      if (clear) network.setAnchor(index, null, 0);
      else if (!isHead) network.setAnchor(index, network.getParam(index), alpha);
      else if (/(^|\/)kernel$/.test(infos[index].name) && beta > 0) network.setAnchor(index, new Float32Array(network.getParam(index).length), beta);
    }
  }
}

/** Runs one recipe on `model` (in place) with the training rows `data`. */
export async function runRecipe(recipe: FineTuneRecipe, model: Model, data: RecipeData, ctx: RecipeContext): Promise<RecipeRun> {
  const train: [Tensor, Tensor] = [data.x, data.y];
  const rows = data.rows.length;
  const base = ctx.baseOptimizer.learningRate;
  const all = (learningRate: number): FineTuneStage[] => [{ epochs: ctx.epochs, freeze: false, learningRate }];
  const staged = async (stages: FineTuneStage[], probe?: ProbeResult): Promise<RecipeRun> => {
    const results = await runStages(model, train, stages, ctx);
    const samplePasses = results.reduce((n, r) => n + r.history.epoch.length * rows, 0);
    return { stages: results, probe, samplePasses };
  };
  switch (recipe) {
    case 'probe':
      return { stages: [], probe: await probeStep(model, data, ctx, recipe), samplePasses: 0 };
    case 'lpft': {
      const probe = await probeStep(model, data, ctx, recipe);
      return staged(all(base * RECIPE_DEFAULTS.lpftRate), probe);
    }
    case 'l2sp':
      setAnchors(model, ctx.l2sp.alpha, ctx.l2sp.beta, false);
      try {
        return await staged(all(base));
      } finally {
        setAnchors(model, 0, 0, true);
      }
    case 'finetune':
      return staged(all(base));
    case 'ulmfit':
      return staged(ulmfitStages(model, ctx.epochs, base));
    case 'scratch':
      model.setWeights(cloneModel(model, new Random(ctx.rng.integer(0x7fffffff))).getWeights());
      return staged(all(base));
    default:
      throw new RnnError('ARGUMENT', `Expected a fineTune strategy (${RECIPES.join(', ')}) but received '${String(recipe)}'`);
  }
}
