/**
 * Sizes that cannot be allocated are refused with a MEMORY RnnError that says how much was asked, before anything
 * is allocated; no C++ exception reaches Node (before: std::bad_alloc / std::length_error aborted the process, and
 * an embedding of 2^32 rows overflowed a signed multiply and surfaced as a plain RangeError). The model stays usable
 * after each refusal.
 */
import * as rk from '../lib';
import { loadNative, toRnnError } from '../lib/native';
import { expectRnnError } from './helpers/checks';
import { chainSpec, oneBatch } from './helpers/raw-network';

/** A raw addon call with its error converted as lib/ converts it (the addon throws plain Errors with a code). */
function raw(action: () => unknown): () => Promise<unknown> {
  return async () => {
    try {
      return await action();
    } catch (error) {
      throw toRnnError(error);
    }
  };
}

function lstmModel(units: number): rk.Sequential {
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units, inputShape: [3, 2] }));
  return model;
}

test('lstm({ units: 1e9 }) is a MEMORY error naming the weight and the bytes asked for', async () => {
  // kernel [2 features, 4 gates x 1e9 units]
  await expectRnnError(() => lstmModel(1e9), 'MEMORY', /Layer '.*' weight 'kernel'.*\[2, 4000000000\] asks for 8e\+09 values \(3\.2e\+10 bytes/);
});

test('units: 1e5 then add: refused (4e10 values), and the model keeps its layers and trains', async () => {
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 4, inputShape: [3, 2], returnSequences: true }));
  await expectRnnError(() => model.add(rk.layers.lstm({ units: 1e5 })), 'MEMORY', /weight 'recurrent_kernel'.*asks for 4e\+10 values/);
  model.add(rk.layers.dense({ units: 1 }));
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const logs = await model.trainOnBatch(rk.tensor(new Float32Array(6), [1, 3, 2]), rk.tensor(new Float32Array(3).fill(0.5), [1, 3, 1]));
  expect(Number.isFinite(logs.loss)).toBe(true);
  expect(model.layers.length).toBe(2);
});

test('dense({ units: 1e10 }) after lstm(1) is a MEMORY error', async () => {
  const model = lstmModel(1);
  await expectRnnError(() => model.add(rk.layers.dense({ units: 1e10 })), 'MEMORY', /weight 'kernel'.*asks for 1e\+10 values/);
});

test.each([
  ['1e10 x 1e10', 1e10, 1e10, /asks for 1e\+20 values/],
  ['2^32 x 1 (overflowed int32 before)', 2 ** 32, 1, /asks for 4\.295e\+09 values/],
  ['2^32 x 2^32 (overflows int64)', 2 ** 32, 2 ** 32, /asks for 1\.845e\+19 values/],
])('embedding %s is a MEMORY error, not a RangeError or an abort', async (_name, inputDim, outputDim, message) => {
  const model = rk.sequential();
  await expectRnnError(() => model.add(rk.layers.embedding({ inputDim, outputDim, inputShape: [4] })), 'MEMORY', message);
});

test('a network whose tensors each fit but together exceed the memory budget is refused before allocating', async () => {
  const { Network } = loadNative();
  // 40 layers of [46000, 46000] weights: each tensor (2.1e9 values) is allowed, all with their gradients (6.8e11
  // bytes) are beyond half the memory of any machine this runs on; the check runs before any allocation.
  const layers = Array.from({ length: 40 }, (_, i) => ({ kind: 'dense' as const, name: `d${i}`, units: 46000, activation: 'linear', useBias: false }));
  await expectRnnError(raw(() => new Network(chainSpec([46000], layers))), 'MEMORY',
    /The weights and gradients of the network \(.* parameters up to layer 'd\d+'\) asks for .* bytes, more than the .* bytes one network may use here/);
});

test('a batch whose activations exceed the budget is refused with MEMORY before it is allocated', async () => {
  const { Network } = loadNative();
  const network = new Network(chainSpec([1000, 1], [{ kind: 'dense', name: 'd', units: 1_000_000, activation: 'linear', useBias: true }]));
  // 4096 samples x 1000 steps x 1e6 units: 1.6e13 bytes of activations; only the input (4e6 floats) exists in JS.
  await expectRnnError(raw(() => network.predictSync(oneBatch(new Float32Array(4096 * 1000), 4096, [1000, 1]))), 'MEMORY', /A batch of 4096 samples .* asks for/);
  network.dispose();
});

test('every native entry point refuses bad arguments with a coded error, never a crash', async () => {
  const { Network, setThreads } = loadNative();
  await expectRnnError(raw(() => setThreads(0)), 'ARGUMENT', /threads in \[1, 256\]/);
  await expectRnnError(raw(() => new Network(chainSpec([2], [{ kind: 'dense', name: 'd', units: 1e300, activation: 'linear', useBias: true }]))),
    'ARGUMENT', /Expected a whole number >= 1 for layer 'd'.units but received/);
  const network = new Network(chainSpec([2], [{ kind: 'dense', name: 'd', units: 2, activation: 'linear', useBias: true }]));
  await expectRnnError(raw(() => network.getLearningRate()), 'STATE', /not compiled/);
  await expectRnnError(raw(() => network.trainBatch(oneBatch(new Float32Array(2), 1, [2], new Float32Array(2)), 0)), 'STATE', /Compile the model/);
  network.compile([{ loss: 'meanSquaredError', weight: 1 }], { kind: 'adam', learningRate: 0.1 });
  await expectRnnError(raw(() => network.setOptimizerState({ step: 1, slots: [new Float32Array(4).fill(NaN), new Float32Array(2), new Float32Array(4), new Float32Array(2)] })),
    'NOT_FINITE', /Expected finite values in optimizer slot 0 but received nan at index 0/);
});
