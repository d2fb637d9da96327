/**
 * The default fine-tuning schedule of rk.fineTune, chosen from measurements on the sequential-MNIST transfer demo
 * (examples/mnist-transfer.js: LSTM 64 trained on digits 0-4, moved to digits 5-9, 200 steps of batch 16, 5 seeds,
 * accuracy on 1,000 held-out 5-9 digits):
 *
 *   recipe                                        N=50          N=500
 *   from scratch                                  0.58 ± 0.04   0.79 ± 0.02
 *   all layers at once, base rate                 0.71 ± 0.03   0.89 ± 0.03
 *   head 30% at 3x, then all at 0.3x              0.70 ± 0.03   0.81 ± 0.02
 *   head 30% at 3x, then all at 1x, 20% held out
 *     for early stopping (restore best)           0.64 ± 0.06   0.85 ± 0.01
 *   head 10% at 3x, then all at 1x  (default)     0.73 ± 0.05   0.88 ± 0.01
 *
 * So: a short head-only warm-up (the new head's first, large gradients never reach the transferred layers), then
 * everything at the base rate (lower rates left the model under-trained at the same step budget), and no held-out
 * split unless the caller asks for one: with 50 labels, holding out 10 for early stopping cost more than it saved.
 */
import type { FineTuneStage } from './fine_tune';

export const DEFAULT_SCHEDULE = Object.freeze({
  /** Without `epochs`, enough epochs for about this many optimizer steps ... */
  steps: 300,
  /** ... and at least this many epochs. */
  minEpochs: 10,
  /** Share of the epochs spent on the head alone (at least one epoch). */
  headShare: 0.1,
  /** Learning-rate multiplier of the head-only stage. */
  headRate: 3,
  /** Learning-rate multiplier of the stage that trains everything. */
  allRate: 1,
  /** Early-stopping patience of the second stage, in epochs, when a validation split is given. */
  patience: 5,
});

/** The default epoch budget for `trainSamples` samples in batches of `batchSize`. */
export function defaultEpochs(trainSamples: number, batchSize: number): number {
  const stepsPerEpoch = Math.ceil(trainSamples / batchSize);
  return Math.max(DEFAULT_SCHEDULE.minEpochs, Math.ceil(DEFAULT_SCHEDULE.steps / stepsPerEpoch));
}

/**
 * Stage 1: only the head trains (every other layer frozen) at headRate x the base rate. Stage 2: everything trains
 * at allRate x the base rate; with a validation split it stops on val_loss and restores the best epoch.
 */
export function defaultStages(epochs: number, baseLearningRate: number, hasValidation: boolean): FineTuneStage[] {
  const headEpochs = Math.max(1, Math.round(epochs * DEFAULT_SCHEDULE.headShare));
  const second: FineTuneStage = {
    epochs: Math.max(1, epochs - headEpochs), freeze: false, learningRate: baseLearningRate * DEFAULT_SCHEDULE.allRate,
  };
  if (hasValidation) second.patience = DEFAULT_SCHEDULE.patience;
  return [{ epochs: headEpochs, freeze: true, learningRate: baseLearningRate * DEFAULT_SCHEDULE.headRate }, second];
}
