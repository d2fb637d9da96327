/**
 * The tfjs layers-model layout (model.json + weights.bin) both ways, checked with @tensorflow/tfjs on the cpu
 * backend: a model trained here loads in tfjs and predicts the same numbers (1e-5), and a tfjs model saved through
 * an IOHandler that writes those two files loads here, predicts the same and can be fine-tuned.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { expectRnnError, maxAbsDiff } from './helpers/checks';
import { readFromDirectory, writeToDirectory } from './helpers/tfjs-io';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-tfjs-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function values(count: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 * 2 - 1) * scale;
  });
}

async function tfPredict(model: tf.LayersModel, data: Float32Array, shape: number[]): Promise<Float32Array> {
  const input = tf.tensor(data, shape);
  const output = model.predict(input) as tf.Tensor;
  const result = (await output.data()) as Float32Array;
  tf.dispose([input, output]);
  return result;
}

describe('rnnkit -> tfjs', () => {
  test('every shared layer type: a trained model loads in tfjs and predicts the same numbers', async () => {
    const model = rk.sequential({ name: 'mixed' });
    model.add(rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 4, returnSequences: true, name: 'fw' }), inputShape: [6, 3], name: 'bi' }));
    model.add(rk.layers.gru({ units: 3, returnSequences: true, resetAfter: false, recurrentActivation: 'hardSigmoid', name: 'gru' }));
    model.add(rk.layers.simpleRNN({ units: 3, returnSequences: true, activation: 'relu', name: 'rnn' }));
    model.add(rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, activation: 'tanh', name: 'inner' }), name: 'td' }));
    model.add(rk.layers.dropout({ rate: 0.2, name: 'drop' }));
    model.add(rk.layers.lstm({ units: 3, name: 'last', goBackwards: true }));
    model.add(rk.layers.dense({ units: 2, activation: 'softmax', kernelRegularizer: rk.regularizers.l2(0.01), name: 'head' }));
    model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.05 }), loss: 'categoricalCrossentropy' });
    const x = values(5 * 6 * 3, 7);
    const y = Float32Array.from({ length: 10 }, (_, i) => (i % 2 === (i >> 1) % 2 ? 1 : 0));
    for (let step = 0; step < 5; step++) await model.trainOnBatch(new rk.Tensor(x, [5, 6, 3]), new rk.Tensor(y, [5, 2]));

    const target = join(dir, 'mixed');
    await model.save(target, { format: 'tfjs' });
    const json = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['./weights.bin']);
    expect(json.weightsManifest[0].weights.slice(0, 3).map((w: { name: string }) => w.name))
      .toEqual(['bi/forward_fw/kernel', 'bi/forward_fw/recurrent_kernel', 'bi/forward_fw/bias']);
    expect(json.modelTopology.config.layers[1].config).toMatchObject({ reset_after: false, recurrent_activation: 'hard_sigmoid', return_sequences: true });

    const loaded = await tf.loadLayersModel(readFromDirectory(target));
    expect(loaded.layers.map((l) => l.name)).toEqual(['bi', 'gru', 'rnn', 'td', 'drop', 'last', 'head']);
    const ours = (await model.predict(new rk.Tensor(x, [5, 6, 3]))).data;
    expect(maxAbsDiff(await tfPredict(loaded, x, [5, 6, 3]), ours)).toBeLessThan(1e-5);
    loaded.dispose();
  });

  test('Embedding and Masking models predict the same in tfjs', async () => {
    const embedding = rk.sequential();
    embedding.add(rk.layers.embedding({ inputDim: 9, outputDim: 4, inputLength: 5, name: 'emb' }));
    embedding.add(rk.layers.gru({ units: 3, resetAfter: false, name: 'g' }));
    const ids = Float32Array.from({ length: 15 }, (_, i) => (i * 7) % 9);
    await embedding.save(join(dir, 'emb'), { format: 'tfjs' });
    const tfEmbedding = await tf.loadLayersModel(readFromDirectory(join(dir, 'emb')));
    expect(maxAbsDiff(await tfPredict(tfEmbedding, ids, [3, 5]), (await embedding.predict(new rk.Tensor(ids, [3, 5]))).data)).toBeLessThan(1e-5);

    const masked = rk.sequential();
    masked.add(rk.layers.masking({ maskValue: 0, inputShape: [5, 2], name: 'mask' }));
    masked.add(rk.layers.lstm({ units: 3, name: 'l' }));
    const x = values(3 * 5 * 2, 3);
    x.fill(0, 6, 10); // sample 0 is post-padded after 3 steps
    await masked.save(join(dir, 'masked'), { format: 'tfjs' });
    const tfMasked = await tf.loadLayersModel(readFromDirectory(join(dir, 'masked')));
    expect(maxAbsDiff(await tfPredict(tfMasked, x, [3, 5, 2]), (await masked.predict(new rk.Tensor(x, [3, 5, 2]))).data)).toBeLessThan(1e-5);
  });

  test('a reset-after GRU cannot be written for tfjs and the error names it', async () => {
    const model = rk.sequential();
    model.add(rk.layers.gru({ units: 2, inputShape: [3, 2], name: 'modern_gru' }));
    await expectRnnError(() => model.save(join(dir, 'gru'), { format: 'tfjs' }), 'FORMAT', /resetAfter false for GRU layer 'modern_gru'.*received true/);
    await expectRnnError(() => model.save(join(dir, 'gru'), { format: 'tfjs', includeOptimizer: true }), 'ARGUMENT', /includeOptimizer false for format 'tfjs'/);
  });
});

describe('tfjs -> rnnkit', () => {
  async function tfjsModel(): Promise<{ model: tf.Sequential; x: Float32Array; y: Float32Array }> {
    const model = tf.sequential();
    // tfjs defaults: hard_sigmoid gates, glorot kernels, unit_forget_bias unset.
    model.add(tf.layers.lstm({ units: 5, inputShape: [4, 3], returnSequences: true }));
    model.add(tf.layers.gru({ units: 4 }));
    model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    const x = values(16 * 4 * 3, 11);
    const y = Float32Array.from({ length: 48 }, (_, i) => (Math.floor(i / 3) % 3 === i % 3 ? 1 : 0));
    return { model, x, y };
  }

  test('a tfjs model saved through an IOHandler loads, predicts the same and fine-tunes', async () => {
    const { model, x, y } = await tfjsModel();
    const target = join(dir, 'from-tfjs');
    await model.save(writeToDirectory(target));
    const expected = await tfPredict(model, x, [16, 4, 3]);

    const loaded = (await rk.loadModel(target)) as rk.Sequential;
    expect(loaded.layers.map((l) => l.className)).toEqual(['LSTM', 'GRU', 'Dense']);
    expect(loaded.getLayer(0).getConfig()).toMatchObject({ recurrentActivation: 'hardSigmoid', unitForgetBias: false, name: model.layers[0].name });
    expect(maxAbsDiff((await loaded.predict(new rk.Tensor(x, [16, 4, 3]))).data, expected)).toBeLessThan(1e-5);
    const viaJson = (await rk.loadModel(join(target, 'model.json'))) as rk.Sequential;
    expect(maxAbsDiff((await viaJson.predict(new rk.Tensor(x, [16, 4, 3]))).data, expected)).toBeLessThan(1e-5);

    loaded.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.02 }), loss: 'categoricalCrossentropy' });
    const history = await loaded.fit(new rk.Tensor(x, [16, 4, 3]), new rk.Tensor(y, [16, 3]), { epochs: 15, batchSize: 8, verbose: 0, seed: 1 });
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.9);
    model.dispose();
  });

  test('tfjs Embedding, Bidirectional, TimeDistributed and Dropout layers load and predict the same', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 10, outputDim: 3, inputLength: 5 }));
    model.add(tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 3, returnSequences: true }) as tf.RNN, mergeMode: 'ave' }));
    model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 4, activation: 'relu' }) }));
    model.add(tf.layers.dropout({ rate: 0.3 }));
    model.add(tf.layers.gru({ units: 2, goBackwards: true }));
    const target = join(dir, 'from-tfjs-wrappers');
    await model.save(writeToDirectory(target));
    const ids = Float32Array.from({ length: 20 }, (_, i) => (i * 3) % 10);
    const loaded = (await rk.loadModel(target)) as rk.Sequential;
    expect(loaded.layers.map((l) => l.className)).toEqual(['Embedding', 'Bidirectional', 'TimeDistributed', 'Dropout', 'GRU']);
    expect(maxAbsDiff((await loaded.predict(new rk.Tensor(ids, [4, 5]))).data, await tfPredict(model, ids, [4, 5]))).toBeLessThan(1e-5);
    model.dispose();
  });

  test('a model written by rnnkit in the tfjs layout reads back identically', async () => {
    const model = rk.sequential({ name: 'back' });
    model.add(rk.layers.lstm({ units: 3, inputShape: [4, 2], name: 'l', kernelInitializer: { name: 'randomNormal', stddev: 0.3 } }));
    model.add(rk.layers.dense({ units: 1, name: 'd', biasInitializer: { name: 'constant', value: 0.5 } }));
    await model.save(join(dir, 'back'), { format: 'tfjs' });
    const loaded = (await rk.loadModel(join(dir, 'back'))) as rk.Sequential;
    expect(loaded.layers.map((l) => l.getConfig())).toEqual(model.layers.map((l) => l.getConfig()));
    expect(Float32Array.from(loaded.getWeights().flatMap((w) => Array.from(w.data))))
      .toEqual(Float32Array.from(model.getWeights().flatMap((w) => Array.from(w.data))));
  });

  test('forged or unsupported model.json raises FORMAT, missing files IO', async () => {
    const { model } = await tfjsModel();
    const target = join(dir, 'forged');
    await model.save(writeToDirectory(target));
    const original = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
    const check = async (edit: (json: any) => void, code: rk.RnnErrorCode, message: RegExp) => {
      const json = JSON.parse(JSON.stringify(original));
      edit(json);
      writeFileSync(join(target, 'model.json'), JSON.stringify(json));
      await expectRnnError(() => rk.loadModel(target), code, message);
    };
    await check((j) => { j.weightsManifest[0].paths = ['../../etc/passwd']; }, 'FORMAT', /relative path inside the model's directory.*etc\/passwd/);
    await check((j) => { j.weightsManifest[0].paths = ['/etc/passwd']; }, 'FORMAT', /relative path inside/);
    await check((j) => { j.modelTopology.config.layers[2].class_name = 'Conv1D'; }, 'FORMAT', /layer class rnnkit shares with tfjs.*'Conv1D'/);
    await check((j) => { j.modelTopology.config.layers[0].config.stateful = 'yes'; }, 'FORMAT', /a boolean for .*\.stateful but received "yes"/);
    await check((j) => { j.modelTopology.config.layers[0].config.kernel_constraint = { class_name: 'MaxNorm', config: {} }; }, 'FORMAT', /null \(no constraint\) for .*kernel_constraint but received object/);
    await check((j) => { j.modelTopology.config.layers[0].config.time_major = true; }, 'FORMAT', /has the key 'time_major', which rnnkit does not support/);
    await check((j) => { j.modelTopology.config.layers[2].config.activation = 'elu'; }, 'FORMAT', /activation rnnkit has.*"elu"/);
    await check((j) => { j.modelTopology.class_name = 'Model'; }, 'FORMAT', /list of \[layer, nodeIndex, tensorIndex, kwargs\] for modelTopology\.config\.layers\[0\]\.inbound_nodes/);
    await check((j) => { j.modelTopology.class_name = 'Graph'; }, 'FORMAT', /class_name 'Sequential' or 'Model' in modelTopology but received "Graph"/);
    await check((j) => { j.weightsManifest[0].weights[0].shape = [3, 21]; }, 'FORMAT', /to hold the \d+ bytes its weights list but they hold \d+/);
    const [kernel, recurrent] = original.weightsManifest[0].weights;
    await check((j) => { j.weightsManifest[0].weights.splice(0, 2, recurrent, { ...kernel, name: 'renamed' }); }, 'FORMAT', /expected the weights '.*\/kernel' in weightsManifest \(or 8 weights whose shapes match/);
    await check((j) => { j.weightsManifest[0].weights[0].dtype = 'int32'; }, 'FORMAT', /dtype 'float32'/);
    writeFileSync(join(target, 'model.json'), JSON.stringify(original).replace('"modelTopology":{', '"modelTopology":{"__proto__":{"x":1},'));
    await expectRnnError(() => rk.loadModel(target), 'FORMAT', /without a '__proto__' key/);
    await check((j) => { j.weightsManifest[0].paths = ['missing.bin']; }, 'IO', /missing\.bin.*ENOENT/);
    // Names other than tfjs' (e.g. Keras' <layer>/lstm_cell/kernel) still load when count and shapes match in order.
    writeFileSync(join(target, 'model.json'), JSON.stringify({ ...original, weightsManifest: [{ ...original.weightsManifest[0],
      weights: original.weightsManifest[0].weights.map((w: { name: string }) => ({ ...w, name: w.name.replace('/', '/cell/') })) }] }));
    const renamed = (await rk.loadModel(target)) as rk.Sequential;
    expect(Array.from(renamed.getWeights()[0].data)).toEqual(Array.from(await model.getWeights()[0].data()));
    model.dispose();
  });
});
