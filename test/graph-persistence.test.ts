/**
 * Graphs saved and loaded: the rnnkit file (two inputs, two outputs, returned and initial states, a shared layer, a
 * nested model, a merge; exact predictions and an exactly resumed training step with includeOptimizer) and the tfjs
 * layers format both ways against @tensorflow/tfjs (class_name 'Model', inbound_nodes): tf.loadLayersModel loads
 * ours and predicts the same to 1e-5, and a tfjs functional model with an initial state loads here.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { expectRnnError, maxAbsDiff, seededUniform } from './helpers/checks';
import { readFromDirectory, writeToDirectory } from './helpers/tfjs-io';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-graphio-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 6;
const T = 5;

/** a [T, 3] and b [4] -> [head [2] (softmax), aux [4] (the encoder's h through the shared projection)]. */
function buildGraph(): rk.Model {
  const a = rk.input({ shape: [T, 3], name: 'a' });
  const b = rk.input({ shape: [4], name: 'b' });
  const [, h, c] = rk.layers.lstm({ units: 4, returnState: true, name: 'enc' }).apply(a) as rk.SymbolicTensor[];
  const decoded = rk.layers.lstm({ units: 4, name: 'dec' }).apply(a, { initialState: [h, c] }) as rk.SymbolicTensor;
  const shared = rk.layers.dense({ units: 4, activation: 'tanh', name: 'shared' });
  const inner = rk.input({ shape: [4], name: 'inner_in' });
  const nested = rk.model({ inputs: inner, outputs: rk.layers.dense({ units: 4, name: 'nested_dense' }).apply(inner), name: 'nested' });
  const merged = rk.layers.concatenate({ name: 'cat' }).apply([shared.apply(decoded) as rk.SymbolicTensor, nested.apply(b) as rk.SymbolicTensor]);
  const head = rk.layers.dense({ units: 2, activation: 'softmax', name: 'head' }).apply(merged);
  const aux = rk.layers.add({ name: 'aux' }).apply([shared.apply(h) as rk.SymbolicTensor, h]);
  return rk.model({ inputs: [a, b], outputs: [head as rk.SymbolicTensor, aux as rk.SymbolicTensor], name: 'two_heads' });
}

function data() {
  const a = new rk.Tensor(seededUniform(N * T * 3, 3), [N, T, 3]);
  const b = new rk.Tensor(seededUniform(N * 4, 4), [N, 4]);
  const y0 = new rk.Tensor(Float32Array.from({ length: N * 2 }, (_, i) => ((i >> 1) % 2 === i % 2 ? 1 : 0)), [N, 2]);
  const y1 = new rk.Tensor(seededUniform(N * 4, 5, 0.5), [N, 4]);
  return { a, b, y0, y1 };
}

const bits = (tensors: rk.Tensor[]) => tensors.map((t) => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)).join()).join('|');

