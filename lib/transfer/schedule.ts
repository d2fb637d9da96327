/**
 * The defaults of rk.fineTune in one place.
 *
 * No fixed recipe wins on every task with few labels: on the sequential-MNIST pair fine-tuning every layer beat a
 * frozen body, while on a CMUdict text pair a frozen body with a head trained to convergence beat fine-tuning by about
 * ten points. So the default does not fix a recipe: it compares `candidates` by stratified k-fold cross-validation on
 * the labelled data it is given (lib/transfer/select.ts), retrains the winner on all of it, and reports every score.
 * The evidence for that choice, and for the candidate list and the fold count, is the transfer benchmark suite
 * (`npm run bench:transfer`, bench/transfer/): several task pairs, N in {20, 50, 100, 500, all}, 5 seeds, every recipe
 * and the default in the same run; its table is in docs/transfer.md.
 *
 * Cost: with k folds each candidate that trains by gradient costs (k - 1) plain fits over its folds (every fold trains
 * the same epochs on (k - 1) / k of the data); the probe costs one inference pass plus seconds of L-BFGS. With two
 * folds and three gradient candidates (lpft, l2sp, scratch) the default costs about 3 plain fits to choose plus one
 * to retrain: about 4x one plain fit, reported in every result (`report.cost`).
 */
import type { FineTuneRecipe } from './recipes';

export const RECIPE_DEFAULTS = Object.freeze({
  /** Without `epochs`, enough epochs for about this many optimizer steps ... */
  steps: 300,
  /** ... and at least this many epochs. */
  minEpochs: 10,
  /** What the default ('auto') compares below `manyLabels` samples; the first is the prior choice (select.ts). */
  candidates: Object.freeze(['lpft', 'probe', 'l2sp', 'scratch']) as readonly FineTuneRecipe[],
  /** From this many training samples on, the default compares `manyLabelCandidates` instead. */
  manyLabels: 500,
  /** With many labels plain fine-tuning is the prior choice (it beat LP-FT on every task of the suite with all labels). */
  manyLabelCandidates: Object.freeze(['finetune', 'probe', 'l2sp', 'scratch']) as readonly FineTuneRecipe[],
  /**
   * Standard errors by which a candidate must beat the first one, sample by sample, to replace it: 1.645, a one-sided
   * test at the 5% level. With k-fold scores on 20-100 labels a smaller margin switches on noise (lib/transfer/select.ts).
   */
  switchMargin: 1.645,
  /** Folds of the default's cross-validation. */
  folds: 2,
  /** LP-FT: learning-rate multiplier of the stage that trains every layer after the probe. */
  lpftRate: 1,
  /** L2-SP: factor of the penalty towards the source weights (Keras l2 convention: factor * sum of squares). */
  l2spAlpha: 0.01,
  /** L2-SP: factor of the plain L2 penalty on the new head's kernel. */
  l2spBeta: 0.001,
  /** ULMFiT: each layer further from the head learns this many times slower. */
  ulmfitDecay: 2.6,
});

/** The default epoch budget for `trainSamples` samples in batches of `batchSize`. */
export function defaultEpochs(trainSamples: number, batchSize: number): number {
  const stepsPerEpoch = Math.ceil(trainSamples / batchSize);
  return Math.max(RECIPE_DEFAULTS.minEpochs, Math.ceil(RECIPE_DEFAULTS.steps / stepsPerEpoch));
}
