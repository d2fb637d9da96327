/**
 * The kept states of a model's stateful recurrent layers: which layers keep states, and model.getStates / setStates
 * (the batches that move them: lib/models/stateful_runner.ts).
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import { describeValue } from '../validate';

/** What the state helpers read of a model. @internal */
type ModelLike = { readonly name: string; readonly layers: readonly Layer[] };

/** True for a layer whose states carry over between batches. @internal */
export function isStatefulLayer(layer: Layer): boolean {
  return (layer as { stateful?: unknown }).stateful === true;
}

type Keeper = Layer & { getStates(): Float32Array[] | undefined; resetStates(states?: Float32Array[]): void };

/** The stateful layers of a model with their state-tensor count and units; STATE when there are none. */
function statefulLayers(model: ModelLike): { layer: Keeper; count: number; units: number }[] {
  const found = model.layers.filter((l) => isStatefulLayer(l)).map((layer) => {
    const inner = (layer as { layer?: { stateCount: number; units: number } }).layer;
    const own = layer as unknown as { stateCount: number; units: number };
    return { layer: layer as Keeper, count: inner ? 2 * inner.stateCount : own.stateCount, units: inner ? inner.units : own.units };
  });
  if (found.length === 0) throw new RnnError('STATE', `Expected a stateful recurrent layer (stateful: true) in model '${model.name}' but it has none; use rk.streams for per-stream state`);
  return found;
}

function statefulBatch(model: ModelLike): number {
  const batch = model.layers[0]?.batchSize;
  if (batch === undefined) throw new RnnError('ARGUMENT', `Expected batchInputShape on the first layer of stateful model '${model.name}'`);
  return batch;
}

/** model.getStates(): every stateful layer's kept states, zeros before the first predict. @internal */
export function readStates(model: ModelLike): Float32Array[] {
  const layers = statefulLayers(model);
  const batch = statefulBatch(model);
  return layers.flatMap(({ layer, count, units }) => layer.getStates()
    ?? Array.from({ length: count }, () => new Float32Array(batch * units)));
}

/** model.setStates(): checks every array first, then writes them all. @internal */
export function writeStates(model: ModelLike, states: unknown): void {
  const layers = statefulLayers(model);
  const expected = layers.reduce((n, l) => n + l.count, 0);
  if (!Array.isArray(states) || states.length !== expected) {
    throw new RnnError('SHAPE', `Expected ${expected} state arrays for model '${model.name}' but received ${Array.isArray(states) ? states.length : describeValue(states)}`);
  }
  const batch = statefulBatch(model);
  let k = 0;
  const plan = layers.map(({ layer, count, units }) => {
    const part = states.slice(k, k += count) as unknown[];
    part.forEach((s, i) => {
      if (!(s instanceof Float32Array) || s.length !== batch * units) {
        throw new RnnError('SHAPE', `Expected state ${i} of layer '${layer.name}' to be a Float32Array of ${batch} * ${units} values but received ${s instanceof Float32Array ? s.length : describeValue(s)}`);
      }
    });
    return [layer, part as Float32Array[]] as const;
  });
  for (const [layer, part] of plan) layer.resetStates(part);
}