describe('rnnkit file', () => {
  test('a graph saves and loads with its optimizer state: same predictions, the next step bit for bit', async () => {
    rk.setSeed(11);
    const model = buildGraph();
    model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.01 }), loss: ['categoricalCrossentropy', 'mse'], lossWeights: [1, 0.5], metrics: [['accuracy'], []] });
    const { a, b, y0, y1 } = data();
    for (let i = 0; i < 3; i++) await model.trainOnBatch([a, b], [y0, y1]);
    const file = join(dir, 'graph.rnnkit');
    await model.save(file, { includeOptimizer: true });

    const loaded = await rk.loadModel(file);
    expect(loaded).not.toBeInstanceOf(rk.Sequential);
    expect(loaded.inputNames).toEqual(['a', 'b']);
    expect(loaded.outputNames).toEqual(model.outputNames);
    // The shared layer holds one set of weights; the nested model's layer is part of the flattened graph.
    expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    expect(loaded.getWeights().length).toBe(model.getWeights().length);
    expect(bits(await loaded.predict([a, b]) as rk.Tensor[])).toBe(bits(await model.predict([a, b]) as rk.Tensor[]));

    const after = await model.trainOnBatch([a, b], [y0, y1]);
    const afterLoaded = await loaded.trainOnBatch([a, b], [y0, y1]);
    expect(afterLoaded).toEqual(after);
    expect(bits(loaded.getWeights())).toBe(bits(model.getWeights()));
    loaded.dispose();
    model.dispose();
  });

  test('a file written before graphs existed (Sequential, container version 1) loads, predicts and resumes as then', async () => {
    // Written by main's code before the graph engine: an LSTM + softmax head, Adam, three steps, includeOptimizer;
    // the JSON holds its predictions and the logs and predictions of the step after the save, as computed then.
    const fixtures = join(__dirname, 'fixtures');
    const expected = JSON.parse(readFileSync(join(fixtures, 'sequential-v1.expected.json'), 'utf8'));
    const bytes = readFileSync(join(fixtures, 'sequential-v1.rnnkit'));
    expect(bytes.readUInt32LE(8)).toBe(1);
    const model = await rk.loadModel(join(fixtures, 'sequential-v1.rnnkit'));
    expect(model).toBeInstanceOf(rk.Sequential);
    const x = new rk.Tensor(Float32Array.from({ length: 4 * 5 * 3 }, (_, i) => Math.sin(i * 0.7)), [4, 5, 3]);
    const y = new rk.Tensor(Float32Array.from({ length: 8 }, (_, i) => (i % 2 === (i >> 1) % 2 ? 1 : 0)), [4, 2]);
    expect(maxAbsDiff(((await model.predict(x)) as rk.Tensor).data, expected.predictions)).toBeLessThan(1e-6);
    const next = await model.trainOnBatch(x, y);
    expect(next.accuracy).toBe(expected.nextStep.accuracy);
    expect(Math.abs(next.loss - expected.nextStep.loss)).toBeLessThan(1e-6);
    expect(maxAbsDiff(((await model.predict(x)) as rk.Tensor).data, expected.predictionsAfterNextStep)).toBeLessThan(1e-6);
  });

  test('a forged graph header is a FORMAT error naming the entry, before any network is built', async () => {
    rk.setSeed(12);
    const model = buildGraph();
    const file = join(dir, 'forged.rnnkit');
    await model.save(file);
    const bytes = readFileSync(file);
    const length = bytes.readUInt32LE(12);
    const header = JSON.parse(bytes.subarray(16, 16 + length).toString('utf8'));
    header.model.nodes[1].inputs[0] = [7, 0]; // a node that comes later: a cycle
    const json = Buffer.from(JSON.stringify(header).padEnd(length, ' '), 'utf8');
    expect(json.length).toBe(length);
    writeFileSync(file, Buffer.concat([bytes.subarray(0, 16), json, bytes.subarray(16 + length)]));
    await expectRnnError(() => rk.loadModel(file), 'FORMAT', /header\.model\.nodes\[1\]\.inputs\[0\].*\[7, 0\]|header\.model\.nodes\[1\]\.inputs\[0\]/);
    model.dispose();
  });
});

async function tfOutputs(model: tf.LayersModel, inputs: rk.Tensor[]): Promise<Float32Array[]> {
  const xs = inputs.map((t) => tf.tensor(t.data, t.shape.slice()));
  const out = model.predict(xs);
  const list = Array.isArray(out) ? out : [out];
  const result = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([...xs, ...list]);
  return result;
}

