/**
 * RepeatVector, Reshape and Flatten: option errors, getConfig round trips, output shapes, and parity with
 * @tensorflow/tfjs (cpu backend) inside sequential models from the same weights: outputs within 1e-5, gradients of
 * the mean squared error within 1e-4 of each gradient's largest entry; then the rnnkit file and the tfjs format both
 * ways (tfjs predicts what we predict, within 1e-5).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { fromTfjsLayer, toTfjsLayer } from '../lib/io/tfjs_config';
import { layerFromConfig, serializeLayer } from '../lib/layers/registry';
import { maxAbs, maxAbsDiff, seededUniform, thrown } from './helpers/checks';
import { readFromDirectory, writeToDirectory } from './helpers/tfjs-io';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-reshape-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
  rk.setSeed(77);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('options and shapes', () => {
  it('refuses bad options with ARGUMENT errors naming the option', () => {
    expect(thrown(() => rk.layers.repeatVector({ n: 0 })).message).toMatch(/integer >= 1 for repeat_vector.*\.n but received 0/);
    expect(thrown(() => rk.layers.repeatVector({} as never)).code).toBe('ARGUMENT');
    expect(thrown(() => rk.layers.reshape({ targetShape: [] })).message).toMatch(/non-empty array of dimensions.*received/);
    expect(thrown(() => rk.layers.reshape({ targetShape: [-1, null] })).message).toMatch(/at most one inferred dimension.*\[null, null\]/);
    expect(thrown(() => rk.layers.reshape({ targetShape: [2, 0], name: 'r' })).message).toMatch(/integer >= 1 for r\.targetShape\[1\] but received 0/);
    expect(thrown(() => rk.layers.flatten({ dataFormat: 'channelsFirst' } as never)).message).toMatch(/Unknown option 'dataFormat' in flatten layer options/);
    expect(thrown(() => rk.layers.reshape({ targetShape: [2], units: 3 } as never)).code).toBe('ARGUMENT');
  });

  it('computes output shapes and refuses inputs that do not fit with SHAPE errors', () => {
    expect(rk.layers.repeatVector({ n: 4 }).computeOutputShape([3])).toEqual([4, 3]);
    expect(rk.layers.reshape({ targetShape: [2, -1] }).computeOutputShape([4, 3])).toEqual([2, 6]);
    expect(rk.layers.reshape({ targetShape: [null, 4] }).computeOutputShape([12])).toEqual([3, 4]);
    expect(rk.layers.flatten().computeOutputShape([5, 3])).toEqual([15]);
    expect(rk.layers.flatten().computeOutputShapes([[2, 3, 4]])).toEqual([[24]]);
    const rv = thrown(() => rk.layers.repeatVector({ n: 2, name: 'rv' }).computeOutputShape([4, 3]));
    expect([rv.code, rv.message]).toEqual(['SHAPE', expect.stringMatching(/vectors of shape \[features\] as input of layer 'rv'.*\[4, 3\]/)]);
    const rs = thrown(() => rk.layers.reshape({ targetShape: [5, -1], name: 'rs' }).computeOutputShape([4, 3]));
    expect([rs.code, rs.message]).toEqual(['SHAPE', expect.stringMatching(/fits the targetShape \[5, null\] of layer 'rs'.*\[4, 3\] \(12 values\)/)]);
    const fl = thrown(() => rk.layers.flatten({ name: 'fl' }).computeOutputShape([-1, 3]));
    expect([fl.code, fl.message]).toEqual(['SHAPE', expect.stringMatching(/known size for layer 'fl'.*\[null, 3\]/)]);
    expect(thrown(() => rk.layers.flatten().computeOutputShapes([[3], [3]])).code).toBe('SHAPE');
  });

  it('getConfig round-trips through the registry (Keras/tfjs keys)', () => {
    const layers = [
      rk.layers.repeatVector({ n: 3, name: 'rv', inputShape: [4] }),
      rk.layers.reshape({ targetShape: [2, null], name: 'rs', trainable: false }),
      rk.layers.flatten({ name: 'fl' }),
    ];
    expect(layers.map((l) => l.getConfig())).toEqual([
      { name: 'rv', trainable: true, n: 3, inputShape: [4] },
      { name: 'rs', trainable: false, targetShape: [2, -1] },
      { name: 'fl', trainable: true },
    ]);
    for (const layer of layers) {
      const copy = layerFromConfig({ className: layer.className, config: layer.getConfig() });
      expect([copy.className, copy.getConfig()]).toEqual([layer.className, layer.getConfig()]);
      expect(layer.weightSpecs()).toEqual([]);
    }
  });

  it('maps to the tfjs format and back: an inferred dimension is written -1 (Keras) and read from null (tfjs)', () => {
    const reshape = toTfjsLayer(serializeLayer(rk.layers.reshape({ targetShape: [2, -1], name: 'rs' })));
    expect(reshape).toEqual({ class_name: 'Reshape', config: { name: 'rs', trainable: true, target_shape: [2, -1] } });
    const read = fromTfjsLayer({ class_name: 'Reshape', config: { name: 'rs', trainable: true, target_shape: [2, null] } }, 'layer', 'model.json');
    expect(read).toEqual({ className: 'Reshape', config: { name: 'rs', trainable: true, targetShape: [2, -1] } });
    expect(toTfjsLayer(serializeLayer(rk.layers.flatten({ name: 'f' }))).config).toEqual({ name: 'f', trainable: true, data_format: null });
    expect(fromTfjsLayer({ class_name: 'Flatten', config: { name: 'f', data_format: 'channels_last' } }, 'layer', 'model.json').config).toEqual({ name: 'f' });
    const channelsFirst = thrown(() => fromTfjsLayer({ class_name: 'Flatten', config: { name: 'f', data_format: 'channels_first' } }, 'layer', 'model.json'));
    expect([channelsFirst.code, channelsFirst.message]).toEqual(['FORMAT', expect.stringMatching(/'channels_last' or null for layer.data_format but received "channels_first"/)]);
    expect(toTfjsLayer(serializeLayer(rk.layers.repeatVector({ n: 3, name: 'r' }))).config).toEqual({ name: 'r', trainable: true, n: 3 });
  });
});

/** The layer factories of one side (rk.layers or tf.layers), and whether it is ours. */
type Side = Record<string, (args?: Record<string, unknown>) => unknown>;
type Build = (side: Side, ours: boolean) => unknown[];

