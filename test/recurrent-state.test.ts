/**
 * Explicit RNN state on the TypeScript side: the `returnState` option of simpleRNN / lstm / gru and of bidirectional
 * (which takes it from its inner layer, as Keras), the shapes of `[x, ...initialStates]` -> `[output, ...states]`,
 * the config round trips (rnnkit and tfjs formats), the sequential model's refusal of a multi-output layer, and the
 * wrappers honouring an inner layer's `trainable: false`. The numerics (final states, gradients into initial states)
 * are checked in float64 by native/tests/recurrent_state_test.cc.
 */
import * as rk from '../lib';
import { fromTfjsLayer, toTfjsLayer } from '../lib/io/tfjs_config';
import { layerFromConfig, serializeLayer } from '../lib/layers/registry';
import { expectRnnError } from './helpers/checks';

describe('returnState option', () => {
  test('defaults to false and is validated', async () => {
    expect(rk.layers.lstm({ units: 3 }).returnState).toBe(false);
    expect(rk.layers.gru({ units: 3, returnState: true }).returnState).toBe(true);
    await expectRnnError(() => rk.layers.simpleRNN({ units: 3, returnState: 1 as never }), 'ARGUMENT',
      /Expected a boolean for simple_rnn(_\d+)?\.returnState but received 1/);
  });

  test('toNative carries it, bidirectional takes the inner layer\'s', () => {
    const inner = rk.layers.lstm({ units: 2, returnState: true });
    expect(inner.toNative()).toMatchObject({ kind: 'recurrent', returnState: true });
    const wrapped = rk.layers.bidirectional({ layer: inner });
    expect(wrapped.returnState).toBe(true);
    expect(wrapped.toNative()).toMatchObject({ returnState: true, bidirectional: true });
    expect(rk.layers.bidirectional({ layer: rk.layers.gru({ units: 2 }) }).returnState).toBe(false);
  });
});

describe('computeOutputShapes', () => {
  test.each([
    ['simpleRNN', false, [[5, 3]], [[4]]],
    ['simpleRNN', true, [[5, 3], [4]], [[4], [4]]],
    ['gru', true, [[-1, 3]], [[4], [4]]],
    ['lstm', true, [[5, 3], [4], [4]], [[4], [4], [4]]],
    ['lstm', false, [[5, 3], [4], [4]], [[4]]],
  ] as const)('%s returnState %s: %j -> %j', (cell, returnState, inputs, outputs) => {
    const layer = rk.layers[cell]({ units: 4, returnState });
    expect(layer.computeOutputShapes(inputs.map((s) => s.slice()))).toEqual(outputs);
  });

  test('returnSequences with states keeps the time dimension in the output only', () => {
    const layer = rk.layers.lstm({ units: 4, returnSequences: true, returnState: true });
    expect(layer.computeOutputShapes([[-1, 3]])).toEqual([[-1, 4], [4], [4]]);
  });

  test('bidirectional: forward then backward states, merged output', () => {
    const concat = rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 4, returnState: true }) });
    expect(concat.computeOutputShapes([[5, 3], [4], [4], [4], [4]])).toEqual([[8], [4], [4], [4], [4]]);
    const sum = rk.layers.bidirectional({ layer: rk.layers.gru({ units: 4, returnState: true }), mergeMode: 'sum' });
    expect(sum.computeOutputShapes([[5, 3]])).toEqual([[4], [4], [4]]);
  });

  test('a wrong number of states or a wrong state shape is a SHAPE error naming the layer', async () => {
    const lstm = rk.layers.lstm({ units: 4, name: 'encoder' });
    await expectRnnError(() => lstm.computeOutputShapes([[5, 3], [4]]), 'SHAPE',
      /Expected 1 input tensor \(x\) or 3 \(x and 2 initial states\) for layer 'encoder' but received 2/);
    await expectRnnError(() => lstm.computeOutputShapes([[5, 3], [4], [5]]), 'SHAPE',
      /Expected initial state 1 of layer 'encoder' to have per-sample shape \[4\] but received \[5\]/);
    const bi = rk.layers.bidirectional({ layer: rk.layers.gru({ units: 4 }), name: 'bi' });
    await expectRnnError(() => bi.computeOutputShapes([[5, 3], [4]]), 'SHAPE',
      /Expected 1 input tensor \(x\) or 3 \(x and 2 initial states\) for layer 'bi' but received 2/);
    await expectRnnError(() => lstm.computeOutputShapes([[3], [4], [4]]), 'SHAPE', /sequences of shape \[timeSteps, features\]/);
  });
});

