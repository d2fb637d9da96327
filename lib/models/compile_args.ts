/**
 * Checking the arguments of model.compile, before anything reaches the native network. With several outputs, loss,
 * metrics and lossWeights may be one value for every output, an array in output order, or an object keyed by output
 * name (the name of the layer producing the output, as Keras).
 */
import { RnnError } from '../errors';
import { Optimizer, OPTIMIZER_NAMES, OptimizerName, resolveOptimizer } from '../optimizers';
import { checkLoss, checkMetrics, LossName, MetricName } from '../training/losses';
import { checkFloat32, checkKnownKeys, describeValue, isPlainObject, optionsOrEmpty } from '../validate';

/** A loss by name; 'mse' and 'mae' are aliases of meanSquaredError and meanAbsoluteError. */
export type LossArg = LossName | 'mse' | 'mae';

/** Arguments of `model.compile`: what to minimise, how, and what to report. */
export interface CompileArgs {
  /** An optimizer name (Keras defaults) or an object from rk.optimizers. */
  optimizer: OptimizerName | Optimizer;
  /** The loss to minimise: one for every output, an array in output order, or an object keyed by output name. */
  loss: LossArg | LossArg[] | Record<string, LossArg>;
  /**
   * 'accuracy' (categorical, sparse or binary by the loss), 'mae', 'mse': a name or a list for every output, a list
   * of lists in output order, or an object keyed by output name.
   */
  metrics?: string | string[] | string[][] | Record<string, string | string[]>;
  /** Weight of each output's loss in the total: an array in output order or an object keyed by output name. Default 1. */
  lossWeights?: number[] | Record<string, number>;
  /** Huber loss threshold. Default 1. */
  huberDelta?: number;
}

/** The compile settings of one model output. @internal */
export interface CompiledOutput {
  /** The output's name (its layer's name). */
  name: string;
  loss: LossName;
  metrics: MetricName[];
  weight: number;
}

/** @internal */
export interface CompiledState {
  /** The first output's loss (the model's, with one output). */
  loss: LossName;
  /** The first output's metrics (the model's, with one output). */
  metrics: MetricName[];
  optimizer: Optimizer;
  huberDelta: number;
  /** Per output, in output order. */
  outputs: CompiledOutput[];
}

/** `value` spread over the outputs: one value for all, an array in order, or an object keyed by name. */
function perOutput<T>(value: unknown, names: readonly string[], what: string, isSingle: (v: unknown) => boolean, fallback: T | undefined): unknown[] {
  if (value === undefined) return names.map(() => fallback);
  if (isSingle(value)) return names.map(() => value);
  if (Array.isArray(value)) {
    if (value.length !== names.length) {
      throw new RnnError('ARGUMENT', `Expected ${names.length} entries in ${what} (one per output: ${names.map((n) => `'${n}'`).join(', ')}) but received ${value.length}`);
    }
    return value;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (!names.includes(key)) throw new RnnError('ARGUMENT', `Expected output names (${names.map((n) => `'${n}'`).join(', ')}) as keys of ${what} but received '${key}'`);
    }
    return names.map((n) => (Object.prototype.hasOwnProperty.call(value, n) ? value[n] : fallback));
  }
  throw new RnnError('ARGUMENT', `Expected a value, an array or an object keyed by output name for ${what} but received ${describeValue(value)}`);
}

/** The compile settings `args` asks for; `current` is the optimizer the model already uses, if any. */
export function parseCompileArgs(args: CompileArgs, current: Optimizer | undefined, outputNames: readonly string[] = ['output']): CompiledState {
  const options = optionsOrEmpty(args, 'compile options');
  checkKnownKeys(options, ['optimizer', 'loss', 'metrics', 'lossWeights', 'huberDelta'], 'compile options');
  const several = outputNames.length > 1;
  const losses = perOutput<LossArg>(options.loss, outputNames, 'loss', (v) => typeof v === 'string' || v === undefined, undefined).map((l, i) => {
    if (several && l === undefined) throw new RnnError('ARGUMENT', `Expected a loss for output '${outputNames[i]}' but received undefined`);
    return checkLoss(l);
  });
  const metricsSingle = (v: unknown) => typeof v === 'string' || (Array.isArray(v) && v.every((m) => typeof m === 'string'));
  const metrics = perOutput<string[]>(options.metrics, outputNames, 'metrics', metricsSingle, []).map((m, i) => checkMetrics(m, losses[i]));
  const weights = perOutput<number>(options.lossWeights, outputNames, 'lossWeights', (v) => typeof v === 'number', 1)
    .map((w, i) => checkFloat32(w, `lossWeights of output '${outputNames[i]}'`, { min: 0 }));
  const optimizer = resolveOptimizer(options.optimizer);
  if (optimizer === undefined) {
    throw new RnnError('ARGUMENT', `Expected an optimizer name (${OPTIMIZER_NAMES.join(', ')}) or rk.optimizers object but received undefined`);
  }
  const huberDelta = options.huberDelta === undefined ? 1 : checkFloat32(options.huberDelta, 'huberDelta', { minExclusive: 0 });
  if (optimizer.sink && current !== optimizer) {
    throw new RnnError('STATE', 'Expected a fresh optimizer: this one is already used by another model');
  }
  const outputs = outputNames.map((name, i) => ({ name, loss: losses[i], metrics: metrics[i], weight: weights[i] }));
  return { loss: losses[0], metrics: metrics[0], optimizer, huberDelta, outputs };
}
