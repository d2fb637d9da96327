/**
 * Functional models, the JS side: symbolic tensors, layer.apply and its shape checks, the graph walk of rk.model
 * and its errors, compile arguments per output, data given by name, and weights shared between models.
 */
import * as rk from '../lib';
import { parseCompileArgs } from '../lib/models/compile_args';
import { buildTopology } from '../lib/models/topology';
import { graphSpec } from '../lib/models/build_network';
import { splitByName } from '../lib/training/model_data';
import { metricKeys, ModelMetricAccumulator } from '../lib/training/losses';

function thrown(fn: () => unknown): rk.RnnError {
  try {
    fn();
  } catch (error) {
    return error as rk.RnnError;
  }
  throw new Error('expected a throw');
}

describe('symbolic tensors and layer.apply', () => {
  test('input shapes show null for any length and the batch dimension first', () => {
    const x = rk.input({ shape: [null, 8], name: 'tokens' });
    expect(x.shape).toEqual([null, null, 8]);
    expect(x.rank).toBe(3);
    expect(x.name).toBe('tokens');
    expect(x.isInput).toBe(true);
    const y = rk.layers.dense({ units: 3, name: 'proj' }).apply(x) as rk.SymbolicTensor;
    expect(y.shape).toEqual([null, null, 3]);
    expect(y.isInput).toBe(false);
  });

  test('a shape that does not fit raises SHAPE at apply, naming the layer and the shape received', () => {
    const x = rk.input({ shape: [5] });
    const error = thrown(() => rk.layers.lstm({ units: 4, name: 'enc' }).apply(x));
    expect(error.code).toBe('SHAPE');
    expect(error.message).toMatch(/'enc'/);
    expect(error.message).toMatch(/\[5\]|5\]/);
  });

  test('an inputShape on the layer must match the tensor it is applied to', () => {
    const x = rk.input({ shape: [4, 3] });
    const error = thrown(() => rk.layers.dense({ units: 2, inputShape: [4, 2], name: 'd_in' }).apply(x));
    expect(error.code).toBe('SHAPE');
    expect(error.message).toMatch(/'d_in'.*\[batch, 4, 2\].*\[batch, 4, 3\]/);
  });

  test('apply refuses non-symbolic inputs and unknown options', () => {
    const dense = rk.layers.dense({ units: 2 });
    expect(thrown(() => dense.apply([1, 2] as never)).code).toBe('ARGUMENT');
    expect(thrown(() => dense.apply(rk.input({ shape: [2] }), { foo: 1 } as never)).code).toBe('ARGUMENT');
    expect(thrown(() => rk.input({ shape: [0] })).code).toBe('ARGUMENT');
    expect(thrown(() => rk.input({ shape: [3], dtype: 'bool' as never })).code).toBe('ARGUMENT');
  });
});

