/**
 * Keras import: the golden files of test/fixtures/keras (written by scripts/fixtures/keras_fixtures.py with h5py,
 * following Keras's saving code; Keras is not installable here) load and predict what the fixture script's numpy
 * forward pass computed, to 1e-5; the layers tfjs has are also checked against @tensorflow/tfjs built from the same
 * weights (an independent reference). Forged and truncated files give FORMAT errors; an unsupported class is named
 * with its path in the config.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';

const DIR = path.join(__dirname, 'fixtures', 'keras');
interface Case { files: string[]; input: number[][][] | number[][]; output: number[]; weights: number[][] }
const EXPECTED = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<string, Case>;
const TOLERANCE = 1e-5;

function expectClose(actual: ArrayLike<number>, expected: number[], tolerance = TOLERANCE): void {
  const flat = (expected as unknown[]).flat(3) as number[];
  expect(actual.length).toBe(flat.length);
  let worst = 0;
  for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(actual[i] - flat[i]));
  expect(worst).toBeLessThan(tolerance);
}

const MODEL_CASES = Object.entries(EXPECTED).filter(([name]) => name !== 'weights_only')
  .flatMap(([name, c]) => c.files.map((file) => [name, file] as const));

describe('Keras fixtures load and predict the reference outputs', () => {
  test.each(MODEL_CASES)('%s from %s', async (name, file) => {
    const c = EXPECTED[name];
    const model = (await rk.loadModel(path.join(DIR, file))) as rk.Sequential;
    const y = await model.predict(rk.tensor(c.input as never));
    expectClose(y.data, c.output);
    // The weights are the file's, in Keras order.
    const weights = model.getWeights();
    expect(weights.length).toBe(c.weights.length);
    weights.forEach((w, i) => expectClose(w.data, c.weights[i], 1e-7));
    model.dispose();
  });

  test('config options come through: regularizer, dropout, go_backwards, activation, merge mode, mask_zero', async () => {
    const simple = (await rk.loadModel(path.join(DIR, 'simple_rnn.keras'))) as rk.Sequential;
    expect(simple.layers[0].getConfig()).toMatchObject({ name: 'simple_rnn', units: 5, returnSequences: true, kernelRegularizer: { l1: 0, l2: 0.01 } });
    const lstm = (await rk.loadModel(path.join(DIR, 'lstm.keras'))) as rk.Sequential;
    expect(lstm.layers[0].getConfig()).toMatchObject({ dropout: 0.1, recurrentDropout: 0.2, unitForgetBias: true, recurrentInitializer: 'orthogonal' });
    const gru = (await rk.loadModel(path.join(DIR, 'gru_v1_td.keras'))) as rk.Sequential;
    expect(gru.layers[0].getConfig()).toMatchObject({ resetAfter: false, goBackwards: true, activation: 'relu' });
    expect(gru.layers[1].className).toBe('TimeDistributed');
    const bi = (await rk.loadModel(path.join(DIR, 'bidirectional_mul.keras'))) as rk.Sequential;
    expect(bi.layers[0].getConfig()).toMatchObject({ mergeMode: 'mul' });
    const emb = (await rk.loadModel(path.join(DIR, 'embedding.keras'))) as rk.Sequential;
    expect(emb.layers[0].getConfig()).toMatchObject({ maskZero: true, inputDim: 10, outputDim: 4 });
    for (const m of [simple, lstm, gru, bi, emb]) m.dispose();
  });
});

describe('tfjs, built from the same weights, agrees (independent reference)', () => {
  const seq = (name: string) => EXPECTED[name];
  async function compare(name: string, build: () => tf.Sequential): Promise<void> {
    const c = seq(name);
    const tfModel = build();
    tfModel.setWeights(c.weights.map((w, i) => tf.tensor(w as never, tfModel.getWeights()[i].shape)));
    const expected = Array.from((tfModel.predict(tf.tensor(c.input as never)) as tf.Tensor).dataSync());
    const model = (await rk.loadModel(path.join(DIR, c.files[0]))) as rk.Sequential;
    const y = await model.predict(rk.tensor(c.input as never));
    expectClose(y.data, expected);
    model.dispose();
  }
  const [T, F] = [4, 3];
  test('LSTM -> Dense softmax', () => compare('lstm', () => tf.sequential({
    layers: [tf.layers.lstm({ units: 4, inputShape: [T, F], recurrentActivation: 'sigmoid' }), tf.layers.dense({ units: 3, activation: 'softmax' })],
  })));
  test('SimpleRNN sequences -> Dense', () => compare('simple_rnn', () => tf.sequential({
    layers: [tf.layers.simpleRNN({ units: 5, inputShape: [T, F], returnSequences: true }), tf.layers.dense({ units: 2 })],
  })));
  test('GRU (reset before) backwards -> TimeDistributed(Dense)', () => compare('gru_v1_td', () => tf.sequential({
    layers: [
      tf.layers.gru({ units: 4, inputShape: [T, F], returnSequences: true, goBackwards: true, activation: 'relu', recurrentActivation: 'sigmoid' }),
      tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 2 }) }),
    ],
  })));
  test.each(['concat', 'sum', 'mul', 'ave'] as const)('Bidirectional(LSTM) merge %s', (mode) => compare(`bidirectional_${mode}`, () => tf.sequential({
    layers: [
      tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, returnSequences: true, recurrentActivation: 'sigmoid' }) as tf.RNN, mergeMode: mode, inputShape: [T, F] }),
      tf.layers.dropout({ rate: 0.5 }), tf.layers.dense({ units: 2 }),
    ],
  })));
});

describe('weights only: model.loadWeights(path, { from: "keras" })', () => {
  const c = EXPECTED.weights_only;
  const build = (names: [string, string]) => rk.sequential({
    layers: [rk.layers.lstm({ units: 4, inputShape: [4, 3], name: names[0] }), rk.layers.dense({ units: 3, activation: 'softmax', name: names[1] })],
  });

  test('Keras 3 .weights.h5: by Keras class-named paths', async () => {
    const model = build(['enc', 'out']);
    const report = await model.loadWeights(path.join(DIR, 'lstm_dense.weights.h5'), { from: 'keras' });
    expect(report).toEqual({
      loaded: [
        { layer: 'enc', tensors: ['layers/lstm/cell/vars/0', 'layers/lstm/cell/vars/1', 'layers/lstm/cell/vars/2'] },
        { layer: 'out', tensors: ['layers/dense/vars/0', 'layers/dense/vars/1'] },
      ],
      unchanged: [],
    });
    expectClose((await model.predict(rk.tensor(c.input as never))).data, c.output);
    model.dispose();
  });

  test('the weights of a whole .keras model, into layers named otherwise: by structure (by name finds none)', async () => {
    const model = build(['enc', 'out']);
    await expect(model.loadWeights(path.join(DIR, 'lstm.keras'), { from: 'keras' })).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/none for enc, out \(matching by name: the file's layers are lstm, dense; match: 'structure'/) });
    const report = await model.loadWeights(path.join(DIR, 'lstm.keras'), { from: 'keras', match: 'structure' });
    expect(report.loaded.map((l) => l.layer)).toEqual(['enc', 'out']);
    expectClose((await model.predict(rk.tensor(EXPECTED.lstm.input as never))).data, EXPECTED.lstm.output);
    model.dispose();
  });

  test('Keras 2 weights .h5: by layer name; with a map, unmatched layers keep their weights', async () => {
    const model = build(['encoder', 'classifier']);
    const before = model.getWeights()[3].data.slice();
    // Without a map every layer must be found: 'classifier' is not in the file.
    await expect(model.loadWeights(path.join(DIR, 'lstm_dense_keras2.weights.h5'), { from: 'keras' })).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/classifier/) });
    const partial = await model.loadWeights(path.join(DIR, 'lstm_dense_keras2.weights.h5'), { from: 'keras', map: {} });
    expect(partial).toEqual({ loaded: [{ layer: 'encoder', tensors: ['encoder'] }], unchanged: ['classifier'] });
    expect(Array.from(model.getWeights()[3].data)).toEqual(Array.from(before));
    await model.loadWeights(path.join(DIR, 'lstm_dense_keras2.weights.h5'), { from: 'keras', map: { head: 'classifier' } });
    expectClose((await model.predict(rk.tensor(c.input as never))).data, c.output);
    model.dispose();
  });

  test('bad options and files that match nothing are refused, weights unchanged', async () => {
    const model = build(['a', 'b']);
    const before = model.getWeights().map((w) => Array.from(w.data));
    await expect(model.loadWeights(path.join(DIR, 'lstm_dense_keras2.weights.h5'), { from: 'keras', map: {} })).rejects.toMatchObject({ code: 'FORMAT' });
    await expect(model.loadWeights(path.join(DIR, 'lstm.h5'), { from: 'tensorflow' as never })).rejects.toMatchObject({ code: 'ARGUMENT' });
    await expect(model.loadWeights(path.join(DIR, 'lstm.h5'), { from: 'keras', map: { lstm: 'nope' } })).rejects.toMatchObject({ code: 'ARGUMENT' });
    // The right names but a wrong shape: refused before anything is written.
    const wide = rk.sequential({ layers: [rk.layers.lstm({ units: 5, inputShape: [4, 3], name: 'encoder' }), rk.layers.dense({ units: 3, name: 'head' })] });
    const wideBefore = wide.getWeights().map((w) => Array.from(w.data));
    await expect(wide.loadWeights(path.join(DIR, 'lstm_dense_keras2.weights.h5'), { from: 'keras' })).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/expected shape \[3, 20\]/) });
    expect(wide.getWeights().map((w) => Array.from(w.data))).toEqual(wideBefore);
    expect(model.getWeights().map((w) => Array.from(w.data))).toEqual(before);
    model.dispose();
    wide.dispose();
  });
});

describe('refusals', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-keras-')); });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('an unsupported layer class is named with its path in the config', async () => {
    await expect(rk.loadModel(path.join(DIR, 'unsupported_conv1d.keras'))).rejects.toThrow(/config\.layers\[2\] \(Conv1D\)/);
    await expect(rk.loadModel(path.join(DIR, 'unsupported_conv1d.keras'))).rejects.toMatchObject({ code: 'FORMAT' });
  });

  test.each(['lstm.keras', 'lstm.h5', 'bidirectional_concat.keras', 'embedding.keras'])('truncated %s: FORMAT at every cut', async (file) => {
    const bytes = fs.readFileSync(path.join(DIR, file));
    const cuts = [0, 4, 8, 64, 512, Math.floor(bytes.length / 3), Math.floor(bytes.length / 2), bytes.length - 100, bytes.length - 1];
    for (const cut of cuts) {
      const target = path.join(tmp, `cut_${cut}_${file}`);
      fs.writeFileSync(target, bytes.subarray(0, cut));
      await expect(rk.loadModel(target)).rejects.toMatchObject({ code: 'FORMAT' });
    }
  });

  test.each(['lstm.keras', 'gru.h5'])('forged bytes in %s: FORMAT or a loaded model, never a crash', async (file) => {
    const bytes = fs.readFileSync(path.join(DIR, file));
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let trial = 0; trial < 40; trial++) {
      const forged = Buffer.from(bytes);
      for (let k = 0; k < 8; k++) forged[next() % forged.length] = next() % 256;
      const target = path.join(tmp, `forged_${trial}_${file}`);
      fs.writeFileSync(target, forged);
      try {
        (await rk.loadModel(target)).dispose();
      } catch (error) {
        expect(error).toBeInstanceOf(rk.RnnError);
        expect(['FORMAT', 'MEMORY']).toContain((error as rk.RnnError).code);
      }
    }
  });

  test('forged configs: Keras 3 hard_sigmoid, a custom object, a functional model, a None feature dimension', async () => {
    const { zipSync, unzipSync } = await import('fflate');
    const entries = unzipSync(fs.readFileSync(path.join(DIR, 'lstm.keras')));
    const config = JSON.parse(Buffer.from(entries['config.json']).toString('utf8'));
    const variants: Array<[string, (c: any) => void, RegExp]> = [
      ['hard_sigmoid', (c) => { c.config.layers[1].config.recurrent_activation = 'hard_sigmoid'; }, /hard_sigmoid is relu6/],
      ['custom', (c) => { c.config.layers[2].registered_name = 'my_pkg>MyDense'; }, /config\.layers\[2\] \(Dense\) is a custom registered object/],
      ['functional without nodes', (c) => { c.class_name = 'Functional'; }, /config\.layers\[1\]\.inbound_nodes/],
      ['none-features', (c) => { c.config.layers[0].config.batch_shape = [null, 4, null]; }, /null only for the time dimension/],
      ['stateful without a batch size', (c) => { c.config.layers[1].config.stateful = true; }, /stateful layer 'lstm'.*batch size must be fixed/],
      ['float16', (c) => { c.config.layers[1].config.dtype.config.name = 'float16'; }, /float32/],
    ];
    for (const [name, edit, message] of variants) {
      const copy = JSON.parse(JSON.stringify(config));
      edit(copy);
      const target = path.join(tmp, `${name}.keras`);
      fs.writeFileSync(target, zipSync({ ...entries, 'config.json': Buffer.from(JSON.stringify(copy)) }));
      await expect(rk.loadModel(target)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(message) });
    }
  });

  test('masked steps of a returned sequence: refused where Keras repeats the last output and it reaches the output', async () => {
    const { zipSync, unzipSync } = await import('fflate');
    const entries = unzipSync(fs.readFileSync(path.join(DIR, 'masking.keras')));
    const config = JSON.parse(Buffer.from(entries['config.json']).toString('utf8'));
    const write = (zeroOutput: boolean) => {
      const copy = JSON.parse(JSON.stringify(config));
      Object.assign(copy.config.layers[2].config, { return_sequences: true, zero_output_for_mask: zeroOutput });
      const target = path.join(tmp, `masked_${zeroOutput}.keras`);
      fs.writeFileSync(target, zipSync({ ...entries, 'config.json': Buffer.from(JSON.stringify(copy)) }));
      return target;
    };
    await expect(rk.loadModel(write(false))).rejects.toMatchObject({
      code: 'FORMAT', message: expect.stringMatching(/config\.layers\[2\] \(GRU\) returns sequences under the mask of config\.layers\[1\] \(Masking\)/),
    });
    // With zeros at masked steps, Keras computes what rnnkit computes: it loads, and masked steps give Dense's bias.
    const model = (await rk.loadModel(write(true))) as rk.Sequential;
    const c = EXPECTED.masking;
    const y = await model.predict(rk.tensor(c.input as never));
    const bias = model.getWeights()[4].data;
    expect(Array.from(y.data.slice(2 * 7, 2 * 8)).map((v) => v.toFixed(6))).toEqual(Array.from(bias).map((v) => v.toFixed(6)));
    model.dispose();
  });

  test('maxBytes bounds what an archive may inflate', async () => {
    await expect(rk.loadModel(path.join(DIR, 'lstm.keras'), { maxBytes: 14000 })).rejects.toMatchObject({ code: 'MEMORY' });
  });
});
