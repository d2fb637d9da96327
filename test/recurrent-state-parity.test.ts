/**
 * Parity with @tensorflow/tfjs (cpu backend) for explicit RNN state in functional models: returnState outputs and
 * initialState inputs, one recurrent layer with its states as model inputs and outputs, and an encoder whose final
 * states start a decoder (Keras's lstm_seq2seq shape), so the gradient crosses from the decoder into the encoder
 * through the states, and bidirectional layers (initial states split forward then backward, returned in that order).
 * The same weights on both sides (random values set on ours, copied to tfjs); outputs and states
 * must match within 1e-5, the loss within 1e-5 and every weight gradient within 1e-4 of its largest entry.
 * tfjs GRU is the reset-before form and its gates default to hardSigmoid, so ours use resetAfter: false and both
 * recurrentActivation: 'sigmoid'.
 */
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import { maxAbs, maxAbsDiff, seededUniform } from './helpers/checks';

const BATCH = 4, STEPS = 5, FEATURES = 3, UNITS = 4;
type Cell = 'simpleRNN' | 'lstm' | 'gru';

function ourLayer(cell: Cell, options: { returnState?: boolean; returnSequences?: boolean }): rk.RecurrentLayer {
  if (cell === 'simpleRNN') return rk.layers.simpleRNN({ units: UNITS, ...options });
  if (cell === 'lstm') return rk.layers.lstm({ units: UNITS, recurrentActivation: 'sigmoid', ...options });
  return rk.layers.gru({ units: UNITS, recurrentActivation: 'sigmoid', resetAfter: false, ...options });
}

function theirLayer(cell: Cell, options: { returnState?: boolean; returnSequences?: boolean }): tf.RNN {
  if (cell === 'simpleRNN') return tf.layers.simpleRNN({ units: UNITS, activation: 'tanh', ...options });
  if (cell === 'lstm') return tf.layers.lstm({ units: UNITS, recurrentActivation: 'sigmoid', ...options });
  return tf.layers.gru({ units: UNITS, recurrentActivation: 'sigmoid', ...options });
}

const stateCount = (cell: Cell) => (cell === 'lstm' ? 2 : 1);

/** Random weights on ours, the same values on theirs (both in getWeights order). */
function shareWeights(ours: rk.Model, theirs: tf.LayersModel): void {
  const weights = ours.getWeights().map((w, i) => rk.tensor(seededUniform(w.size, 300 + i, 0.6), w.shape.slice()));
  ours.setWeights(weights);
  theirs.setWeights(weights.map((w) => tf.tensor(w.data, w.shape.slice())));
}

interface Twins {
  ours: rk.Model;
  theirs: tf.LayersModel;
  inputs: { data: Float32Array; shape: number[] }[];
}

/** One recurrent layer: inputs [x, ...initial states], outputs [output, ...final states]. */
function stateModels(cell: Cell, returnSequences: boolean): Twins {
  return stateModelsWith(cell, returnSequences, false);
}

function stateModelsWith(cell: Cell, returnSequences: boolean, masked: boolean): Twins {
  const ourInput = rk.input({ shape: [STEPS, FEATURES] });
  // Masked: tfjs refuses a mask together with initial states that are model inputs, so its twin takes sequences of
  // any length and runs each sample trimmed to its valid steps (maskedGradients).
  const theirInput = tf.input({ shape: [masked ? null : STEPS, FEATURES] });
  const ourX = masked ? rk.layers.masking({ maskValue: 0 }).apply(ourInput) as rk.SymbolicTensor : ourInput;
  const theirX = theirInput;
  const ourStates: rk.SymbolicTensor[] = [], theirStates: tf.SymbolicTensor[] = [];
  for (let k = 0; k < stateCount(cell); k++) {
    ourStates.push(rk.input({ shape: [UNITS] }));
    theirStates.push(tf.input({ shape: [UNITS] }));
  }
  const ourOut = ourLayer(cell, { returnState: true, returnSequences }).apply(ourX, { initialState: ourStates }) as rk.SymbolicTensor[];
  const theirOut = theirLayer(cell, { returnState: true, returnSequences }).apply(theirX, { initialState: theirStates }) as tf.SymbolicTensor[];
  const ours = rk.model({ inputs: [ourInput, ...ourStates], outputs: ourOut });
  const theirs = tf.model({ inputs: [theirInput, ...theirStates], outputs: theirOut });
  shareWeights(ours, theirs);
  const inputs = [{ data: seededUniform(BATCH * STEPS * FEATURES, 11), shape: [BATCH, STEPS, FEATURES] }];
  for (let k = 0; k < stateCount(cell); k++) inputs.push({ data: seededUniform(BATCH * UNITS, 20 + k, 0.8), shape: [BATCH, UNITS] });
  return { ours, theirs, inputs };
}

