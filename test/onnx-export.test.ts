/**
 * @jest-environment ./test/helpers/onnxruntime-environment.js
 */
/**
 * ONNX export checked in the real runtime: every layer kind and option is exported with rk.onnx.toBytes (or
 * model.save with format 'onnx'), run in onnxruntime-node, and must equal rnnkit's predict to 1e-5 (absolute, on
 * outputs of magnitude <= ~1) from the same random weights (every weight, biases included, drawn in [-0.5, 0.5] so a
 * misplaced bias or gate block shows). Masks: post-padded batches of lengths 6, 4, 2, 5.
 */
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { expectRnnError, maxAbsDiff, seededUniform } from './helpers/checks';

const BATCH = 4, STEPS = 6, FEATURES = 3, UNITS = 5;
const LENGTHS = [6, 4, 2, 5];
const TOLERANCE = 1e-5;
type Cell = 'simpleRNN' | 'lstm' | 'gru';

/** Sets every weight of `model` to seeded values in [-0.5, 0.5]. */
function randomizeWeights(model: rk.Sequential, seed = 11): void {
  model.setWeights(model.getWeights().map((w, i) => rk.tensor(seededUniform(w.data.length, seed + i, 0.5), w.shape.slice())));
}

/** A [B, T, F] batch; with `padded`, steps at and after each sample's length are 0 (post-padding). */
function sequences(padded: boolean, steps = STEPS, seed = 5): rk.Tensor {
  const values = seededUniform(BATCH * steps * FEATURES, seed, 1);
  if (padded) {
    for (let b = 0; b < BATCH; b++) {
      for (let t = LENGTHS[b]; t < steps; t++) values.fill(0, (b * steps + t) * FEATURES, (b * steps + t + 1) * FEATURES);
    }
  }
  return rk.tensor(values, [BATCH, steps, FEATURES]);
}

async function session(model: rk.Sequential, options?: rk.onnx.OnnxExportOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(rk.onnx.toBytes(model, options));
}

/** Exports `model`, runs `x` in onnxruntime and in rnnkit, and expects the same output. */
async function expectSameOutputs(model: rk.Sequential, x: rk.Tensor, options?: rk.onnx.OnnxExportOptions): Promise<void> {
  const onnx = await session(model, options);
  const ids = model.layers[0] instanceof rk.Embedding;
  const feed = ids ? new ort.Tensor('int64', BigInt64Array.from(Array.from(x.data, (v) => BigInt(v))), x.shape)
    : new ort.Tensor('float32', x.data, x.shape);
  const result = await onnx.run({ input: feed });
  const expected = await model.predict(x);
  expect(result.output.dims).toEqual(expected.shape);
  expect(maxAbsDiff(result.output.data as Float32Array, expected.data)).toBeLessThan(TOLERANCE);
}

function recurrent(cell: Cell, options: Record<string, unknown> = {}): rk.RecurrentLayer {
  const args = { units: UNITS, ...options };
  return cell === 'simpleRNN' ? rk.layers.simpleRNN(args) : cell === 'lstm' ? rk.layers.lstm(args) : rk.layers.gru(args);
}

const CELL_VARIANTS: Array<[string, Cell, Record<string, unknown>]> = [
  ['SimpleRNN tanh', 'simpleRNN', {}],
  ['SimpleRNN relu', 'simpleRNN', { activation: 'relu' }],
  ['SimpleRNN linear', 'simpleRNN', { activation: 'linear' }],
  ['LSTM', 'lstm', {}],
  ['LSTM hardSigmoid gates, relu, no bias', 'lstm', { recurrentActivation: 'hardSigmoid', activation: 'relu', useBias: false }],
  ['GRU reset-after', 'gru', {}],
  ['GRU reset-before (tfjs form)', 'gru', { resetAfter: false }],
  ['GRU reset-after hardSigmoid', 'gru', { recurrentActivation: 'hardSigmoid' }],
];

