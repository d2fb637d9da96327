/**
 * Issue 14's "save/load round trip" of attention models: a functional model holding Attention (dot, scaled, with a
 * key), Attention (concat) and AdditiveAttention, two of them returning their attention scores as model outputs,
 * with masks on the value (the encoder's padded steps) and on the query, trained a few steps and saved in the
 * rnnkit file with its optimizer state. Loaded back: the same layers and options, predictions bit for bit, and the
 * next training step gives the same logs and bit-identical weights. The tfjs layers format refuses each attention
 * class by name (tfjs has no attention layer) and writes nothing.
 */
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { expectRnnError, seededUniform } from './helpers/checks';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-attention-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 6;
const TQ = 4;
const TV = 5;
const F = 3;

/** query [TQ, F], value [TV, F] -> [per-step classes [TQ, 3], dot scores [TQ, TV], additive scores [TQ, TV]]. */
function buildModel(): rk.Model {
  const query = rk.input({ shape: [TQ, F], name: 'query' });
  const value = rk.input({ shape: [TV, F], name: 'value' });
  const maskedValue = rk.layers.masking({ name: 'mask_value' }).apply(value) as rk.SymbolicTensor;
  const maskedQuery = rk.layers.masking({ name: 'mask_query' }).apply(query) as rk.SymbolicTensor;
  const [encoded, h, c] = rk.layers.lstm({ units: 4, returnSequences: true, returnState: true, name: 'encoder' })
    .apply(maskedValue) as rk.SymbolicTensor[];
  const decoded = rk.layers.lstm({ units: 4, returnSequences: true, name: 'decoder' })
    .apply(maskedQuery, { initialState: [h, c] }) as rk.SymbolicTensor;
  const [dot, dotScores] = rk.layers.attention({ useScale: true, returnAttentionScores: true, name: 'dot' })
    .apply([decoded, encoded, encoded]) as rk.SymbolicTensor[];
  const concat = rk.layers.attention({ scoreMode: 'concat', name: 'concat_score' })
    .apply([decoded, encoded]) as rk.SymbolicTensor;
  const [additive, additiveScores] = rk.layers.additiveAttention({ returnAttentionScores: true, name: 'additive' })
    .apply([decoded, encoded]) as rk.SymbolicTensor[];
  const joined = rk.layers.concatenate({ name: 'join' }).apply([dot, concat, additive, decoded]);
  const head = rk.layers.dense({ units: 3, activation: 'softmax', name: 'head' }).apply(joined) as rk.SymbolicTensor;
  return rk.model({ inputs: [query, value], outputs: [head, dotScores, additiveScores], name: 'attention_io' });
}

/** Inputs with padded (all-zero, the Masking value) steps: value post- and pre-padded, query post-padded. */
function data() {
  const q = seededUniform(N * TQ * F, 31);
  const v = seededUniform(N * TV * F, 32);
  const pad = (x: Float32Array, steps: number, b: number, t: number) => x.fill(0, (b * steps + t) * F, (b * steps + t + 1) * F);
  for (const t of [3, 4]) pad(v, TV, 0, t);
  pad(v, TV, 2, 0);
  pad(q, TQ, 1, 3);
  const labels = Float32Array.from({ length: N * TQ * 3 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));
  const scores = () => Float32Array.from({ length: N * TQ * TV }, () => 1 / TV);
  return {
    x: [new rk.Tensor(q, [N, TQ, F]), new rk.Tensor(v, [N, TV, F])],
    y: [new rk.Tensor(labels, [N, TQ, 3]), new rk.Tensor(scores(), [N, TQ, TV]), new rk.Tensor(scores(), [N, TQ, TV])],
  };
}

const bits = (tensors: rk.Tensor[]) => tensors.map((t) => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)).join()).join('|');

test('attention layers save and load with the optimizer state: same predictions, the next step bit for bit', async () => {
  rk.setSeed(5);
  const model = buildModel();
  model.compile({
    optimizer: rk.optimizers.adam({ learningRate: 0.01 }),
    loss: ['categoricalCrossentropy', 'mse', 'mse'],
    lossWeights: [1, 0.5, 0.25],
  });
  const { x, y } = data();
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  const file = join(dir, 'attention.rnnkit');
  await model.save(file, { includeOptimizer: true });

  const loaded = await rk.loadModel(file);
  expect(loaded.inputNames).toEqual(['query', 'value']);
  expect(loaded.outputNames).toEqual(model.outputNames);
  const byName = (name: string) => loaded.layers.find((l) => l.name === name);
  const dot = byName('dot') as rk.Attention;
  const concat = byName('concat_score') as rk.Attention;
  const additive = byName('additive') as rk.AdditiveAttention;
  expect(dot).toBeInstanceOf(rk.Attention);
  expect([dot.useScale, dot.scoreMode, dot.returnAttentionScores]).toEqual([true, 'dot', true]);
  expect([concat.useScale, concat.scoreMode, concat.returnAttentionScores]).toEqual([false, 'concat', false]);
  expect(additive).toBeInstanceOf(rk.AdditiveAttention);
  expect([additive.useScale, additive.returnAttentionScores]).toEqual([true, true]);
  expect(bits(loaded.getWeights())).toBe(bits(model.getWeights()));

  const predicted = await model.predict(x) as rk.Tensor[];
  expect(bits(await loaded.predict(x) as rk.Tensor[])).toBe(bits(predicted));
  // The masks were honoured on both sides: padded value steps get exactly zero weight.
  const scores = predicted[1].data;
  for (let i = 0; i < TQ; i++) expect([scores[i * TV + 3], scores[i * TV + 4]]).toEqual([0, 0]);

  const after = await model.trainOnBatch(x, y);
  const afterLoaded = await loaded.trainOnBatch(x, y);
  expect(afterLoaded).toEqual(after);
  expect(bits(loaded.getWeights())).toBe(bits(model.getWeights()));
  loaded.dispose();
  model.dispose();
});

test('the tfjs layers format refuses each attention class by name and writes nothing', async () => {
  const model = buildModel();
  const target = join(dir, 'to-tfjs');
  await expectRnnError(() => model.save(target, { format: 'tfjs' }), 'FORMAT',
    /layer 'dot' is of class Attention, which tfjs does not have/);
  expect(existsSync(target)).toBe(false);
  model.dispose();

  const query = rk.input({ shape: [TQ, F], name: 'q' });
  const value = rk.input({ shape: [TV, F], name: 'v' });
  const context = rk.layers.additiveAttention({ name: 'bahdanau' }).apply([query, value]) as rk.SymbolicTensor;
  const additiveOnly = rk.model({ inputs: [query, value], outputs: context });
  await expectRnnError(() => additiveOnly.save(join(dir, 'additive-tfjs'), { format: 'tfjs' }), 'FORMAT',
    /layer 'bahdanau' is of class AdditiveAttention, which tfjs does not have/);
  expect(existsSync(join(dir, 'additive-tfjs'))).toBe(false);
  additiveOnly.dispose();
});
