import * as rk from '../lib';
import { Tensor } from '../lib/tensor';

/** Source: lstm [5, 3] -> 4 units, then a 2-class head. */
function makeSource(): rk.Sequential {
  rk.setSeed(7);
  const model = rk.sequential({ name: 'source' });
  model.add(rk.layers.lstm({ name: 'lstm', units: 4, inputShape: [5, 3] }));
  model.add(rk.layers.dense({ name: 'out', units: 2, activation: 'softmax' }));
  return model;
}

/** Source with two recurrent layers: first [5, 3] -> sequences of 4, second -> 3 units, then a head. */
function makeDeepSource(): rk.Sequential {
  rk.setSeed(8);
  const model = rk.sequential({ name: 'deep' });
  model.add(rk.layers.gru({ name: 'first', units: 4, returnSequences: true, inputShape: [5, 3] }));
  model.add(rk.layers.lstm({ name: 'second', units: 3 }));
  model.add(rk.layers.dense({ name: 'out', units: 2, activation: 'softmax' }));
  return model;
}

function bytes(t: Tensor): number[] {
  return Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function expectSameValues(a: Tensor, b: Tensor): void {
  expect(a.shape).toEqual(b.shape);
  expect(bytes(a)).toEqual(bytes(b));
}

function expectError(fn: () => unknown, code: string, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(rk.RnnError);
  expect((caught as rk.RnnError).code).toBe(code);
  for (const fragment of fragments) expect((caught as Error).message).toContain(fragment);
}

describe('transfer with a new head', () => {
  test('copies the body weights by value, adds a fresh head and reports every weight', () => {
    const source = makeSource();
    const { model, report } = rk.transfer(source, { head: { units: 3 } });
    expect(model.layers.map((l) => l.name)).toEqual(['lstm', 'head']);
    expect(model.outputShape).toEqual([3]);
    const [kernel, recurrent, bias] = source.getLayer('lstm').getWeights();
    const copied = model.getLayer('lstm').getWeights();
    expectSameValues(copied[0], kernel);
    expectSameValues(copied[1], recurrent);
    expectSameValues(copied[2], bias);
    expect(model.getLayer('head').getWeights().map((w) => w.shape)).toEqual([[4, 3], [3]]);
    expect((model.getLayer('head') as rk.Dense).activation).toBe('softmax');
    expect(report.weights.map((w) => [w.layer, w.weight, w.action])).toEqual([
      ['lstm', 'kernel', 'copied'], ['lstm', 'recurrent_kernel', 'copied'], ['lstm', 'bias', 'copied'],
      ['head', 'kernel', 'reinitialised'], ['head', 'bias', 'reinitialised'],
    ]);
    expect(report.weights[3].reason).toContain("replaces 'out'");
    expect(report.transferredLayers).toEqual(['lstm']);
    expect(report.frozen).toEqual([]);
    const table = report.toString();
    expect(table).toContain('lstm/recurrent_kernel');
    expect(table).toContain('3 copied, 0 adapted, 2 reinitialised');
  });

  test('the new model shares nothing with the source', async () => {
    const source = makeSource();
    const before = source.getWeights().map((w) => new Tensor(w.data.slice(), w.shape));
    const { model } = rk.transfer(source, { head: { units: 3 } });
    model.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.5 }), loss: 'sparseCategoricalCrossentropy' });
    const x = new Tensor(Float32Array.from({ length: 4 * 15 }, (_, i) => Math.sin(i)), [4, 5, 3]);
    await model.fit(x, [0, 1, 2, 0], { epochs: 2, verbose: 0, seed: 1 });
    // Training changed the copy ...
    expect(bytes(model.getLayer('lstm').getWeights()[0])).not.toEqual(bytes(before[0]));
    // ... but not the source, and overwriting the source does not reach the copy.
    source.getWeights().forEach((w, i) => expectSameValues(w, before[i]));
    const copied = model.getWeights().map((w) => new Tensor(w.data.slice(), w.shape));
    source.setWeights(before.map((w) => new Tensor(new Float32Array(w.size), w.shape)));
    model.getWeights().forEach((w, i) => expectSameValues(w, copied[i]));
  });

  test('freeze: true freezes the transferred layers only; a list freezes the named layers', () => {
    const { model, report } = rk.transfer(makeSource(), { head: { units: 3, name: 'classes' }, freeze: true });
    expect(model.layers.map((l) => [l.name, l.trainable])).toEqual([['lstm', false], ['classes', true]]);
    expect(report.frozen).toEqual(['lstm']);
    const listed = rk.transfer(makeDeepSource(), { head: { units: 3 }, freeze: ['second'] });
    expect(listed.model.layers.map((l) => l.trainable)).toEqual([true, false, true]);
  });

  test('a different time length keeps every weight (no weight depends on it)', async () => {
    const source = makeSource();
    const { model, report } = rk.transfer(source, { head: { units: 2 }, inputShape: [9, 3] });
    expect(model.inputShape).toEqual([9, 3]);
    expect(report.byAction('copied')).toHaveLength(3);
    const out = await model.predict(new Tensor(new Float32Array(2 * 27).fill(0.5), [2, 9, 3]));
    expect(out.shape).toEqual([2, 2]);
  });

  test('map by name renames the layer and leaves unmapped layers freshly initialised', () => {
    const source = makeDeepSource();
    const { model, report } = rk.transfer(source, { head: { units: 3 }, map: { first: 'encoder' } });
    expect(model.layers.map((l) => l.name)).toEqual(['encoder', 'second', 'head']);
    source.getLayer('first').getWeights().forEach((w, i) => expectSameValues(model.getLayer('encoder').getWeights()[i], w));
    const second = report.weights.filter((w) => w.layer === 'second');
    expect(second.map((w) => w.action)).toEqual(['reinitialised', 'reinitialised', 'reinitialised']);
    expect(second[0].reason).toContain('not in map');
    expect(report.weights.find((w) => w.layer === 'encoder')!.sourceLayer).toBe('first');
  });

  test('map by position transfers only the listed layers', () => {
    const source = makeDeepSource();
    const { model, report } = rk.transfer(source, { head: { units: 3 }, map: [1] });
    expect(report.transferredLayers).toEqual(['second']);
    expectSameValues(model.getLayer('second').getWeights()[1], source.getLayer('second').getWeights()[1]);
    expect(report.weights.filter((w) => w.layer === 'first').every((w) => w.action === 'reinitialised')).toBe(true);
  });

  test('unknown layer names in map or freeze are ARGUMENT errors naming the layer', () => {
    const source = makeSource();
    expectError(() => rk.transfer(source, { head: { units: 3 }, map: { lsmt: 'x' } }), 'ARGUMENT', "'lsmt'", 'lstm');
    expectError(() => rk.transfer(source, { head: { units: 3 }, map: [5] }), 'ARGUMENT', 'map[0]', "'lstm'");
    expectError(() => rk.transfer(source, { head: { units: 3 }, map: ['out'] }), 'ARGUMENT', "replaced head 'out'");
    expectError(() => rk.transfer(source, { head: { units: 3 }, freeze: ['encoder'] }), 'ARGUMENT', 'freeze[0]', '"encoder"', "'lstm'");
    expectError(() => rk.transfer(source, { head: { units: 3 }, inputAdapter: 'grow' as never }), 'ARGUMENT', 'inputAdapter');
    expectError(() => rk.transfer(source, { head: { units: 3 }, heads: 1 } as never), 'ARGUMENT', "Unknown option 'heads'");
  });
});

