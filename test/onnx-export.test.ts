/**
 * @jest-environment ./test/helpers/onnxruntime-environment.js
 */
/**
 * ONNX export checked in the real runtime: every layer kind and option is exported with rk.onnx.toBytes (or
 * model.save with format 'onnx'), run in onnxruntime-node, and must equal rnnkit's predict to 1e-5 (absolute, on
 * outputs of magnitude <= ~1) from the same random weights (every weight, biases included, drawn in [-0.5, 0.5] so a
 * misplaced bias or gate block shows). Masks: post-, pre- and both-side-padded batches (the windows below), with a
 * fully masked step inside a window, which rnnkit runs as an ordinary step.
 */
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { expectRnnError, maxAbsDiff, seededUniform } from './helpers/checks';

const BATCH = 4, STEPS = 6, FEATURES = 3, UNITS = 5;
type Padding = 'none' | 'post' | 'pre' | 'both';
/** Each sample's valid window [start, end) per padding; a step of sample 0 inside its window is masked too. */
const WINDOWS: Record<Exclude<Padding, 'none'>, Array<[number, number]>> = {
  post: [[0, 6], [0, 4], [0, 2], [0, 5]],
  pre: [[0, 6], [2, 6], [4, 6], [1, 6]],
  both: [[1, 5], [0, 4], [2, 3], [1, 6]],
};
const PADDINGS = ['post', 'pre', 'both'] as const;
const TOLERANCE = 1e-5;
type Cell = 'simpleRNN' | 'lstm' | 'gru';

/** Sets every weight of `model` to seeded values in [-0.5, 0.5]. */
function randomizeWeights(model: rk.Sequential, seed = 11): void {
  model.setWeights(model.getWeights().map((w, i) => rk.tensor(seededUniform(w.data.length, seed + i, 0.5), w.shape.slice())));
}

/** Whether step t of sample b is padding (outside its window, or the masked step inside sample 0's window). */
function isPadding(padding: Padding, b: number, t: number): boolean {
  if (padding === 'none') return false;
  const [start, end] = WINDOWS[padding][b];
  return t < start || t >= end || (b === 0 && t === 3);
}

