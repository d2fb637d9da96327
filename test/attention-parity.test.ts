/**
 * Attention parity with a hand-written tfjs reference (tfjs has no attention layer): Keras's formulas in tfjs ops
 * (tf.matMul, tf.tanh, tf.softmax; masked scores minus 1e9, as Keras), cpu backend, float32, on the same weights.
 * The model: dense projections of a query, a value and (optionally) a key input, then the attention layer; so the
 * weight gradients of the projections check the attention's dQuery, dValue and dKey, and its own weights check
 * d scale / d concat_score_weight. Tolerances: outputs 1e-5; gradients 1e-4 of each gradient's largest entry.
 * Masks: a masking layer on the value (post-padded samples) makes the padded steps unattendable: the output matches
 * the reference with the value mask, and changing the key at masked value steps changes neither the output nor any
 * gradient. A masked query gives zero output rows.
 */
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import { maxAbs, maxAbsDiff, seededUniform } from './helpers/checks';

const BATCH = 3, TQ = 4, TV = 5, FEATURES = 3, KEY_DIM = 4, VALUE_DIM = 2;
const VALUE_LENGTHS = [5, 3, 2];  // post-padded value samples (masked with maskValue 0)
const QUERY_LENGTHS = [4, 2, 3];

interface Case {
  layer: 'attention' | 'additive';
  scoreMode?: 'dot' | 'concat';
  useScale: boolean;
  withKey: boolean;
  maskValue?: boolean;
  maskQuery?: boolean;
  causal?: boolean;
}

interface Twin {
  model: rk.Model;
  layers: rk.Layer[];  // q_proj, v_proj, (k_proj), attention: each layer's weights in getWeights order
  attention: rk.Layer;
}

function build(c: Case): Twin {
  rk.setSeed(5);
  const qIn = rk.input({ shape: [TQ, FEATURES], name: 'q_in' });
  const vIn = rk.input({ shape: [TV, FEATURES], name: 'v_in' });
  const kIn = c.withKey ? rk.input({ shape: [TV, FEATURES], name: 'k_in' }) : undefined;
  const qProj = rk.layers.dense({ units: KEY_DIM, name: 'q_proj' });
  const vProj = rk.layers.dense({ units: c.withKey ? VALUE_DIM : KEY_DIM, name: 'v_proj' });
  // Dot scores shift by the same q.b for every key step when the key has a bias b, and softmax ignores such shifts:
  // the bias's true gradient is 0 and both sides would compare rounding noise. So the key has a bias only when the
  // scores go through a tanh.
  const dot = c.layer === 'attention' && (c.scoreMode ?? 'dot') === 'dot';
  const kProj = rk.layers.dense({ units: KEY_DIM, name: 'k_proj', useBias: !dot });
  const common = { name: 'att', useScale: c.useScale, useCausalMask: c.causal ?? false };
  const attention = c.layer === 'additive'
    ? rk.layers.additiveAttention(common)
    : rk.layers.attention({ ...common, scoreMode: c.scoreMode ?? 'dot' });
  const q = qProj.apply(c.maskQuery ? rk.layers.masking().apply(qIn) as rk.SymbolicTensor : qIn) as rk.SymbolicTensor;
  const v = vProj.apply(c.maskValue ? rk.layers.masking().apply(vIn) as rk.SymbolicTensor : vIn) as rk.SymbolicTensor;
  const inputs = [q, v];
  if (kIn) inputs.push(kProj.apply(kIn) as rk.SymbolicTensor);
  const model = rk.model({ inputs: kIn ? [qIn, vIn, kIn] : [qIn, vIn], outputs: attention.apply(inputs) as rk.SymbolicTensor });
  const layers = kIn ? [qProj, vProj, kProj, attention] : [qProj, vProj, attention];
  // Random weights; the attention's own in [0.5, 1.5] (not their initial ones, so a weight read wrongly shows).
  model.setWeights(model.getWeights().map((w, i) => rk.tensor(seededUniform(w.size, 40 + i, 0.8), w.shape.slice())));
  attention.setWeights(attention.getWeights().map((w, i) => rk.tensor(seededUniform(w.size, 60 + i, 0.5).map((x) => 1 + x), w.shape.slice())));
  return { model, layers, attention };
}

/** [B, T, F] inputs, post-padded with zeros after `lengths[b]` steps when lengths are given. */
function inputOf(steps: number, seed: number, lengths?: number[]): Float32Array {
  const values = seededUniform(BATCH * steps * FEATURES, seed);
  if (lengths) {
    for (let b = 0; b < BATCH; b++) values.fill(0, (b * steps + lengths[b]) * FEATURES, (b + 1) * steps * FEATURES);
  }
  return values;
}

/** 1 where the step is real, 0 where padded: [B, T]. */
function stepMask(steps: number, lengths: number[]): tf.Tensor2D {
  const mask = new Float32Array(BATCH * steps);
  for (let b = 0; b < BATCH; b++) mask.fill(1, b * steps, b * steps + lengths[b]);
  return tf.tensor2d(mask, [BATCH, steps]);
}

