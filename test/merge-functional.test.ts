/**
 * Merge layers in functional models: parity with @tensorflow/tfjs (cpu backend) from the same weights. Two sequence
 * inputs each go through their own dense layer, the merge joins them, an LSTM and a dense head follow; outputs must
 * match within 1e-5 and the gradients of the mean squared error within 1e-4 of each gradient's largest entry.
 * tfjs has no Subtract layer: its side computes x0 - x1 as add(x0, -x1), the second branch's dense weights negated
 * (tanh is odd, so tanh(-z) = -tanh(z)), and that branch's gradients are compared negated.
 */
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import { expectRnnError, maxAbs, maxAbsDiff, seededUniform } from './helpers/checks';

const BATCH = 4, STEPS = 5, FEATURES = 3;

beforeAll(async () => {
  await tf.setBackend('cpu');
  rk.setSeed(5);
});

type Side = Record<string, (args?: Record<string, unknown>) => { apply(x: unknown): unknown }>;
interface Case {
  merge: string;
  args: Record<string, unknown>;
  /** Units of the second branch's dense layer (concatenate may join different feature sizes). */
  secondUnits: number;
  inputs: number;
}

const CASES: [string, Case][] = [
  ['concatenate (features)', { merge: 'concatenate', args: {}, secondUnits: 2, inputs: 2 }],
  ['concatenate (time, axis 1)', { merge: 'concatenate', args: { axis: 1 }, secondUnits: 3, inputs: 2 }],
  ['add of 3', { merge: 'add', args: {}, secondUnits: 3, inputs: 3 }],
  ['subtract', { merge: 'subtract', args: {}, secondUnits: 3, inputs: 2 }],
  ['multiply', { merge: 'multiply', args: {}, secondUnits: 3, inputs: 2 }],
  ['average of 3', { merge: 'average', args: {}, secondUnits: 3, inputs: 3 }],
  ['maximum of 3', { merge: 'maximum', args: {}, secondUnits: 3, inputs: 3 }],
];

/** The same graph on one side: inputs -> dense per input -> merge -> lstm -> dense. */
function build(layers: Side, input: (args: Record<string, unknown>) => unknown, spec: Case, ours: boolean) {
  const inputs = Array.from({ length: spec.inputs }, (_, k) => input({ shape: [STEPS, FEATURES], name: `in${k}` }));
  const branches = inputs.map((x, k) =>
    layers.dense({ units: k === 1 ? spec.secondUnits : 3, activation: 'tanh', name: `branch${k}` }).apply(x));
  const mergeName = !ours && spec.merge === 'subtract' ? 'add' : spec.merge;
  const merged = layers[mergeName]({ ...spec.args, name: 'merge' }).apply(branches);
  const h = layers.lstm({ units: 4, recurrentActivation: 'sigmoid', name: 'lstm' }).apply(merged);
  const out = layers.dense({ units: 2, name: 'head' }).apply(h);
  return ours
    ? rk.model({ inputs: inputs as rk.SymbolicTensor[], outputs: out as rk.SymbolicTensor })
    : tf.model({ inputs: inputs as tf.SymbolicTensor[], outputs: out as tf.SymbolicTensor });
}

describe.each(CASES)('%s in a functional model', (_, spec) => {
  it('matches tfjs: outputs within 1e-5, gradients of every weight within 1e-4', async () => {
    const ours = build(rk.layers as unknown as Side, rk.input as never, spec, true) as rk.Model;
    const theirs = build(tf.layers as unknown as Side, tf.input as never, spec, false) as tf.LayersModel;
    const named: [string, number][] = [];
    // +1, or -1 for the weights tfjs holds negated (the subtracted branch).
    const sign = (name: string) => (spec.merge === 'subtract' && name === 'branch1' ? -1 : 1);
    ours.layers.forEach((layer, l) => {
      const weights = layer.getWeights().map((w, i) => rk.tensor(seededUniform(w.size, 40 + 10 * l + i, 0.6), w.shape.slice()));
      if (weights.length === 0) return;
      layer.setWeights(weights);
      theirs.getLayer(layer.name).setWeights(weights.map((w) => tf.tensor(w.data.map((v) => v * sign(layer.name)), w.shape.slice())));
      weights.forEach((__, i) => named.push([layer.name, i]));
    });
    const xs = Array.from({ length: spec.inputs }, (__, k) => seededUniform(BATCH * STEPS * FEATURES, 7 + k));
    const shape = [BATCH, STEPS, FEATURES];
    const ourOut = ((await ours.predict(xs.map((x) => rk.tensor(x, shape)))) as rk.Tensor).data;
    const theirOut = (theirs.predict(xs.map((x) => tf.tensor(x, shape))) as tf.Tensor).dataSync();
    expect(maxAbs(theirOut)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(ourOut, theirOut)).toBeLessThan(1e-5);

    const targets = seededUniform(BATCH * 2, 9);
    ours.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const grads = await ours.computeGradients(xs.map((x) => rk.tensor(x, shape)), rk.tensor(targets, [BATCH, 2]));
    const variables = named.map(([name, i]) => theirs.getLayer(name).trainableWeights[i].read() as tf.Variable);
    const y = tf.tensor(targets, [BATCH, 2]);
    const { value, grads: theirGrads } = tf.variableGrads(() => tf.losses.meanSquaredError(
      y, theirs.apply(xs.map((x) => tf.tensor(x, shape))) as tf.Tensor) as tf.Scalar, variables);
    expect(Math.abs(grads.loss - value.dataSync()[0])).toBeLessThan(1e-5);
    const failing: Record<string, number> = {};
    variables.forEach((v, i) => {
      const expected = theirGrads[v.name].dataSync().map((g) => g * sign(named[i][0]));
      const scale = maxAbs(expected);
      const error = maxAbsDiff(grads.gradients[i].data, expected) / scale;
      if (!(scale > 0 && error < 1e-4)) failing[`${named[i][0]}/${named[i][1]}`] = error;
    });
    expect(failing).toEqual({});
  });
});

it('concatenating a masked sequence along the time axis is refused with SHAPE (the joined mask would have a gap)', async () => {
  const a = rk.input({ shape: [4, 2], name: 'masked_in' });
  const b = rk.input({ shape: [4, 2], name: 'plain_in' });
  const masked = rk.layers.masking().apply(a) as rk.SymbolicTensor;
  const joined = rk.layers.concatenate({ axis: 1 }).apply([masked, b]) as rk.SymbolicTensor;
  const model = rk.model({ inputs: [a, b], outputs: rk.layers.lstm({ units: 2 }).apply(joined) as rk.SymbolicTensor });
  const x = rk.tensor(seededUniform(3 * 4 * 2, 3), [3, 4, 2]);
  await expectRnnError(() => model.predict([x, x]), 'SHAPE', /concatenate layer along the time axis \(axis 1\) received a masked sequence.*features \(axis -1\)/);
  // Along the features the masks combine (the intersection), and the model runs.
  const features = rk.layers.concatenate({ axis: -1 }).apply([masked, b]) as rk.SymbolicTensor;
  const ok = rk.model({ inputs: [a, b], outputs: rk.layers.lstm({ units: 2 }).apply(features) as rk.SymbolicTensor });
  expect(((await ok.predict([x, x])) as rk.Tensor).shape).toEqual([3, 2]);
});
