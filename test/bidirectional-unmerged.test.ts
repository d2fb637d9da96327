/**
 * Bidirectional with mergeMode null (Keras merge_mode=None): two outputs, forward then backward (in time order),
 * before any states. Checked against @tensorflow/tfjs from the same weights (both outputs, with and without
 * returnState), through the rnnkit file, the tfjs layers format both ways, Keras .keras / .h5 (the fixtures of
 * scripts/fixtures/keras_seq_fixtures.py, and rnnkit -> .keras -> rnnkit), training, and refused where one output is
 * required. The float64 gradients are checked natively (recurrent_state_test.cc); ONNX in onnx-functional.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import * as rk from '../lib';
import { maxAbsDiff, seededUniform } from './helpers/checks';
import { readFromDirectory, writeToDirectory } from './helpers/tfjs-io';

const DIR = path.join(__dirname, 'fixtures', 'keras');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(DIR, 'expected_seq.json'), 'utf8'));
const B = 2, T = 5, F = 3, U = 4;
let tmp: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-unmerged-'));
  await tf.setBackend('cpu');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Sym = rk.SymbolicTensor;
const x = (seed: number) => rk.tensor(seededUniform(B * T * F, seed, 1), [B, T, F]);
const outputs = async (model: rk.Model, input: rk.Tensor) => {
  const y = await model.predict(input);
  return (Array.isArray(y) ? y : [y]).map((t) => t.data);
};
const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

/** x -> bidirectional(gru, mergeMode null) -> [forward, backward(, states)] (+ a Dense on the backward output). */
function unmergedModel(returnSequences: boolean, returnState: boolean, head = false): rk.Model {
  const input = rk.input({ shape: [T, F], name: 'x' });
  const bi = rk.layers.bidirectional({
    name: 'bi', mergeMode: null,
    layer: rk.layers.gru({ units: U, resetAfter: false, returnSequences, returnState, recurrentActivation: 'sigmoid' }),
  });
  const outs = bi.apply(input) as Sym[];
  expect(outs.length).toBe(returnState ? 4 : 2);
  const heads = head ? [rk.layers.dense({ units: 2, name: 'head' }).apply(outs[1]) as Sym] : [];
  const model = rk.model({ inputs: input, outputs: [...outs, ...heads], name: 'unmerged' });
  model.setWeights(model.getWeights().map((w, i) => rk.tensor(seededUniform(w.data.length, 40 + i, 0.5), w.shape.slice())));
  return model;
}

async function expectSame(a: rk.Model, b: rk.Model): Promise<void> {
  for (const seed of [1, 2]) {
    const [ya, yb] = [await outputs(a, x(seed)), await outputs(b, x(seed))];
    expect(yb.length).toBe(ya.length);
    ya.forEach((y, k) => expect(maxAbsDiff(yb[k], y)).toBeLessThan(1e-6));
  }
}

describe('rk.layers.bidirectional({ mergeMode: null })', () => {
  test.each([[true, false], [false, false], [true, true], [false, true]])('returnSequences %s, returnState %s: both outputs (and states) equal tfjs from the same weights', async (returnSequences, returnState) => {
    const ours = unmergedModel(returnSequences, returnState);
    const input = tf.input({ shape: [T, F] });
    const theirsLayer = tf.layers.bidirectional({
      mergeMode: null as never,
      layer: tf.layers.gru({ units: U, returnSequences, returnState, recurrentActivation: 'sigmoid' }) as never,
    });
    const theirs = tf.model({ inputs: input, outputs: theirsLayer.apply(input) as tf.SymbolicTensor[] });
    theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.data, w.shape.slice())));
    const values = x(3);
    const expected = theirs.predict(tf.tensor(values.data, values.shape.slice())) as tf.Tensor[];
    const got = await outputs(ours, values);
    expect(got.length).toBe(expected.length);
    expect(got.length).toBe(returnState ? 4 : 2);
    got.forEach((y, k) => expect(maxAbsDiff(y, expected[k].dataSync())).toBeLessThan(1e-5));
    expect(maxAbsDiff(got[0], got[1])).toBeGreaterThan(1e-3); // the two directions really differ
    expected.forEach((t) => t.dispose());
    ours.dispose();
  });

  test('undefined mergeMode is concat (as tfjs); a layer with two outputs is refused in a sequential model', () => {
    expect(rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 2 }) }).mergeMode).toBe('concat');
    expect(() => rk.sequential({ layers: [rk.layers.bidirectional({ mergeMode: null, layer: rk.layers.lstm({ units: 2, inputShape: [T, F] }) })] }))
      .toThrow(/returns 2 tensors .*mergeMode null/);
  });

  test('fit trains through both outputs', async () => {
    const model = unmergedModel(false, false);
    model.compile({ optimizer: 'adam', loss: 'mse' });
    const target = rk.tensor(seededUniform(B * U, 9, 0.5), [B, U]);
    const before = await model.evaluate(x(4), [target, target]);
    await model.fit(x(4), [target, target], { epochs: 60, batchSize: B, verbose: 0 });
    const after = await model.evaluate(x(4), [target, target]);
    // Each direction's output has its own loss (outputs named bi, bi_1): both fall.
    const [b0, a0] = [before, after] as unknown as Array<Record<string, number>>;
    expect(a0.bi_loss).toBeLessThan(0.8 * b0.bi_loss);
    expect(a0.bi_1_loss).toBeLessThan(0.8 * b0.bi_1_loss);
    model.dispose();
  });
});