describe('tfjs layers format', () => {
  test('tf.loadLayersModel loads our graph (class_name Model, inbound_nodes) and predicts the same to 1e-5', async () => {
    rk.setSeed(13);
    const model = buildGraph();
    model.compile({ optimizer: 'adam', loss: ['categoricalCrossentropy', 'mse'] });
    const { a, b, y0, y1 } = data();
    await model.trainOnBatch([a, b], [y0, y1]);
    const target = join(dir, 'to-tfjs');
    await model.save(target, { format: 'tfjs' });
    const json = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
    expect(json.modelTopology.class_name).toBe('Model');
    const layers = json.modelTopology.config.layers as Array<{ name: string; inbound_nodes: unknown[] }>;
    expect(layers.find((l) => l.name === 'dec')!.inbound_nodes).toEqual([[['a', 0, 0, {}], ['enc', 0, 1, {}], ['enc', 0, 2, {}]]]);
    expect(layers.find((l) => l.name === 'shared')!.inbound_nodes.length).toBe(2);
    expect(json.modelTopology.config.input_layers).toEqual([['a', 0, 0], ['b', 0, 0]]);

    const tfModel = await tf.loadLayersModel(readFromDirectory(target));
    const expected = await model.predict([a, b]) as rk.Tensor[];
    const got = await tfOutputs(tfModel, [a, b]);
    expect(got.length).toBe(2);
    expect(maxAbsDiff(got[0], expected[0].data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got[1], expected[1].data)).toBeLessThan(1e-5);

    // And back: our own tfjs files load here with the same numbers.
    const back = await rk.loadModel(target);
    expect(maxAbsDiff((await back.predict([a, b]) as rk.Tensor[])[1].data, expected[1].data)).toBeLessThan(1e-6);
    tfModel.dispose();
    back.dispose();
    model.dispose();
  });

  test('a tfjs functional model (two inputs, concatenate, LSTM returnState into an LSTM initialState) loads and predicts the same', async () => {
    const a = tf.input({ shape: [T, 3], name: 'seq' });
    const b = tf.input({ shape: [2], name: 'side' });
    const [, h, c] = tf.layers.lstm({ units: 3, returnState: true, name: 'encoder' }).apply(a) as tf.SymbolicTensor[];
    const dec = tf.layers.lstm({ units: 3, name: 'decoder' }).apply(a, { initialState: [h, c] }) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: 'joined' }).apply([dec, b]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(cat) as tf.SymbolicTensor;
    const tfModel = tf.model({ inputs: [a, b], outputs: [out, h], name: 'from_tfjs' });
    const target = join(dir, 'from-tfjs');
    await tfModel.save(writeToDirectory(target));

    const loaded = await rk.loadModel(target);
    expect(loaded.inputNames).toEqual(['seq', 'side']);
    const xa = new rk.Tensor(seededUniform(N * T * 3, 21), [N, T, 3]);
    const xb = new rk.Tensor(seededUniform(N * 2, 22), [N, 2]);
    const expected = await tfOutputs(tfModel, [xa, xb]);
    const got = await loaded.predict([xa, xb]) as rk.Tensor[];
    expect(maxAbsDiff(got[0].data, expected[0])).toBeLessThan(1e-5);
    expect(maxAbsDiff(got[1].data, expected[1])).toBeLessThan(1e-5);
    tfModel.dispose();
    loaded.dispose();
  });

  test('token ids through an embedding with maskZero and a bidirectional layer: int32 input, masks, both ways', async () => {
    rk.setSeed(15);
    const ids = rk.input({ shape: [T], name: 'ids', dtype: 'int32' });
    const embedded = rk.layers.embedding({ inputDim: 7, outputDim: 3, maskZero: true, name: 'emb' }).apply(ids) as rk.SymbolicTensor;
    const bi = rk.layers.bidirectional({ layer: rk.layers.gru({ units: 3, resetAfter: false, name: 'g' }), name: 'bi' }).apply(embedded) as rk.SymbolicTensor;
    const model = rk.model({ inputs: ids, outputs: rk.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(bi) as rk.SymbolicTensor });
    const x = new rk.Tensor(Float32Array.from({ length: N * T }, (_, i) => (i % T >= 3 ? 0 : 1 + ((i * 5) % 6))), [N, T]);
    const target = join(dir, 'tokens-tfjs');
    await model.save(target, { format: 'tfjs' });
    const expected = (await model.predict(x)) as rk.Tensor;
    const tfModel = await tf.loadLayersModel(readFromDirectory(target));
    expect(maxAbsDiff((await tfOutputs(tfModel, [x]))[0], expected.data)).toBeLessThan(1e-5);
    const back = await rk.loadModel(target);
    expect(back.inputs[0].dtype).toBe('int32');
    expect(Array.from(((await back.predict(x)) as rk.Tensor).data)).toEqual(Array.from(expected.data));
    tfModel.dispose();
  });

  test('bidirectional returned states into a bidirectional initialState (forward then backward) load in tfjs', async () => {
    rk.setSeed(16);
    const x = rk.input({ shape: [T, 3], name: 'x' });
    const [, fw, bw] = rk.layers.bidirectional({ layer: rk.layers.gru({ units: 3, resetAfter: false, returnState: true, name: 'eg' }), name: 'enc' })
      .apply(x) as rk.SymbolicTensor[];
    const decoded = rk.layers.bidirectional({ layer: rk.layers.gru({ units: 3, resetAfter: false, name: 'dg' }), name: 'dec' })
      .apply(x, { initialState: [fw, bw] }) as rk.SymbolicTensor;
    const model = rk.model({ inputs: x, outputs: rk.layers.dense({ units: 2, name: 'out' }).apply(decoded) as rk.SymbolicTensor });
    const input = new rk.Tensor(seededUniform(N * T * 3, 31), [N, T, 3]);
    const target = join(dir, 'bidirectional-states');
    await model.save(target, { format: 'tfjs' });
    const tfModel = await tf.loadLayersModel(readFromDirectory(target));
    expect(maxAbsDiff((await tfOutputs(tfModel, [input]))[0], ((await model.predict(input)) as rk.Tensor).data)).toBeLessThan(1e-5);
    tfModel.dispose();
  });

  test('a layer class rnnkit does not share with tfjs is refused by name when reading', async () => {
    const target = join(dir, 'unknown-class');
    rk.setSeed(14);
    await buildGraph().save(target, { format: 'tfjs' });
    const json = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
    json.modelTopology.config.layers.find((l: { name: string }) => l.name === 'cat').class_name = 'Attention';
    writeFileSync(join(target, 'model.json'), JSON.stringify(json));
    await expectRnnError(() => rk.loadModel(target), 'FORMAT', /'Attention'/);
  });
});

