/**
 * Keras graphs beyond plain layers: Keras 2 call keywords on inbound nodes (initial_state as a keyword, training=False)
 * and nested models (a Functional or Sequential used as a layer, inlined as rnnkit inlines nested models), against
 * the fixtures of scripts/fixtures/keras_extra_fixtures.py (outputs from numpy, to 1e-5); keywords rnnkit cannot
 * honour are refused by name and path.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync, zipSync } from 'fflate';
import * as rk from '../lib';
import { readHdf5 } from '../lib/io/keras/hdf5';
import { fromKerasFunctional } from '../lib/io/keras/keras_graph';
import { maxAbsDiff } from './helpers/checks';

const DIR = path.join(__dirname, 'fixtures', 'keras');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(DIR, 'expected_extra.json'), 'utf8'));
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-keras-extras-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function expectReference(model: rk.Model, c: { inputs: unknown[]; outputs: number[][][] }): Promise<void> {
  const inputs = c.inputs.map((x) => rk.tensor(x as never));
  const out = await model.predict((inputs.length === 1 ? inputs[0] : inputs) as never);
  const ys = Array.isArray(out) ? out : [out];
  ys.forEach((y, k) => expect(maxAbsDiff(y.data, c.outputs[k].flat())).toBeLessThan(1e-5));
}

/** The config.json of a .keras fixture. */
function configOfKeras(file: string): any {
  return JSON.parse(Buffer.from(unzipSync(fs.readFileSync(path.join(DIR, file)))['config.json']).toString('utf8'));
}

/** Loads a copy of the fixture `file` with `config` as its config.json and hands the model to `check`. */
async function loadEdited(file: string, config: unknown, check: (model: rk.Model) => Promise<void>): Promise<void> {
  const entries = unzipSync(fs.readFileSync(path.join(DIR, file)));
  const target = path.join(tmp, `edited-${Math.random().toString(36).slice(2)}.keras`);
  fs.writeFileSync(target, zipSync({ ...entries, 'config.json': Buffer.from(JSON.stringify(config)) }));
  const model = await rk.loadModel(target);
  try {
    await check(model);
  } finally {
    model.dispose();
  }
}

/** The model_config of a Keras 2 .h5 fixture, as JSON. */
async function modelConfigOf(file: string): Promise<any> {
  return readHdf5(fs.readFileSync(path.join(DIR, file)), file, (root) => JSON.parse(String(root.attrs.model_config.value)));
}

describe('Keras 2 call keywords (kwargs.h5)', () => {
  test('initial_state given as a keyword and training=False load and predict as numpy', async () => {
    const model = await rk.loadModel(path.join(DIR, 'kwargs.h5'));
    expect(model.layers.map((l) => l.name)).toEqual(['drop', 'enc', 'dec', 'out']);
    await expectReference(model, EXPECTED.kwargs);
    model.dispose();
  });

  const refusals: Array<[string, (c: any) => void, RegExp]> = [
    ['training=True', (c) => { c.config.layers[2].inbound_nodes[0][0][3] = { training: true }; }, /config\.layers\[2\]\.inbound_nodes\[0\]\[0\]\[3\] has training=True/],
    ['a mask tensor', (c) => { c.config.layers[5].inbound_nodes[0][0][3] = { mask: ['a', 0, 0] }; }, /config\.layers\[5\]\.inbound_nodes\[0\]\[0\]\[3\] has the call argument 'mask'/],
    ['an unknown keyword', (c) => { c.config.layers[3].inbound_nodes[0][0][3] = { constants: 1 }; }, /has the call argument 'constants'/],
    ['keywords that differ between entries', (c) => { c.config.layers[4].inbound_nodes[0].push(['enc', 0, 1, { training: false }]); }, /inbound_nodes\[0\]\[1\]\[3\]/],
  ];
  test.each(refusals)('%s is refused by name and path', async (_name, edit, message) => {
    const config = await modelConfigOf('kwargs.h5');
    expect(() => fromKerasFunctional(config.config, 'kwargs.h5', 'keras2')).not.toThrow();
    edit(config);
    expect(() => fromKerasFunctional(config.config, 'kwargs.h5', 'keras2')).toThrow(expect.objectContaining({ code: 'FORMAT', message: expect.stringMatching(message) }));
  });
});

