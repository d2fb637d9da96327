/**
 * rk.fineTune's default: choose a recipe by stratified k-fold cross-validation on the labelled data it was given.
 * Every candidate trains a working copy of the model on the same k - 1 folds and is scored on the held-out fold; the
 * probe's folds reuse the body features computed once for all rows.
 *
 * The rule: the first candidate is the prior choice (the incumbent). With so few labels the cross-validation scores
 * are noisy (20 labels in 2 folds: 10 held-out samples a fold), so another candidate replaces the incumbent only when
 * it is better on the same samples by more than `switchMargin` standard errors: over the N held-out predictions (each
 * sample is held out once), d_i = correct_i(candidate) - correct_i(incumbent), z = mean(d) / (sd(d) / sqrt(N)).
 * What that can and cannot see: at N = 50 a true difference of 5 points is about z = 0.7, lost in the noise; a
 * recipe 10-15 points behind (scratch where transfer works, the probe on a shifted domain) is z > 2. So the rule keeps
 * the recipe that is best on average and switches only on strong evidence, which is what the transfer suite shows it
 * doing (docs/transfer.md).
 * Among the candidates that pass, the best mean held-out accuracy wins (the lower mean loss breaks ties). Without
 * class labels (regression, sequence outputs) the lowest mean held-out loss wins.
 */
import type { Model } from '../models/model';
import { Tensor } from '../tensor';
import { isClassificationLoss } from '../training/losses';
import { cloneModel } from './clone';
import { complement, stratifiedFolds, takeRows } from './folds';
import { FineTuneRecipe, RecipeContext, runRecipe } from './recipes';

/** The cross-validation scores of one candidate. */
export interface CandidateScore {
  /** The candidate recipe. */
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
  /** Paired comparison with the incumbent (the first candidate scored): mean per-sample accuracy gain and its z. */
  versusIncumbent?: {
    /** Mean per-sample accuracy gain over the incumbent (-1 to 1). */
    gain: number;
    /** The gain in standard errors of the paired per-sample differences. */
    z: number;
  };
  /** @internal 1 where the held-out prediction of a sample was right (every sample is held out once). */
  correct?: Uint8Array;
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

/** Mean per-sample accuracy gain of a over b on the same held-out predictions, and its z (gain / standard error). */
function pairedGain(a: Uint8Array, b: Uint8Array): { gain: number; z: number } {
  const n = a.length;
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    sum += d;
    squares += d * d;
  }
  const gain = sum / n;
  const variance = n > 1 ? (squares - n * gain * gain) / (n - 1) : 0;
  const standardError = Math.sqrt(Math.max(variance, 0) / n);
  return { gain, z: standardError > 0 ? gain / standardError : gain > 0 ? Infinity : gain < 0 ? -Infinity : 0 };
}

/** The rule of this file's header. */
function choose(scores: CandidateScore[], switchMargin: number): FineTuneRecipe {
  const scored = scores.filter((s) => !s.skipped);
  const [incumbent, ...others] = scored;
  if (!scored.every((s) => s.correct)) return scored.reduce((a, b) => (better(b, a) ? b : a)).recipe;
  for (const other of others) other.versusIncumbent = pairedGain(other.correct!, incumbent.correct!);
  const passed = others.filter((o) => o.versusIncumbent!.z > switchMargin);
  return passed.length === 0 ? incumbent.recipe : passed.reduce((a, b) => (better(b, a) ? b : a)).recipe;
}

/** Which class a model output row predicts: the argmax, or for one sigmoid unit p > 0.5. */
function predictedClass(out: Float32Array, row: number, width: number): number {
  if (width === 1) return out[row] > 0.5 ? 1 : 0;
  let best = 0;
  for (let c = 1; c < width; c++) if (out[row * width + c] > out[row * width + best]) best = c;
  return best;
}

export interface Selection {
  chosen: FineTuneRecipe;
  scores: CandidateScore[];
  folds: number;
}

/**
 * Scores every candidate on the same folds of (x, y) and names the one the rule above picks. `skip` gives the
 * candidates that cannot run on this model, with the reason. The model itself is not touched.
 */
export async function selectRecipe(
  model: Model, x: Tensor, y: Tensor, candidates: readonly FineTuneRecipe[], folds: number, switchMargin: number,
  ctx: RecipeContext, skip: Map<FineTuneRecipe, string>,
): Promise<Selection> {
  const samples = x.shape[0];
  const all = Array.from({ length: samples }, (_, i) => i);
  const heldOut = stratifiedFolds(all, folds, ctx.rng.fork(), ctx.ids);
  const classification = isClassificationLoss(ctx.loss);
  const scores: CandidateScore[] = [];
  for (const recipe of candidates) {
    const score: CandidateScore = { recipe, accuracy: [], loss: [], samplePasses: 0, seconds: 0 };
    const perSample = ctx.ids !== undefined && model.outputShape.length === 1;
    if (perSample) score.correct = new Uint8Array(samples);
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
      const [heldX, heldY] = [takeRows(x, held), takeRows(y, held)];
      const metrics = await working.evaluate(heldX, heldY, { batchSize: 256 });
      if (score.correct) {
        const out = ((await working.predict(heldX, { batchSize: 256 })) as Tensor).data;
        const width = model.outputShape[0];
        held.forEach((row, i) => { score.correct![row] = predictedClass(out, i, width) === ctx.ids![row] ? 1 : 0; });
      }
      score.loss.push(metrics.loss);
      if (metrics.accuracy !== undefined) score.accuracy.push(metrics.accuracy);
      if (ctx.verbose) {
        const shown = metrics.accuracy !== undefined ? `accuracy ${metrics.accuracy.toFixed(4)}, ` : '';
        console.log(`fineTune auto: ${recipe} fold ${f + 1}/${folds}: held-out ${shown}loss ${metrics.loss.toFixed(4)}`);
      }
    }
    score.seconds = (Date.now() - started) / 1000;
  }
  return { chosen: choose(scores, switchMargin), scores, folds };
}
