/**
 * Keras Sequential models with a time dimension of any length (`Input(shape=(None, F))`: batch_shape
 * [null, null, F]), both ways: the fixtures of scripts/fixtures/keras_seq_fixtures.py predict as numpy computed on
 * inputs of several lengths, and an rnnkit Sequential built with `inputShape: [null, F]` writes None and comes back
 * the same (and @tensorflow/tfjs reads our tfjs export of it).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import * as rk from '../lib';
import { maxAbsDiff, seededUniform } from './helpers/checks';
import { readFromDirectory } from './helpers/tfjs-io';

const DIR = path.join(__dirname, 'fixtures', 'keras');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(DIR, 'expected_seq.json'), 'utf8'));
const F = 3;
let tmp: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-keras-seq-'));
  await tf.setBackend('cpu');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const data = async (model: rk.Model, x: rk.Tensor) => ((await model.predict(x)) as rk.Tensor).data;
const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

describe('Keras Sequential files with a None time dimension', () => {
  test.each(['none_steps_keras', 'none_steps_h5'])('%s: loads with steps of any length (-1) and predicts every length as numpy', async (name) => {
    const c = EXPECTED[name];
    const model = await rk.loadModel(path.join(DIR, c.files[0]));
    expect(model.inputShape).toEqual([-1, F]); // rnnkit writes a time dimension of any length as -1
    expect(c.inputs.length).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < c.inputs.length; i += 1) {
      const y = await data(model, rk.tensor(c.inputs[i]));
      expect(y.length).toBe(flat(c.outputs[i]).length);
      expect(maxAbsDiff(y, flat(c.outputs[i]))).toBeLessThan(1e-5);
    }
    model.dispose();
  });
});

describe('rnnkit inputShape [null, F] -> Keras and tfjs', () => {
  test('.keras writes batch_shape [null, null, F] and every build_config with null steps; it loads back the same', async () => {
    rk.setSeed(31);
    const model = rk.sequential({ name: 'any_len', layers: [
      rk.layers.gru({ units: 4, returnSequences: true, inputShape: [null, F] }),
      rk.layers.lstm({ units: 3, returnSequences: true }),
      rk.layers.dense({ units: 2 }),
    ] });
    const file = path.join(tmp, 'any_len.keras');
    await model.save(file, { format: 'keras' });
    const config = JSON.parse(Buffer.from(unzipSync(fs.readFileSync(file))['config.json']).toString('utf8'));
    expect(config.config.layers[0].config.batch_shape).toEqual([null, null, F]);
    expect(config.build_config.input_shape).toEqual([null, null, F]);
    expect(config.config.layers.slice(1).map((l: { build_config: { input_shape: unknown } }) => l.build_config.input_shape))
      .toEqual([[null, null, F], [null, null, 4], [null, null, 3]]);
    const loaded = await rk.loadModel(file);
    expect(loaded.layers.map((l) => l.getConfig())).toEqual(model.layers.map((l) => l.getConfig()));
    for (const [steps, seed] of [[2, 1], [6, 2], [9, 3]]) {
      const x = rk.tensor(seededUniform(2 * steps * F, seed, 1), [2, steps, F]);
      const expected = await data(model, x);
      expect(expected.length).toBe(2 * steps * 2);
      expect(maxAbsDiff(await data(loaded, x), expected)).toBeLessThan(1e-6);
    }
    for (const m of [model, loaded]) m.dispose();
  });

  test('the tfjs layers format keeps the null steps: tf.loadLayersModel predicts every length as we do', async () => {
    rk.setSeed(32);
    const model = rk.sequential({ layers: [rk.layers.lstm({ units: 3, recurrentActivation: 'sigmoid', inputShape: [null, F] }), rk.layers.dense({ units: 2 })] });
    const dir = path.join(tmp, 'tfjs-any');
    await model.save(dir, { format: 'tfjs' });
    const theirs = await tf.loadLayersModel(readFromDirectory(dir));
    expect(theirs.inputs[0].shape).toEqual([null, null, F]);
    for (const [steps, seed] of [[3, 4], [8, 5]]) {
      const values = seededUniform(2 * steps * F, seed, 1);
      const out = theirs.predict(tf.tensor(values, [2, steps, F])) as tf.Tensor;
      expect(maxAbsDiff(await data(model, rk.tensor(values, [2, steps, F])), out.dataSync())).toBeLessThan(1e-5);
      out.dispose();
    }
    model.dispose();
  });
});

describe('dict inputs and outputs of a Keras functional model', () => {
  const entries = () => unzipSync(fs.readFileSync(path.join(DIR, 'dict_io.keras')));
  const configOf = (e: Record<string, Uint8Array>) => JSON.parse(Buffer.from(e['config.json']).toString('utf8'));

  test.each(EXPECTED.dict_io.files as string[])('%s: inputs and outputs in sorted key order, named by their keys, as numpy', async (file) => {
    const c = EXPECTED.dict_io;
    const model = await rk.loadModel(path.join(DIR, file));
    // Written as { b, a } and { score, enc }: Keras (and rnnkit) flatten dicts in sorted key order.
    expect(model.inputNames).toEqual(['a', 'b']);
    expect(model.outputNames).toEqual(['enc', 'score']);
    const [a, b] = c.inputs.map((v: unknown) => rk.tensor(v as never));
    for (const xs of [[a, b], { b, a }] as rk.ModelData[]) {
      const ys = (await model.predict(xs)) as rk.Tensor[];
      expect(ys.length).toBe(2);
      ys.forEach((y, k) => expect(maxAbsDiff(y.data, flat(c.outputs[k]))).toBeLessThan(1e-5));
    }
    model.dispose();
  });

  test('keys other than the layer names rename those layers (inputs and outputs), in sorted key order', async () => {
    const { zipSync } = await import('fflate');
    const e = entries();
    const config = configOf(e);
    config.config.input_layers = { x: ['a', 0, 0], b: ['b', 0, 0] };
    config.config.output_layers = { y: ['score', 0, 0], enc: ['enc', 0, 0] };
    const target = path.join(tmp, 'dict-renamed.keras');
    fs.writeFileSync(target, zipSync({ ...e, 'config.json': Buffer.from(JSON.stringify(config)) }));
    // The .keras forged here (weights by path) and a Keras 2 fixture (weights in the layers' groups, by name).
    for (const file of [target, path.join(DIR, 'dict_io_keys.h5')]) {
      const model = await rk.loadModel(file);
      expect(model.inputNames).toEqual(['b', 'x']); // sorted keys: b, then x (the InputLayer 'a' renamed)
      expect(model.outputNames).toEqual(['enc', 'y']);
      expect(model.getLayer('y').getConfig().units).toBe(1);
      const c = EXPECTED.dict_io;
      const [a, b] = c.inputs.map((v: unknown) => rk.tensor(v as never));
      const ys = (await model.predict({ x: a, b })) as rk.Tensor[];
      ys.forEach((y, k) => expect(maxAbsDiff(y.data, flat(c.outputs[k]))).toBeLessThan(1e-5));
      model.dispose();
    }
  });

  test('keys that cannot name their tensors, or a nested structure, are refused', async () => {
    const { zipSync } = await import('fflate');
    const variants: Array<[string, (c: any) => void, RegExp]> = [
      ['taken', (c) => { c.config.output_layers = { enc: ['enc', 0, 0], proj: ['score', 0, 0] }; }, /output_layers\['proj'\] would name the tensor of layer 'score' 'proj', but 'proj' already names another layer/],
      ['one layer twice', (c) => { c.config.output_layers = { p: ['enc', 0, 0], q: ['enc', 0, 0] }; }, /output_layers\['p'\] is one of several outputs of layer 'enc'/],
      ['nested', (c) => { c.config.output_layers = { enc: ['enc', 0, 0], more: { score: ['score', 0, 0] } }; }, /flat dict\) for config\.output_layers\['more'\]/],
      ['empty', (c) => { c.config.input_layers = {}; }, /at least one tensor/],
    ];
    const e = entries();
    for (const [name, edit, message] of variants) {
      const config = configOf(e);
      edit(config);
      const target = path.join(tmp, `dict-${name.replace(/ /g, '-')}.keras`);
      fs.writeFileSync(target, zipSync({ ...e, 'config.json': Buffer.from(JSON.stringify(config)) }));
      await expect(rk.loadModel(target)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(message) });
    }
  });
});