describe('rk.model graph checks', () => {
  test('an output that needs an input not given names that input', () => {
    const a = rk.input({ shape: [3], name: 'a_in' });
    const b = rk.input({ shape: [3], name: 'b_in' });
    const dense = rk.layers.dense({ units: 2 });
    const out = dense.apply(b) as rk.SymbolicTensor;
    const error = thrown(() => buildTopology([a], [out], 'm'));
    expect(error.code).toBe('ARGUMENT');
    expect(error.message).toMatch(/needs input 'b_in'/);
  });

  test('an input that reaches no output, a repeated input, an intermediate tensor as input, unknown objects', () => {
    const a = rk.input({ shape: [3], name: 'a2' });
    const b = rk.input({ shape: [3], name: 'b2' });
    const out = rk.layers.dense({ units: 2 }).apply(a) as rk.SymbolicTensor;
    expect(thrown(() => buildTopology([a, b], [out], 'm')).message).toMatch(/input 'b2' reaches none/);
    expect(thrown(() => buildTopology([a, a], [out], 'm')).message).toMatch(/'a2' twice/);
    expect(thrown(() => buildTopology([out], [out], 'm')).message).toMatch(/made by rk.input/);
    expect(thrown(() => buildTopology([a], [{}], 'm')).code).toBe('ARGUMENT');
    expect(thrown(() => rk.model({ inputs: a, outputs: out, extra: 1 } as never)).code).toBe('ARGUMENT');
  });

  test('a cycle is refused', () => {
    const a = rk.input({ shape: [3] });
    const d1 = rk.layers.dense({ units: 3 });
    const h = d1.apply(a) as rk.SymbolicTensor;
    const h2 = rk.layers.dense({ units: 3 }).apply(h) as rk.SymbolicTensor;
    // No public call makes a cycle (tensors are immutable); forge one to check the walk refuses it.
    (h.node!.inputs as rk.SymbolicTensor[])[0] = h2;
    expect(thrown(() => buildTopology([a], [h2], 'm')).message).toMatch(/without cycles/);
  });

  test('two different layers with one name are refused; one layer used twice is listed once', () => {
    const a = rk.input({ shape: [3] });
    const b = rk.input({ shape: [3] });
    const x = rk.layers.dense({ units: 2, name: 'twin' }).apply(a) as rk.SymbolicTensor;
    const y = rk.layers.dense({ units: 2, name: 'twin' }).apply(b) as rk.SymbolicTensor;
    expect(thrown(() => buildTopology([a, b], [x, y], 'm')).message).toMatch(/two different layers named 'twin'/);
    const shared = rk.layers.dense({ units: 2, name: 'shared_d' });
    const topology = buildTopology([a, b], [shared.apply(a), shared.apply(b)], 'm');
    expect(topology.layers).toEqual([shared]);
    expect(topology.nodes).toHaveLength(2);
  });

  test('a shared layer applied to shapes that need other weights is refused', () => {
    const a = rk.input({ shape: [3] });
    const b = rk.input({ shape: [4] });
    const shared = rk.layers.dense({ units: 2, name: 'shared_bad' });
    const error = thrown(() => buildTopology([a, b], [shared.apply(a), shared.apply(b)], 'm'));
    expect(error.code).toBe('SHAPE');
    expect(error.message).toMatch(/'shared_bad'.*\[batch, 3\].*\[batch, 4\]/);
  });

  test('the native spec numbers inputs first and nodes in topological order, shared layers once', () => {
    const a = rk.input({ shape: [2, 3], name: 'sa' });
    const b = rk.input({ shape: [2, 3], name: 'sb' });
    const shared = rk.layers.dense({ units: 4, name: 'spec_shared' });
    const head = rk.layers.dense({ units: 1, name: 'spec_head' });
    const ya = shared.apply(a) as rk.SymbolicTensor;
    const yb = shared.apply(b) as rk.SymbolicTensor;
    const spec = graphSpec(buildTopology([a, b], [head.apply(ya), yb], 'm'));
    expect(spec.inputs).toEqual([{ name: 'sa', shape: [2, 3] }, { name: 'sb', shape: [2, 3] }]);
    expect(spec.layers.map((l) => l.name)).toEqual(['spec_shared', 'spec_head']);
    expect(spec.nodes).toEqual([
      { layer: 0, inputs: [0], outputs: [2] },
      { layer: 1, inputs: [2], outputs: [3] },
      { layer: 0, inputs: [1], outputs: [4] },
    ]);
    expect(spec.outputs).toEqual([3, 4]);
  });

  test('a nested model is inlined with the same layers', () => {
    const innerIn = rk.input({ shape: [3] });
    const innerDense = rk.layers.dense({ units: 2, name: 'inner_d' });
    const inner = rk.model({ inputs: innerIn, outputs: innerDense.apply(innerIn), name: 'inner' });
    const outerIn = rk.input({ shape: [3] });
    const mid = inner.apply(outerIn) as rk.SymbolicTensor;
    const topology = buildTopology([outerIn], [rk.layers.dense({ units: 1, name: 'outer_d' }).apply(mid)], 'outer');
    expect(topology.layers.map((l) => l.name)).toEqual(['inner_d', 'outer_d']);
    expect(topology.layers[0]).toBe(innerDense);
    expect(thrown(() => inner.apply(rk.input({ shape: [4] }))).code).toBe('SHAPE');
  });
});

