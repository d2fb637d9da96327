/**
 * `model.loadWeights(path, { from: 'keras' })` into functional models: by layer name (a `.keras` archive names its
 * layers in config.json; Keras 2 files name their groups), or by structure in Keras's own layer order (a functional
 * model's operation order, not rnnkit's first use), with Keras's skip_mismatch as `skipMismatch`. Every refusal
 * leaves the weights as they were.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync } from 'fflate';
import * as rk from '../lib';
import { maxAbsDiff, seededUniform } from './helpers/checks';

const DIR = path.join(__dirname, 'fixtures', 'keras');
const T = 4, F = 3;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-keras-transfer-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The graph of keras-functional's test: Keras lists 'widen' (depth 4) before 'shared' although rnnkit uses 'shared' first. */
function buildGraph(names: Record<string, string> = {}, outUnits = 2): rk.Model {
  const n = (k: string) => names[k] ?? k;
  const a = rk.input({ shape: [T, F], name: 'a' });
  const b = rk.input({ shape: [T, F], name: 'b' });
  const [, h, c] = rk.layers.lstm({ units: 4, returnState: true, name: n('enc') }).apply(a) as rk.SymbolicTensor[];
  const dec = rk.layers.lstm({ units: 4, name: n('dec') }).apply(b, { initialState: [h, c] }) as rk.SymbolicTensor;
  const joined = rk.layers.concatenate({ name: n('join') }).apply([dec, h]) as rk.SymbolicTensor;
  const shared = rk.layers.dense({ units: 3, name: n('shared'), activation: 'tanh' });
  const widened = rk.layers.dense({ units: 8, name: n('widen') }).apply(c) as rk.SymbolicTensor;
  const diff = rk.layers.subtract({ name: n('diff') }).apply([shared.apply(joined) as rk.SymbolicTensor, shared.apply(widened) as rk.SymbolicTensor]) as rk.SymbolicTensor;
  const out = rk.layers.dense({ units: outUnits, name: n('out') }).apply(diff) as rk.SymbolicTensor;
  return rk.model({ inputs: [a, b], outputs: out, name: 'graph' });
}

const xs = [0, 1].map((k) => rk.tensor(seededUniform(2 * T * F, 40 + k, 1), [2, T, F]));
const predict = async (m: rk.Model) => ((await m.predict(xs as never)) as rk.Tensor).data;
const weightsOf = (m: rk.Model) => m.getWeights().map((w) => Array.from(w.data));

