/**
 * @jest-environment ./test/helpers/onnxruntime-environment.js
 */
/**
 * ONNX export of functional models, checked in onnxruntime-node: graphs with several inputs and outputs, merges,
 * a shared layer, RepeatVector / Reshape / Flatten, masks through merges, recurrent layers started from other layers'
 * states; each graph's outputs must equal rnnkit's predict to 1e-5 from random weights in [-0.5, 0.5].
 */
import * as ort from 'onnxruntime-node';
import * as rk from '../lib';
import { expectRnnError, maxAbsDiff, seededUniform } from './helpers/checks';

const BATCH = 3, STEPS = 5, FEATURES = 4, UNITS = 6;
const TOLERANCE = 1e-5;
type Sym = rk.SymbolicTensor;
const one = (t: Sym | Sym[]): Sym => t as Sym;
const many = (t: Sym | Sym[]): Sym[] => t as Sym[];

function randomizeWeights(model: rk.Model, seed = 21): void {
  model.setWeights(model.getWeights().map((w, i) => rk.tensor(seededUniform(w.data.length, seed + i, 0.5), w.shape.slice())));
}

/** [B, ...shape] values in [-1, 1]; steps t >= lengths[b] zeroed (post-padding) and < starts[b] (pre-padding). */
function data(shape: number[], seed: number, windows?: Array<[number, number]>): rk.Tensor {
  const values = seededUniform(BATCH * shape.reduce((a, b) => a * b, 1), seed, 1);
  if (windows) {
    const [steps, features] = shape;
    windows.forEach(([start, end], b) => {
      for (let t = 0; t < steps; t++) if (t < start || t >= end) values.fill(0, (b * steps + t) * features, (b * steps + t + 1) * features);
    });
  }
  return rk.tensor(values, [BATCH, ...shape]);
}

/** Exports `model`, runs `xs` (by input name) in onnxruntime and in rnnkit, and expects every output equal. */
async function expectSameOutputs(model: rk.Model, xs: Record<string, rk.Tensor>, outputNames: string[]): Promise<void> {
  const session = await ort.InferenceSession.create(rk.onnx.toBytes(model));
  expect(session.inputNames).toEqual(Object.keys(xs));
  expect(session.outputNames).toEqual(outputNames);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, x] of Object.entries(xs)) feeds[name] = new ort.Tensor('float32', x.data, x.shape);
  const result = await session.run(feeds);
  if (Object.keys(xs).length > 1) {
    // Each sequence input has its own dynamic time axis (an encoder and a decoder may run different lengths).
    for (const [name, x] of Object.entries(xs)) {
      if (x.shape.length === 3) expect(session.inputMetadata.find((m) => m.name === name)).toMatchObject({ shape: ['batch', `time_${name}`, x.shape[2]] });
    }
  }
  const predicted = await model.predict(Object.values(xs));
  const expected = Array.isArray(predicted) ? predicted : [predicted];
  expect(expected.length).toBe(outputNames.length);
  outputNames.forEach((name, k) => {
    expect(result[name].dims).toEqual(expected[k].shape);
    expect(maxAbsDiff(result[name].data as Float32Array, expected[k].data)).toBeLessThan(TOLERANCE);
  });
}

