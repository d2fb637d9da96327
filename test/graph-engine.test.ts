/**
 * The native graph engine through the raw binding (loadNative().Network): a network with two inputs and two outputs,
 * weighted losses, a layer shared by two nodes, inputs of any length, and the checks on a batch before it is queued.
 */
import { loadNative, NativeBatch, NativeGraphSpec, NativeLayerSpec, NativeNetwork, toRnnError } from '../lib/native';
import { expectRnnError } from './helpers/checks';
import { chainSpec } from './helpers/raw-network';

const dense = (name: string, units: number, activation: string): NativeLayerSpec =>
  ({ kind: 'dense', name, units, activation, useBias: true });

/** a [3] -> encA -> shared -> head1 (softmax, 2); b [2] -> encB -> shared -> head2 (linear, 1). */
const twoByTwo: NativeGraphSpec = {
  inputs: [{ name: 'a', shape: [3] }, { name: 'b', shape: [2] }],
  layers: [dense('encA', 4, 'tanh'), dense('encB', 4, 'tanh'), dense('shared', 4, 'tanh'), dense('head1', 2, 'softmax'), dense('head2', 1, 'linear')],
  nodes: [
    { layer: 0, inputs: [0], outputs: [2] },
    { layer: 1, inputs: [1], outputs: [3] },
    { layer: 2, inputs: [2], outputs: [4] },
    { layer: 2, inputs: [3], outputs: [5] },
    { layer: 3, inputs: [4], outputs: [6] },
    { layer: 4, inputs: [5], outputs: [7] },
  ],
  outputs: [6, 7],
};

const raw = (fn: () => unknown) => async () => {
  try {
    return await fn();
  } catch (error) {
    throw toRnnError(error);
  }
};

function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

function build(spec: NativeGraphSpec, weights: [number, number] = [0.3, 2]): NativeNetwork {
  const network = new (loadNative().Network)(spec);
  const random = seeded(5);
  network.params().forEach((p, i) => network.setParam(i, Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, random)));
  network.compile([{ loss: 'categoricalCrossentropy', weight: weights[0] }, { loss: 'meanSquaredError', weight: weights[1] }],
    { kind: 'sgd', learningRate: 0.1 });
  return network;
}

const B = 5;
function batch(): NativeBatch {
  const random = seeded(9);
  const y1 = new Float32Array(B * 2);
  for (let i = 0; i < B; i++) y1[i * 2 + (i % 2)] = 1;
  return {
    batch: B,
    inputs: [Float32Array.from({ length: B * 3 }, random), Float32Array.from({ length: B * 2 }, random)],
    shapes: [[3], [2]],
    targets: [y1, Float32Array.from({ length: B }, random)],
    sampleWeights: null,
  };
}

test('the total loss is the weighted sum of the outputs\' losses, each evaluated on its own output', async () => {
  const network = build(twoByTwo);
  const data = batch();
  const metrics = await network.evaluateBatch(data);
  expect(metrics.outputs).toHaveLength(2);
  expect(metrics.loss).toBeCloseTo(0.3 * metrics.outputs[0].loss + 2 * metrics.outputs[1].loss, 5);
  const { outputs, shapes } = await network.predict(data);
  expect(shapes).toEqual([[2], [1]]);
  let crossEntropy = 0, squared = 0;
  for (let i = 0; i < B; i++) {
    crossEntropy -= Math.log(outputs[0][i * 2 + (i % 2)]) / B;
    squared += (outputs[1][i] - data.targets![1][i]) ** 2 / B;
  }
  expect(metrics.outputs[0].loss).toBeCloseTo(crossEntropy, 5);
  expect(metrics.outputs[1].loss).toBeCloseTo(squared, 5);
  expect(metrics.outputs[0].accuracyTotal).toBe(B);
  expect(network.predictSync(data).outputs[1]).toEqual(outputs[1]);
});