describe('a stateful unmerged Bidirectional', () => {
  test('keeps the final states a returnState twin returns, next to its two outputs', async () => {
    const build = (stateful: boolean) => {
      const input = rk.input({ shape: [T, F], name: 'x' });
      const bi = rk.layers.bidirectional({
        name: 'bi', mergeMode: null, ...(stateful ? { batchInputShape: [B, T, F] } : {}),
        layer: rk.layers.gru({ units: U, stateful, returnState: !stateful }),
      });
      return rk.model({ inputs: input, outputs: bi.apply(input) as Sym[] });
    };
    const kept = build(true);
    const twin = build(false);
    kept.setWeights(twin.getWeights());
    const [f, b] = await outputs(kept, x(6));
    const [tf0, tb0, hf, hb] = await outputs(twin, x(6));
    expect(maxAbsDiff(f, tf0)).toBeLessThan(1e-6);
    expect(maxAbsDiff(b, tb0)).toBeLessThan(1e-6);
    const states = (kept.getLayer('bi') as unknown as { getStates(): Float32Array[] }).getStates();
    expect(states.length).toBe(2);
    expect(maxAbsDiff(states[0], hf)).toBeLessThan(1e-6);
    expect(maxAbsDiff(states[1], hb)).toBeLessThan(1e-6);
    const [f2] = await outputs(kept, x(6));
    expect(maxAbsDiff(f2, f)).toBeGreaterThan(1e-4); // the kept state changes the next batch
    kept.resetStates();
    expect(maxAbsDiff((await outputs(kept, x(6)))[0], f)).toBeLessThan(1e-6);
    for (const m of [kept, twin]) m.dispose();
  });
});

describe('saving an unmerged Bidirectional', () => {
  test('the rnnkit file keeps mergeMode null', async () => {
    const model = unmergedModel(true, true, true);
    const file = path.join(tmp, 'unmerged.rnnkit');
    await model.save(file);
    const loaded = await rk.loadModel(file);
    expect(loaded.getLayer('bi').getConfig().mergeMode).toBeNull();
    await expectSame(model, loaded);
    for (const m of [model, loaded]) m.dispose();
  });

  test('the tfjs layers format, both ways: tf.loadLayersModel reads ours, ours reads tfjs', async () => {
    const model = unmergedModel(true, false, true);
    const dir = path.join(tmp, 'tfjs-ours');
    await model.save(dir, { format: 'tfjs' });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const entry = json.modelTopology.config.layers.find((l: { name: string }) => l.name === 'bi');
    expect(entry.config.merge_mode).toBeNull();
    const theirs = await tf.loadLayersModel(readFromDirectory(dir));
    const values = x(5);
    const expected = theirs.predict(tf.tensor(values.data, values.shape.slice())) as tf.Tensor[];
    const got = await outputs(model, values);
    expect(expected.length).toBe(3);
    got.forEach((y, k) => expect(maxAbsDiff(y, expected[k].dataSync())).toBeLessThan(1e-5));
    const back = path.join(tmp, 'tfjs-theirs');
    await theirs.save(writeToDirectory(back));
    const loaded = await rk.loadModel(back);
    await expectSame(model, loaded);
    for (const m of [model, loaded]) m.dispose();
  });

  test.each(EXPECTED.unmerged.files as string[])('Keras %s: merge_mode None loads as two outputs, predicting as numpy', async (file) => {
    const model = await rk.loadModel(path.join(DIR, file));
    expect(model.getLayer('bi').getConfig().mergeMode).toBeNull();
    const got = await outputs(model, rk.tensor(EXPECTED.unmerged.inputs[0]));
    expect(got.length).toBe(2);
    got.forEach((y, k) => expect(maxAbsDiff(y, flat(EXPECTED.unmerged.outputs[k]))).toBeLessThan(1e-5));
    model.dispose();
  });

  test('rnnkit -> .keras -> rnnkit: merge_mode None, outputs [bi, 0, k]', async () => {
    const model = unmergedModel(true, true, true);
    const file = path.join(tmp, 'unmerged.keras');
    await model.save(file, { format: 'keras' });
    const config = JSON.parse(Buffer.from(unzipSync(fs.readFileSync(file))['config.json']).toString('utf8'));
    const bi = config.config.layers.find((l: { name: string }) => l.name === 'bi');
    expect(bi.config.merge_mode).toBeNull();
    expect(config.config.output_layers.slice(0, 4)).toEqual([['bi', 0, 0], ['bi', 0, 1], ['bi', 0, 2], ['bi', 0, 3]]);
    const loaded = await rk.loadModel(file);
    await expectSame(model, loaded);
    for (const m of [model, loaded]) m.dispose();
  });
});
