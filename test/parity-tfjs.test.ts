/**
 * Parity with @tensorflow/tfjs (cpu backend) for SimpleRNN, LSTM and GRU: the same weights (random values set on
 * our model, copied to the tfjs one) and the same inputs must give the same outputs (1e-5), the same gradients
 * (1e-4 of each gradient's largest entry), the same loss over 5 SGD steps (1e-4), the same bidirectional outputs
 * and the same final outputs behind a masking layer on a post-padded batch.
 * tfjs GRU is the reset-before form, so our GRUs use resetAfter: false; tfjs gates default to hardSigmoid, so
 * recurrentActivation: 'sigmoid' is set on both sides.
 */
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import { maxAbs, maxAbsDiff, seededUniform } from './helpers/checks';

const BATCH = 4, STEPS = 6, FEATURES = 3, UNITS = 5;
type Cell = 'simpleRNN' | 'lstm' | 'gru';
const CELLS: Cell[] = ['simpleRNN', 'lstm', 'gru'];

interface RecurrentOptions {
  returnSequences?: boolean;
  goBackwards?: boolean;
}

function ourRecurrent(cell: Cell, options: RecurrentOptions, inputShape?: number[]): rk.RecurrentLayer {
  const common = { units: UNITS, ...options, ...(inputShape ? { inputShape } : {}) };
  if (cell === 'simpleRNN') return rk.layers.simpleRNN(common);
  if (cell === 'lstm') return rk.layers.lstm({ ...common, recurrentActivation: 'sigmoid' });
  return rk.layers.gru({ ...common, recurrentActivation: 'sigmoid', resetAfter: false });
}

function tfRecurrent(cell: Cell, options: RecurrentOptions, inputShape?: number[]): tf.RNN {
  const common = { units: UNITS, ...options, ...(inputShape ? { inputShape } : {}) };
  if (cell === 'simpleRNN') return tf.layers.simpleRNN({ ...common, activation: 'tanh' });
  if (cell === 'lstm') return tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid' });
  return tf.layers.gru({ ...common, recurrentActivation: 'sigmoid' });
}

interface Head {
  units: number;
  activation: 'linear' | 'softmax';
}

interface Extras {
  head?: Head;
  masking?: boolean;
  bidirectional?: boolean;
}

/** The same stack on both sides: an optional masking layer, a recurrent layer and an optional dense head. */
function twinModels(cell: Cell, options: RecurrentOptions, extra: Extras = {}) {
  const inputShape = [STEPS, FEATURES];
  const ours = rk.sequential();
  const theirs = tf.sequential();
  if (extra.masking) {
    ours.add(rk.layers.masking({ maskValue: 0, inputShape }));
    theirs.add(tf.layers.masking({ maskValue: 0, inputShape }));
  }
  const firstShape = extra.masking ? undefined : inputShape;
  if (extra.bidirectional) {
    ours.add(rk.layers.bidirectional({ layer: ourRecurrent(cell, options), mergeMode: 'concat', inputShape: firstShape }));
    theirs.add(tf.layers.bidirectional({ layer: tfRecurrent(cell, options), mergeMode: 'concat', inputShape: firstShape }));
  } else {
    ours.add(ourRecurrent(cell, options, firstShape));
    theirs.add(tfRecurrent(cell, options, firstShape));
  }
  if (extra.head) {
    ours.add(rk.layers.dense(extra.head));
    theirs.add(tf.layers.dense(extra.head));
  }
  // Random non-zero weights everywhere (biases included), then the same values on the tfjs side.
  const weights = ours.getWeights().map((w, i) => rk.tensor(seededUniform(w.size, 100 + i, 0.6), w.shape.slice()));
  ours.setWeights(weights);
  theirs.setWeights(weights.map((w) => tf.tensor(w.data, w.shape.slice())));
  return { ours, theirs };
}

const inputs = seededUniform(BATCH * STEPS * FEATURES, 7);
const inputShape = [BATCH, STEPS, FEATURES];

async function outputsOf(models: { ours: rk.Sequential; theirs: tf.Sequential }, x: Float32Array) {
  const ours = (await models.ours.predict(rk.tensor(x, inputShape))).data;
  const theirs = (models.theirs.predict(tf.tensor(x, inputShape)) as tf.Tensor).dataSync();
  return { ours, theirs };
}

