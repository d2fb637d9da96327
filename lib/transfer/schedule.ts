/**
 * The default fine-tuning schedule of rk.fineTune, chosen from measurements on the sequential-MNIST transfer demo:
 * `node examples/mnist-transfer.js --full --schedules` (LSTM 64 trained on digits 0-4, moved to digits 5-9 with N
 * labels, 400+ steps of batch 16 per arm, 5 seeds, accuracy on 1,000 held-out 5-9 digits, mean ± sample std):
 *
 *   schedule (after rk.transfer)                       N=50          N=100         N=500         N=3000
 *   (from scratch, no transfer)                        0.612 ± .032  0.737 ± .028  0.867 ± .020  0.937 ± .003
 *   every layer at the base rate                       0.693 ± .051  0.800 ± .037  0.907 ± .017  0.951 ± .009
 *   head 30% of epochs at 3x, then all at 0.3x         0.698 ± .042  0.778 ± .037  0.870 ± .015  0.922 ± .005
 *   head 30% at 3x, then all at 1x                     0.709 ± .045  0.807 ± .037  0.900 ± .012  0.943 ± .008
 *   same, 20% held out for early stopping (restore)    0.675 ± .037  0.775 ± .026  0.890 ± .013  0.926 ± .012
 *   head 10% at 3x, then all at 1x (the default)       0.696 ± .048  0.806 ± .037  0.916 ± .006  0.949 ± .005
 *   (2 threads per batch, the default on the 2-core machine these ran on; source model 0.973 on digits 0-4)
 *
 * What the figures decide: every layer must train at the full base rate (0.3x under-trains at a fixed budget), and
 * nothing is held out unless the caller asks (with 50 or 100 labels, holding out 20% for early stopping cost 3 points).
 * Among the remaining schedules the differences are within one standard deviation; the default keeps a short
 * head-only warm-up, so the new head's first, large gradients never reach the transferred layers, and spends
 * little of the budget on it, which matters with plenty of data.
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
