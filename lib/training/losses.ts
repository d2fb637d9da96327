/** Loss and metric names accepted by `compile`, and how metrics are read from the native batch sums. */
import { RnnError } from '../errors';
import type { NativeBatchMetrics, NativeMetrics } from '../native';
import { describeValue } from '../validate';

/** The losses `compile` accepts (Keras names, camelCase; Keras reduction: mean over the batch). */
export type LossName =
  | 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy' | 'binaryCrossentropy'
  | 'meanSquaredError' | 'meanAbsoluteError' | 'huber';
export const LOSS_NAMES: readonly LossName[] = [
  'categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError',
  'meanAbsoluteError', 'huber',
];
/** True for the cross-entropies, whose targets are classes (an accuracy can be read from them). */
export function isClassificationLoss(loss: LossName): boolean {
  return loss === 'categoricalCrossentropy' || loss === 'sparseCategoricalCrossentropy' || loss === 'binaryCrossentropy';
}

/**
 * Every accepted name, aliases included, in Maps: a lookup in a plain object (`name in table`, `table[name]`) also
 * finds 'toString', 'constructor' or 'hasOwnProperty' on Object.prototype, which once let `metrics: ['constructor']`
 * compile, vanish, and save a file that could not be loaded.
 */
const LOSSES = new Map<string, LossName>([
  ...LOSS_NAMES.map((name): [string, LossName] => [name, name]),
  ['mse', 'meanSquaredError'], ['mae', 'meanAbsoluteError'],
]);

/** The metrics `compile` accepts. */
export type MetricName = 'accuracy' | 'mae' | 'mse';
const METRICS = new Map<string, MetricName>([
  ['accuracy', 'accuracy'], ['acc', 'accuracy'], ['mae', 'mae'], ['meanAbsoluteError', 'mae'], ['mse', 'mse'],
  ['meanSquaredError', 'mse'],
]);

export function checkLoss(value: unknown): LossName {
  const loss = typeof value === 'string' ? LOSSES.get(value) : undefined;
  if (loss === undefined) {
    throw new RnnError('ARGUMENT', `Expected one of ${[...LOSSES.keys()].join(', ')} for loss but received ${describeValue(value)}`);
  }
  return loss;
}

export function checkMetrics(value: unknown, loss: LossName): MetricName[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((m, i) => {
    const metric = typeof m === 'string' ? METRICS.get(m) : undefined;
    if (!metric) {
      throw new RnnError('ARGUMENT', `Expected one of ${[...METRICS.keys()].join(', ')} for metrics[${i}] but received ${describeValue(m)}`);
    }
    if (metric !== 'accuracy' && loss === 'sparseCategoricalCrossentropy') {
      throw new RnnError('ARGUMENT', `Expected 'accuracy' as the metric of a sparseCategoricalCrossentropy model but received '${m}' (targets are class indices)`);
    }
    return metric;
  });
}

/** Running sums over the batches of an epoch or an evaluation, weighted by batch size for the loss. */
export class MetricAccumulator {
  private lossSum = 0;
  private samples = 0;
  private correct = 0;
  private accuracyTotal = 0;
  private absoluteError = 0;
  private squaredError = 0;
  private elements = 0;

  constructor(private readonly metrics: readonly MetricName[]) {}

  add(batch: NativeMetrics, batchSize: number): void {
    this.lossSum += batch.loss * batchSize;
    this.samples += batchSize;
    this.correct += batch.correct;
    this.accuracyTotal += batch.accuracyTotal;
    this.absoluteError += batch.absoluteError;
    this.squaredError += batch.squaredError;
    this.elements += batch.elements;
  }

  /** `{ loss, accuracy?, mae?, mse? }` with the given key prefix (e.g. 'val_'). */
  logs(prefix = ''): Record<string, number> {
    const logs: Record<string, number> = { [`${prefix}loss`]: this.lossSum / this.samples };
    for (const metric of this.metrics) {
      if (metric === 'accuracy') logs[`${prefix}accuracy`] = this.accuracyTotal > 0 ? this.correct / this.accuracyTotal : 0;
      if (metric === 'mae') logs[`${prefix}mae`] = this.absoluteError / Math.max(this.elements, 1e-12);
      if (metric === 'mse') logs[`${prefix}mse`] = this.squaredError / Math.max(this.elements, 1e-12);
    }
    return logs;
  }
}

/** What the logs of one model output need: its name (the key prefix with several outputs) and its metrics. */
export interface OutputMetrics {
  name: string;
  metrics: readonly MetricName[];
}

/**
 * Running sums for a whole model. Keras's keys: with one output `loss`, `accuracy`, ...; with several the total
 * `loss`, then `<output>_loss` and `<output>_<metric>` per output (e.g. `dense_1_loss`, `dense_1_accuracy`).
 */
export class ModelMetricAccumulator {
  private lossSum = 0;
  private samples = 0;
  private readonly perOutput: MetricAccumulator[];

  constructor(private readonly outputs: readonly OutputMetrics[]) {
    this.perOutput = outputs.map((o) => new MetricAccumulator(o.metrics));
  }

  add(batch: NativeBatchMetrics, batchSize: number): void {
    this.lossSum += batch.loss * batchSize;
    this.samples += batchSize;
    this.perOutput.forEach((acc, k) => acc.add(batch.outputs[k], batchSize));
  }

  /** The logs with a key prefix (e.g. 'val_'). */
  logs(prefix = ''): Record<string, number> {
    const total = this.lossSum / this.samples;
    if (this.outputs.length === 1) return { ...this.perOutput[0].logs(prefix), [`${prefix}loss`]: total };
    const logs: Record<string, number> = { [`${prefix}loss`]: total };
    this.perOutput.forEach((acc, k) => Object.assign(logs, acc.logs(`${prefix}${this.outputs[k].name}_`)));
    return logs;
  }
}

/** The log keys a model reports (without 'val_'), in the order of its logs. */
export function metricKeys(outputs: readonly OutputMetrics[]): string[] {
  if (outputs.length === 1) return ['loss', ...outputs[0].metrics];
  return ['loss', ...outputs.flatMap((o) => [`${o.name}_loss`, ...o.metrics.map((m) => `${o.name}_${m}`)])];
}

/** Metrics of one batch on their own (for batch-level callbacks and trainOnBatch). */
export function batchLogs(batch: NativeBatchMetrics, outputs: readonly OutputMetrics[], batchSize: number): Record<string, number> {
  const accumulator = new ModelMetricAccumulator(outputs);
  accumulator.add(batch, batchSize);
  return accumulator.logs();
}
