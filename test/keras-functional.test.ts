/**
 * Keras functional models: rnnkit graph -> Keras 3 `.keras` (class_name 'Functional', nodes as { args, kwargs } with
 * __keras_tensor__ references, initial states as the initial_state keyword) -> rnnkit predicts the same; the
 * weights file follows Keras's class-named container walk; Keras-only call arguments and unknown classes are refused
 * by path.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync, zipSync } from 'fflate';
import * as rk from '../lib';
import { H5Group, readHdf5 } from '../lib/io/keras/hdf5';

const T = 4;
const F = 3;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-keras-functional-')); rk.setSeed(5); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sequences(batch: number, phase: number): rk.Tensor {
  const data = new Float32Array(batch * T * F).map((_, i) => Math.sin(i * 0.41 + phase) * 0.9);
  return new rk.Tensor(data, [batch, T, F]);
}

/** Two inputs; an encoder's states into a decoder; concatenate, subtract, a shared Dense, repeatVector + GRU. */
function buildGraph(): rk.Model {
  const a = rk.input({ shape: [T, F], name: 'a' });
  const b = rk.input({ shape: [T, F], name: 'b' });
  const [, h, c] = rk.layers.lstm({ units: 4, returnState: true, name: 'enc' }).apply(a) as rk.SymbolicTensor[];
  const dec = rk.layers.lstm({ units: 4, name: 'dec' }).apply(b, { initialState: [h, c] }) as rk.SymbolicTensor;
  const joined = rk.layers.concatenate({ name: 'join' }).apply([dec, h]) as rk.SymbolicTensor;
  const shared = rk.layers.dense({ units: 3, name: 'shared', activation: 'tanh' });
  const diff = rk.layers.subtract({ name: 'diff' }).apply([shared.apply(joined) as rk.SymbolicTensor, shared.apply(rk.layers.dense({ units: 8, name: 'widen' }).apply(c) as rk.SymbolicTensor) as rk.SymbolicTensor]) as rk.SymbolicTensor;
  const seq = rk.layers.gru({ units: 2, name: 'tail' }).apply(rk.layers.repeatVector({ n: 2, name: 'rep' }).apply(diff) as rk.SymbolicTensor) as rk.SymbolicTensor;
  return rk.model({ inputs: [a, b], outputs: [diff, seq], name: 'graph' });
}

async function predictAll(model: rk.Model, x: rk.Tensor[]): Promise<rk.Tensor[]> {
  const out = await model.predict(x as never);
  return Array.isArray(out) ? out : [out];
}

function expectSame(a: rk.Tensor[], b: rk.Tensor[]): void {
  expect(b.map((t) => t.shape)).toEqual(a.map((t) => t.shape));
  a.forEach((t, k) => t.data.forEach((v, i) => expect(Math.abs(v - b[k].data[i])).toBeLessThan(1e-5)));
}

function configOf(file: string): any {
  return JSON.parse(Buffer.from(unzipSync(fs.readFileSync(file))['config.json']).toString('utf8'));
}

function rewrite(file: string, target: string, edit: (config: any) => void): string {
  const entries = unzipSync(fs.readFileSync(file));
  const config = JSON.parse(Buffer.from(entries['config.json']).toString('utf8'));
  edit(config);
  fs.writeFileSync(target, zipSync({ ...entries, 'config.json': Buffer.from(JSON.stringify(config)) }));
  return target;
}

describe('fixtures written from Keras saving code (scripts/fixtures/keras_functional_fixtures.py)', () => {
  const DIR = path.join(__dirname, 'fixtures', 'keras');
  const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected_functional.json'), 'utf8'));
  test.each(expected.files as string[])('%s: encoder states into a decoder, concatenate; predicts as numpy to 1e-5', async (name) => {
    const model = await rk.loadModel(path.join(DIR, name));
    expect(model.layers.map((l) => l.name)).toEqual(['enc', 'dec', 'join', 'out']);
    const inputs = (expected.inputs as number[][][][]).map((x) => new rk.Tensor(Float32Array.from(x.flat(2)), [x.length, T, F]));
    const [y] = await predictAll(model, inputs);
    expect(y.shape).toEqual([2, 2]);
    (expected.output as number[][]).flat().forEach((v, i) => expect(Math.abs(y.data[i] - v)).toBeLessThan(1e-5));
    model.dispose();
  });
});

