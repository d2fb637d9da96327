/**
 * How a model with stateful recurrent layers runs predict: lib/streams/stateful.ts registers the runner (models do
 * not import the streams code at runtime, as with io's saver in model_io.ts).
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import type { Tensor } from '../tensor';
import type { Model } from './model';

/** Runs predict through the state graph, keeping the stateful layers' states. @internal */
export type StatefulPredict = (model: Model, x: unknown, batchSize?: number) => Promise<Tensor[]>;

let runner: StatefulPredict | undefined;

/** @internal */
export function registerStatefulPredict(fn: StatefulPredict): void {
  runner = fn;
}

/** @internal */
export function statefulPredict(): StatefulPredict {
  if (!runner) throw new RnnError('STATE', 'Stateful recurrent layers need the streams module; import rnnkit (lib/index) rather than lib/models alone');
  return runner;
}

/** True for a layer whose states carry over between batches. @internal */
export function isStatefulLayer(layer: Layer): boolean {
  return (layer as { stateful?: unknown }).stateful === true;
}