describe('recurrent layers run in onnxruntime as rnnkit runs them', () => {
  for (const [label, cell, options] of CELL_VARIANTS) {
    for (const returnSequences of [false, true]) {
      for (const goBackwards of [false, true]) {
        test(`${label}, returnSequences ${returnSequences}, goBackwards ${goBackwards}`, async () => {
          const model = rk.sequential({ layers: [recurrent(cell, { ...options, returnSequences, goBackwards, inputShape: [STEPS, FEATURES] })] });
          randomizeWeights(model);
          await expectSameOutputs(model, sequences(false));
        });
      }
    }
  }

  for (const cell of ['simpleRNN', 'lstm', 'gru'] as Cell[]) {
    for (const mergeMode of ['concat', 'sum', 'mul', 'ave'] as const) {
      for (const returnSequences of [false, true]) {
        test(`bidirectional ${cell}, mergeMode ${mergeMode}, returnSequences ${returnSequences}`, async () => {
          const layer = rk.layers.bidirectional({ layer: recurrent(cell, { returnSequences }), mergeMode, inputShape: [STEPS, FEATURES] });
          const model = rk.sequential({ layers: [layer] });
          randomizeWeights(model);
          await expectSameOutputs(model, sequences(false));
        });
      }
    }
  }

  test('a stack: LSTM -> bidirectional GRU -> SimpleRNN -> dense softmax, on a time axis longer than declared', async () => {
    const model = rk.sequential({
      layers: [
        rk.layers.lstm({ units: UNITS, returnSequences: true, inputShape: [STEPS, FEATURES] }),
        rk.layers.bidirectional({ layer: rk.layers.gru({ units: 4, returnSequences: true }) }),
        rk.layers.simpleRNN({ units: 6 }),
        rk.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    randomizeWeights(model);
    await expectSameOutputs(model, sequences(false));
    // The exported time axis is dynamic: the graph runs 9 steps although the model was declared with 6.
    const onnx = await session(model);
    const longer = sequences(false, 9);
    const run = await onnx.run({ input: new ort.Tensor('float32', longer.data, longer.shape) });
    expect(run.output.dims).toEqual([BATCH, 3]);
  });
});

describe('dense, embedding, masking and dropout', () => {
  const activations = ['linear', 'relu', 'tanh', 'sigmoid', 'hardSigmoid', 'softmax'] as const;
  for (const activation of activations) {
    test(`dense ${activation} on vectors (Gemm) and timeDistributed on sequences (MatMul + Add)`, async () => {
      const vectors = rk.sequential({ layers: [
        rk.layers.lstm({ units: UNITS, inputShape: [STEPS, FEATURES] }),
        rk.layers.dense({ units: 4, activation }),
      ] });
      randomizeWeights(vectors);
      await expectSameOutputs(vectors, sequences(false));
      const perStep = rk.sequential({ layers: [
        rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 4, activation }), inputShape: [STEPS, FEATURES] }),
        rk.layers.dense({ units: 2, activation, useBias: false }),
      ] });
      randomizeWeights(perStep);
      await expectSameOutputs(perStep, sequences(false));
    });
  }

  test('embedding (Gather) with int64 ids, then a GRU', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.embedding({ inputDim: 10, outputDim: 4, inputShape: [STEPS] }),
      rk.layers.gru({ units: UNITS }),
    ] });
    randomizeWeights(model);
    const ids = Float32Array.from({ length: BATCH * STEPS }, (_, i) => (i * 7) % 10);
    await expectSameOutputs(model, rk.tensor(ids, [BATCH, STEPS]));
  });

  test('embedding maskZero on post-padded ids: sequence_lens computed in the graph', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputShape: [STEPS] }),
      rk.layers.lstm({ units: UNITS, returnSequences: true }),
      rk.layers.gru({ units: 4 }),
      rk.layers.dense({ units: 2, activation: 'softmax' }),
    ] });
    randomizeWeights(model);
    // Post-padded, with a 0 id inside the first sequence (rnnkit runs it as an ordinary step).
    const ids = Float32Array.from({ length: BATCH * STEPS }, (_, i) => (i % STEPS < LENGTHS[Math.floor(i / STEPS)] ? 1 + ((i * 3) % 9) : 0));
    ids[2] = 0;
    await expectSameOutputs(model, rk.tensor(ids, [BATCH, STEPS]));
  });

  for (const opset of [14, 17, 21]) {
    test(`masking on a post-padded batch through bidirectional and one-way layers, dense per step (opset ${opset})`, async () => {
      const model = rk.sequential({ layers: [
        rk.layers.masking({ maskValue: 0, inputShape: [STEPS, FEATURES] }),
        rk.layers.bidirectional({ layer: rk.layers.gru({ units: 4, returnSequences: true }), mergeMode: 'ave' }),
        rk.layers.dropout({ rate: 0.3 }),
        rk.layers.lstm({ units: UNITS, returnSequences: true }),
        rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, activation: 'tanh' }) }),
      ] });
      randomizeWeights(model);
      await expectSameOutputs(model, sequences(true), { opset });
    });
  }

  test('masking before a goBackwards layer without returnSequences (its state after the first step)', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.masking({ inputShape: [STEPS, FEATURES] }),
      rk.layers.simpleRNN({ units: UNITS, goBackwards: true }),
    ] });
    randomizeWeights(model);
    await expectSameOutputs(model, sequences(true));
  });

  test('model.save writes the same bytes to a file', async () => {
    const model = rk.sequential({ layers: [rk.layers.gru({ units: UNITS, inputShape: [STEPS, FEATURES] })] });
    randomizeWeights(model);
    const folder = mkdtempSync(join(tmpdir(), 'rnnkit-onnx-'));
    try {
      const file = join(folder, 'model.onnx');
      await model.save(file, { format: 'onnx' });
      expect(Buffer.compare(readFileSync(file), Buffer.from(rk.onnx.toBytes(model)))).toBe(0);
      const onnx = await ort.InferenceSession.create(file);
      expect(onnx.inputNames).toEqual(['input']);
      expect(onnx.outputNames).toEqual(['output']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('stateInputs: the serving system carries the state', () => {
  test('two calls with the state carried equal one call over the concatenated sequence', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.lstm({ units: UNITS, returnSequences: true, inputShape: [STEPS, FEATURES] }),
      rk.layers.gru({ units: 4 }),
      rk.layers.dense({ units: 2 }),
    ] });
    randomizeWeights(model);
    const onnx = await session(model, { stateInputs: true });
    const names = model.layers.slice(0, 2).map((l) => l.name);
    const stateInputs = [`${names[0]}_h_in`, `${names[0]}_c_in`, `${names[1]}_h_in`];
    expect(onnx.inputNames).toEqual(['input', ...stateInputs]);
    expect(onnx.outputNames.slice().sort()).toEqual(['output', ...stateInputs.map((n) => n.replace(/_in$/, '_out'))].sort());

    const x = sequences(false);
    const half = (from: number) => {
      const part = new Float32Array(BATCH * 3 * FEATURES);
      for (let b = 0; b < BATCH; b++) part.set(x.data.subarray((b * STEPS + from) * FEATURES, (b * STEPS + from + 3) * FEATURES), b * 3 * FEATURES);
      return new ort.Tensor('float32', part, [BATCH, 3, FEATURES]);
    };
    const zeros = (units: number) => new ort.Tensor('float32', new Float32Array(BATCH * units), [BATCH, 1, units]);
    const first = await onnx.run({ input: half(0), [stateInputs[0]]: zeros(UNITS), [stateInputs[1]]: zeros(UNITS), [stateInputs[2]]: zeros(4) });
    const carried = Object.fromEntries(stateInputs.map((n) => [n, first[n.replace(/_in$/, '_out')]]));
    const second = await onnx.run({ input: half(3), ...carried });
    const whole = await model.predict(x);
    expect(maxAbsDiff(second.output.data as Float32Array, whole.data)).toBeLessThan(TOLERANCE);
    // Without the carried state the second half alone gives something else: the test can tell.
    const fresh = await onnx.run({ input: half(3), [stateInputs[0]]: zeros(UNITS), [stateInputs[1]]: zeros(UNITS), [stateInputs[2]]: zeros(4) });
    expect(maxAbsDiff(fresh.output.data as Float32Array, whole.data)).toBeGreaterThan(1e-3);
  });
});