type Merge = 'concatenate' | 'add' | 'subtract' | 'multiply' | 'average' | 'maximum';

/**
 * A random valid graph: an encoder (SimpleRNN / LSTM / GRU) returning its states into a decoder of the same kind, a
 * random merge of the two, an optional second input added through a projection, a Dense shared by two uses when
 * that input exists, a softmax head and an optional regression output.
 */
function randomGraph(rng: rk.Random, index: number) {
  rk.setSeed(700 + index);
  const steps = 2 + rng.integer(3), features = 1 + rng.integer(3), samples = 4 + rng.integer(3), units = 2 + rng.integer(3);
  const kind = (['simpleRNN', 'lstm', 'gru'] as const)[rng.integer(3)];
  const recurrent = (name: string, returnState: boolean) => (kind === 'lstm' ? rk.layers.lstm({ units, name, returnState })
    : kind === 'gru' ? rk.layers.gru({ units, name, returnState, resetAfter: false }) : rk.layers.simpleRNN({ units, name, returnState }));
  const x = rk.input({ shape: [steps, features], name: 'x' });
  // The merge reads the encoder's state h, not its output 0: in tfjs both are one tensor object, and tfjs' predict
  // disposes it after its first consumer when a graph reads both (a tfjs limitation, not a format question).
  const [, ...states] = recurrent('enc', true).apply(x) as rk.SymbolicTensor[];
  const encoded = states[0];
  const decoded = recurrent('dec', false).apply(x, { initialState: states }) as rk.SymbolicTensor;
  const merge = (['concatenate', 'add', 'subtract', 'multiply', 'average', 'maximum'] as Merge[])[rng.integer(6)];
  const merged = rk.layers[merge]({ name: 'merge' }).apply([encoded, decoded]) as rk.SymbolicTensor;
  const width = merge === 'concatenate' ? 2 * units : units;
  const shared = rk.layers.dense({ units: 3, activation: 'tanh', name: 'shared' });
  const inputs = [x];
  let features2 = shared.apply(merged) as rk.SymbolicTensor;
  if (rng.integer(2) === 0) {
    const side = rk.input({ shape: [features], name: 'side' });
    inputs.push(side);
    const projected = rk.layers.dense({ units: width, name: 'side_proj' }).apply(side) as rk.SymbolicTensor;
    features2 = rk.layers.add({ name: 'with_side' }).apply([features2, shared.apply(projected) as rk.SymbolicTensor]) as rk.SymbolicTensor;
  }
  const classes = 2 + rng.integer(2);
  const outputs = [rk.layers.dense({ units: classes, activation: 'softmax', name: 'head' }).apply(features2) as rk.SymbolicTensor];
  if (rng.integer(2) === 0) outputs.push(rk.layers.dense({ units: 1, name: 'reg' }).apply(features2) as rk.SymbolicTensor);
  const model = rk.model({ inputs, outputs, name: `graph_${index}` });
  model.compile({
    optimizer: (['sgd', 'adam', 'rmsprop', 'adagrad'] as const)[rng.integer(4)],
    loss: outputs.length === 1 ? 'categoricalCrossentropy' : ['categoricalCrossentropy', 'mse'],
    ...(outputs.length === 2 ? { lossWeights: [1, 0.5] } : {}),
  });
  const xs = inputs.map((t, i) => new rk.Tensor(seededUniform(samples * t.sampleShape.reduce((a, b) => a * b, 1), 100 * index + i), [samples, ...t.sampleShape]));
  const labels = new Float32Array(samples * classes);
  for (let r = 0; r < samples; r++) labels[r * classes + rng.integer(classes)] = 1;
  const ys = [new rk.Tensor(labels, [samples, classes])];
  if (outputs.length === 2) ys.push(new rk.Tensor(seededUniform(samples, 900 + index), [samples, 1]));
  return { model, xs, ys, description: `${kind} > ${merge}${inputs.length === 2 ? ' + side' : ''}, ${outputs.length} output(s)` };
}