describe('transfer to a different number of input features', () => {
  test('without an adapter it is a SHAPE error naming the layer and both shapes', () => {
    expectError(() => rk.transfer(makeSource(), { head: { units: 3 }, inputShape: [5, 6] }), 'SHAPE',
      "'kernel' of layer 'lstm'", '[3, 16]', '[6, 16]', 'inputAdapter');
  });

  test("'expand' keeps the source rows of the shared features and initialises the new ones", () => {
    const source = makeSource();
    const [kernel, recurrent, bias] = source.getLayer('lstm').getWeights();
    const { model, report } = rk.transfer(source, { head: { units: 3 }, inputShape: [5, 5], inputAdapter: 'expand' });
    const [newKernel, newRecurrent, newBias] = model.getLayer('lstm').getWeights();
    expect(newKernel.shape).toEqual([5, 16]);
    expect(Array.from(newKernel.data.subarray(0, 3 * 16))).toEqual(Array.from(kernel.data));
    const added = Array.from(newKernel.data.subarray(3 * 16));
    // Fresh glorotUniform rows: limit sqrt(6 / (5 + 16)) = 0.5345, not all zero.
    expect(added.every((v) => Math.abs(v) <= 0.5346)).toBe(true);
    expect(added.some((v) => v !== 0)).toBe(true);
    expectSameValues(newRecurrent, recurrent);
    expectSameValues(newBias, bias);
    expect(report.weights[0].action).toBe('adapted');
    expect(report.weights[0].reason).toContain('rows 0-2 copied, rows 3-4 initialised');
    expect(report.weights[0].sourceShape).toEqual([3, 16]);
  });

  test("'expand' to fewer features keeps the first rows", () => {
    const source = makeSource();
    const kernel = source.getLayer('lstm').getWeights()[0];
    const { model, report } = rk.transfer(source, { head: { units: 3 }, inputShape: [5, 2], inputAdapter: 'expand' });
    expect(Array.from(model.getLayer('lstm').getWeights()[0].data)).toEqual(Array.from(kernel.data.subarray(0, 2 * 16)));
    expect(report.weights[0].reason).toContain('source rows 2-2 dropped');
  });

  test("'reinitialize' replaces the input kernel and keeps the recurrent kernel and bias", () => {
    const source = makeSource();
    const [, recurrent, bias] = source.getLayer('lstm').getWeights();
    const { model, report } = rk.transfer(source, { head: { units: 3 }, inputShape: [5, 6], inputAdapter: 'reinitialize', freeze: true });
    expect(report.weights.slice(0, 3).map((w) => w.action)).toEqual(['reinitialised', 'copied', 'copied']);
    // Freezing a layer with fresh values is allowed, and the report says what it means.
    expect(report.weights[0].reason).toContain('frozen, so the initialised values never train');
    expect(report.weights[1].reason).toBe('same shape');
    expectSameValues(model.getLayer('lstm').getWeights()[1], recurrent);
    expectSameValues(model.getLayer('lstm').getWeights()[2], bias);
  });
});