describe('nested models (nested.keras, nested.h5)', () => {
  test.each(EXPECTED.nested.files as string[])('%s: a Functional and a Sequential used as layers are inlined and predict as numpy', async (file) => {
    const model = await rk.loadModel(path.join(DIR, file));
    expect(model).not.toBeInstanceOf(rk.Sequential);
    expect(model.layers.map((l) => l.name)).toEqual(['enc_lstm', 'enc_gru', 'post_dense', 'head']);
    await expectReference(model, EXPECTED.nested);
    model.dispose();
  });

  test('a Sequential holding nested models loads as a graph (the same weights paths: Sequential layers leave out the InputLayer)', async () => {
    const functional = configOfKeras('nested.keras');
    const strip = ({ name: _n, inbound_nodes: _i, ...entry }: any) => entry;
    const [input, encoder, post, head] = functional.config.layers;
    const sequential = {
      module: 'keras', class_name: 'Sequential', registered_name: null, build_config: { input_shape: [null, 4, 3] },
      config: { name: 'outer_seq', trainable: true, dtype: null, layers: [strip(input), strip(encoder), strip(post), strip(head)] },
    };
    await loadEdited('nested.keras', sequential, async (model) => {
      expect(model.name).toBe('outer_seq');
      expect(model.layers.map((l) => l.name)).toEqual(['enc_lstm', 'enc_gru', 'post_dense', 'head']);
      await expectReference(model, EXPECTED.nested);
    });
  });

  test('a nested model called twice shares its layers (one node per call), as Keras does', async () => {
    const config = configOfKeras('nested.keras');
    // x -> encoder -> post -> head, and a second input through the same encoder, added to the first.
    const layers = config.config.layers;
    layers.splice(1, 0, { ...layers[0], name: 'x2', config: { ...layers[0].config, name: 'x2' } });
    const encoder = layers.find((l: any) => l.name === 'encoder');
    const seq = [null, 4, 3];
    const tensor = (name: string, node: number, shape: unknown[]) => ({ class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: [name, node, 0] } });
    encoder.inbound_nodes.push({ args: [tensor('x2', 0, seq)], kwargs: {} });
    const post = layers.find((l: any) => l.name === 'post');
    post.inbound_nodes = [{ args: [tensor('sum', 0, [null, 2])], kwargs: {} }];
    layers.splice(layers.indexOf(post), 0, { module: 'keras.layers', class_name: 'Add', registered_name: null, name: 'sum', config: { name: 'sum', trainable: true, dtype: null },
      inbound_nodes: [{ args: [[tensor('encoder', 0, [null, 2]), tensor('encoder', 1, [null, 2])]], kwargs: {} }] });
    config.config.input_layers = [['x', 0, 0], ['x2', 0, 0]];
    return loadEdited('nested.keras', config, async (model) => {
      expect(model.layers.map((l) => l.name)).toEqual(['enc_lstm', 'enc_gru', 'sum', 'post_dense', 'head']);
      // The same graph built here with the loaded weights: the encoder's layers applied to both inputs.
      const a = rk.input({ shape: [4, 3], name: 'a' });
      const b = rk.input({ shape: [4, 3], name: 'b' });
      const lstm = rk.layers.lstm({ units: 3, returnSequences: true });
      const gru = rk.layers.gru({ units: 2 });
      const encode = (t: rk.SymbolicTensor) => gru.apply(lstm.apply(t) as rk.SymbolicTensor) as rk.SymbolicTensor;
      const sum = rk.layers.add().apply([encode(a), encode(b)]) as rk.SymbolicTensor;
      const post = rk.layers.dense({ units: 3, activation: 'tanh' }).apply(sum) as rk.SymbolicTensor;
      const reference = rk.model({ inputs: [a, b], outputs: rk.layers.dense({ units: 2 }).apply(post) as rk.SymbolicTensor });
      reference.setWeights(model.getWeights());
      const x1 = rk.tensor(EXPECTED.nested.inputs[0]);
      const x2 = rk.tensor(EXPECTED.kwargs.inputs[0]);
      const got = (await model.predict([x1, x2] as never)) as rk.Tensor;
      expect(got.shape).toEqual([2, 2]);
      expect(maxAbsDiff(got.data, ((await reference.predict([x1, x2] as never)) as rk.Tensor).data)).toBeLessThan(1e-6);
      reference.dispose();
    });
  });

  test('a layer name used both inside a nested model and outside is refused (rnnkit inlines them)', async () => {
    const config = configOfKeras('nested.keras');
    config.config.layers[3].name = 'enc_lstm';
    config.config.layers[3].config.name = 'enc_lstm';
    config.config.output_layers = [['enc_lstm', 0, 0]];
    await expect(loadEdited('nested.keras', config, async () => undefined)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/config\.layers\[3\] is named 'enc_lstm' as config\.layers\[1\]\.config\.layers\[1\] is/) });
  });

  test('models nested deeper than 32 levels are refused, not a stack overflow', async () => {
    const config = configOfKeras('nested.keras');
    let entry = config.config.layers[1];
    for (let i = 0; i < 40; i++) {
      const inner = JSON.parse(JSON.stringify(entry));
      entry.config.layers[1] = { ...inner, name: `deep${i}`, inbound_nodes: entry.config.layers[1].inbound_nodes };
      entry = entry.config.layers[1];
    }
    await expect(loadEdited('nested.keras', config, async () => undefined)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/nested at most 32 deep/) });
  });

  test('a nested model whose weights are missing from its container path is refused', async () => {
    const entries = unzipSync(fs.readFileSync(path.join(DIR, 'nested.keras')));
    const config = JSON.parse(Buffer.from(entries['config.json']).toString('utf8'));
    // Two nested Functionals would be functional and functional_1: renaming the class path breaks the match.
    config.config.layers[1].class_name = 'Sequential';
    await expect(loadEdited('nested.keras', config, async () => undefined)).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/layers\/sequential\/layers\/lstm\/cell/) });
  });
});