describe('models the exporter cannot express exactly are refused', () => {
  test('a mask behind a goBackwards layer with returnSequences (right-aligned windows) is an ARGUMENT error', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.masking({ inputShape: [STEPS, FEATURES] }),
      rk.layers.lstm({ units: UNITS, returnSequences: true, goBackwards: true }),
      rk.layers.lstm({ units: UNITS }),
    ] });
    await expectRnnError(() => rk.onnx.toBytes(model), 'ARGUMENT', /mask ONNX can express.*'lstm.*goBackwards, returnSequences/);
    const folder = mkdtempSync(join(tmpdir(), 'rnnkit-onnx-'));
    try {
      await expectRnnError(() => model.save(join(folder, 'm.onnx'), { format: 'onnx' }), 'ARGUMENT', /mask ONNX can express/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a bidirectional layer around a goBackwards layer is an ARGUMENT error', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.bidirectional({ layer: rk.layers.gru({ units: UNITS, goBackwards: true }), inputShape: [STEPS, FEATURES] }),
    ] });
    await expectRnnError(() => rk.onnx.toBytes(model), 'ARGUMENT', /goBackwards false .* but received true/);
  });

  test('bad export options are ARGUMENT errors', async () => {
    const model = rk.sequential({ layers: [rk.layers.gru({ units: UNITS, inputShape: [STEPS, FEATURES] })] });
    await expectRnnError(() => rk.onnx.toBytes(model, { opset: 9 }), 'ARGUMENT', /opset/);
    await expectRnnError(() => rk.onnx.toBytes(model, { stateInput: true } as never), 'ARGUMENT', /stateInput/);
    await expectRnnError(() => model.save(join(tmpdir(), 'x.rnnkit'), { stateInputs: true }), 'ARGUMENT', /stateInputs only with format 'onnx'/);
    await expectRnnError(() => model.save(join(tmpdir(), 'x.onnx'), { format: 'onnx', includeOptimizer: true }), 'ARGUMENT', /includeOptimizer false/);
  });
});