/** A [B, T, F] batch whose padding steps (see WINDOWS) are 0. */
function sequences(padding: Padding, steps = STEPS, seed = 5): rk.Tensor {
  const values = seededUniform(BATCH * steps * FEATURES, seed, 1);
  for (let b = 0; b < BATCH; b++) {
    for (let t = 0; t < steps; t++) if (isPadding(padding, b, t)) values.fill(0, (b * steps + t) * FEATURES, (b * steps + t + 1) * FEATURES);
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
  ['GRU reset-after without bias, relu', 'gru', { useBias: false, activation: 'relu' }],
  ['GRU reset-before without bias', 'gru', { resetAfter: false, useBias: false }],
  ['SimpleRNN without bias', 'simpleRNN', { useBias: false }],
  ['LSTM linear activation (Affine after a parameterless Sigmoid)', 'lstm', { activation: 'linear' }],
  ['GRU hardSigmoid gates, linear activation', 'gru', { recurrentActivation: 'hardSigmoid', activation: 'linear' }],
  ['LSTM with (training-only) dropout and recurrentDropout, unitForgetBias false', 'lstm', { dropout: 0.2, recurrentDropout: 0.3, unitForgetBias: false }],
];

describe('recurrent layers run in onnxruntime as rnnkit runs them', () => {
  for (const [label, cell, options] of CELL_VARIANTS) {
    for (const returnSequences of [false, true]) {
      for (const goBackwards of [false, true]) {
        test(`${label}, returnSequences ${returnSequences}, goBackwards ${goBackwards}`, async () => {
          const model = rk.sequential({ layers: [recurrent(cell, { ...options, returnSequences, goBackwards, inputShape: [STEPS, FEATURES] })] });
          randomizeWeights(model);
          await expectSameOutputs(model, sequences('none'));
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
          await expectSameOutputs(model, sequences('none'));
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
    await expectSameOutputs(model, sequences('none'));
    // The exported time axis is dynamic: the graph runs 9 steps although the model was declared with 6.
    const onnx = await session(model);
    const longer = sequences('none', 9);
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
        rk.layers.dense({ units: 3, activation, useBias: false }),
      ] });
      randomizeWeights(vectors);
      await expectSameOutputs(vectors, sequences('none'));
      const perStep = rk.sequential({ layers: [
        rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 4, activation }), inputShape: [STEPS, FEATURES] }),
        rk.layers.dense({ units: 2, activation, useBias: false }),
      ] });
      randomizeWeights(perStep);
      await expectSameOutputs(perStep, sequences('none'));
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

  for (const padding of PADDINGS) {
    test(`embedding maskZero on ${padding}-padded ids: the windows computed in the graph`, async () => {
      const model = rk.sequential({ layers: [
        rk.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputShape: [STEPS] }),
        rk.layers.lstm({ units: UNITS, returnSequences: true }),
        rk.layers.gru({ units: 4 }),
        rk.layers.dense({ units: 2, activation: 'softmax' }),
      ] });
      randomizeWeights(model);
      const ids = Float32Array.from({ length: BATCH * STEPS }, (_, i) => (isPadding(padding, Math.floor(i / STEPS), i % STEPS) ? 0 : 1 + ((i * 3) % 9)));
      await expectSameOutputs(model, rk.tensor(ids, [BATCH, STEPS]));
    });
  }

  for (const [padding, opset] of [['post', 14], ['pre', 17], ['both', 21], ['both', 17]] as const) {
    test(`masking on a ${padding}-padded batch through bidirectional and one-way layers, dense per step (opset ${opset})`, async () => {
      const model = rk.sequential({ layers: [
        rk.layers.masking({ maskValue: 0, inputShape: [STEPS, FEATURES] }),
        rk.layers.bidirectional({ layer: rk.layers.gru({ units: 4, returnSequences: true }), mergeMode: 'ave' }),
        rk.layers.dropout({ rate: 0.3 }),
        rk.layers.lstm({ units: UNITS, returnSequences: true }),
        rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2, activation: 'tanh' }) }),
      ] });
      randomizeWeights(model);
      await expectSameOutputs(model, sequences(padding), { opset });
    });
  }

  for (const padding of PADDINGS) {
    for (const cell of ['simpleRNN', 'lstm', 'gru'] as Cell[]) {
      test(`masking (${padding}-padded) -> goBackwards ${cell} with returnSequences -> layers reading its right-aligned windows`, async () => {
        const model = rk.sequential({ layers: [
          rk.layers.masking({ inputShape: [STEPS, FEATURES] }),
          recurrent(cell, { goBackwards: true, returnSequences: true }),
          rk.layers.dense({ units: 3, activation: 'relu' }),
          rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 4, returnSequences: true }), mergeMode: 'concat' }),
          rk.layers.gru({ units: 4, goBackwards: true }),
        ] });
        randomizeWeights(model);
        await expectSameOutputs(model, sequences(padding));
        const perStep = rk.sequential({ layers: [
          rk.layers.masking({ inputShape: [STEPS, FEATURES] }),
          recurrent(cell, { goBackwards: true, returnSequences: true }),
          recurrent(cell, { returnSequences: true }),
        ] });
        randomizeWeights(perStep);
        await expectSameOutputs(perStep, sequences(padding));
      });
    }
  }

  test('masking before a goBackwards layer without returnSequences (its state after the window\'s first step)', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.masking({ inputShape: [STEPS, FEATURES] }),
      rk.layers.simpleRNN({ units: UNITS, goBackwards: true }),
    ] });
    randomizeWeights(model);
    await expectSameOutputs(model, sequences('both'));
  });

  test('a fully masked sample (window [0, 0)) gives what rnnkit gives: zero state, zero outputs', async () => {
    const x = sequences('post');
    x.data.fill(0, STEPS * FEATURES, 2 * STEPS * FEATURES); // sample 1: every step masked
    for (const returnSequences of [false, true]) {
      const model = rk.sequential({ layers: [
        rk.layers.masking({ inputShape: [STEPS, FEATURES] }),
        rk.layers.bidirectional({ layer: rk.layers.lstm({ units: UNITS, returnSequences }) }),
      ] });
      randomizeWeights(model);
      await expectSameOutputs(model, x);
    }
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
    expect(onnx.outputNames).toEqual(['output', ...stateInputs.map((n) => n.replace(/_in$/, '_out'))]);

    const x = sequences('none');
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

describe('stateInputs behind a mask', () => {
  test('a chunk in which a stream has no valid step leaves that stream where it was (onnxruntime alone would zero it)', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.masking({ inputShape: [STEPS, FEATURES] }),
      rk.layers.bidirectional({ layer: rk.layers.lstm({ units: UNITS, returnSequences: true }), name: 'both', mergeMode: 'sum' }),
      rk.layers.gru({ units: 4, name: 'last' }),
      rk.layers.dense({ units: 2 }),
    ] });
    randomizeWeights(model);
    const onnx = await session(model, { stateInputs: true });
    const names = ['both_h', 'both_c', 'last_h'];
    const dims: Record<string, number[]> = { both_h: [BATCH, 2, UNITS], both_c: [BATCH, 2, UNITS], last_h: [BATCH, 1, 4] };
    const zeros = Object.fromEntries(names.map((n) => [`${n}_in`, new ort.Tensor('float32', new Float32Array(dims[n].reduce((a, b) => a * b)), dims[n])]));
    const x = sequences('none');
    const first = await onnx.run({ input: new ort.Tensor('float32', x.data, x.shape), ...zeros });
    // The second chunk: sample 2 fully masked, the others with data.
    const next = sequences('none', STEPS, 9);
    next.data.fill(0, 2 * STEPS * FEATURES, 3 * STEPS * FEATURES);
    const carried = Object.fromEntries(names.map((n) => [`${n}_in`, first[`${n}_out`]]));
    const second = await onnx.run({ input: new ort.Tensor('float32', next.data, next.shape), ...carried });
    const sample = (t: ort.Tensor, b: number) => Array.from((t.data as Float32Array).subarray(b * t.size / BATCH, (b + 1) * t.size / BATCH));
    for (const n of names) {
      expect(sample(second[`${n}_out`], 2)).toEqual(sample(first[`${n}_out`], 2));
      expect(maxAbsDiff(sample(second[`${n}_out`], 1), sample(first[`${n}_out`], 1))).toBeGreaterThan(1e-3);
    }
    expect(sample(second.output, 2)).toEqual(sample(first.output, 2));
  });
});