/** A bidirectional layer: inputs [x, ...forward states, ...backward states], outputs [merged, ...forward, ...backward]. */
function bidirectionalModels(cell: Cell, returnSequences: boolean): Twins {
  const ourX = rk.input({ shape: [STEPS, FEATURES] });
  const theirX = tf.input({ shape: [STEPS, FEATURES] });
  const count = 2 * stateCount(cell);
  const ourStates = Array.from({ length: count }, () => rk.input({ shape: [UNITS] }));
  const theirStates = Array.from({ length: count }, () => tf.input({ shape: [UNITS] }));
  const ourLayerBi = rk.layers.bidirectional({ layer: ourLayer(cell, { returnState: true, returnSequences }) });
  const theirLayerBi = tf.layers.bidirectional({ layer: theirLayer(cell, { returnState: true, returnSequences }), mergeMode: 'concat' });
  const ourOut = ourLayerBi.apply(ourX, { initialState: ourStates }) as rk.SymbolicTensor[];
  const theirOut = theirLayerBi.apply(theirX, { initialState: theirStates }) as tf.SymbolicTensor[];
  const ours = rk.model({ inputs: [ourX, ...ourStates], outputs: ourOut });
  const theirs = tf.model({ inputs: [theirX, ...theirStates], outputs: theirOut });
  shareWeights(ours, theirs);
  const inputs = [{ data: seededUniform(BATCH * STEPS * FEATURES, 14), shape: [BATCH, STEPS, FEATURES] }];
  for (let k = 0; k < count; k++) inputs.push({ data: seededUniform(BATCH * UNITS, 50 + k, 0.8), shape: [BATCH, UNITS] });
  return { ours, theirs, inputs };
}

/**
 * Masking -> recurrent layer with initial states and returnState, on a post-padded batch whose lengths are 5, 3, 0
 * and 2: the states returned are those after each sample's last valid step, the initial states for the empty one.
 */
const MASKED_LENGTHS = [STEPS, 3, 0, 2];
function maskedModels(cell: Cell): Twins {
  const twins = stateModelsWith(cell, false, true);
  const x = twins.inputs[0].data;
  MASKED_LENGTHS.forEach((length, b) => x.fill(0, (b * STEPS + length) * FEATURES, (b + 1) * STEPS * FEATURES));
  return twins;
}

/** Sample b of input k, trimmed to the sample's valid steps for x. */
function sampleOf(twins: Twins, k: number, b: number): tf.Tensor {
  const { data, shape } = twins.inputs[k];
  const perSample = shape.slice(1).reduce((a, c) => a * c, 1);
  const values = data.slice(b * perSample, (b + 1) * perSample);
  return k === 0 ? tf.tensor(values.slice(0, MASKED_LENGTHS[b] * FEATURES), [1, MASKED_LENGTHS[b], FEATURES])
    : tf.tensor(values, [1, ...shape.slice(1)]);
}

/**
 * The tfjs side of the masked case, one trimmed sample at a time: outputs [output, ...states] per sample (an empty
 * sample's are its initial states, h for the output) and the summed mean squared error against `targets`.
 */
