/**
 * The attention layers' TypeScript side: option validation (Keras defaults), computeOutputShapes for
 * [query, value(, key)], Keras's weights and initialisers, the native spec, the getConfig / layerFromConfig round
 * trip, and the tfjs format refusing them by name. Their numerics are checked in native/tests/attention_test.cc.
 */
import * as rk from '../lib';
import { layerFromConfig, serializeLayer } from '../lib/layers/registry';
import { toTfjsLayer } from '../lib/io/tfjs_config';
import { expectRnnError } from './helpers/checks';

describe('rk.layers.attention options', () => {
  test('Keras defaults: no scale, dot scores, no dropout, one output, no causal mask', () => {
    const layer = rk.layers.attention();
    expect(layer).toBeInstanceOf(rk.Attention);
    expect(layer.className).toBe('Attention');
    expect([layer.useScale, layer.scoreMode, layer.dropout, layer.returnAttentionScores, layer.useCausalMask])
      .toEqual([false, 'dot', 0, false, false]);
    expect(layer.name).toMatch(/^attention(_\d+)?$/);
  });

  test('additiveAttention defaults to useScale true, as Keras', () => {
    const layer = rk.layers.additiveAttention();
    expect(layer).toBeInstanceOf(rk.AdditiveAttention);
    expect(layer.className).toBe('AdditiveAttention');
    expect([layer.useScale, layer.dropout]).toEqual([true, 0]);
    expect(layer.name).toMatch(/^additive_attention(_\d+)?$/);
  });

  test.each([
    [{ scoreMode: 'general' }, /Expected one of 'dot', 'concat' for .*scoreMode but received "general"/],
    [{ dropout: 1 }, /dropout.*received 1/],
    [{ dropout: -0.1 }, /dropout.*received -0\.1/],
    [{ useScale: 'yes' }, /Expected a boolean for .*useScale but received "yes"/],
    [{ returnAttentionScores: 1 }, /Expected a boolean for .*returnAttentionScores but received 1/],
    [{ useCausalMask: null }, /Expected a boolean for .*useCausalMask but received null/],
    [{ inputShape: [3, 4] }, /Unknown option 'inputShape' in attention layer options/],
    [{ units: 4 }, /Unknown option 'units'/],
  ])('attention refuses %j', async (options, message) => {
    await expectRnnError(() => rk.layers.attention(options as never), 'ARGUMENT', message);
  });

  test('additiveAttention has no scoreMode (Keras drops it from its config)', async () => {
    await expectRnnError(() => rk.layers.additiveAttention({ scoreMode: 'dot' } as never), 'ARGUMENT',
      /Unknown option 'scoreMode' in additiveAttention layer options/);
  });
});

