/**
 * A training step whose update would make any weight or optimizer slot NaN or infinite is rolled back natively:
 * weights, optimizer state and its step count stay exactly as before the step, and the error (NOT_FINITE) names
 * the layer, the weight and the buffer. fit({ onNonFinite }) then throws (default), skips the step or stops.
 * Before, such a step wrote NaN/Infinity into the weights without any error (e.g. rmsprop with an epsilon that is 0
 * in float32 and zero gradients; a huge gradient squared into Adam's v).
 */
import * as rk from '../lib';
import { loadNative, toRnnError } from '../lib/native';
import { expectRnnError } from './helpers/checks';
import { chainSpec, oneBatch } from './helpers/raw-network';

function denseModel(optimizer: rk.Optimizer): rk.Sequential {
  const model = rk.sequential();
  model.add(rk.layers.dense({ units: 1, inputShape: [1], useBias: false, kernelInitializer: 'ones', name: 'head' }));
  model.compile({ optimizer, loss: 'meanSquaredError' });
  return model;
}
const values = (model: rk.Sequential) => model.getWeights().map((w) => Array.from(w.data));
/** Batches of one sample each: x = 1 except sample 1, whose x = 1e19 makes the gradient 2e38 (finite). */
const x = rk.tensor([[1], [1e19], [1]]);
const y = rk.tensor([[0], [0], [0]]);

test("Adam: a gradient whose square overflows v is rolled back, naming layer 'head', weight 'kernel' and v", async () => {
  const model = denseModel(rk.optimizers.adam({ learningRate: 0.01 }));
  await model.trainOnBatch(rk.tensor([[1]]), rk.tensor([[0]]));
  const before = values(model);
  const network = model.requireNetwork();
  const state = network.getOptimizerState();
  await expectRnnError(() => model.trainOnBatch(rk.tensor([[1e19]]), rk.tensor([[0]])), 'NOT_FINITE',
    /Layer 'head' weight 'kernel': this training step \(loss [\d.]+e\+37\) would make its optimizer second moment \(v\) inf at index 0; the step was rolled back/);
  expect(values(model)).toEqual(before);
  const after = network.getOptimizerState();
  expect({ step: after.step, slots: after.slots.map((s) => Array.from(s)) }).toEqual({ step: state.step, slots: state.slots.map((s) => Array.from(s)) });
  // Training goes on from the same state.
  await model.trainOnBatch(rk.tensor([[1]]), rk.tensor([[0]]));
  expect(network.getOptimizerState().step).toBe(2);
});

test('SGD: an update that overflows the weight itself is rolled back', async () => {
  const model = denseModel(rk.optimizers.sgd({ learningRate: 1e30 }));
  const before = values(model);
  await expectRnnError(() => model.trainOnBatch(rk.tensor([[1e5]]), rk.tensor([[0]])), 'NOT_FINITE',
    /Layer 'head' weight 'kernel': .* would make its value -inf at index 0/);
  expect(values(model)).toEqual(before);
});

test('the native core refuses NaN from an epsilon that is 0 in float32 even when JS validation is bypassed', async () => {
  const { Network } = loadNative();
  const network = new Network(chainSpec([1], [{ kind: 'dense', name: 'd', units: 1, activation: 'linear', useBias: false }]));
  network.setParam(0, new Float32Array([0.5]));
  network.compile([{ loss: 'meanSquaredError', weight: 1 }], { kind: 'rmsprop', learningRate: 0.1, epsilon: 1e-50 });
  // Zero input: zero gradient, mean square 0, and 0 / sqrt(0 + 0) = NaN.
  const attempt = network.trainBatch(oneBatch(new Float32Array([0]), 1, [1], new Float32Array([0.5])), 0).catch((e) => { throw toRnnError(e); });
  await expectRnnError(() => attempt, 'NOT_FINITE', /weight 'kernel': .* would make its value -?nan at index 0/);
  expect(Array.from(network.getParam(0))).toEqual([0.5]);
  expect(network.getOptimizerState().step).toBe(0);
});

describe('fit({ onNonFinite })', () => {
  const fitWith = async (onNonFinite?: 'throw' | 'skip' | 'stop') => {
    const model = denseModel(rk.optimizers.adam({ learningRate: 0.01 }));
    const ends: number[] = [];
    const run = model.fit(x, y, {
      epochs: 2, batchSize: 1, shuffle: false, verbose: 0, ...(onNonFinite ? { onNonFinite } : {}),
      callbacks: [{ onEpochEnd: (epoch) => { ends.push(epoch); } }],
    });
    return { model, run, ends };
  };

  test("default 'throw': NOT_FINITE after the first batch's update, which is kept", async () => {
    const { model, run, ends } = await fitWith();
    await expectRnnError(() => run, 'NOT_FINITE', /Layer 'head' weight 'kernel'/);
    expect(ends).toEqual([]);
    expect(model.requireNetwork().getOptimizerState().step).toBe(1);
  });

  test("'skip': the bad batch is skipped in each epoch, the others train, history lists the skips", async () => {
    const { model, run, ends } = await fitWith('skip');
    const history = await run;
    expect(ends).toEqual([0, 1]);
    expect(history.skippedSteps.map(({ epoch, batch }) => [epoch, batch])).toEqual([[0, 1], [1, 1]]);
    expect(model.requireNetwork().getOptimizerState().step).toBe(4);
    expect(values(model)[0].every(Number.isFinite)).toBe(true);
  });

  test("'stop': fit resolves at the bad batch and does not report the partial epoch", async () => {
    const { model, run, ends } = await fitWith('stop');
    const history = await run;
    expect({ ends, epochs: history.epoch, skipped: history.skippedSteps.length }).toEqual({ ends: [], epochs: [], skipped: 1 });
    expect(model.requireNetwork().getOptimizerState().step).toBe(1);
  });

  test('an unknown policy is refused', async () => {
    const model = denseModel(rk.optimizers.sgd());
    await expectRnnError(() => model.fit(x, y, { onNonFinite: 'ignore' as never, verbose: 0 }), 'ARGUMENT',
      /Expected one of 'throw', 'skip', 'stop' for onNonFinite but received "ignore"/);
  });
});