function maskedTfOutputs(twins: Twins, targets?: Float32Array[]): { rows: tf.Tensor[][]; loss: tf.Scalar } {
  const rows: tf.Tensor[][] = [];
  let loss = tf.scalar(0);
  MASKED_LENGTHS.forEach((length, b) => {
    const states = twins.inputs.slice(1).map((_, k) => sampleOf(twins, 1 + k, b));
    const row = length === 0 ? [states[0], ...states]
      : asList(twins.theirs.predictOnBatch([sampleOf(twins, 0, b), ...states]) as tf.Tensor | tf.Tensor[]);
    rows.push(row);
    targets?.forEach((target, k) => {
      const t = tf.tensor(target.slice(b * UNITS, (b + 1) * UNITS), [1, UNITS]);
      loss = tf.add(loss, tf.div(tf.sum(tf.square(tf.sub(row[k], t))), BATCH * UNITS));
    });
  });
  return { rows, loss: loss as tf.Scalar };
}

/** Encoder (returnState) -> decoder (initialState, returnSequences) -> dense: Keras's lstm_seq2seq training model. */
function seq2seqModels(cell: Cell): Twins {
  const ourEncoderIn = rk.input({ shape: [STEPS, FEATURES] }), ourDecoderIn = rk.input({ shape: [STEPS - 1, FEATURES] });
  const theirEncoderIn = tf.input({ shape: [STEPS, FEATURES] }), theirDecoderIn = tf.input({ shape: [STEPS - 1, FEATURES] });
  const [, ...ourStates] = ourLayer(cell, { returnState: true }).apply(ourEncoderIn) as rk.SymbolicTensor[];
  const [, ...theirStates] = theirLayer(cell, { returnState: true }).apply(theirEncoderIn) as tf.SymbolicTensor[];
  const ourDecoded = ourLayer(cell, { returnSequences: true }).apply(ourDecoderIn, { initialState: ourStates }) as rk.SymbolicTensor;
  const theirDecoded = theirLayer(cell, { returnSequences: true }).apply(theirDecoderIn, { initialState: theirStates }) as tf.SymbolicTensor;
  const ourOut = rk.layers.dense({ units: 2 }).apply(ourDecoded) as rk.SymbolicTensor;
  const theirOut = tf.layers.dense({ units: 2 }).apply(theirDecoded) as tf.SymbolicTensor;
  const ours = rk.model({ inputs: [ourEncoderIn, ourDecoderIn], outputs: ourOut });
  const theirs = tf.model({ inputs: [theirEncoderIn, theirDecoderIn], outputs: theirOut });
  shareWeights(ours, theirs);
  return {
    ours, theirs, inputs: [
      { data: seededUniform(BATCH * STEPS * FEATURES, 12), shape: [BATCH, STEPS, FEATURES] },
      { data: seededUniform(BATCH * (STEPS - 1) * FEATURES, 13), shape: [BATCH, STEPS - 1, FEATURES] },
    ],
  };
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

async function expectSameOutputs(twins: Twins): Promise<void> {
  const ours = asList(await twins.ours.predict(twins.inputs.map((i) => rk.tensor(i.data, i.shape))));
  const theirs = asList(twins.theirs.predict(twins.inputs.map((i) => tf.tensor(i.data, i.shape))) as tf.Tensor | tf.Tensor[]);
  expect(ours.length).toBe(theirs.length);
  ours.forEach((out, k) => {
    expect(out.shape).toEqual(theirs[k].shape);
    expect(maxAbs(theirs[k].dataSync())).toBeGreaterThan(0.05);  // an all-zero comparison would prove nothing
    expect(maxAbsDiff(out.data, theirs[k].dataSync())).toBeLessThan(1e-5);
  });
}

/** Mean squared error summed over the outputs (Keras's total loss with weights 1): loss and every weight gradient. */
async function expectSameGradients(twins: Twins): Promise<void> {
  const xsTf = twins.inputs.map((i) => tf.tensor(i.data, i.shape));
  const outputShapes = asList(twins.theirs.predict(xsTf) as tf.Tensor | tf.Tensor[]).map((t) => t.shape);
  const targets = outputShapes.map((shape, k) => ({ data: seededUniform(shape.reduce((a, b) => a * b, 1), 40 + k), shape }));
  twins.ours.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const ours = await twins.ours.computeGradients(twins.inputs.map((i) => rk.tensor(i.data, i.shape)),
    targets.map((t) => rk.tensor(t.data, t.shape as number[])));
  const variables = twins.theirs.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    // predictOnBatch rather than apply: tfjs's eager apply refuses an RNN whose initial states are model inputs.
    const outputs = asList(twins.theirs.predictOnBatch(xsTf) as tf.Tensor | tf.Tensor[]);
    return tf.addN(outputs.map((out, k) => tf.losses.meanSquaredError(tf.tensor(targets[k].data, targets[k].shape), out))) as tf.Scalar;
  }, variables);
  expect(Math.abs(ours.loss - value.dataSync()[0])).toBeLessThan(1e-5);
  expect(ours.gradients.length).toBe(variables.length);
  const failing: Record<string, number> = {};
  variables.forEach((v, i) => {
    const theirs = grads[v.name].dataSync();
    const error = maxAbsDiff(ours.gradients[i].data, theirs) / maxAbs(theirs);
    if (!(maxAbs(theirs) > 0 && error < 1e-4)) failing[v.name] = error;
  });
  expect(failing).toEqual({});
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  rk.setSeed(4321);
});