describe('functional graphs in onnxruntime equal predict', () => {
  test('two inputs, two outputs, every merge kind', async () => {
    const a = rk.input({ shape: [STEPS, FEATURES], name: 'a' });
    const b = rk.input({ shape: [UNITS], name: 'b' });
    const encoded = one(rk.layers.gru({ units: UNITS, name: 'enc' }).apply(a));
    const projected = one(rk.layers.dense({ units: UNITS, activation: 'tanh', name: 'proj' }).apply(b));
    const sum = one(rk.layers.add({ name: 'sum' }).apply([encoded, projected, b]));
    const diff = one(rk.layers.subtract({ name: 'diff' }).apply([encoded, projected]));
    const prod = one(rk.layers.multiply({ name: 'prod' }).apply([sum, diff, projected]));
    const mean = one(rk.layers.average({ name: 'mean' }).apply([sum, diff, b]));
    const top = one(rk.layers.maximum({ name: 'top' }).apply([prod, mean]));
    const joined = one(rk.layers.concatenate({ name: 'joined' }).apply([top, sum, mean]));
    const head1 = one(rk.layers.dense({ units: 2, activation: 'softmax', name: 'head1' }).apply(joined));
    const steps = one(rk.layers.lstm({ units: UNITS, returnSequences: true, name: 'steps' }).apply(a));
    const timeJoined = one(rk.layers.concatenate({ axis: 1, name: 'time_joined' }).apply([steps, one(rk.layers.dense({ units: UNITS, name: 'lift' }).apply(a))]));
    const head2 = one(rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 3 }), name: 'head2' }).apply(timeJoined));
    const model = rk.model({ inputs: [a, b], outputs: [head1, head2], name: 'merges' });
    randomizeWeights(model);
    await expectSameOutputs(model, { a: data([STEPS, FEATURES], 1), b: data([UNITS], 2) }, ['head1', 'head2']);
  });

  test('a shared layer is two nodes with the same weights', async () => {
    const left = rk.input({ shape: [STEPS, FEATURES], name: 'left' });
    const right = rk.input({ shape: [STEPS, FEATURES], name: 'right' });
    const shared = rk.layers.lstm({ units: UNITS, name: 'shared' });
    const l = one(shared.apply(left));
    const r = one(shared.apply(right));
    const distance = one(rk.layers.subtract({ name: 'distance' }).apply([l, r]));
    const out = one(rk.layers.dense({ units: 1, activation: 'sigmoid', name: 'same' }).apply(distance));
    const model = rk.model({ inputs: [left, right], outputs: out, name: 'siamese' });
    randomizeWeights(model);
    await expectSameOutputs(model, { left: data([STEPS, FEATURES], 3), right: data([STEPS, FEATURES], 4) }, ['same']);
  });

  test('repeatVector encoder-decoder with Reshape and Flatten', async () => {
    const x = rk.input({ shape: [STEPS, FEATURES], name: 'x' });
    const code = one(rk.layers.lstm({ units: UNITS, name: 'encoder' }).apply(x));
    const repeated = one(rk.layers.repeatVector({ n: 4, name: 'repeat' }).apply(code));
    const decoded = one(rk.layers.gru({ units: UNITS, returnSequences: true, name: 'decoder' }).apply(repeated));
    const grid = one(rk.layers.reshape({ targetShape: [2, -1], name: 'grid' }).apply(decoded));
    const flat = one(rk.layers.flatten({ name: 'flat' }).apply(grid));
    const out = one(rk.layers.dense({ units: 2, name: 'out' }).apply(flat));
    const steps = one(rk.layers.timeDistributed({ layer: rk.layers.dense({ units: FEATURES }), name: 'steps' }).apply(decoded));
    const model = rk.model({ inputs: x, outputs: [out, steps], name: 'seq2seq' });
    randomizeWeights(model);
    await expectSameOutputs(model, { x: data([STEPS, FEATURES], 5) }, ['out', 'steps']);
  });

  test('masks through a merge: the intersection of the windows reaches the next recurrent layer', async () => {
    const a = rk.input({ shape: [STEPS, FEATURES], name: 'a' });
    const b = rk.input({ shape: [STEPS, FEATURES], name: 'b' });
    const sa = one(rk.layers.gru({ units: UNITS, returnSequences: true, name: 'ga' }).apply(one(rk.layers.masking().apply(a))));
    const sb = one(rk.layers.lstm({ units: UNITS, returnSequences: true, name: 'lb' }).apply(one(rk.layers.masking().apply(b))));
    const both = one(rk.layers.concatenate({ name: 'both' }).apply([sa, sb]));
    const out = one(rk.layers.simpleRNN({ units: UNITS, name: 'out' }).apply(both));
    const model = rk.model({ inputs: [a, b], outputs: out, name: 'masked_merge' });
    randomizeWeights(model);
    const xa = data([STEPS, FEATURES], 6, [[0, 5], [1, 4], [0, 2]]);
    const xb = data([STEPS, FEATURES], 7, [[0, 3], [2, 5], [3, 5]]); // the last sample's windows do not meet
    await expectSameOutputs(model, { a: xa, b: xb }, ['out']);
  });

  test('an LSTM encoder whose states start a decoder (returnState, initialState), states also as outputs', async () => {
    const source = rk.input({ shape: [STEPS, FEATURES], name: 'source' });
    const target = rk.input({ shape: [4, 3], name: 'target' });
    const [, h, c] = many(rk.layers.lstm({ units: UNITS, returnState: true, name: 'encoder' }).apply(one(rk.layers.masking().apply(source))));
    const [steps, dh, dc] = many(rk.layers.lstm({ units: UNITS, returnSequences: true, returnState: true, name: 'decoder' }).apply(target, { initialState: [h, c] }));
    const out = one(rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }), name: 'out' }).apply(steps));
    const model = rk.model({ inputs: [source, target], outputs: [out, dh, dc], name: 'enc_dec' });
    randomizeWeights(model);
    const xs = { source: data([STEPS, FEATURES], 8, [[0, 5], [2, 4], [0, 0]]), target: data([4, 3], 9) };
    await expectSameOutputs(model, xs, ['out', 'decoder:1', 'decoder:2']);
  });

  test('bidirectional and GRU with initial states: Keras order forward h, c then backward h, c', async () => {
    const x = rk.input({ shape: [STEPS, FEATURES], name: 'x' });
    const y = rk.input({ shape: [STEPS, FEATURES], name: 'y' });
    const [encoded, ...states] = many(rk.layers.bidirectional({ layer: rk.layers.lstm({ units: UNITS, returnState: true }), name: 'bi' }).apply(x));
    expect(states.length).toBe(4);
    const [, fh, , bh] = states;
    const second = many(rk.layers.bidirectional({ layer: rk.layers.lstm({ units: UNITS, goBackwards: false }), mergeMode: 'sum', name: 'bi2' }).apply(y, { initialState: states }));
    const gruOut = many(rk.layers.gru({ units: UNITS, goBackwards: true, returnState: true, name: 'g' }).apply(y, { initialState: [bh] }));
    const rnn = one(rk.layers.simpleRNN({ units: UNITS, name: 'r' }).apply(x, { initialState: [fh] }));
    const joined = one(rk.layers.concatenate({ name: 'joined' }).apply([encoded, one(second), gruOut[0], gruOut[1], rnn]));
    const model = rk.model({ inputs: [x, y], outputs: joined, name: 'bi_states' });
    randomizeWeights(model);
    await expectSameOutputs(model, { x: data([STEPS, FEATURES], 10), y: data([STEPS, FEATURES], 11) }, ['joined']);
  });
});

