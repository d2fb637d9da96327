/** Checking the arguments of model.compile, before anything reaches the native network. */
import { RnnError } from '../errors';
import { Optimizer, OPTIMIZER_NAMES, OptimizerName, resolveOptimizer } from '../optimizers';
import { checkLoss, checkMetrics, LossName, MetricName } from '../training/losses';
import { checkFloat32, checkKnownKeys, optionsOrEmpty } from '../validate';

/** Arguments of `model.compile`: what to minimise, how, and what to report. */
export interface CompileArgs {
  /** An optimizer name (Keras defaults) or an object from rk.optimizers. */
  optimizer: OptimizerName | Optimizer;
  /** The loss to minimise; 'mse' and 'mae' are aliases of meanSquaredError and meanAbsoluteError. */
  loss: LossName | 'mse' | 'mae';
  /** 'accuracy' (categorical, sparse or binary by the loss), 'mae', 'mse'. */
  metrics?: string[] | string;
  /** Huber loss threshold. Default 1. */
  huberDelta?: number;
}

/** @internal */
export interface CompiledState {
  loss: LossName;
  metrics: MetricName[];
  optimizer: Optimizer;
  huberDelta: number;
}

/** The compile settings `args` asks for; `current` is the optimizer the model already uses, if any. */
export function parseCompileArgs(args: CompileArgs, current: Optimizer | undefined): CompiledState {
  const options = optionsOrEmpty(args, 'compile options');
  checkKnownKeys(options, ['optimizer', 'loss', 'metrics', 'huberDelta'], 'compile options');
  const loss = checkLoss(options.loss);
  const metrics = checkMetrics(options.metrics, loss);
  const optimizer = resolveOptimizer(options.optimizer);
  if (optimizer === undefined) {
    throw new RnnError('ARGUMENT', `Expected an optimizer name (${OPTIMIZER_NAMES.join(', ')}) or rk.optimizers object but received undefined`);
  }
  const huberDelta = options.huberDelta === undefined ? 1 : checkFloat32(options.huberDelta, 'huberDelta', { minExclusive: 0 });
  if (optimizer.sink && current !== optimizer) {
    throw new RnnError('STATE', 'Expected a fresh optimizer: this one is already used by another model');
  }
  return { loss, metrics, optimizer, huberDelta };
}