/** The same layer stack on both sides, with random weights set on ours and copied to tfjs. */
function twins(build: Build) {
  const ours = rk.sequential();
  for (const layer of build(rk.layers as unknown as Side, true)) ours.add(layer as rk.Layer);
  const theirs = tf.sequential();
  for (const layer of build(tf.layers as unknown as Side, false)) theirs.add(layer as tf.layers.Layer);
  const weights = ours.getWeights().map((w, i) => rk.tensor(seededUniform(w.size, 300 + i, 0.5), w.shape.slice()));
  ours.setWeights(weights);
  theirs.setWeights(weights.map((w) => tf.tensor(w.data, w.shape.slice())));
  return { ours, theirs };
}

const lstm = (side: Side, args: Record<string, unknown>) => side.lstm({ recurrentActivation: 'sigmoid', ...args });

const CASES: [string, number[], Build][] = [
  ['dense -> repeatVector -> lstm (an encoding fed to every step)', [4],
    (s) => [s.dense({ units: 3, activation: 'tanh', inputShape: [4] }), s.repeatVector({ n: 5 }), lstm(s, { units: 3 }), s.dense({ units: 2 })]],
  ['lstm(returnSequences) -> flatten -> dense', [6, 3],
    (s) => [lstm(s, { units: 4, returnSequences: true, inputShape: [6, 3] }), s.flatten(), s.dense({ units: 2 })]],
  ['reshape [12] -> [4, 3] -> gru(returnSequences) -> reshape [12] -> dense (tfjs cannot build a dense after an inferred -1)', [12],
    (s, ours) => [s.reshape({ targetShape: [4, 3], inputShape: [12] }),
      s.gru({ units: 3, returnSequences: true, recurrentActivation: 'sigmoid', ...(ours ? { resetAfter: false } : {}) }),
      s.reshape({ targetShape: [12] }), s.dense({ units: 2 })]],
];

const BATCH = 5;

describe.each(CASES)('tfjs parity: %s', (_, inputShape, build) => {
  const shape = [BATCH, ...inputShape];
  const x = seededUniform(shape.reduce((a, b) => a * b, 1), 11);

  it('forward outputs match within 1e-5 and gradients within 1e-4', async () => {
    const { ours, theirs } = twins(build);
    const ourOut = (await ours.predict(rk.tensor(x, shape))).data;
    const theirOut = (theirs.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync();
    expect(maxAbs(theirOut)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(ourOut, theirOut)).toBeLessThan(1e-5);

    const targets = seededUniform(BATCH * 2, 12);
    ours.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const grads = await ours.computeGradients(rk.tensor(x, shape), rk.tensor(targets, [BATCH, 2]));
    const variables = theirs.trainableWeights.map((w) => w.read() as tf.Variable);
    const y = tf.tensor(targets, [BATCH, 2]);
    const { value, grads: theirGrads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(y, theirs.apply(tf.tensor(x, shape)) as tf.Tensor) as tf.Scalar, variables);
    expect(Math.abs(grads.loss - value.dataSync()[0])).toBeLessThan(1e-5);
    expect(grads.gradients.length).toBe(variables.length);
    const failing: Record<string, number> = {};
    variables.forEach((v, i) => {
      const theirsGrad = theirGrads[v.name].dataSync();
      const scale = maxAbs(theirsGrad);
      const error = maxAbsDiff(grads.gradients[i].data, theirsGrad) / scale;
      if (!(scale > 0 && error < 1e-4)) failing[theirs.trainableWeights[i].name] = error;
    });
    expect(failing).toEqual({});
  });

  it('saves and loads (rnnkit file and tfjs format both ways) with the same predictions', async () => {
    const { ours, theirs } = twins(build);
    const input = rk.tensor(x, shape);
    const expected = (await ours.predict(input)).data;
    const name = `m${CASES.findIndex((c) => c[2] === build)}`;

    await ours.save(join(dir, `${name}.rnnkit`));
    const loaded = (await rk.loadModel(join(dir, `${name}.rnnkit`))) as rk.Sequential;
    expect(loaded.layers.map((l) => [l.className, l.getConfig()])).toEqual(ours.layers.map((l) => [l.className, l.getConfig()]));
    expect(Array.from((await loaded.predict(input)).data)).toEqual(Array.from(expected));

    // Ours -> tfjs.
    await ours.save(join(dir, `${name}-tfjs`), { format: 'tfjs' });
    const tfLoaded = await tf.loadLayersModel(readFromDirectory(join(dir, `${name}-tfjs`)));
    expect(maxAbsDiff((tfLoaded.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync(), expected)).toBeLessThan(1e-5);
    tfLoaded.dispose();

    // tfjs -> ours.
    await theirs.save(writeToDirectory(join(dir, `${name}-from-tfjs`)));
    const fromTfjs = (await rk.loadModel(join(dir, `${name}-from-tfjs`))) as rk.Sequential;
    expect(fromTfjs.layers.map((l) => l.className)).toEqual(ours.layers.map((l) => l.className));
    expect(maxAbsDiff((await fromTfjs.predict(input)).data, expected)).toBeLessThan(1e-5);
  });
});