test('a shared layer gets the sum of both uses\' gradients and moves once per update', async () => {
  const shared = (network: NativeNetwork) => network.params().flatMap((p, i) => (p.layer === 2 ? [i] : []));
  const data = batch();
  const both = await build(twoByTwo).computeGradients(data, 0);
  const first = await build(twoByTwo, [0.3, 0]).computeGradients(data, 0);
  const second = await build(twoByTwo, [0, 2]).computeGradients(data, 0);
  const network = build(twoByTwo);
  for (const index of shared(network)) {
    const sum = Array.from(first.gradients[index], (g, k) => g + second.gradients[index][k]);
    Array.from(both.gradients[index]).forEach((g, k) => expect(g).toBeCloseTo(sum[k], 5));
    expect(Math.max(...first.gradients[index].map(Math.abs))).toBeGreaterThan(0);
    expect(Math.max(...second.gradients[index].map(Math.abs))).toBeGreaterThan(0);
  }
  const before = shared(network).map((i) => network.getParam(i));
  await network.trainBatch(data, 0);
  shared(network).forEach((index, n) => {
    const after = network.getParam(index);
    before[n].forEach((w, k) => expect(after[k]).toBeCloseTo(w - 0.1 * both.gradients[index][k], 6));
  });
});

test('an input of any length: one network predicts, trains and evaluates batches of different lengths with the same weights', async () => {
  const spec: NativeGraphSpec = {
    inputs: [{ name: 'tokens', shape: [-1, 2] }],
    layers: [{ kind: 'recurrent', name: 'rnn', cell: 'gru', units: 3, activation: 'tanh', recurrentActivation: 'sigmoid', useBias: true,
      resetAfter: true, returnSequences: true, goBackwards: false, bidirectional: false, mergeMode: 'concat', dropout: 0, recurrentDropout: 0 }],
    nodes: [{ layer: 0, inputs: [0], outputs: [1] }],
    outputs: [1],
  };
  const network = new (loadNative().Network)(spec);
  const random = seeded(3);
  network.params().forEach((p, i) => network.setParam(i, Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, random)));
  const x5 = Float32Array.from({ length: 2 * 5 * 2 }, random);
  const long = await network.predict({ batch: 2, inputs: [x5], shapes: [[5, 2]] });
  expect(long.shapes).toEqual([[5, 3]]);
  // The first 3 steps of a 5-step sequence are the 3-step sequence's outputs (a causal recurrent layer).
  const x3 = new Float32Array(2 * 3 * 2);
  for (let b = 0; b < 2; b++) x3.set(x5.subarray(b * 10, b * 10 + 6), b * 6);
  const short = await network.predict({ batch: 2, inputs: [x3], shapes: [[3, 2]] });
  expect(short.shapes).toEqual([[3, 3]]);
  for (let b = 0; b < 2; b++) {
    Array.from(short.outputs[0].subarray(b * 9, b * 9 + 9)).forEach((v, k) => expect(v).toBeCloseTo(long.outputs[0][b * 15 + k], 6));
  }
  // Training at one length and evaluating at another: the loss of each batch is over its own steps.
  network.compile([{ loss: 'meanSquaredError', weight: 1 }], { kind: 'sgd', learningRate: 0.1 });
  const zeros = (steps: number) => new Float32Array(2 * steps * 3);
  const before = await network.evaluateBatch({ batch: 2, inputs: [x5], shapes: [[5, 2]], targets: [zeros(5)] });
  let squares = 0;
  long.outputs[0].forEach((v) => { squares += v * v; });
  expect(before.loss).toBeCloseTo(squares / (2 * 5 * 3), 5);
  await network.trainBatch({ batch: 2, inputs: [x3], shapes: [[3, 2]], targets: [zeros(3)] }, 0);
  const after = await network.evaluateBatch({ batch: 2, inputs: [x5], shapes: [[5, 2]], targets: [zeros(5)] });
  expect(after.loss).toBeLessThan(before.loss);
  await expectRnnError(raw(() => network.evaluateBatch({ batch: 2, inputs: [x3], shapes: [[3, 2]], targets: [zeros(5)] })), 'SHAPE',
    /Expected 18 values for the targets of output 0 \(2 samples of 9 values\) but received 30/);
  await expectRnnError(raw(() => network.predict({ batch: 2, inputs: [x5], shapes: [[5, 3]] })), 'SHAPE',
    /Expected samples of shape \[-1, 2\] for input 'tokens' \(-1: any length\) but received samples of shape \[5, 3\]/);
});

