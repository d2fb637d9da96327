/**
 * Stateful models through Keras files and the tfjs layers format: the fixed batch size travels as Keras's
 * batch_shape [B, ...] (tfjs's batch_input_shape) and the recurrent layers as stateful: true, both ways. Checked
 * against the fixtures of scripts/fixtures/keras_extra_fixtures.py (two consecutive batches computed with numpy,
 * the second from the first's final states), rnnkit -> .keras -> rnnkit round trips of Sequential and functional
 * models, and @tensorflow/tfjs loading ours and ours loading tfjs's: consecutive predict calls agree to 1e-5, and
 * so does the behaviour after resetStates.
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
const EXPECTED = JSON.parse(fs.readFileSync(path.join(DIR, 'expected_extra.json'), 'utf8'));
const B = 2, T = 4, F = 3;
let tmp: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-keras-stateful-'));
  await tf.setBackend('cpu');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const batch = (seed: number) => rk.tensor(seededUniform(B * T * F, seed, 1), [B, T, F]);
const data = async (model: rk.Model, x: rk.Tensor) => ((await model.predict(x)) as rk.Tensor).data;

/** Feeds three batches, resets, feeds the first again: every output of `a` and `b` agrees to 1e-5. */
async function expectSameStatefulRuns(a: rk.Model, b: rk.Model): Promise<void> {
  const xs = [batch(1), batch(2), batch(3)];
  const first = await data(a, xs[0]);
  expect(maxAbsDiff(await data(b, xs[0]), first)).toBeLessThan(1e-5);
  for (const x of xs.slice(1)) expect(maxAbsDiff(await data(b, x), await data(a, x))).toBeLessThan(1e-5);
  a.resetStates();
  b.resetStates();
  const again = await data(a, xs[0]);
  expect(maxAbsDiff(again, first)).toBeLessThan(1e-6); // the reset really starts over
  expect(maxAbsDiff(await data(b, xs[0]), again)).toBeLessThan(1e-5);
}

describe('Keras stateful fixtures (keras_extra_fixtures.py)', () => {
  test.each(EXPECTED.stateful.files as string[])('%s: stateful LSTM with batch size 2 keeps its states across predict calls as numpy computed', async (file) => {
    const model = await rk.loadModel(path.join(DIR, file));
    expect(model.isStateful).toBe(true);
    expect(model.layers[0].getConfig()).toMatchObject({ stateful: true, batchInputShape: [B, T, F] });
    const [x1, x2] = (EXPECTED.stateful.inputs as number[][][][]).map((x) => rk.tensor(x as never));
    const [y1, y2] = (EXPECTED.stateful.outputs as number[][][]).map((y) => y.flat());
    expect(maxAbsDiff(await data(model, x1), y1)).toBeLessThan(1e-5);
    expect(maxAbsDiff(await data(model, x2), y2)).toBeLessThan(1e-5);
    model.resetStates();
    expect(maxAbsDiff(await data(model, x1), y1)).toBeLessThan(1e-5);
    model.dispose();
  });
});

describe('rnnkit -> .keras -> rnnkit', () => {
  test('a stateful Sequential: batch_shape [B, T, F], stateful: true, the same predictions batch after batch', async () => {
    rk.setSeed(21);
    const model = rk.sequential({ name: 'sf', layers: [
      rk.layers.gru({ units: 4, stateful: true, returnSequences: true, batchInputShape: [B, T, F] }),
      rk.layers.lstm({ units: 3, stateful: true }),
      rk.layers.dense({ units: 2 }),
    ] });
    const file = path.join(tmp, 'sf.keras');
    await model.save(file, { format: 'keras' });
    const config = JSON.parse(Buffer.from(unzipSync(fs.readFileSync(file))['config.json']).toString('utf8'));
    expect(config.config.layers[0].config.batch_shape).toEqual([B, T, F]);
    expect(config.build_config.input_shape).toEqual([B, T, F]);
    expect(config.config.layers[1]).toMatchObject({ class_name: 'GRU', config: { stateful: true }, build_config: { input_shape: [B, T, F] } });
    expect(config.config.layers[2].config.stateful).toBe(true);
    expect(config.config.layers[1].config).not.toHaveProperty('batch_input_shape');
    const loaded = await rk.loadModel(file);
    expect(loaded.layers.map((l) => l.getConfig())).toEqual(model.layers.map((l) => l.getConfig()));
    await expectSameStatefulRuns(model, loaded);
    model.dispose();
    loaded.dispose();
  });

  test('a stateful functional model: every InputLayer carries the batch size, which comes back on the first layer', async () => {
    rk.setSeed(22);
    const x = rk.input({ shape: [T, F], name: 'x' });
    const seq = rk.layers.lstm({ units: 3, stateful: true, returnSequences: true, batchInputShape: [B, T, F], name: 'l1' }).apply(x) as rk.SymbolicTensor;
    const y = rk.layers.dense({ units: 2, name: 'd' }).apply(rk.layers.simpleRNN({ units: 3, stateful: true, name: 'l2' }).apply(seq) as rk.SymbolicTensor) as rk.SymbolicTensor;
    const model = rk.model({ inputs: x, outputs: y, name: 'sfg' });
    const file = path.join(tmp, 'sfg.keras');
    await model.save(file, { format: 'keras' });
    const config = JSON.parse(Buffer.from(unzipSync(fs.readFileSync(file))['config.json']).toString('utf8'));
    expect(config.config.layers[0]).toMatchObject({ class_name: 'InputLayer', config: { batch_shape: [B, T, F] } });
    const loaded = await rk.loadModel(file);
    expect(loaded.isStateful).toBe(true);
    expect(loaded.layers.map((l) => l.getConfig())).toEqual(model.layers.map((l) => l.getConfig()));
    await expectSameStatefulRuns(model, loaded);
    for (const m of [model, loaded]) m.dispose();
  });

  test('InputLayers with different fixed batch sizes are refused', async () => {
    const file = path.join(DIR, 'graph.keras');
    const entries = unzipSync(fs.readFileSync(file));
    const config = JSON.parse(Buffer.from(entries['config.json']).toString('utf8'));
    config.config.layers[0].config.batch_shape[0] = 2;
    config.config.layers[1].config.batch_shape[0] = 3;
    const { zipSync } = await import('fflate');
    const forged = path.join(tmp, 'two-batches.keras');
    fs.writeFileSync(forged, zipSync({ ...entries, 'config.json': Buffer.from(JSON.stringify(config)) }));
    await expect(rk.loadModel(forged)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/one fixed batch size .*2, 3/) });
  });
});

