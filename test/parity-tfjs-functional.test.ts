/**
 * Parity with @tensorflow/tfjs (cpu backend) for a functional model with explicit state and merges: an encoder LSTM
 * returning its states, a decoder GRU started from the encoder's h (initialState), a concatenation of the decoder's
 * output with the encoder's c, and two heads. The same weights (ours, copied to tfjs in getWeights order) and the
 * same inputs must give the same outputs (1e-5 of the largest value) and the same gradients of the summed losses
 * (1e-4 of each gradient's largest entry).
 */
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import { maxAbs, maxAbsDiff, seededUniform } from './helpers/checks';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const BATCH = 3, ENCODER_STEPS = 5, DECODER_STEPS = 4, FEATURES = 2, UNITS = 4;

test('a functional model with returned states, an initial state and a merge: outputs and gradients as tfjs', async () => {
  rk.setSeed(41);
  const encIn = rk.input({ shape: [ENCODER_STEPS, FEATURES], name: 'enc_in' });
  const decIn = rk.input({ shape: [DECODER_STEPS, FEATURES], name: 'dec_in' });
  const [, h, c] = rk.layers.lstm({ units: UNITS, returnState: true, recurrentActivation: 'sigmoid', name: 'enc' }).apply(encIn) as rk.SymbolicTensor[];
  const decoded = rk.layers.gru({ units: UNITS, recurrentActivation: 'sigmoid', resetAfter: false, name: 'dec' })
    .apply(decIn, { initialState: [h] }) as rk.SymbolicTensor;
  const merged = rk.layers.concatenate({ name: 'merge' }).apply([decoded, c]) as rk.SymbolicTensor;
  const cls = rk.layers.dense({ units: 3, activation: 'softmax', name: 'cls' }).apply(merged) as rk.SymbolicTensor;
  const reg = rk.layers.dense({ units: 1, name: 'reg' }).apply(rk.layers.add({ name: 'sum' }).apply([h, c]) as rk.SymbolicTensor) as rk.SymbolicTensor;
  const ours = rk.model({ inputs: [encIn, decIn], outputs: [cls, reg] });
  // Random weights on our side (not the initializers' zeros and ones), then the same values on tfjs's.
  const weights = ours.getWeights().map((w, k) => rk.tensor(seededUniform(w.size, 100 + k, 0.5), w.shape.slice()));
  ours.setWeights(weights);

  const tEnc = tf.input({ shape: [ENCODER_STEPS, FEATURES] });
  const tDec = tf.input({ shape: [DECODER_STEPS, FEATURES] });
  const [, th, tc] = tf.layers.lstm({ units: UNITS, returnState: true, recurrentActivation: 'sigmoid' }).apply(tEnc) as tf.SymbolicTensor[];
  const tDecoded = tf.layers.gru({ units: UNITS, recurrentActivation: 'sigmoid' }).apply(tDec, { initialState: [th] }) as tf.SymbolicTensor;
  const tMerged = tf.layers.concatenate().apply([tDecoded, tc]) as tf.SymbolicTensor;
  const tCls = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(tMerged) as tf.SymbolicTensor;
  const tReg = tf.layers.dense({ units: 1 }).apply(tf.layers.add().apply([th, tc]) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const theirs = tf.model({ inputs: [tEnc, tDec], outputs: [tCls, tReg] });
  theirs.setWeights(weights.map((w) => tf.tensor(Array.from(w.data), w.shape.slice())));

  const xEnc = seededUniform(BATCH * ENCODER_STEPS * FEATURES, 1);
  const xDec = seededUniform(BATCH * DECODER_STEPS * FEATURES, 2);
  const ourOut = (await ours.predict([rk.tensor(xEnc, [BATCH, ENCODER_STEPS, FEATURES]), rk.tensor(xDec, [BATCH, DECODER_STEPS, FEATURES])])) as rk.Tensor[];
  const theirOut = theirs.predict([tf.tensor(Array.from(xEnc), [BATCH, ENCODER_STEPS, FEATURES]), tf.tensor(Array.from(xDec), [BATCH, DECODER_STEPS, FEATURES])]) as tf.Tensor[];
  expect(ourOut.map((t) => t.shape)).toEqual([[BATCH, 3], [BATCH, 1]]);
  ourOut.forEach((t, k) => {
    const expected = theirOut[k].dataSync();
    expect(maxAbsDiff(t.data, expected)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(expected)));
  });

  // Gradients of categoricalCrossentropy(cls) + mse(reg), both means over the batch (Keras reduction).
  const yCls = Array.from({ length: BATCH }, (_, i) => [0, 1, 2].map((k) => (k === i % 3 ? 1 : 0)));
  const yReg = Array.from({ length: BATCH }, (_, i) => [i - 1]);
  ours.compile({ optimizer: 'sgd', loss: ['categoricalCrossentropy', 'mse'] });
  const ourGrads = await ours.computeGradients(
    [rk.tensor(xEnc, [BATCH, ENCODER_STEPS, FEATURES]), rk.tensor(xDec, [BATCH, DECODER_STEPS, FEATURES])], [yCls, yReg]);
  const inputs = [tf.tensor(Array.from(xEnc), [BATCH, ENCODER_STEPS, FEATURES]), tf.tensor(Array.from(xDec), [BATCH, DECODER_STEPS, FEATURES])];
  const variables = theirs.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    const [p, r] = theirs.apply(inputs, { training: true }) as tf.Tensor[];
    const ce = tf.mean(tf.neg(tf.sum(tf.mul(tf.tensor(yCls), tf.log(p)), -1)));
    return tf.add(ce, tf.mean(tf.square(tf.sub(r, tf.tensor(yReg))))) as tf.Scalar;
  }, variables);
  const theirGrads = variables.map((v) => grads[v.name].dataSync());
  expect(ourGrads.gradients).toHaveLength(theirGrads.length);
  ourGrads.gradients.forEach((g, k) => {
    expect(maxAbsDiff(g.data, theirGrads[k])).toBeLessThanOrEqual(1e-4 * Math.max(1e-3, maxAbs(theirGrads[k])));
  });
});
