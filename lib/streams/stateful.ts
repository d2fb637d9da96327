/**
 * Keras stateful recurrent layers: predict on a model whose recurrent layers have `stateful: true` runs the model's
 * state graph (lib/streams/state_graph.ts) batch after batch of exactly B samples (the first layer's
 * batchInputShape), starting each stateful layer from its kept states (zeros after resetStates) and keeping the
 * final ones; the other recurrent layers start from zeros every batch, as without state.
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import type { Model } from '../models/model';
import { isStatefulLayer, registerStatefulPredict } from '../models/stateful_hook';
import type { Topology } from '../models/topology';
import { Tensor } from '../tensor';
import { Batcher } from '../training/data';
import { prepareModelInputs } from '../training/model_data';
import { StateGraph } from './state_graph';

const graphs = new WeakMap<Model, { base: Topology; graph: StateGraph }>();

type Keeper = Layer & { keptStates?: Float32Array[] };

function graphOf(model: Model): StateGraph {
  const cached = graphs.get(model);
  if (cached && cached.base === model.topology) return cached.graph;
  cached?.graph.dispose();
  const graph = new StateGraph(model);
  graphs.set(model, { base: model.topology!, graph });
  return graph;
}

const running = new WeakSet<Model>();

async function predictWithState(model: Model, x: unknown, batchSize?: number): Promise<Tensor[]> {
  model.ensureIdle('predict');
  if (running.has(model)) throw new RnnError('BUSY', `Cannot predict while predict is running on stateful model '${model.name}'; await it first`);
  running.add(model);
  try {
    return await predictKept(model, x, batchSize);
  } finally {
    running.delete(model);
  }
}

async function predictKept(model: Model, x: unknown, batchSize?: number): Promise<Tensor[]> {
  const first = model.layers[0];
  const B = first?.batchSize;
  const stateful = model.layers.find((l) => isStatefulLayer(l));
  if (B === undefined) {
    throw new RnnError('ARGUMENT', `Expected batchInputShape [batch, ...] on the first layer of model '${model.name}' (stateful layer '${stateful?.name}' keeps one state per batch row) but '${first?.name}' has none`);
  }
  if (batchSize !== undefined && batchSize !== B) {
    throw new RnnError('ARGUMENT', `Expected batchSize ${B} (the batchInputShape of model '${model.name}') for a stateful predict but received ${batchSize}`);
  }
  const { samples, xs } = await prepareModelInputs(model.dataSpec(), x);
  if (samples % B !== 0) {
    throw new RnnError('SHAPE', `Expected a multiple of ${B} samples (batchInputShape) for stateful model '${model.name}' but received ${samples}`);
  }
  const graph = graphOf(model);
  const keepers = graph.slots.map((slot) => (isStatefulLayer(slot.layer) ? slot.layer as Keeper : undefined));
  // Check every kept state fits before anything runs.
  graph.slots.forEach((slot, s) => {
    const kept = keepers[s]?.keptStates;
    if (kept && kept.some((values, k) => values.length !== B * slot.sizes[k])) {
      throw new RnnError('SHAPE', `Expected the states of layer '${slot.layer.name}' to hold ${B} rows (batchInputShape) but they hold ${kept[0].length / slot.sizes[0]}`);
    }
  });
  const arena = new Float32Array(B * graph.stateSize);
  const rows = Int32Array.from({ length: B }, (_, b) => b);
  const batcher = new Batcher(xs);
  const parts: Float32Array[][] = [];
  let shapes: number[][] = [];
  const pending = keepers.map((keeper) => keeper?.keptStates?.map((s) => s.slice()));
  for (let start = 0; start < samples; start += B) {
    arena.fill(0);
    graph.slots.forEach((slot, s) => {
      const kept = pending[s];
      if (!kept) return;
      let offset = slot.offset;
      slot.sizes.forEach((size, k) => {
        for (let b = 0; b < B; b++) arena.set(kept[k].subarray(b * size, (b + 1) * size), b * graph.stateSize + offset);
        offset += size;
      });
    });
    const batch = batcher.batch(null, start, start + B);
    const result = await graph.run(B, batch.inputs, batch.shapes, arena, rows);
    parts.push(result.outputs);
    shapes = result.shapes;
    graph.slots.forEach((slot, s) => {
      if (!keepers[s]) return;
      let offset = slot.offset;
      pending[s] = slot.sizes.map((size) => {
        const values = new Float32Array(B * size);
        for (let b = 0; b < B; b++) values.set(arena.subarray(b * graph.stateSize + offset, b * graph.stateSize + offset + size), b * size);
        offset += size;
        return values;
      });
    });
  }
  // Only a completed predict moves the kept states on.
  keepers.forEach((keeper, s) => { if (keeper) keeper.keptStates = pending[s]; });
  return shapes.map((shape, k) => {
    const size = shape.reduce((a, c) => a * c, 1);
    const all = new Float32Array(samples * size);
    parts.forEach((p, i) => all.set(p[k], i * B * size));
    return new Tensor(all, [samples, ...shape]);
  });
}

registerStatefulPredict(predictWithState);