describe.each<Cell>(['simpleRNN', 'lstm', 'gru'])('%s state parity with tfjs', (cell) => {
  it.each([false, true])('initial states in, final states out (returnSequences %s): outputs and states', async (sequences) => {
    await expectSameOutputs(stateModels(cell, sequences));
  });

  it.each([false, true])('initial states in, final states out (returnSequences %s): weight gradients', async (sequences) => {
    await expectSameGradients(stateModels(cell, sequences));
  });

  it.each([false, true])('bidirectional (returnSequences %s): outputs, forward then backward states, gradients', async (sequences) => {
    const twins = bidirectionalModels(cell, sequences);
    await expectSameOutputs(twins);
    await expectSameGradients(twins);
  });

  it('behind a masking layer: states after the last valid step (the initial states for an empty sample), gradients', async () => {
    const twins = maskedModels(cell);
    const ours = asList(await twins.ours.predict(twins.inputs.map((i) => rk.tensor(i.data, i.shape))));
    const { rows } = maskedTfOutputs(twins);
    ours.forEach((out, k) => {
      const theirs = Float32Array.from(rows.flatMap((row) => Array.from(row[k].dataSync())));
      expect(maxAbs(theirs)).toBeGreaterThan(0.05);
      expect(maxAbsDiff(out.data, theirs)).toBeLessThan(1e-5);
      if (k > 0) expect(maxAbsDiff(out.data.slice(2 * UNITS, 3 * UNITS), twins.inputs[k].data.slice(2 * UNITS, 3 * UNITS))).toBe(0);
    });
    const targets = ours.map((_, k) => seededUniform(BATCH * UNITS, 60 + k));
    twins.ours.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const grads = await twins.ours.computeGradients(twins.inputs.map((i) => rk.tensor(i.data, i.shape)),
      targets.map((t) => rk.tensor(t, [BATCH, UNITS])));
    const variables = twins.theirs.trainableWeights.map((w) => w.read() as tf.Variable);
    const theirs = tf.variableGrads(() => maskedTfOutputs(twins, targets).loss, variables);
    expect(Math.abs(grads.loss - theirs.value.dataSync()[0])).toBeLessThan(1e-5);
    variables.forEach((v, i) => {
      const expected = theirs.grads[v.name].dataSync();
      expect(maxAbs(expected)).toBeGreaterThan(0);
      expect(maxAbsDiff(grads.gradients[i].data, expected) / maxAbs(expected)).toBeLessThan(1e-4);
    });
  });

  it('encoder states start a decoder: outputs and weight gradients (through the states into the encoder)', async () => {
    const twins = seq2seqModels(cell);
    await expectSameOutputs(twins);
    await expectSameGradients(twins);
  });
});