type AttentionCase = { layer: 'attention' | 'additive'; scoreMode?: 'dot' | 'concat'; useScale: boolean; causal: boolean; key: boolean; masked: boolean };
const ATTENTION_CASES: AttentionCase[] = [];
for (const layer of ['attention', 'additive'] as const) {
  for (const scoreMode of layer === 'attention' ? ['dot', 'concat'] as const : [undefined]) {
    for (const useScale of [false, true]) {
      for (const causal of [false, true]) ATTENTION_CASES.push({ layer, scoreMode, useScale, causal, key: causal, masked: true });
    }
    ATTENTION_CASES.push({ layer, scoreMode, useScale: true, causal: false, key: true, masked: false });
  }
}

describe('attention in onnxruntime equals predict (masks, fully masked rows, the causal mask)', () => {
  test.each(ATTENTION_CASES)('%o', async (c) => {
    const TQ = 4;
    const qIn = rk.input({ shape: [TQ, FEATURES], name: 'q' });
    const vIn = rk.input({ shape: [STEPS, FEATURES], name: 'v' });
    const kIn = rk.input({ shape: [STEPS, FEATURES], name: 'k' });
    const q = one(rk.layers.dense({ units: UNITS, name: 'q_proj' }).apply(c.masked ? one(rk.layers.masking().apply(qIn)) : qIn));
    const v = one(rk.layers.dense({ units: c.key ? 3 : UNITS, name: 'v_proj' }).apply(c.masked ? one(rk.layers.masking().apply(vIn)) : vIn));
    const k = one(rk.layers.dense({ units: UNITS, name: 'k_proj' }).apply(kIn));
    const common = { name: 'att', useScale: c.useScale, useCausalMask: c.causal, returnAttentionScores: true };
    const attention = c.layer === 'additive' ? rk.layers.additiveAttention(common) : rk.layers.attention({ ...common, scoreMode: c.scoreMode });
    const [out, weights] = many(attention.apply(c.key ? [q, v, k] : [q, v]));
    const model = rk.model({ inputs: c.key ? [qIn, vIn, kIn] : [qIn, vIn], outputs: [out, weights], name: 'attention' });
    randomizeWeights(model);
    // The attention's own weights in [0.5, 1.5], so a scale read wrongly shows.
    attention.setWeights(attention.getWeights().map((w, i) => rk.tensor(seededUniform(w.size, 60 + i, 0.5).map((x) => 1 + x), w.shape.slice())));
    // Sample 2's value is fully masked (uniform rows); sample 1's value window starts at 2 (causal rows 0, 1 have
    // nothing to attend to); sample 1's query is pre-padded.
    const xs: Record<string, rk.Tensor> = {
      q: data([TQ, FEATURES], 12, c.masked ? [[0, 4], [1, 4], [0, 3]] : undefined),
      v: data([STEPS, FEATURES], 13, c.masked ? [[0, 5], [2, 5], [0, 0]] : undefined),
    };
    if (c.key) xs.k = data([STEPS, FEATURES], 14);
    await expectSameOutputs(model, xs, ['att', 'att:1']);
  });
});