/** tfjs loss and gradients (in getWeights order) of `lossOf(model output)`. */
function tfGradients(model: tf.Sequential, x: tf.Tensor, lossOf: (output: tf.Tensor) => tf.Scalar) {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => lossOf(model.apply(x) as tf.Tensor), variables);
  return { loss: value.dataSync()[0], gradients: variables.map((v) => grads[v.name].dataSync()) };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  rk.setSeed(1234);
});

describe.each(CELLS)('%s parity with tfjs', (cell) => {
  it.each<[string, RecurrentOptions]>([
    ['final output', {}],
    ['sequence output', { returnSequences: true }],
    ['goBackwards final output', { goBackwards: true }],
    ['goBackwards sequence output', { returnSequences: true, goBackwards: true }],
  ])('forward: %s matches within 1e-5', async (_, options) => {
    const { ours, theirs } = await outputsOf(twinModels(cell, options), inputs);
    expect(ours.length).toBe(BATCH * (options.returnSequences ? STEPS : 1) * UNITS);
    expect(maxAbs(theirs)).toBeGreaterThan(0.1);  // a vacuous all-zero comparison would prove nothing
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-5);
  });

  it.each<[string, RecurrentOptions, Head | undefined, 'mse' | 'cce']>([
    ['meanSquaredError, linear dense head', {}, { units: 2, activation: 'linear' }, 'mse'],
    ['categoricalCrossentropy, softmax dense head', {}, { units: 3, activation: 'softmax' }, 'cce'],
    ['meanSquaredError on goBackwards sequence output', { returnSequences: true, goBackwards: true }, undefined, 'mse'],
  ])('gradients: %s match within 1e-4 of each gradient', async (_, options, head, loss) => {
    const models = twinModels(cell, options, { head });
    const outputSize = models.ours.outputShape.reduce((a, b) => a * b, 1);
    const targetShape = [BATCH, ...models.ours.outputShape];
    let targets = seededUniform(BATCH * outputSize, 8);
    if (loss === 'cce') {
      // One-hot rows: class (b * 2) mod 3.
      targets = new Float32Array(BATCH * outputSize);
      for (let b = 0; b < BATCH; b++) targets[b * outputSize + ((b * 2) % outputSize)] = 1;
    }
    models.ours.compile({ optimizer: 'sgd', loss: loss === 'mse' ? 'meanSquaredError' : 'categoricalCrossentropy' });
    const ours = await models.ours.computeGradients(rk.tensor(inputs, inputShape), rk.tensor(targets, targetShape));
    const y = tf.tensor(targets, targetShape);
    const theirs = tfGradients(models.theirs, tf.tensor(inputs, inputShape), (output) => (loss === 'mse'
      ? tf.losses.meanSquaredError(y, output)
      : tf.mean(tf.metrics.categoricalCrossentropy(y, output))) as tf.Scalar);

    expect(Math.abs(ours.loss - theirs.loss)).toBeLessThan(1e-5);
    expect(ours.gradients.length).toBe(theirs.gradients.length);
    // Relative error per weight; the ones over 1e-4 (or vacuous: all-zero tfjs gradients) are listed on failure.
    const failing: Record<string, number> = {};
    models.theirs.trainableWeights.forEach((w, i) => {
      const scale = maxAbs(theirs.gradients[i]);
      const error = maxAbsDiff(ours.gradients[i].data, theirs.gradients[i]) / scale;
      if (!(scale > 0 && error < 1e-4)) failing[w.name] = error;
    });
    expect(failing).toEqual({});
  });

  it('training: the loss over 5 SGD steps (learningRate 0.1) matches within 1e-4', async () => {
    const models = twinModels(cell, {}, { head: { units: 2, activation: 'linear' } });
    const targets = seededUniform(BATCH * 2, 9);
    models.ours.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.1 }), loss: 'meanSquaredError' });
    models.theirs.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const ourLosses: number[] = [], theirLosses: number[] = [];
    for (let step = 0; step < 5; step++) {
      ourLosses.push((await models.ours.trainOnBatch(rk.tensor(inputs, inputShape), rk.tensor(targets, [BATCH, 2]))).loss);
      const theirLoss = await models.theirs.trainOnBatch(tf.tensor(inputs, inputShape), tf.tensor(targets, [BATCH, 2]));
      theirLosses.push(theirLoss as number);
    }
    // The steps must actually train, or matching trajectories would say little.
    expect(theirLosses[4]).toBeLessThan(theirLosses[0] * 0.99);
    expect(maxAbsDiff(ourLosses, theirLosses)).toBeLessThan(1e-4);
    const ourWeights = models.ours.getWeights();
    models.theirs.getWeights().forEach((w, i) => expect(maxAbsDiff(ourWeights[i].data, w.dataSync())).toBeLessThan(1e-4));
  });

  it('training with the recurrent layer frozen: 5 SGD steps match, and the frozen weights never move', async () => {
    // The transfer setting (rk.transfer with freeze: true): only the new head trains. SGD, because tfjs's Adam puts
    // epsilon after the bias correction and Keras' (ours) before it, which alone moves tiny-gradient weights by ~1e-4.
    const models = twinModels(cell, {}, { head: { units: 3, activation: 'softmax' } });
    const targets = new Float32Array(BATCH * 3);
    for (let b = 0; b < BATCH; b++) targets[b * 3 + (b % 3)] = 1;
    models.ours.layers[0].trainable = false;
    models.theirs.layers[0].trainable = false;
    models.ours.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.5 }), loss: 'categoricalCrossentropy' });
    models.theirs.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    const frozenBefore = models.ours.layers[0].getWeights().map((w) => Float32Array.from(w.data));
    const ourLosses: number[] = [], theirLosses: number[] = [];
    for (let step = 0; step < 5; step++) {
      ourLosses.push((await models.ours.trainOnBatch(rk.tensor(inputs, inputShape), rk.tensor(targets, [BATCH, 3]))).loss);
      theirLosses.push(await models.theirs.trainOnBatch(tf.tensor(inputs, inputShape), tf.tensor(targets, [BATCH, 3])) as number);
    }
    expect(theirLosses[4]).toBeLessThan(theirLosses[0] * 0.99);
    expect(maxAbsDiff(ourLosses, theirLosses)).toBeLessThan(1e-4);
    // Layer by layer: tfjs's model.getWeights() lists the trainable weights first, so its order changes with freezing.
    models.theirs.layers.forEach((layer, l) => {
      const ourLayerWeights = models.ours.layers[l].getWeights();
      layer.getWeights().forEach((w, i) => expect(maxAbsDiff(ourLayerWeights[i].data, w.dataSync())).toBeLessThan(1e-4));
    });
    models.ours.layers[0].getWeights().forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(frozenBefore[i])));
  });

  it.each([false, true])('bidirectional concat (returnSequences %p) matches within 1e-5', async (returnSequences) => {
    const { ours, theirs } = await outputsOf(twinModels(cell, { returnSequences }, { bidirectional: true }), inputs);
    expect(ours.length).toBe(BATCH * (returnSequences ? STEPS : 1) * 2 * UNITS);
    expect(maxAbs(theirs)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-5);
  });

  it('masking: final outputs on a post- (and pre-) padded batch match within 1e-5', async () => {
    // Sample 0 full length, 1 post-padded to 4 steps, 2 pre-padded (3 steps of zeros, the mask value, first),
    // 3 post-padded to 1 step.
    const padded = inputs.slice();
    const zeroSteps = (b: number, from: number, to: number) =>
      padded.fill(0, (b * STEPS + from) * FEATURES, (b * STEPS + to) * FEATURES);
    zeroSteps(1, 4, STEPS);
    zeroSteps(2, 0, 3);
    zeroSteps(3, 1, STEPS);
    const { ours, theirs } = await outputsOf(twinModels(cell, {}, { masking: true }), padded);
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-5);
    // Without the mask the padded steps would change the outputs: the check is not vacuous.
    const unmasked = await outputsOf(twinModels(cell, {}), padded);
    expect(maxAbsDiff(unmasked.theirs, theirs)).toBeGreaterThan(1e-3);
  });
});
