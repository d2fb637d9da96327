/**
 * Numeric options are validated where they are given, as the float32 the native core computes with, so none can
 * silently turn the weights into NaN: classWeight Infinity or 1e39 (Infinity in float32) and rmsprop epsilon 1e-50
 * (0 in float32) used to be accepted and leave every weight NaN with no error. Each refusal leaves the weights as
 * they were.
 */
import * as rk from '../lib';
import { expectRnnError } from './helpers/checks';

function model(optimizer: rk.Optimizer | 'sgd' = 'sgd'): rk.Sequential {
  rk.setSeed(3);
  const m = rk.sequential();
  m.add(rk.layers.dense({ units: 2, activation: 'softmax', inputShape: [3] }));
  m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' });
  return m;
}
const x = rk.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]);
const y = rk.tensor([0, 1, 0, 1]);

test.each([
  ['Infinity', Infinity, /Expected a finite number >= 0 for classWeight\[0\] but received Infinity/],
  ['1e39 (Infinity in float32)', 1e39, /Expected a number >= 0 that stays so in float32 for classWeight\[0\] but received 1e\+39 \(Infinity in float32\)/],
  ['-1', -1, /Expected a finite number >= 0 for classWeight\[0\] but received -1/],
  ['NaN', NaN, /Expected a finite number >= 0 for classWeight\[0\] but received NaN/],
])('classWeight { 0: %s } is refused before any step', async (_name, weight, message) => {
  const m = model();
  const before = m.getWeights().map((w) => Array.from(w.data));
  await expectRnnError(() => m.fit(x, y, { classWeight: { 0: weight }, verbose: 0 }), 'ARGUMENT', message);
  expect(m.getWeights().map((w) => Array.from(w.data))).toEqual(before);
});

test('classWeight keys must be class indices of the model, and only own keys count', async () => {
  const m = model();
  await expectRnnError(() => m.fit(x, y, { classWeight: { 2: 1 }, verbose: 0 }), 'ARGUMENT', /Expected class indices in \[0, 2\) as keys for classWeight but received "2"/);
  await expectRnnError(() => m.fit(x, y, { classWeight: { toString: 1 } as never, verbose: 0 }), 'ARGUMENT', /received "toString"/);
  // Keys inherited from a prototype are not class weights: such an object is refused rather than half-read.
  await expectRnnError(() => m.fit(x, y, { classWeight: Object.create({ 0: 5 }), verbose: 0 }), 'ARGUMENT',
    /Expected an object \{ classIndex: weight \} for classWeight but received object/);
});

test('sampleWeight x classWeight that overflows float32 is refused', async () => {
  await expectRnnError(() => model().fit(x, y, { classWeight: { 1: 1e20 }, sampleWeight: [1, 1e20, 1, 1], verbose: 0 }), 'ARGUMENT',
    /Expected sampleWeight x classWeight to stay finite in float32 but sample 1 \(class 1\) received Infinity/);
  await expectRnnError(() => model().fit(x, y, { sampleWeight: [1, Infinity, 1, 1], verbose: 0 }), 'NOT_FINITE',
    /Expected finite values for sampleWeight but sampleWeight\[1\] \(flat index 1\) is Infinity/);
});

test.each([
  ['rmsprop epsilon 1e-50 (0 in float32)', () => rk.optimizers.rmsprop({ epsilon: 1e-50 }), /rmsprop.epsilon but received 1e-50 \(0 in float32\)/],
  ['adam epsilon 0', () => rk.optimizers.adam({ epsilon: 0 }), /Expected a finite number > 0 for adam.epsilon but received 0/],
  ['adagrad epsilon 1e-46', () => rk.optimizers.adagrad({ epsilon: 1e-46 }), /adagrad.epsilon but received 1e-46 \(0 in float32\)/],
  ['sgd learningRate 1e39', () => rk.optimizers.sgd({ learningRate: 1e39 }), /sgd.learningRate but received 1e\+39 \(Infinity in float32\)/],
  ['adam clipnorm Infinity', () => rk.optimizers.adam({ clipnorm: Infinity }), /adam.clipnorm but received Infinity/],
  ['adamw weightDecay 1e40', () => rk.optimizers.adamw({ weightDecay: 1e40 }), /adamw.weightDecay but received 1e\+40/],
  ['l2(1e39)', () => rk.regularizers.l2(1e39), /for l2 but received 1e\+39 \(Infinity in float32\)/],
  ['dense kernelRegularizer l1 1e39', () => rk.layers.dense({ units: 1, kernelRegularizer: { l1: 1e39 } }), /kernelRegularizer.l1 but received 1e\+39/],
])('%s is refused where it is given', async (_name, make, message) => {
  await expectRnnError(make, 'ARGUMENT', message);
});

test('huberDelta 1e39 is refused at compile; a learning rate of 1e39 between batches too', async () => {
  const m = rk.sequential();
  m.add(rk.layers.dense({ units: 1, inputShape: [2] }));
  await expectRnnError(() => m.compile({ optimizer: 'sgd', loss: 'huber', huberDelta: 1e39 }), 'ARGUMENT', /huberDelta but received 1e\+39/);
  m.compile({ optimizer: 'sgd', loss: 'huber' });
  await expectRnnError(() => { m.optimizer.learningRate = 1e39; }, 'ARGUMENT', /sgd.learningRate but received 1e\+39/);
  expect(m.optimizer.learningRate).toBe(0.01);
});

test("compile({ metrics: ['constructor'] }) is refused, so no model saves a file it cannot load", async () => {
  const m = rk.sequential();
  m.add(rk.layers.dense({ units: 1, inputShape: [2] }));
  await expectRnnError(() => m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics: ['constructor'] }), 'ARGUMENT',
    /Expected one of accuracy, acc, mae, meanAbsoluteError, mse, meanSquaredError for metrics\[0\] but received "constructor"/);
  await expectRnnError(() => m.compile({ optimizer: 'sgd', loss: 'toString' as never }), 'ARGUMENT', /for loss but received "toString"/);
});