describe('bidirectional with mergeMode null: the num_directions axis sliced into two outputs', () => {
  test.each([[true, false], [false, true]])('returnSequences %s, returnState %s, masked input; a Dense on the backward output', async (returnSequences, returnState) => {
    const x = rk.input({ shape: [STEPS, FEATURES], name: 'x' });
    const masked = one(rk.layers.masking({ name: 'mask' }).apply(x));
    const outs = many(rk.layers.bidirectional({
      layer: rk.layers.lstm({ units: UNITS, returnSequences, returnState }), mergeMode: null, name: 'bi',
    }).apply(masked));
    const head = one(rk.layers.dense({ units: 2, name: 'head' }).apply(outs[1]));
    const model = rk.model({ inputs: x, outputs: [...outs, head], name: 'unmerged' });
    randomizeWeights(model);
    const names = ['bi', 'bi:1', ...(returnState ? ['bi:2', 'bi:3', 'bi:4', 'bi:5'] : []), 'head'];
    await expectSameOutputs(model, { x: data([STEPS, FEATURES], 15, [[0, 5], [0, 3], [1, 4]]) }, names);
  });
});

describe('what the exporter cannot express exactly is refused', () => {
  test('stateInputs on a layer started from other tensors', async () => {
    const x = rk.input({ shape: [STEPS, FEATURES], name: 'x' });
    const [, h] = many(rk.layers.gru({ units: UNITS, returnState: true, name: 'enc' }).apply(x));
    const out = one(rk.layers.gru({ units: UNITS, name: 'dec' }).apply(x, { initialState: [h] }));
    const model = rk.model({ inputs: x, outputs: out });
    await expectRnnError(() => rk.onnx.toBytes(model, { stateInputs: true }), 'ARGUMENT', /layer 'dec' starts from initial-state tensors/);
  });

  test('concatenating masked sequences along time', async () => {
    const a = rk.input({ shape: [STEPS, FEATURES], name: 'a' });
    const masked = one(rk.layers.masking().apply(a));
    const joined = one(rk.layers.concatenate({ axis: 1, name: 'joined' }).apply([masked, masked]));
    const out = one(rk.layers.gru({ units: UNITS }).apply(joined));
    const model = rk.model({ inputs: a, outputs: out });
    await expectRnnError(() => rk.onnx.toBytes(model), 'ARGUMENT', /concatenate 'joined' along the time axis/);
  });
});