function tfDense(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const [batch, steps, features] = x.shape;
  return tf.add(tf.matMul(tf.reshape(x, [batch * steps, features]), kernel), bias).reshape([batch, steps, -1]);
}

/** Keras's Attention / AdditiveAttention call in tfjs ops; `w` holds each layer's weights. */
function tfReference(c: Case, w: tf.Tensor[][], x: tf.Tensor[]): tf.Tensor {
  const q = tfDense(x[0], w[0][0], w[0][1]);
  const v = tfDense(x[1], w[1][0], w[1][1]);
  const k = c.withKey ? tfDense(x[2], w[2][0], w[2][1] ?? tf.scalar(0)) : v;
  const own = w[w.length - 1];
  let scores: tf.Tensor;
  if (c.layer === 'additive') {
    const terms = tf.tanh(tf.add(tf.expandDims(q, 2), tf.expandDims(k, 1)));
    scores = tf.sum(c.useScale ? tf.mul(own[0], terms) : terms, -1);
  } else if (c.scoreMode === 'concat') {
    const sum = tf.add(tf.expandDims(q, 2), tf.expandDims(k, 1));
    scores = tf.mul(own[c.useScale ? 1 : 0], tf.sum(tf.tanh(c.useScale ? tf.mul(own[0], sum) : sum), -1));
  } else {
    scores = tf.matMul(q, k, false, true);
    if (c.useScale) scores = tf.mul(scores, own[0]);
  }
  if (c.maskValue) scores = tf.sub(scores, tf.mul(1e9, tf.sub(1, tf.expandDims(stepMask(TV, VALUE_LENGTHS), 1))));
  if (c.causal) scores = tf.sub(scores, tf.mul(1e9, tf.sub(1, tf.linalg.bandPart(tf.ones([TQ, TV]), -1, 0))));
  let out = tf.matMul(tf.softmax(scores), v);
  if (c.maskQuery) out = tf.mul(out, tf.expandDims(stepMask(TQ, QUERY_LENGTHS), 2));
  return out;
}

function layerWeights(twin: Twin): tf.Tensor[][] {
  return twin.layers.map((layer) => layer.getWeights().map((t) => tf.tensor(t.data, t.shape.slice())));
}

function inputsFor(c: Case): Float32Array[] {
  const list = [inputOf(TQ, 1, c.maskQuery ? QUERY_LENGTHS : undefined), inputOf(TV, 2, c.maskValue ? VALUE_LENGTHS : undefined)];
  if (c.withKey) list.push(inputOf(TV, 3));
  return list;
}

function rkInputs(values: Float32Array[]): rk.Tensor[] {
  return values.map((v, i) => rk.tensor(v, [BATCH, i === 0 ? TQ : TV, FEATURES]));
}

function tfInputs(values: Float32Array[]): tf.Tensor[] {
  return values.map((v, i) => tf.tensor3d(v, [BATCH, i === 0 ? TQ : TV, FEATURES]));
}

const CASES: [string, Case][] = [
  ['dot', { layer: 'attention', useScale: false, withKey: false }],
  ['dot, scale, key', { layer: 'attention', useScale: true, withKey: true }],
  ['concat', { layer: 'attention', scoreMode: 'concat', useScale: false, withKey: false }],
  ['concat, scale, key', { layer: 'attention', scoreMode: 'concat', useScale: true, withKey: true }],
  ['additive, scale', { layer: 'additive', useScale: true, withKey: false }],
  ['additive, no scale, key', { layer: 'additive', useScale: false, withKey: true }],
  ['dot, value mask, key', { layer: 'attention', useScale: true, withKey: true, maskValue: true }],
  ['additive, value mask', { layer: 'additive', useScale: true, withKey: false, maskValue: true }],
  ['concat, value and query masks, key', { layer: 'attention', scoreMode: 'concat', useScale: true, withKey: true, maskValue: true, maskQuery: true }],
  ['dot, causal, value mask', { layer: 'attention', useScale: false, withKey: false, maskValue: true, causal: true }],
  ['additive, causal, key', { layer: 'additive', useScale: true, withKey: true, causal: true }],
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(CASES)('attention parity with tfjs ops: %s', (_, c) => {
  test('forward matches within 1e-5', async () => {
    const twin = build(c);
    const values = inputsFor(c);
    const ours = (await twin.model.predict(rkInputs(values))) as rk.Tensor;
    const theirs = tfReference(c, layerWeights(twin), tfInputs(values)).dataSync();
    expect(ours.shape).toEqual([BATCH, TQ, c.withKey ? VALUE_DIM : KEY_DIM]);
    expect(maxAbs(theirs)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(ours.data, theirs)).toBeLessThan(1e-5);
    if (c.maskQuery) {
      const width = ours.shape[2];
      for (let b = 0; b < BATCH; b++) {
        expect(Array.from(ours.data.subarray((b * TQ + QUERY_LENGTHS[b]) * width, (b + 1) * TQ * width)).every((x) => x === 0)).toBe(true);
      }
    }
  });

  if (c.maskQuery) return;  // the loss skips masked query steps (Keras); gradients are compared without them
  test('weight gradients of a mean squared error match within 1e-4', async () => {
    const twin = build(c);
    const values = inputsFor(c);
    const width = c.withKey ? VALUE_DIM : KEY_DIM;
    const targets = seededUniform(BATCH * TQ * width, 9);
    twin.model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const ours = await twin.model.computeGradients(rkInputs(values), rk.tensor(targets, [BATCH, TQ, width]));
    // getWeights order is the layers' order, each layer's weights in its own order (checked, not assumed).
    const perLayer = twin.layers.map((layer) => layer.getWeights());
    expect(perLayer.flat().map((t) => Array.from(t.data))).toEqual(twin.model.getWeights().map((t) => Array.from(t.data)));
    const variables = layerWeights(twin).map((list) => list.map((t) => tf.variable(t)));
    const y = tf.tensor3d(targets, [BATCH, TQ, width]);
    const x = tfInputs(values);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tfReference(c, variables, x), y))) as tf.Scalar, variables.flat());
    expect(Math.abs(ours.loss - value.dataSync()[0])).toBeLessThan(1e-5);
    const theirs = variables.flat().map((v) => grads[v.name].dataSync());
    expect(ours.gradients.length).toBe(theirs.length);
    const errors = theirs.map((g, i) => maxAbsDiff(ours.gradients[i].data, g) / maxAbs(g));
    expect(theirs.every((g) => maxAbs(g) > 0)).toBe(true);
    expect(errors.map((e, i) => [i, e]).filter(([, e]) => !(e < 1e-4))).toEqual([]);
    variables.flat().forEach((v) => v.dispose());
  });
});

