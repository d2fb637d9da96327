/**
 * The defaults of rk.fineTune in one place, and the evidence behind them.
 *
 * No fixed recipe wins on every task with few labels. The transfer suite (`npm run bench:transfer`, bench/transfer/;
 * table in docs/transfer.md: four task pairs, N in {20, 50, 100, 500, all}, 5 seeds, every arm in one run) has the
 * linear probe best on a CMUdict text pair at N <= 100 (0.689 at N = 50 against 0.642 for LP-FT) and worst on a
 * Spanish speech pair (0.570 against 0.750); LP-FT best on digits and both speech pairs at small N; with all labels
 * plain fine-tuning best on digits and text and LP-FT on both speech pairs (an earlier run, with other source models,
 * had fine-tuning best on all four). So the default does not fix a recipe:
 * it compares `candidates` by stratified k-fold cross-validation on the labelled data it is given
 * (lib/transfer/select.ts), keeps the first (the prior: LP-FT) unless another is better sample by sample by
 * `switchMargin` standard errors, retrains the winner on all of it, and reports every score. In the suite's run it is
 * never below scratch, 4-24 points above it at N = 50, and within 1 point of the best arm in 11 of 20 cells (the
 * misses: gaps of 2-4 points that 20-100 labels cannot reveal, and the same recipe retrained from another seed).
 *
 * Cost: with k folds each candidate that trains by gradient costs (k - 1) plain fits over its folds (every fold trains
 * the same epochs on (k - 1) / k of the data); the probe costs one inference pass plus its solver. With two folds and
 * three gradient candidates the default costs 3 plain fits to choose plus one to retrain: 4.0x the training passes
 * of one plain fit (5.0x from `manyLabels` on, with fine-tuning as a fourth), reported in every result
 * (`report.cost`); 4.3-6.7x the wall time on the suite's small models.
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
  /**
   * With many labels plain fine-tuning joins the candidates: in two runs of the suite it beat LP-FT by 0.5-3.5 points
   * with all labels on every pair in one and lost to it by up to 6.7 on two pairs in the other (another source
   * model), so neither may be fixed; with 500 or more labels the folds can see a 3-point difference (z ~ 1.6 at
   * N = 500). LP-FT stays the prior. Cost: 5 plain fits' worth of passes instead of 4.
   */
  manyLabelCandidates: Object.freeze(['lpft', 'finetune', 'probe', 'l2sp', 'scratch']) as readonly FineTuneRecipe[],
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