describe('functional models in .keras', () => {
  let file: string;
  let model: rk.Model;
  const x = [sequences(3, 0), sequences(3, 1.3)];
  beforeAll(async () => {
    model = buildGraph();
    file = path.join(tmp, 'graph.keras');
    await model.save(file, { format: 'keras' });
  });
  afterAll(() => model.dispose());

  test('round trip rnnkit graph -> .keras -> rnnkit: same layers, weights and predictions', async () => {
    const loaded = await rk.loadModel(file);
    expect(loaded).not.toBeInstanceOf(rk.Sequential);
    expect(loaded.name).toBe('graph');
    expect(loaded.layers.map((l) => [l.className, l.getConfig()])).toEqual(model.layers.map((l) => [l.className, l.getConfig()]));
    loaded.getWeights().forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(model.getWeights()[i].data)));
    expectSame(await predictAll(model, x), await predictAll(loaded, x));
    loaded.dispose();
  });

  test("config.json as Keras 3's Functional.get_config writes it", () => {
    const config = configOf(file);
    expect(config).toMatchObject({ class_name: 'Functional', registered_name: 'Functional', config: { name: 'graph' } });
    const layers = config.config.layers;
    // Keras's operation order (keras/src/ops/function.py map_graph), worked out by hand for this graph: deepest
    // first, ties by first visit of a walk from the outputs; 'widen' (depth 4) comes before 'shared' (depth 3)
    // although rnnkit uses 'shared' first.
    expect(layers.map((l: any) => l.name)).toEqual(['a', 'b', 'enc', 'dec', 'join', 'widen', 'shared', 'diff', 'rep', 'tail']);
    expect(layers.map((l: any) => l.class_name)).toEqual(['InputLayer', 'InputLayer', 'LSTM', 'LSTM', 'Concatenate', 'Dense', 'Dense', 'Subtract', 'RepeatVector', 'GRU']);
    expect(layers[0]).toMatchObject({ name: 'a', config: { batch_shape: [null, T, F], dtype: 'float32', name: 'a' }, inbound_nodes: [] });
    const tensor = (name: string, node: number, index: number, shape: unknown[]) => ({ class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: [name, node, index] } });
    const dec = layers.find((l: any) => l.name === 'dec');
    expect(dec.config.return_state).toBe(false);
    expect(layers.find((l: any) => l.name === 'enc').config.return_state).toBe(true);
    expect(dec.inbound_nodes).toEqual([{ args: [tensor('b', 0, 0, [null, T, F])], kwargs: { initial_state: [tensor('enc', 0, 1, [null, 4]), tensor('enc', 0, 2, [null, 4])] } }]);
    expect(layers.find((l: any) => l.name === 'join').inbound_nodes).toEqual([{ args: [[tensor('dec', 0, 0, [null, 4]), tensor('enc', 0, 1, [null, 4])]], kwargs: {} }]);
    expect(layers.find((l: any) => l.name === 'join').config.axis).toBe(-1);
    expect(layers.find((l: any) => l.name === 'shared').inbound_nodes).toHaveLength(2);
    expect(layers.find((l: any) => l.name === 'diff').inbound_nodes[0].args[0].map((t: any) => t.config.keras_history)).toEqual([['shared', 0, 0], ['shared', 1, 0]]);
    expect(config.config.input_layers).toEqual([['a', 0, 0], ['b', 0, 0]]);
    expect(config.config.output_layers).toEqual([['diff', 0, 0], ['tail', 0, 0]]);
  });

  test("model.weights.h5: class-named containers in Keras's operation order", async () => {
    const h5 = unzipSync(fs.readFileSync(file))['model.weights.h5'];
    const paths = await readHdf5(h5, 'graph.keras', (root) => {
      const out: string[] = [];
      const walk = (group: H5Group, prefix: string) => {
        for (const key of group.keys()) {
          const p = prefix ? `${prefix}/${key}` : key;
          const entity = group.get(key)!;
          if (entity.type === 'Group') walk(entity as H5Group, p); else out.push(`${p} [${(entity as unknown as { shape: number[] }).shape.join(',')}]`);
        }
      };
      walk(root, '');
      return out.sort();
    });
    // dense = 'widen' (kernel [4, 8]), dense_1 = 'shared' (kernel [8, 3]): Keras's operation order, not first use.
    expect(paths).toEqual([
      'layers/dense/vars/0 [4,8]', 'layers/dense/vars/1 [8]', 'layers/dense_1/vars/0 [8,3]', 'layers/dense_1/vars/1 [3]',
      'layers/gru/cell/vars/0 [3,6]', 'layers/gru/cell/vars/1 [2,6]', 'layers/gru/cell/vars/2 [2,6]',
      'layers/lstm/cell/vars/0 [3,16]', 'layers/lstm/cell/vars/1 [4,16]', 'layers/lstm/cell/vars/2 [16]',
      'layers/lstm_1/cell/vars/0 [3,16]', 'layers/lstm_1/cell/vars/1 [4,16]', 'layers/lstm_1/cell/vars/2 [16]',
    ]);
  });

  test('a single input written bare (input_layers: [name, 0, 0]) loads', async () => {
    const single = rk.input({ shape: [T, F], name: 'only' });
    const out = rk.layers.dense({ units: 2, name: 'head' }).apply(rk.layers.gru({ units: 3, name: 'body' }).apply(single) as rk.SymbolicTensor) as rk.SymbolicTensor;
    const small = rk.model({ inputs: single, outputs: out, name: 'small' });
    const saved = path.join(tmp, 'small.keras');
    await small.save(saved, { format: 'keras' });
    const bare = rewrite(saved, path.join(tmp, 'small_bare.keras'), (c) => {
      c.config.input_layers = c.config.input_layers[0];
      c.config.output_layers = c.config.output_layers[0];
    });
    const loaded = await rk.loadModel(bare);
    expectSame(await predictAll(small, [x[0]]), await predictAll(loaded, [x[0]]));
    small.dispose();
    loaded.dispose();
  });

  test('refused by path: call arguments rnnkit lacks, an unknown class, a missing producer', async () => {
    const cases: Array<[string, (c: any) => void, RegExp]> = [
      ['mask', (c) => { c.config.layers.find((l: any) => l.name === 'dec').inbound_nodes[0].kwargs.mask = { class_name: '__keras_tensor__' }; },
        /config\.layers\[3\]\.inbound_nodes\[0\]\.kwargs has the call argument 'mask'/],
      ['conv', (c) => { c.config.layers[9].class_name = 'Conv1D'; }, /config\.layers\[9\] \(Conv1D\) is a layer class rnnkit cannot import/],
      ['producer', (c) => { c.config.layers[4].inbound_nodes[0].args[0][0].config.keras_history = ['nowhere', 0, 0]; }, /layer 'join' node 0 reads .*nowhere/],
      ['positional', (c) => { c.config.layers[2].inbound_nodes[0].args.push(true); }, /config\.layers\[2\]\.inbound_nodes\[0\]/],
    ];
    for (const [name, edit, message] of cases) {
      const target = rewrite(file, path.join(tmp, `refused_${name}.keras`), edit);
      await expect(rk.loadModel(target)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(message) });
    }
  });
});