describe('compile arguments per output', () => {
  const names = ['out_a', 'out_b'];
  test('one value for all, an array in order, an object by name', () => {
    const one = parseCompileArgs({ optimizer: 'adam', loss: 'mse', metrics: ['mae'] }, undefined, names);
    expect(one.outputs.map((o) => [o.name, o.loss, o.metrics, o.weight])).toEqual([['out_a', 'meanSquaredError', ['mae'], 1], ['out_b', 'meanSquaredError', ['mae'], 1]]);
    const byName = parseCompileArgs({
      optimizer: 'adam', loss: { out_a: 'categoricalCrossentropy', out_b: 'mse' }, metrics: { out_a: 'accuracy' }, lossWeights: { out_b: 0.5 },
    }, undefined, names);
    expect(byName.outputs.map((o) => [o.loss, o.metrics, o.weight])).toEqual([['categoricalCrossentropy', ['accuracy'], 1], ['meanSquaredError', [], 0.5]]);
    const arrays = parseCompileArgs({ optimizer: 'adam', loss: ['mse', 'mae'], metrics: [['mse'], []], lossWeights: [2, 3] }, undefined, names);
    expect(arrays.outputs.map((o) => [o.loss, o.metrics, o.weight])).toEqual([['meanSquaredError', ['mse'], 2], ['meanAbsoluteError', [], 3]]);
  });

  test('wrong counts, unknown names and missing losses are ARGUMENT errors', () => {
    expect(thrown(() => parseCompileArgs({ optimizer: 'adam', loss: ['mse'] }, undefined, names)).message).toMatch(/2 entries in loss/);
    expect(thrown(() => parseCompileArgs({ optimizer: 'adam', loss: { out_c: 'mse' } as never }, undefined, names)).message).toMatch(/'out_c'/);
    expect(thrown(() => parseCompileArgs({ optimizer: 'adam', loss: { out_a: 'mse' } }, undefined, names)).message).toMatch(/loss for output 'out_b'/);
    expect(thrown(() => parseCompileArgs({ optimizer: 'adam', loss: 'mse', lossWeights: [1, -1] }, undefined, names)).code).toBe('ARGUMENT');
  });
});

describe('data and logs of several inputs and outputs', () => {
  test('splitByName takes a tensor for one name, an array in order or an object by name', () => {
    const t = rk.tensor([[1, 2]]);
    expect(splitByName(t, ['x'], 'x')).toEqual([t]);
    expect(splitByName([[1, 2]], ['x'], 'x')).toEqual([[[1, 2]]]);
    expect(splitByName([t], ['x'], 'x')).toEqual([t]);
    expect(splitByName({ b: 2, a: 1 } as never, ['a', 'b'], 'x')).toEqual([1, 2]);
    expect(splitByName([1, 2] as never, ['a', 'b'], 'x')).toEqual([1, 2]);
    expect(thrown(() => splitByName([t], ['a', 'b'], 'x')).message).toMatch(/array of 2/);
    expect(thrown(() => splitByName({ a: t, c: t }, ['a', 'b'], 'x')).message).toMatch(/key 'c'/);
    expect(thrown(() => splitByName({ a: t }, ['a', 'b'], 'x')).message).toMatch(/'b' but it is missing/);
  });

  test("history keys follow Keras: per output '<name>_loss' and '<name>_<metric>' with several outputs", () => {
    const outputs = [{ name: 'dense_1', metrics: ['accuracy' as const] }, { name: 'dense_2', metrics: [] }];
    expect(metricKeys(outputs)).toEqual(['loss', 'dense_1_loss', 'dense_1_accuracy', 'dense_2_loss']);
    expect(metricKeys([{ name: 'd', metrics: ['accuracy'] }])).toEqual(['loss', 'accuracy']);
    const acc = new ModelMetricAccumulator(outputs);
    const metrics = (loss: number, correct: number) => ({ loss, correct, accuracyTotal: 2, absoluteError: 0, squaredError: 0, elements: 2 });
    acc.add({ loss: 3, outputs: [metrics(1, 2), metrics(2, 0)] }, 2);
    acc.add({ loss: 6, outputs: [metrics(2, 1), metrics(4, 0)] }, 2);
    expect(acc.logs('val_')).toEqual({ val_loss: 4.5, val_dense_1_loss: 1.5, val_dense_1_accuracy: 0.75, val_dense_2_loss: 3 });
  });
});