describe('models the exporter cannot express exactly are refused', () => {
  test('a bidirectional layer around a goBackwards layer is an ARGUMENT error', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.bidirectional({ layer: rk.layers.gru({ units: UNITS, goBackwards: true }), inputShape: [STEPS, FEATURES] }),
    ] });
    await expectRnnError(() => rk.onnx.toBytes(model), 'ARGUMENT', /goBackwards false .* but received true/);
  });

  test('without the optional package onnx-proto the export is a DEPENDENCY error that says how to install it', () => {
    jest.isolateModules(() => {
      jest.doMock('onnx-proto', () => {
        throw Object.assign(new Error("Cannot find module 'onnx-proto' from 'lib/io/onnx/onnx_proto.ts'"), { code: 'MODULE_NOT_FOUND' });
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const isolated = require('../lib') as typeof rk;
      const model = isolated.sequential({ layers: [isolated.layers.gru({ units: UNITS, inputShape: [STEPS, FEATURES] })] });
      let error: unknown;
      try {
        isolated.onnx.toBytes(model);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'DEPENDENCY', message: expect.stringMatching(/npm install onnx-proto@8/) });
      jest.dontMock('onnx-proto');
    });
  });

  test('bad export options are ARGUMENT errors', async () => {
    const model = rk.sequential({ layers: [rk.layers.gru({ units: UNITS, inputShape: [STEPS, FEATURES] })] });
    await expectRnnError(() => rk.onnx.toBytes(model, { opset: 9 }), 'ARGUMENT', /opset/);
    await expectRnnError(() => rk.onnx.toBytes(model, { stateInput: true } as never), 'ARGUMENT', /stateInput/);
    await expectRnnError(() => model.save(join(tmpdir(), 'x.rnnkit'), { stateInputs: true }), 'ARGUMENT', /stateInputs only with format 'onnx'/);
    await expectRnnError(() => model.save(join(tmpdir(), 'x.onnx'), { format: 'onnx', includeOptimizer: true }), 'ARGUMENT', /includeOptimizer false/);
  });
});