describe('config round trips', () => {
  test('getConfig and layerFromConfig keep returnState', () => {
    for (const cell of ['simpleRNN', 'lstm', 'gru'] as const) {
      const layer = rk.layers[cell]({ units: 3, returnState: true });
      expect(layer.getConfig().returnState).toBe(true);
      const copy = layerFromConfig(serializeLayer(layer)) as rk.RecurrentLayer;
      expect(copy.returnState).toBe(true);
    }
    const bi = rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 3, returnState: true }) });
    expect((layerFromConfig(serializeLayer(bi)) as rk.Bidirectional).returnState).toBe(true);
  });

  test('the tfjs format writes and reads return_state', () => {
    const layer = rk.layers.gru({ units: 3, resetAfter: false, returnState: true, name: 'g' });
    const tfjs = toTfjsLayer(serializeLayer(layer));
    expect((tfjs.config as Record<string, unknown>).return_state).toBe(true);
    expect(fromTfjsLayer(tfjs, 'layer', 'model.json').config.returnState).toBe(true);
    const plain = toTfjsLayer(serializeLayer(rk.layers.lstm({ units: 3 })));
    expect((plain.config as Record<string, unknown>).return_state).toBe(false);
  });
});

describe('sequential models', () => {
  test.each([
    ['lstm', () => rk.layers.lstm({ units: 2, returnState: true, inputShape: [4, 3], name: 'stateful_lstm' })],
    ['bidirectional', () => rk.layers.bidirectional({ layer: rk.layers.gru({ units: 2, returnState: true }), inputShape: [4, 3], name: 'stateful_lstm' })],
  ])('refuse a %s with returnState, and keep their layers', async (_name, make) => {
    const model = rk.sequential();
    await expectRnnError(() => model.add(make()), 'ARGUMENT',
      /Expected layers with one output in sequential model 'sequential' but layer 'stateful_lstm' returns (3|2) tensors/);
    expect(model.layers).toHaveLength(0);
  });
});

describe('wrappers honour the inner layer\'s trainable flag', () => {
  const x = rk.tensor(Array.from({ length: 4 }, (_, i) => Array.from({ length: 3 }, (_, t) => [i + t, t - i])));
  const y = rk.tensor([0, 1, 1, 0]);

  async function changedAfterFit(model: rk.Sequential): Promise<boolean[]> {
    model.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.5 }), loss: 'sparseCategoricalCrossentropy' });
    const before = model.layers.map((l) => l.getWeights().map((w) => Array.from(w.data)));
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    return model.layers.map((l, i) => JSON.stringify(l.getWeights().map((w) => Array.from(w.data))) !== JSON.stringify(before[i]));
  }

  test('bidirectional around a frozen lstm does not train it', async () => {
    rk.setSeed(5);
    const inner = rk.layers.lstm({ units: 3, trainable: false });
    const bi = rk.layers.bidirectional({ layer: inner, inputShape: [3, 2] });
    expect(bi.trainable).toBe(false);
    const model = rk.sequential({ layers: [bi, rk.layers.dense({ units: 2, activation: 'softmax' })] });
    expect(await changedAfterFit(model)).toEqual([false, true]);
    inner.trainable = true;  // reaches the model through the wrapper
    expect(bi.trainable).toBe(true);
    expect(await changedAfterFit(model)).toEqual([true, true]);
    bi.trainable = false;  // Keras: the wrapper's flag is set on its inner layer too
    expect(inner.trainable).toBe(false);
    expect(await changedAfterFit(model)).toEqual([false, true]);
    expect((layerFromConfig(serializeLayer(bi)) as rk.Bidirectional).trainable).toBe(false);
  });

  test('timeDistributed around a frozen dense does not train it', async () => {
    rk.setSeed(6);
    const inner = rk.layers.dense({ units: 2, trainable: false });
    const td = rk.layers.timeDistributed({ layer: inner, inputShape: [3, 2] });
    expect(td.trainable).toBe(false);
    const model = rk.sequential({ layers: [td, rk.layers.lstm({ units: 2 }), rk.layers.dense({ units: 2, activation: 'softmax' })] });
    expect(await changedAfterFit(model)).toEqual([false, true, true]);
  });

  test('the inner layer is the wrapper\'s: it cannot join a model or give weights on its own', async () => {
    const inner = rk.layers.gru({ units: 2, inputShape: [3, 2], name: 'inner_gru' });
    const bi = rk.layers.bidirectional({ layer: inner, name: 'outer' });
    rk.sequential({ layers: [bi] });
    await expectRnnError(() => inner.getWeights(), 'STATE', /Layer 'inner_gru' is wrapped by 'outer'/);
    await expectRnnError(() => rk.sequential({ layers: [inner] }), 'STATE', /Layer 'inner_gru' already belongs/);
    await expectRnnError(() => rk.layers.bidirectional({ layer: inner }), 'STATE', /Layer 'inner_gru' already belongs/);
  });
});