describe('functional chains run end to end', () => {
  test('rk.model trains and predicts like the same sequential model from the same weights', async () => {
    rk.setSeed(3);
    const x = rk.input({ shape: [4, 2], name: 'seq_in' });
    const lstm = rk.layers.lstm({ units: 5, name: 'f_lstm' });
    const head = rk.layers.dense({ units: 1, name: 'f_head' });
    const functional = rk.model({ inputs: x, outputs: head.apply(lstm.apply(x) as rk.SymbolicTensor), name: 'f' });
    const seq = rk.sequential({ layers: [rk.layers.lstm({ units: 5, inputShape: [4, 2] }), rk.layers.dense({ units: 1 })] });
    seq.setWeights(functional.getWeights());
    const data = new rk.Random(1);
    const xs = rk.tensor(Array.from({ length: 16 }, () => Array.from({ length: 4 }, () => [data.uniform() * 2 - 1, data.uniform() * 2 - 1])));
    const ys = rk.tensor(Array.from({ length: 16 }, (_, i) => [i % 2]));
    for (const m of [functional, seq]) m.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    const hf = await functional.fit({ seq_in: xs }, ys, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 });
    const hs = await seq.fit(xs, ys, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 });
    expect(hf.history.loss).toEqual(hs.history.loss);
    const pf = (await functional.predict(xs)) as rk.Tensor;
    const ps = await seq.predict(xs);
    expect(Array.from(pf.data)).toEqual(Array.from(ps.data));
    expect(functional.outputNames).toEqual(['f_head']);
  });

  test('a layer used by two models: the one that trains moves the weights the other sees', async () => {
    rk.setSeed(4);
    const shared = rk.layers.dense({ units: 1, name: 'moved' });
    const a = rk.input({ shape: [2] });
    const trainer = rk.model({ inputs: a, outputs: shared.apply(a) });
    const b = rk.input({ shape: [2] });
    const viewer = rk.model({ inputs: b, outputs: shared.apply(b) });
    const before = shared.getWeights().map((w) => Array.from(w.data));
    expect(viewer.getWeights().map((w) => Array.from(w.data))).toEqual(before);
    trainer.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.5 }), loss: 'mse' });
    await trainer.trainOnBatch(rk.tensor([[1, 2], [3, 4]]), rk.tensor([[1], [0]]));
    const after = trainer.getWeights().map((w) => Array.from(w.data));
    expect(after).not.toEqual(before);
    expect(viewer.getWeights().map((w) => Array.from(w.data))).toEqual(after);
    const p = (await viewer.predict(rk.tensor([[1, 1]]))) as rk.Tensor;
    expect(p.data[0]).toBeCloseTo(after[0][0] + after[0][1] + after[1][0], 5);
    trainer.dispose();
    expect(shared.getWeights().map((w) => Array.from(w.data))).toEqual(after);
  });

  test('summary lists inputs and connections for graphs', () => {
    const a = rk.input({ shape: [3], name: 'sum_a' });
    const out = rk.layers.dense({ units: 2, name: 'sum_d' }).apply(a) as rk.SymbolicTensor;
    const lines: string[] = [];
    rk.model({ inputs: a, outputs: out, name: 'summ' }).summary((l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/sum_a \(InputLayer\)/);
    expect(lines.join('\n')).toMatch(/Connected to/);
    expect(lines.join('\n')).toMatch(/sum_d \(Dense\)\s+\[null, 2\]\s+8\s+sum_a/);
  });
});