describe('stateful models and @tensorflow/tfjs, both ways', () => {
  const lstmArgs = { units: 3, stateful: true, returnSequences: true, recurrentActivation: 'sigmoid' as const };

  async function expectTfjsAgrees(ours: rk.Model, theirs: tf.LayersModel): Promise<void> {
    const run = (x: rk.Tensor) => {
      const out = theirs.predict(tf.tensor(x.data, x.shape.slice())) as tf.Tensor;
      const values = out.dataSync() as Float32Array;
      out.dispose();
      return values;
    };
    const xs = [batch(4), batch(5), batch(6)];
    for (const x of xs) expect(maxAbsDiff(await data(ours, x), run(x))).toBeLessThan(1e-5);
    ours.resetStates();
    theirs.resetStates();
    expect(maxAbsDiff(await data(ours, xs[0]), run(xs[0]))).toBeLessThan(1e-5);
  }

  test('tf.loadLayersModel reads our stateful Sequential and keeps state as we do', async () => {
    rk.setSeed(23);
    const ours = rk.sequential({ layers: [rk.layers.lstm({ ...lstmArgs, batchInputShape: [B, T, F] }), rk.layers.dense({ units: 2 })] });
    const dir = path.join(tmp, 'ours-seq');
    await ours.save(dir, { format: 'tfjs' });
    const theirs = await tf.loadLayersModel(readFromDirectory(dir));
    expect((theirs.layers[0].getConfig() as { stateful: boolean }).stateful).toBe(true);
    expect(theirs.inputs[0].shape).toEqual([B, T, F]);
    await expectTfjsAgrees(ours, theirs);
    ours.dispose();
  });

  test('tf.loadLayersModel reads our stateful functional model (batch size on its InputLayer)', async () => {
    rk.setSeed(24);
    const x = rk.input({ shape: [T, F], name: 'x' });
    const h = rk.layers.lstm({ ...lstmArgs, batchInputShape: [B, T, F], name: 'l' }).apply(x) as rk.SymbolicTensor;
    const ours = rk.model({ inputs: x, outputs: rk.layers.dense({ units: 2, name: 'd' }).apply(h) as rk.SymbolicTensor });
    const dir = path.join(tmp, 'ours-graph');
    await ours.save(dir, { format: 'tfjs' });
    const theirs = await tf.loadLayersModel(readFromDirectory(dir));
    expect(theirs.inputs[0].shape).toEqual([B, T, F]);
    await expectTfjsAgrees(ours, theirs);
    const back = await rk.loadModel(dir);
    expect(back.layers.map((l) => l.getConfig())).toEqual(ours.layers.map((l) => l.getConfig()));
    ours.resetStates();
    await expectSameStatefulRuns(ours, back);
    for (const m of [ours, back]) m.dispose();
  });

  test('a stateful tfjs Sequential and a stateful tfjs functional model saved through an IOHandler load here', async () => {
    const seq = tf.sequential({ layers: [tf.layers.lstm({ ...lstmArgs, batchInputShape: [B, T, F] }), tf.layers.dense({ units: 2 })] });
    const input = tf.input({ batchShape: [B, T, F] });
    const gru = tf.layers.gru({ units: 3, stateful: true, recurrentActivation: 'sigmoid' }).apply(input) as tf.SymbolicTensor;
    const graph = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(gru) as tf.SymbolicTensor });
    for (const [name, theirs] of [['tfjs-seq', seq], ['tfjs-graph', graph]] as const) {
      const dir = path.join(tmp, name);
      await theirs.save(writeToDirectory(dir));
      const ours = await rk.loadModel(dir);
      expect(ours.isStateful).toBe(true);
      expect(ours.layers[0].batchSize).toBe(B);
      theirs.resetStates();
      await expectTfjsAgrees(ours, theirs);
      ours.dispose();
    }
  });
});