test('a batch that does not fit the graph is refused before it is queued, naming the input or output', async () => {
  const network = build(twoByTwo);
  const good = batch();
  const w0 = network.getParam(0);
  await expectRnnError(raw(() => network.trainBatch({ ...good, inputs: [good.inputs[0]], shapes: [[3]] }, 0)), 'SHAPE',
    /Expected 2 model inputs \(arrays and shapes\) but received 1 arrays and 1 shapes/);
  await expectRnnError(raw(() => network.trainBatch({ ...good, inputs: [good.inputs[0], new Float32Array(7)] }, 0)), 'SHAPE',
    /Expected 10 values for input 'b' \(5 samples of shape \[2\]\) but received 7/);
  await expectRnnError(raw(() => network.trainBatch({ ...good, shapes: [[3], [4]] }, 0)), 'SHAPE',
    /Expected samples of shape \[2\] for input 'b' .* but received samples of shape \[4\]/);
  await expectRnnError(raw(() => network.trainBatch({ ...good, targets: [good.targets![0]] }, 0)), 'SHAPE',
    /Expected targets for 2 model outputs but received 1/);
  await expectRnnError(raw(() => network.evaluateBatch({ ...good, targets: [good.targets![0], new Float32Array(3)] })), 'SHAPE',
    /Expected 5 values for the targets of output 1 \(5 samples of 1 values\) but received 3/);
  await expectRnnError(raw(() => network.trainBatch({ ...good, sampleWeights: new Float32Array(2) }, 0)), 'SHAPE',
    /Expected 5 values for sampleWeights but received 2/);
  await expectRnnError(raw(() => network.trainBatch({ ...good, inputs: [good.inputs[0], [1, 2] as never] }, 0)), 'DTYPE',
    /Expected a Float32Array for input 'b'/);
  await expectRnnError(raw(() => network.predict({ ...good, batch: 0 })), 'SHAPE', /Expected a batch size of at least 1/);
  await expectRnnError(raw(() => network.predict(good.inputs[0] as never)), 'ARGUMENT', /Expected a batch object/);
  await expectRnnError(raw(() => network.compile([{ loss: 'meanSquaredError', weight: 1 }], { kind: 'sgd', learningRate: 0.1 })),
    'ARGUMENT', /Expected one loss per model output \(2\) but received 1/);
  expect(Array.from(network.getParam(0))).toEqual(Array.from(w0));
  expect(network.isBusy()).toBe(false);
});

test('a graph that cannot run is refused when the network is built, naming the layer', async () => {
  const { Network } = loadNative();
  const cycle = { ...twoByTwo, nodes: twoByTwo.nodes.map((n, i) => (i === 2 ? { ...n, inputs: [6] } : n)) };
  await expectRnnError(raw(() => new Network(cycle)), 'SHAPE',
    /Layer 'shared': expected its input tensor 6 to be produced by an earlier node, received an unknown tensor \(or a cycle\)/);
  const mismatch = { ...twoByTwo, nodes: twoByTwo.nodes.map((n, i) => (i === 3 ? { ...n, inputs: [1] } : n)) };
  await expectRnnError(raw(() => new Network(mismatch)), 'SHAPE', /Layer 'shared' is shared: .* \[4, 4\] at its first use, received \[2, 4\]/);
});

test('native errors map to codes by kind: a layer option out of range is ARGUMENT, a shape that does not fit is SHAPE', async () => {
  const { Network } = loadNative();
  await expectRnnError(raw(() => new Network(chainSpec([3], [{ kind: 'dropout', name: 'drop', rate: 1.5 }]))), 'ARGUMENT',
    /Layer 'drop': Expected a dropout rate in \[0, 1\) but received 1\.5/);
  await expectRnnError(raw(() => new Network(chainSpec([3], [dense('d', 2, 'linear'), { kind: 'masking', name: 'mask', maskValue: 0 }]))), 'SHAPE',
    /Layer 'mask': Expected a masking layer input of shape \[timeSteps, features\] but received \[2\]/);
});
