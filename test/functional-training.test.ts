/**
 * Functional models on the graph engine: two inputs and two outputs trained with lossWeights (history keys per
 * output, as Keras), a layer shared by two nodes (one update moves both uses; its gradient is the sum of both uses'),
 * a model nested in another, masks through a merge, and variable lengths.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';

function randomRows(rng: rk.Random, rows: number, width: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: width }, () => rng.uniform() * 2 - 1));
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tolerance);
}

describe('two inputs, two outputs', () => {
  function twoByTwo() {
    const a = rk.input({ shape: [3], name: 'a' });
    const b = rk.input({ shape: [2], name: 'b' });
    const joined = rk.layers.concatenate().apply([
      rk.layers.dense({ units: 16, activation: 'tanh', name: 'enc_a' }).apply(a) as rk.SymbolicTensor,
      rk.layers.dense({ units: 16, activation: 'tanh', name: 'enc_b' }).apply(b) as rk.SymbolicTensor,
    ]) as rk.SymbolicTensor;
    const trunk = rk.layers.dense({ units: 16, activation: 'tanh', name: 'trunk' }).apply(joined) as rk.SymbolicTensor;
    const cls = rk.layers.dense({ units: 2, activation: 'softmax', name: 'cls' }).apply(trunk) as rk.SymbolicTensor;
    const reg = rk.layers.dense({ units: 1, name: 'reg' }).apply(trunk) as rk.SymbolicTensor;
    return rk.model({ inputs: [a, b], outputs: [cls, reg], name: 'two_by_two' });
  }

  test('trains with lossWeights, reports Keras keys per output, and predicts one tensor per output', async () => {
    rk.setSeed(11);
    const rng = new rk.Random(5);
    const n = 600;
    const xa = randomRows(rng, n, 3);
    const xb = randomRows(rng, n, 2);
    const cls = xa.map((r, i) => (r[0] + xb[i][0] > 0 ? [0, 1] : [1, 0]));
    const reg = xa.map((r, i) => [r[1] - xb[i][1]]);
    const model = twoByTwo();
    expect(model.inputNames).toEqual(['a', 'b']);
    expect(model.outputNames).toEqual(['cls', 'reg']);
    model.compile({
      optimizer: rk.optimizers.adam({ learningRate: 0.01 }),
      loss: { cls: 'categoricalCrossentropy', reg: 'mse' }, metrics: { cls: ['accuracy'] }, lossWeights: { cls: 1, reg: 0.5 },
    });
    const history = await model.fit({ a: xa, b: xb }, [cls, reg], { epochs: 30, batchSize: 32, validationSplit: 0.2, verbose: 0 });
    expect(Object.keys(history.history).sort()).toEqual([
      'cls_accuracy', 'cls_loss', 'loss', 'reg_loss', 'val_cls_accuracy', 'val_cls_loss', 'val_loss', 'val_reg_loss',
    ]);
    const last = (key: string) => history.history[key][history.history[key].length - 1];
    expect(last('val_cls_accuracy')).toBeGreaterThan(0.9);
    expect(last('val_reg_loss')).toBeLessThan(0.02);
    // The total is the weighted sum of the outputs' losses (no weight penalties here).
    const logs = await model.evaluate([xa, xb], { cls, reg }, { batchSize: 64 });
    expect(logs.loss).toBeCloseTo(logs.cls_loss + 0.5 * logs.reg_loss, 4);
    const predictions = (await model.predict({ a: xa.slice(0, 5), b: xb.slice(0, 5) })) as rk.Tensor[];
    expect(predictions.map((p) => p.shape)).toEqual([[5, 2], [5, 1]]);
    const single = (await model.trainOnBatch([xa.slice(0, 8), xb.slice(0, 8)], [cls.slice(0, 8), reg.slice(0, 8)]));
    expect(Object.keys(single).sort()).toEqual(['cls_accuracy', 'cls_loss', 'loss', 'reg_loss']);
  }, 60_000);

  test('validationData by name, and two inputs of different lengths in one batch', async () => {
    rk.setSeed(12);
    const long = rk.input({ shape: [null, 2], name: 'long' });
    const short = rk.input({ shape: [null, 3], name: 'short' });
    const joined = rk.layers.concatenate().apply([
      rk.layers.gru({ units: 4 }).apply(long) as rk.SymbolicTensor,
      rk.layers.lstm({ units: 4 }).apply(short) as rk.SymbolicTensor,
    ]) as rk.SymbolicTensor;
    const out = rk.layers.dense({ units: 1, name: 'sum_out' }).apply(joined) as rk.SymbolicTensor;
    const model = rk.model({ inputs: [long, short], outputs: out });
    model.compile({ optimizer: 'adam', loss: 'mse', metrics: ['mae'] });
    const rng = new rk.Random(6);
    const x = { long: Array.from({ length: 16 }, () => randomRows(rng, 6, 2)), short: Array.from({ length: 16 }, () => randomRows(rng, 3, 3)) };
    const y = x.long.map((s, i) => [s[0][0] + x.short[i][2][2]]);
    const history = await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, validationData: [{ short: x.short, long: x.long }, y] });
    expect(Object.keys(history.history)).toEqual(['loss', 'mae', 'val_loss', 'val_mae']);
    expect(history.history.val_loss).toHaveLength(2);
    // A later call may use other lengths than training did.
    const other = (await model.predict([[randomRows(rng, 9, 2)], [randomRows(rng, 1, 3)]])) as rk.Tensor;
    expect(other.shape).toEqual([1, 1]);
  });

  test('data that does not fit names the input or output', async () => {
    const model = twoByTwo();
    model.compile({ optimizer: 'sgd', loss: ['categoricalCrossentropy', 'mse'] });
    await expect(model.fit({ a: [[1, 2, 3]], b: [[1, 2, 3]] }, [[[0, 1]], [[1]]], { verbose: 0 })).rejects.toThrow(/x 'b'/);
    await expect(model.fit([[[1, 2, 3]], [[1, 2], [3, 4]]], [[[0, 1]], [[1]]], { verbose: 0 })).rejects.toThrow(/samples/);
    await expect(model.fit({ a: [[1, 2, 3]] }, [[[0, 1]], [[1]]], { verbose: 0 })).rejects.toThrow(/'b' but it is missing/);
    await expect(model.fit([[[1, 2, 3]], [[1, 2]]], [[[0, 1]], [[1, 2]]], { verbose: 0 })).rejects.toThrow(/y 'reg'/);
  });
});

describe('shared layers', () => {
  test("one layer on two inputs: its gradient is the sum of both uses' and one update moves both", async () => {
    rk.setSeed(21);
    const shared = rk.layers.dense({ units: 2, name: 'shared_twice' });
    const a = rk.input({ shape: [3], name: 'left' });
    const b = rk.input({ shape: [3], name: 'right' });
    const both = rk.model({ inputs: [a, b], outputs: [shared.apply(a) as rk.SymbolicTensor, shared.apply(b) as rk.SymbolicTensor] });
    const single = rk.sequential({ layers: [rk.layers.dense({ units: 2, inputShape: [3] })] });
    single.setWeights(both.getWeights());
    const rng = new rk.Random(2);
    const xa = randomRows(rng, 4, 3);
    const xb = randomRows(rng, 4, 3);
    const ya = randomRows(rng, 4, 2);
    const yb = randomRows(rng, 4, 2);
    for (const m of [both, single]) m.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    const g = await both.computeGradients([xa, xb], [ya, yb]);
    const ga = await single.computeGradients(xa, ya);
    const gb = await single.computeGradients(xb, yb);
    expect(g.gradients).toHaveLength(2);
    g.gradients.forEach((grad, k) => close(grad.data, Array.from(ga.gradients[k].data, (v, i) => v + gb.gradients[k].data[i]), 1e-5));
    await both.trainOnBatch([xa, xb], [ya, yb]);
    const [left, right] = (await both.predict([xa, xa])) as rk.Tensor[];
    expect(Array.from(left.data)).toEqual(Array.from(right.data));
    const moved = shared.getWeights();
    close(moved[0].data, Array.from(single.getWeights()[0].data, (w, i) => w - 0.1 * g.gradients[0].data[i]), 1e-6);
  });

  test('a nested model shares its layers with the outer model', async () => {
    rk.setSeed(22);
    const innerIn = rk.input({ shape: [4] });
    const inner = rk.model({ inputs: innerIn, outputs: rk.layers.dense({ units: 3, activation: 'tanh', name: 'nested_d' }).apply(innerIn), name: 'inner' });
    const outerIn = rk.input({ shape: [4] });
    const outer = rk.model({
      inputs: outerIn, outputs: rk.layers.dense({ units: 1, name: 'outer_head' }).apply(inner.apply(outerIn) as rk.SymbolicTensor), name: 'outer',
    });
    const before = (await inner.predict([[1, 0, -1, 0.5]])) as rk.Tensor;
    outer.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.5 }), loss: 'mse' });
    await outer.fit([[1, 0, -1, 0.5], [0, 1, 0, -1]], [[3], [-3]], { epochs: 5, verbose: 0 });
    const after = (await inner.predict([[1, 0, -1, 0.5]])) as rk.Tensor;
    expect(Array.from(after.data)).not.toEqual(Array.from(before.data));
    expect(inner.getWeights().map((w) => Array.from(w.data))).toEqual(outer.getWeights().slice(0, 2).map((w) => Array.from(w.data)));
  });
});

describe('masks and lengths', () => {
  test('a masked, post-padded batch gives the outputs of the trimmed sequences through a merge of two recurrent paths', async () => {
    rk.setSeed(31);
    const x = rk.input({ shape: [null, 2], name: 'padded' });
    const masked = rk.layers.masking({ maskValue: 0 }).apply(x) as rk.SymbolicTensor;
    const left = rk.layers.lstm({ units: 4, returnSequences: true }).apply(masked) as rk.SymbolicTensor;
    const right = rk.layers.gru({ units: 4, returnSequences: true }).apply(masked) as rk.SymbolicTensor;
    const merged = rk.layers.add().apply([left, right]) as rk.SymbolicTensor;
    const last = rk.layers.simpleRNN({ units: 3 }).apply(merged) as rk.SymbolicTensor;
    const model = rk.model({ inputs: x, outputs: last });
    const steps = [[0.5, -1], [1, 0.25], [-0.5, 0.5], [0.75, 1]];
    const padded = (await model.predict([[...steps, [0, 0], [0, 0]]])) as rk.Tensor;
    const trimmed = (await model.predict([steps])) as rk.Tensor;
    expect(padded.shape).toEqual([1, 3]);
    close(padded.data, trimmed.data, 1e-6);
  });

  test('a sequential model with inputShape [null, F] trains on one length, predicts another, and saves both ways', async () => {
    rk.setSeed(32);
    const model = rk.sequential({ layers: [rk.layers.gru({ units: 4, resetAfter: false, inputShape: [null, 2] }), rk.layers.dense({ units: 1 })] });
    expect(model.inputShape).toEqual([-1, 2]);
    model.compile({ optimizer: 'adam', loss: 'mse' });
    const rng = new rk.Random(8);
    const x5 = Array.from({ length: 8 }, () => randomRows(rng, 5, 2));
    await model.fit(x5, x5.map((s) => [s[0][0]]), { epochs: 2, verbose: 0 });
    const x3 = [randomRows(rng, 3, 2)];
    const expected = await model.predict(x3);
    expect(expected.shape).toEqual([1, 1]);
    const dir = mkdtempSync(join(tmpdir(), 'rnnkit-anylength-'));
    await model.save(join(dir, 'm.rnnkit'));
    await model.save(join(dir, 'tfjs'), { format: 'tfjs' });
    for (const path of [join(dir, 'm.rnnkit'), join(dir, 'tfjs')]) {
      const loaded = await rk.loadModel(path);
      expect(Array.from((await loaded.predict(x3)).data)).toEqual(Array.from(expected.data));
    }
  });
});