const outputsOf = async (model: rk.Model, xs: rk.Tensor[]) => {
  const out = await model.predict(xs);
  return Array.isArray(out) ? out : [out];
};

test('20 random graphs: both formats predict the same (bit for bit here, 1e-5 in tfjs; Subtract refused by name) and resume bit for bit', async () => {
  const rng = new rk.Random(77);
  const failures: string[] = [];
  for (let i = 0; i < 20; i++) {
    const { model, xs, ys, description } = randomGraph(rng, i);
    try {
      await model.trainOnBatch(xs, ys);
      const expected = bits(await outputsOf(model, xs));
      const file = join(dir, `random${i}.rnnkit`);
      await model.save(file, { includeOptimizer: true });
      const loaded = await rk.loadModel(file);
      if (bits(await outputsOf(loaded, xs)) !== expected) failures.push(`${i} ${description}: rnnkit predictions differ`);
      rk.setSeed(i);
      await model.trainOnBatch(xs, ys);
      rk.setSeed(i);
      await loaded.trainOnBatch(xs, ys);
      if (bits(loaded.getWeights()) !== bits(model.getWeights())) failures.push(`${i} ${description}: resumed step differs`);
      const tfjsDir = join(dir, `random${i}-tfjs`);
      if (description.includes('subtract')) {
        // tfjs has no Subtract layer: the writer refuses it by name instead of writing a file tfjs cannot load.
        await expect(model.save(tfjsDir, { format: 'tfjs' })).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/layer 'merge' is of class Subtract/) });
        continue;
      }
      await model.save(tfjsDir, { format: 'tfjs' });
      const now = await outputsOf(model, xs);
      if (bits(await outputsOf(await rk.loadModel(tfjsDir), xs)) !== bits(now)) failures.push(`${i} ${description}: tfjs files read back differently`);
      const tfModel = await tf.loadLayersModel(readFromDirectory(tfjsDir));
      const fromTf = await tfOutputs(tfModel, xs);
      tfModel.dispose();
      fromTf.forEach((values, k) => {
        if (maxAbsDiff(values, now[k].data) >= 1e-5) failures.push(`${i} ${description}: tf.loadLayersModel output ${k} differs`);
      });
    } catch (error) {
      failures.push(`${i} ${description}: ${(error as Error).message}`);
    }
  }
  expect(failures).toEqual([]);
}, 120_000);