describe('forged nested and keyword configs', () => {
  /** A small deterministic generator, so a failure reproduces. */
  function lcg(seed: number): () => number {
    let state = seed >>> 0;
    return () => { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; return state / 2 ** 32; };
  }
  const oddValues = [null, 0, -1, 1.5, 'x', [], {}, [[]], ['encoder', 9, 9], { class_name: '__keras_tensor__' }, true];

  /** Every object / array reachable in `value`, with a way to replace one of its members. */
  function slots(value: any, out: Array<{ parent: any; key: string | number }> = []): Array<{ parent: any; key: string | number }> {
    if (Array.isArray(value)) value.forEach((v, i) => { out.push({ parent: value, key: i }); slots(v, out); });
    else if (value && typeof value === 'object') for (const k of Object.keys(value)) { out.push({ parent: value, key: k }); slots(value[k], out); }
    return out;
  }

  test('200 random edits of nested.keras: a loaded model or an RnnError, never another exception', async () => {
    const random = lcg(77);
    for (let round = 0; round < 200; round++) {
      const config = configOfKeras('nested.keras');
      const all = slots(config.config.layers);
      for (let edits = 0; edits < 1 + Math.floor(random() * 3); edits++) {
        const { parent, key } = all[Math.floor(random() * all.length)];
        if (random() < 0.3 && !Array.isArray(parent)) delete parent[key];
        else parent[key] = JSON.parse(JSON.stringify(oddValues[Math.floor(random() * oddValues.length)]));
      }
      try {
        await loadEdited('nested.keras', config, async () => undefined);
      } catch (error) {
        if (!(error instanceof rk.RnnError)) throw new Error(`round ${round}: ${String(error)}\n${JSON.stringify(config.config.layers).slice(0, 400)}`);
      }
    }
  }, 120000);

  test('200 random edits of the Keras 2 keyword graph: a graph config or an RnnError', async () => {
    const random = lcg(78);
    const original = await modelConfigOf('kwargs.h5');
    for (let round = 0; round < 200; round++) {
      const config = JSON.parse(JSON.stringify(original));
      const all = slots(config.config.layers);
      const { parent, key } = all[Math.floor(random() * all.length)];
      parent[key] = JSON.parse(JSON.stringify(oddValues[Math.floor(random() * oddValues.length)]));
      try {
        fromKerasFunctional(config.config, 'kwargs.h5', 'keras2');
      } catch (error) {
        if (!(error instanceof rk.RnnError)) throw new Error(`round ${round}: ${String(error)}`);
      }
    }
  });
});
