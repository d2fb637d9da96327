/**
 * rk.fineTune's default: choose a recipe by stratified k-fold cross-validation on the labelled data it was given.
 * Every candidate trains a working copy of the model on the same k - 1 folds and is scored on the held-out fold; the
 * probe's folds reuse the body features computed once for all rows. The best mean held-out accuracy wins (the lower
 * mean held-out loss breaks ties; without an accuracy, the lower loss wins).
 */
import { Sequential } from '../models/sequential';
import { Tensor } from '../tensor';
import { cloneModel } from './clone';
import { complement, stratifiedFolds, takeRows } from './folds';
import { FineTuneRecipe, RecipeContext, runRecipe } from './recipes';

/** The cross-validation scores of one candidate. */
export interface CandidateScore {
  recipe: FineTuneRecipe;
  /** Held-out accuracy per fold (empty for losses without an accuracy). */
  accuracy: number[];
  /** Held-out loss per fold. */
  loss: number[];
  /** Sample passes of training over all folds. */
  samplePasses: number;
  /** Wall time over all folds, seconds. */
  seconds: number;
  /** Why the candidate was not scored (e.g. the probe on a head it cannot fit). */
  skipped?: string;
}

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (0 for fewer than two values). */
export function spread(values: number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** True when a scores better than b (accuracy first, then loss). */
function better(a: CandidateScore, b: CandidateScore): boolean {
  if (a.accuracy.length > 0 && b.accuracy.length > 0) {
    const [ma, mb] = [mean(a.accuracy), mean(b.accuracy)];
    if (ma !== mb) return ma > mb;
  }
  return mean(a.loss) < mean(b.loss);
}

export interface Selection {
  chosen: FineTuneRecipe;
  scores: CandidateScore[];
  folds: number;
}

/**
 * Scores every candidate on the same folds of (x, y) and names the best. `skip` gives the candidates that cannot run
 * on this model, with the reason. The model itself is not touched.
 */
export async function selectRecipe(
  model: Sequential, x: Tensor, y: Tensor, candidates: readonly FineTuneRecipe[], folds: number, ctx: RecipeContext,
  skip: Map<FineTuneRecipe, string>,
): Promise<Selection> {
  const samples = x.shape[0];
  const all = Array.from({ length: samples }, (_, i) => i);
  const heldOut = stratifiedFolds(all, folds, ctx.rng.fork(), ctx.ids);
  const classification = ctx.loss !== 'meanSquaredError' && ctx.loss !== 'meanAbsoluteError' && ctx.loss !== 'huber';
  const scores: CandidateScore[] = [];
  for (const recipe of candidates) {
    const score: CandidateScore = { recipe, accuracy: [], loss: [], samplePasses: 0, seconds: 0 };
    scores.push(score);
    if (skip.has(recipe)) {
      score.skipped = skip.get(recipe);
      continue;
    }
    const started = Date.now();
    for (const [f, held] of heldOut.entries()) {
      const rows = complement(all, held);
      const working = cloneModel(model, 'copy');
      // A fixed seed per fold and candidate: the choice is repeatable for a given fineTune seed.
      const foldCtx: RecipeContext = { ...ctx, rng: ctx.rng.fork(), callbacks: [], verbose: 0, validation: undefined, metrics: classification ? ['accuracy'] : [] };
      const run = await runRecipe(recipe, working, { x: takeRows(x, rows), y: takeRows(y, rows), rows }, foldCtx);
      score.samplePasses += run.samplePasses;
      if (!working.compiledSettings) working.compile({ optimizer: 'sgd', loss: ctx.loss, metrics: foldCtx.metrics });
      const metrics = await working.evaluate(takeRows(x, held), takeRows(y, held), { batchSize: 256 });
      score.loss.push(metrics.loss);
      if (metrics.accuracy !== undefined) score.accuracy.push(metrics.accuracy);
      if (ctx.verbose) {
        const shown = metrics.accuracy !== undefined ? `accuracy ${metrics.accuracy.toFixed(4)}, ` : '';
        console.log(`fineTune auto: ${recipe} fold ${f + 1}/${folds}: held-out ${shown}loss ${metrics.loss.toFixed(4)}`);
      }
    }
    score.seconds = (Date.now() - started) / 1000;
  }
  const scored = scores.filter((s) => !s.skipped);
  const best = scored.reduce((a, b) => (better(b, a) ? b : a));
  return { chosen: best.recipe, scores, folds };
}