describe('transfer into a target model', () => {
  test('copies matching layers by position; the target provides the architecture only', () => {
    const source = makeSource();
    rk.setSeed(99);
    const target = rk.sequential({ name: 'target' });
    target.add(rk.layers.lstm({ name: 'encoder', units: 4, inputShape: [8, 3] }));
    target.add(rk.layers.dense({ name: 'classes', units: 6, activation: 'softmax' }));
    const targetWeights = target.getWeights().map((w) => new Tensor(w.data.slice(), w.shape));
    const { model, report } = rk.transfer(source, { head: target, freeze: true });
    expect(model.layers.map((l) => [l.name, l.trainable])).toEqual([['encoder', false], ['classes', true]]);
    expect(model.inputShape).toEqual([8, 3]);
    source.getLayer('lstm').getWeights().forEach((w, i) => expectSameValues(model.getLayer('encoder').getWeights()[i], w));
    expect(report.weights.filter((w) => w.action === 'copied').map((w) => w.sourceLayer)).toEqual(['lstm', 'lstm', 'lstm']);
    expect(report.weights.filter((w) => w.layer === 'classes').every((w) => w.action === 'reinitialised')).toBe(true);
    // The target itself is untouched.
    target.getWeights().forEach((w, i) => expectSameValues(w, targetWeights[i]));
    expect(target.getLayer('encoder').trainable).toBe(true);
  });

  test('map by name into the target; a units mismatch is a SHAPE error with both shapes', () => {
    const source = makeDeepSource();
    const target = rk.sequential();
    target.add(rk.layers.lstm({ name: 'reader', units: 3, inputShape: [5, 2] }));
    target.add(rk.layers.dense({ name: 'classes', units: 2 }));
    const { report } = rk.transfer(source, { head: target, map: { second: 'reader' }, inputAdapter: 'reinitialize' });
    expect(report.weights.slice(0, 3).map((w) => w.action)).toEqual(['reinitialised', 'copied', 'copied']);
    expect(report.weights[0].reason).toContain('input features 4 -> 2');
    const wide = rk.sequential();
    wide.add(rk.layers.lstm({ name: 'reader', units: 5, inputShape: [5, 4] }));
    wide.add(rk.layers.dense({ units: 2 }));
    expectError(() => rk.transfer(source, { head: wide, map: { second: 'reader' } }), 'SHAPE', "layer 'reader'", '[4, 12]', '[4, 20]');
    expectError(() => rk.transfer(source, { head: wide, map: { first: 'reader' } }), 'ARGUMENT', 'GRU', 'LSTM');
  });
});