describe('attention shapes', () => {
  const layer = rk.layers.attention({ name: 'att' });

  test('[query, value] -> [[Tq, Dv]]; a key sets the scores and the value the features', () => {
    expect(layer.computeOutputShapes([[5, 8], [7, 8]])).toEqual([[5, 8]]);
    expect(layer.computeOutputShapes([[5, 8], [7, 3], [7, 8]])).toEqual([[5, 3]]);
    expect(layer.computeOutputShapes([[-1, 8], [-1, 3], [-1, 8]])).toEqual([[-1, 3]]);
  });

  test('returnAttentionScores adds the weights [Tq, Tv]', () => {
    const scored = rk.layers.additiveAttention({ returnAttentionScores: true });
    expect(scored.computeOutputShapes([[5, 8], [7, 3], [7, 8]])).toEqual([[5, 3], [5, 7]]);
    expect(scored.computeOutputShapes([[5, 8], [-1, 3], [7, 8]])).toEqual([[5, 3], [5, 7]]);
  });

  test.each([
    [[[5, 8]], /Expected 2 or 3 inputs \(\[query, value\] or \[query, value, key\]\) for layer 'att' but received 1/],
    [[[5, 8], [7, 8], [7, 8], [7, 8]], /but received 4/],
    [[[5, 8], [7]], /Expected the value of layer 'att' as sequences \[timeSteps, features\] but received per-sample shape \[7\]/],
    [[[5, 8], [7, 4]], /Expected the value \(the key\) of layer 'att' to have the query's 8 features but received per-sample shape \[7, 4\]/],
    [[[5, 8], [7, 3], [6, 8]], /Expected the key of layer 'att' to have the value's 7 time steps but received per-sample shape \[6, 8\]/],
  ])('refuses inputs %j with a SHAPE error', async (shapes, message) => {
    await expectRnnError(() => layer.computeOutputShapes(shapes), 'SHAPE', message);
  });

  test('a single input is refused by name', async () => {
    await expectRnnError(() => layer.computeOutputShape([5, 8]), 'SHAPE',
      /Expected \[query, value\] or \[query, value, key\] as inputs of layer 'att' but received one input of per-sample shape \[5, 8\]/);
  });
});

describe('attention weights and native spec', () => {
  test("Attention: Keras's scalar scale then concat_score_weight, both ones", () => {
    expect(rk.layers.attention().weightSpecs([5, 8])).toEqual([]);
    expect(rk.layers.attention({ useScale: true, scoreMode: 'concat' }).weightSpecs([5, 8])).toEqual([
      { name: 'scale', shape: [], initializer: 'ones' },
      { name: 'concat_score_weight', shape: [], initializer: 'ones' },
    ]);
  });

  test("AdditiveAttention: scale [D] of the query's features, glorotUniform", () => {
    expect(rk.layers.additiveAttention().weightSpecs([5, 8])).toEqual([{ name: 'scale', shape: [8], initializer: 'glorotUniform' }]);
    expect(rk.layers.additiveAttention({ useScale: false }).weightSpecs([5, 8])).toEqual([]);
  });

  test('toNative carries every option to the one native attention kind', () => {
    const layer = rk.layers.attention({ name: 'a', scoreMode: 'concat', dropout: 0.2, returnAttentionScores: true, useCausalMask: true });
    expect(layer.toNative()).toEqual({
      kind: 'attention', name: 'a', score: 'concat', useScale: false, dropout: 0.2, returnAttentionScores: true, useCausalMask: true,
    });
    expect(rk.layers.additiveAttention({ name: 'b' }).toNative()).toMatchObject({ kind: 'attention', score: 'additive', useScale: true });
  });
});

describe('attention configs', () => {
  test.each([
    rk.layers.attention({ name: 'a1', useScale: true, scoreMode: 'concat', dropout: 0.25, returnAttentionScores: true }),
    rk.layers.attention({ name: 'a2', useCausalMask: true, trainable: false }),
    rk.layers.additiveAttention({ name: 'a3', useScale: false, dropout: 0.1 }),
  ])('getConfig -> layerFromConfig rebuilds the same layer (%#)', (layer) => {
    const serialized = serializeLayer(layer);
    const rebuilt = layerFromConfig(JSON.parse(JSON.stringify(serialized)));
    expect(rebuilt.constructor).toBe(layer.constructor);
    expect(serializeLayer(rebuilt)).toEqual(serialized);
    expect(rebuilt.toNative()).toEqual(layer.toNative());
  });

  test('the config holds every option with its default', () => {
    expect(rk.layers.attention({ name: 'c' }).getConfig()).toEqual({
      name: 'c', trainable: true, useScale: false, dropout: 0, returnAttentionScores: false, useCausalMask: false, scoreMode: 'dot',
    });
  });

  test('a forged config is refused like a bad option', async () => {
    await expectRnnError(() => layerFromConfig({ className: 'Attention', config: { scoreMode: 'luong' } }), 'ARGUMENT',
      /scoreMode but received "luong"/);
  });

  test('the tfjs format refuses attention layers by name: tfjs has none', async () => {
    for (const layer of [rk.layers.attention({ name: 'att' }), rk.layers.additiveAttention({ name: 'add' })]) {
      await expectRnnError(() => toTfjsLayer(serializeLayer(layer)), 'FORMAT',
        new RegExp(`layer '${layer.name}' is of class ${layer.className}, which tfjs does not have`));
    }
  });
});