describe('attention in .keras', () => {
  test('Attention (concat, scale, causal, scores returned) and AdditiveAttention round trip; call options as node kwargs', async () => {
    const a = rk.input({ shape: [T, F], name: 'qa' });
    const b = rk.input({ shape: [T, F], name: 'vb' });
    const q = rk.layers.lstm({ units: 4, returnSequences: true, name: 'q' }).apply(a) as rk.SymbolicTensor;
    const v = rk.layers.gru({ units: 4, returnSequences: true, name: 'v' }).apply(b) as rk.SymbolicTensor;
    const [ctx, scores] = rk.layers.attention({ useScale: true, scoreMode: 'concat', returnAttentionScores: true, useCausalMask: true, dropout: 0.1, name: 'att' })
      .apply([q, v]) as rk.SymbolicTensor[];
    const add = rk.layers.additiveAttention({ name: 'add_att' }).apply([ctx, v, q]) as rk.SymbolicTensor;
    const model = rk.model({ inputs: [a, b], outputs: [add, scores], name: 'attn' });
    model.setWeights(model.getWeights().map((w) => new rk.Tensor(w.data.map((x, i) => x + 0.1 * Math.cos(i)), w.shape)));
    const file = path.join(tmp, 'attn.keras');
    await model.save(file, { format: 'keras' });
    const layers = configOf(file).config.layers;
    const att = layers.find((l: any) => l.name === 'att');
    expect(att.config).toMatchObject({ use_scale: true, score_mode: 'concat', dropout: 0.1, seed: null });
    expect(att.config.return_attention_scores).toBeUndefined();
    expect(att.inbound_nodes[0].kwargs).toEqual({ return_attention_scores: true, use_causal_mask: true });
    const additive = layers.find((l: any) => l.name === 'add_att');
    expect(additive.config).toMatchObject({ use_scale: true, dropout: 0 });
    expect(additive.config.score_mode).toBeUndefined();
    expect(additive.inbound_nodes[0].args[0].map((t: any) => t.config.keras_history)).toEqual([['att', 0, 0], ['v', 0, 0], ['q', 0, 0]]);
    expect(configOf(file).config.output_layers).toEqual([['add_att', 0, 0], ['att', 0, 1]]);
    const loaded = await rk.loadModel(file);
    expect(loaded.layers.map((l) => [l.className, l.getConfig()])).toEqual(model.layers.map((l) => [l.className, l.getConfig()]));
    loaded.getWeights().forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(model.getWeights()[i].data)));
    const x = [sequences(2, 0.2), sequences(2, 2.1)];
    expectSame(await predictAll(model, x), await predictAll(loaded, x));
    loaded.dispose();

    const bad = rewrite(file, path.join(tmp, 'attn_bad.keras'), (c) => { c.config.layers.find((l: any) => l.name === 'att').inbound_nodes[0].kwargs.use_causal_mask = 'yes'; });
    await expect(rk.loadModel(bad)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/kwargs has the call argument 'use_causal_mask'/) });
    const unknown = rewrite(file, path.join(tmp, 'attn_key.keras'), (c) => { c.config.layers.find((l: any) => l.name === 'att').config.temperature = 2; });
    await expect(rk.loadModel(unknown)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/\(Attention\) has the key 'temperature'/) });
    model.dispose();
  });
});
