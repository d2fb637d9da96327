/**
 * The Vega-Lite spec of learning curves: one panel per metric (loss, accuracy, ...), epochs along x, the training
 * value and, when fit had validation data, the `val_` value as two lines. Each panel has its own y scale.
 */
import { RnnError } from '../errors';
import type { History, Logs } from '../training/history';
import { describeValue } from '../validate';

/** Options of {@link learningCurvesSpec}. */
export interface LearningCurvesOptions {
  /** Chart title. Default 'Learning curves'. */
  title?: string;
}

/** One point of a curve: the value of `metric` on `split` after 1-based `epoch`. */
interface CurvePoint {
  epoch: number;
  metric: string;
  split: 'training' | 'validation';
  value: number;
}

const VALIDATION_PREFIX = 'val_';

/** Splits every epoch's logs into curve points; non-finite values (a diverged loss) are left out of the chart. */
function curvePoints(epochs: readonly number[], logs: readonly Logs[]): CurvePoint[] {
  const points: CurvePoint[] = [];
  logs.forEach((entry, i) => {
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const validation = key.startsWith(VALIDATION_PREFIX);
      const metric = validation ? key.slice(VALIDATION_PREFIX.length) : key;
      points.push({ epoch: epochs[i] + 1, metric, split: validation ? 'validation' : 'training', value });
    }
  });
  return points;
}

/** Per-epoch logs of a History; a key with fewer values than epochs cannot be placed, so it is refused. */
function historyLogs(history: History): Logs[] {
  const logs: Logs[] = history.epoch.map(() => ({}));
  for (const [key, values] of Object.entries(history.history)) {
    if (values.length !== logs.length) {
      throw new RnnError('ARGUMENT', `Expected ${logs.length} values of '${key}' in the history (one per epoch) but ` +
        `received ${values.length}: the chart cannot tell which epochs they belong to`);
    }
    values.forEach((value, i) => {
      logs[i][key] = value;
    });
  }
  return logs;
}

/**
 * A Vega-Lite spec of the learning curves in `history` (from `model.fit`), for `rk.plots.writeSvg`. Epochs are shown
 * 1-based, as fit's progress lines print them.
 */
export function learningCurvesSpec(history: History, options: LearningCurvesOptions = {}): Record<string, unknown> {
  if (typeof history !== 'object' || history === null || !Array.isArray(history.epoch) || typeof history.history !== 'object') {
    throw new RnnError('ARGUMENT', `Expected the History returned by fit for history but received ${describeValue(history)}`);
  }
  return curvesSpec(history.epoch, historyLogs(history), options);
}

/** The spec of {@link learningCurvesSpec} from 0-based epoch indices and each epoch's logs. @internal */
export function curvesSpec(epochs: readonly number[], logs: readonly Logs[], options: LearningCurvesOptions): Record<string, unknown> {
  const title = options.title ?? 'Learning curves';
  if (typeof title !== 'string') throw new RnnError('ARGUMENT', `Expected a string for title but received ${describeValue(title)}`);
  const points = curvePoints(epochs, logs);
  const metrics = [...new Set(points.map((p) => p.metric))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { column: { field: 'metric', type: 'nominal', sort: metrics, title: null } },
    spec: {
      width: 260,
      height: 180,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'split', type: 'nominal', sort: ['training', 'validation'], title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}