describe('Keras weights into a functional model', () => {
  let file: string;
  let source: rk.Model;
  beforeAll(async () => {
    rk.setSeed(31);
    source = buildGraph();
    file = path.join(tmp, 'graph.keras');
    await source.save(file, { format: 'keras' });
    fs.writeFileSync(path.join(tmp, 'graph.weights.h5'), unzipSync(fs.readFileSync(file))['model.weights.h5']);
  });
  afterAll(() => source.dispose());

  test('a .keras archive loads by layer name, whatever the order of the layers', async () => {
    rk.setSeed(32);
    const target = buildGraph();
    const report = await target.loadWeights(file, { from: 'keras' });
    expect(report.unchanged).toEqual([]);
    expect(report.loaded.find((l) => l.layer === 'widen')!.tensors).toEqual(['layers/dense/vars/0', 'layers/dense/vars/1']);
    expect(report.loaded.find((l) => l.layer === 'shared')!.tensors).toEqual(['layers/dense_1/vars/0', 'layers/dense_1/vars/1']);
    expect(weightsOf(target)).toEqual(weightsOf(source));
    expect(maxAbsDiff(await predict(target), await predict(source))).toBeLessThan(1e-6);
    target.dispose();
  });

  test("a Keras 3 .weights.h5 (no names) loads by structure in Keras's operation order", async () => {
    rk.setSeed(33);
    const target = buildGraph({ enc: 'e', dec: 'd', shared: 's', widen: 'w', out: 'o' });
    await target.loadWeights(path.join(tmp, 'graph.weights.h5'), { from: 'keras' });
    expect(weightsOf(target)).toEqual(weightsOf(source));
    await expect(target.loadWeights(path.join(tmp, 'graph.weights.h5'), { from: 'keras', match: 'name' })).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringMatching(/names no layers/) });
    target.dispose();
  });

  test('a layer whose weights differ in shape, or that the file lacks: an error naming it, or kept with skipMismatch', async () => {
    rk.setSeed(34);
    const target = buildGraph({ dec: 'new_dec' }, 5);
    const before = weightsOf(target);
    await expect(target.loadWeights(file, { from: 'keras' })).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/expected shape \[3, 5\] for 'layers\/dense_2\/vars\/0' but received \[3, 2\]/) });
    expect(weightsOf(target)).toEqual(before);
    const report = await target.loadWeights(file, { from: 'keras', skipMismatch: true });
    expect(report.unchanged).toEqual(['new_dec', 'out']);
    expect(report.loaded.map((l) => l.layer)).toEqual(['enc', 'shared', 'widen']);
    const layer = (name: string) => target.layers.findIndex((l) => l.name === name);
    const after = target.getLayer(layer('out')).getWeights().map((w) => Array.from(w.data));
    expect(after).toEqual(before.slice(before.length - 2));
    expect(Array.from(target.getLayer(layer('enc')).getWeights()[0].data)).toEqual(Array.from(source.getLayer(0).getWeights()[0].data));
    target.dispose();
  });

  test('Keras 2 files: by name, and by structure in layer_names order', async () => {
    const reference = await rk.loadModel(path.join(DIR, 'graph.h5'));
    const make = (names: string[]) => {
      const a = rk.input({ shape: [T, F], name: 'a' });
      const b = rk.input({ shape: [T, F], name: 'b' });
      const [, h, c] = rk.layers.lstm({ units: 3, returnState: true, name: names[0] }).apply(a) as rk.SymbolicTensor[];
      const dec = rk.layers.lstm({ units: 3, name: names[1] }).apply(b, { initialState: [h, c] }) as rk.SymbolicTensor;
      const joined = rk.layers.concatenate({ name: 'join' }).apply([dec, h]) as rk.SymbolicTensor;
      return rk.model({ inputs: [a, b], outputs: rk.layers.dense({ units: 2, name: names[2] }).apply(joined) as rk.SymbolicTensor });
    };
    const byName = make(['enc', 'dec', 'out']);
    await byName.loadWeights(path.join(DIR, 'graph.h5'), { from: 'keras' });
    expect(weightsOf(byName)).toEqual(weightsOf(reference));
    const renamed = make(['x1', 'x2', 'x3']);
    await expect(renamed.loadWeights(path.join(DIR, 'graph.h5'), { from: 'keras' })).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/none for x1, x2, x3/) });
    await renamed.loadWeights(path.join(DIR, 'graph.h5'), { from: 'keras', match: 'structure' });
    expect(weightsOf(renamed)).toEqual(weightsOf(reference));
    for (const m of [reference, byName, renamed]) m.dispose();
  });

  test('the layers of a nested Keras model load by name into a flat rnnkit model (.keras and Keras 2 .h5)', async () => {
    const makeFlat = () => {
      const x = rk.input({ shape: [T, F], name: 'x' });
      const seq = rk.layers.lstm({ units: 3, returnSequences: true, name: 'enc_lstm' }).apply(x) as rk.SymbolicTensor;
      const h = rk.layers.gru({ units: 2, name: 'enc_gru' }).apply(seq) as rk.SymbolicTensor;
      const post = rk.layers.dense({ units: 3, activation: 'tanh', name: 'post_dense' }).apply(h) as rk.SymbolicTensor;
      return rk.model({ inputs: x, outputs: rk.layers.dense({ units: 4, name: 'new_head' }).apply(post) as rk.SymbolicTensor });
    };
    const reference = await rk.loadModel(path.join(DIR, 'nested.keras'));
    for (const file of ['nested.keras', 'nested.h5']) {
      const flat = makeFlat();
      const report = await flat.loadWeights(path.join(DIR, file), { from: 'keras', skipMismatch: true });
      expect(report.loaded.map((l) => l.layer)).toEqual(['enc_lstm', 'enc_gru', 'post_dense']);
      expect(report.unchanged).toEqual(['new_head']);
      expect(weightsOf(flat).slice(0, 8)).toEqual(weightsOf(reference).slice(0, 8));
      flat.dispose();
    }
    reference.dispose();
  });

  test('option checks', async () => {
    const model = buildGraph();
    await expect(model.loadWeights(file, { from: 'keras', match: 'order' as never })).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringMatching(/'name' or 'structure' for loadWeights option match/) });
    await expect(model.loadWeights(file, { from: 'keras', skipMismatch: 1 as never })).rejects.toMatchObject({ code: 'ARGUMENT' });
    await expect(model.loadWeights(file, { from: 'pytorch', skipMismatch: true })).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringMatching(/applies to from: 'keras'/) });
    model.dispose();
  });
});