test('changing the key at masked value steps changes neither the output nor any gradient', async () => {
  const c: Case = { layer: 'additive', useScale: true, withKey: true, maskValue: true };
  const twin = build(c);
  twin.model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const values = inputsFor(c);
  const changed = values.map((v) => v.slice());
  for (let b = 0; b < BATCH; b++) {
    for (let i = (b * TV + VALUE_LENGTHS[b]) * FEATURES; i < (b + 1) * TV * FEATURES; i++) changed[2][i] = 5 + i;
  }
  expect(maxAbsDiff(changed[2], values[2])).toBeGreaterThan(1);
  const y = rk.tensor(seededUniform(BATCH * TQ * VALUE_DIM, 9), [BATCH, TQ, VALUE_DIM]);
  const before = (await twin.model.predict(rkInputs(values))) as rk.Tensor;
  const after = (await twin.model.predict(rkInputs(changed))) as rk.Tensor;
  expect(Array.from(after.data)).toEqual(Array.from(before.data));
  const g1 = await twin.model.computeGradients(rkInputs(values), y);
  const g2 = await twin.model.computeGradients(rkInputs(changed), y);
  // The key projection's kernel sees the changed inputs only through masked steps: its gradient is unchanged too.
  g1.gradients.forEach((g, i) => expect(Array.from(g2.gradients[i].data)).toEqual(Array.from(g.data)));
});

test('returnAttentionScores: the second output is the softmax weights, exactly 0 at masked value steps', async () => {
  const qIn = rk.input({ shape: [TQ, FEATURES] });
  const vIn = rk.input({ shape: [TV, FEATURES] });
  const [out, scores] = rk.layers.attention({ returnAttentionScores: true, name: 'att_scores' })
    .apply([qIn, rk.layers.masking().apply(vIn) as rk.SymbolicTensor]) as rk.SymbolicTensor[];
  expect(scores.shape).toEqual([null, TQ, TV]);
  const model = rk.model({ inputs: [qIn, vIn], outputs: [out, scores] });
  const q = inputOf(TQ, 11);
  const v = inputOf(TV, 12, VALUE_LENGTHS);
  const [ourOut, ourScores] = (await model.predict([rk.tensor(q, [BATCH, TQ, FEATURES]), rk.tensor(v, [BATCH, TV, FEATURES])])) as rk.Tensor[];
  const qt = tf.tensor3d(q, [BATCH, TQ, FEATURES]);
  const vt = tf.tensor3d(v, [BATCH, TV, FEATURES]);
  const masked = tf.sub(tf.matMul(qt, vt, false, true), tf.mul(1e9, tf.sub(1, tf.expandDims(stepMask(TV, VALUE_LENGTHS), 1))));
  const weights = tf.softmax(masked);
  expect(maxAbsDiff(ourScores.data, weights.dataSync())).toBeLessThan(1e-6);
  expect(maxAbsDiff(ourOut.data, tf.matMul(weights, vt).dataSync())).toBeLessThan(1e-5);
  for (let b = 0; b < BATCH; b++) {
    for (let i = 0; i < TQ; i++) {
      const row = ourScores.data.subarray((b * TQ + i) * TV, (b * TQ + i + 1) * TV);
      expect(Array.from(row.subarray(VALUE_LENGTHS[b])).every((w) => w === 0)).toBe(true);
      expect(Math.abs(row.reduce((a, w) => a + w, 0) - 1)).toBeLessThan(1e-6);
    }
  }
});
