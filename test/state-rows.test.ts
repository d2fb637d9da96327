/**
 * The native state rows of a state-topology network (NativeNetwork.createStates / predictRows, ops::StateStore)
 * through the raw binding: predictRows equals a plain predict whose state inputs were gathered by hand and writes
 * the final states back to exactly its rows; while it runs its rows read as before and cannot be written; a batch
 * refused before or after it was queued changes no row.
 */
import { loadNative, NativeGraphSpec, NativeNetwork, toRnnError } from '../lib/native';
import { expectRnnError } from './helpers/checks';

const F = 2, U = 3, ROWS = 5;

/** x [any, 2] and h [3] -> simpleRNN 3 (returnState) -> outputs y (= last h) and the final h. */
const spec: NativeGraphSpec = {
  inputs: [{ name: 'x', shape: [-1, F] }, { name: 'h', shape: [U] }],
  layers: [{
    kind: 'recurrent', name: 'rnn', cell: 'simpleRNN', units: U, activation: 'tanh', recurrentActivation: 'sigmoid', useBias: true,
    resetAfter: true, returnSequences: false, returnState: true, goBackwards: false, bidirectional: false, mergeMode: 'concat',
    dropout: 0, recurrentDropout: 0,
  }],
  nodes: [{ layer: 0, inputs: [0, 1], outputs: [2, 3] }],
  outputs: [2, 3],
};

function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

const raw = (fn: () => unknown) => async () => {
  try {
    return await fn();
  } catch (error) {
    throw toRnnError(error);
  }
};

function build(): NativeNetwork {
  const network = new (loadNative().Network)(spec);
  const random = seeded(3);
  network.params().forEach((p, i) => network.setParam(i, Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, random)));
  network.createStates(1);
  for (let r = 0; r < ROWS; r++) {
    network.resetStateRow(r);
    network.setStateRow(r, Float32Array.from({ length: U }, seeded(100 + r)));
  }
  return network;
}

const rowsOf = (network: NativeNetwork) => Array.from({ length: ROWS }, (_, r) => Array.from(network.getStateRow(r)));

describe('native state rows', () => {
  it('predictRows equals predict over hand-gathered states and scatters the final states to its rows only', async () => {
    const network = build();
    const before = rowsOf(network);
    const rows = Int32Array.from([3, 0, 4]);
    const T = 4;
    const x = Float32Array.from({ length: rows.length * T * F }, seeded(7));
    const h = Float32Array.from(Array.from(rows).flatMap((r) => before[r]));
    const reference = await network.predict({ batch: rows.length, inputs: [x, h], shapes: [[T, F], [U]] });
    const running = network.predictRows({ batch: rows.length, inputs: [x], shapes: [[T, F]] }, rows);
    // While it runs: BUSY for another batch, its rows read as before and refuse writes, other rows work.
    expect(network.isBusy()).toBe(true);
    await expectRnnError(raw(() => network.predictRows({ batch: 1, inputs: [x.subarray(0, T * F)], shapes: [[T, F]] }, Int32Array.from([1]))), 'BUSY', /while a batch is running/);
    expect(Array.from(network.getStateRow(3))).toEqual(before[3]);
    await expectRnnError(raw(() => network.setStateRow(0, new Float32Array(U))), 'STATE', /while a prediction runs on it/);
    network.setStateRow(1, Float32Array.from(before[1]));
    network.resetStateRow(ROWS);  // grows the store while the batch runs
    const result = await running;
    expect(result.outputs).toHaveLength(1);
    expect(result.shapes).toEqual([[U]]);
    expect(Array.from(result.outputs[0])).toEqual(Array.from(reference.outputs[0]));
    const after = rowsOf(network);
    rows.forEach((r, b) => expect(after[r]).toEqual(Array.from(reference.outputs[1].subarray(b * U, (b + 1) * U))));
    for (const r of [1, 2]) expect(after[r]).toEqual(before[r]);
    expect(Array.from(network.getStateRow(ROWS))).toEqual([0, 0, 0]);
    network.dispose();
  });

  it('a refused batch, before or on the worker thread, changes no row', async () => {
    const network = build();
    const before = rowsOf(network);
    const x = Float32Array.from({ length: 2 * F }, seeded(8));
    const batch = { batch: 2, inputs: [x], shapes: [[1, F]] };
    await expectRnnError(raw(() => network.predictRows(batch, Int32Array.from([1, 1]))), 'ARGUMENT', /distinct state rows but row 1 appears twice/);
    await expectRnnError(raw(() => network.predictRows(batch, Int32Array.from([1, ROWS]))), 'ARGUMENT', /state row in \[0, 5\) to predict from but received 5/);
    await expectRnnError(raw(() => network.predictRows(batch, Int32Array.from([1]))), 'SHAPE', /Expected 2 state rows/);
    await expectRnnError(raw(() => network.predictRows(batch, [1, 2] as unknown as Int32Array)), 'ARGUMENT', /Int32Array of state rows/);
    await expectRnnError(raw(() => network.predictRows({ ...batch, inputs: [x.subarray(1)] }, Int32Array.from([0, 1]))), 'SHAPE', /input 'x'/);
    await expectRnnError(raw(() => network.predictRows({ ...batch, inputs: [x, x], shapes: [[1, F], [U]] }, Int32Array.from([0, 1]))), 'SHAPE', /Expected 1 model input/);
    await expectRnnError(raw(() => network.setStateRow(0, new Float32Array(U + 1))), 'SHAPE', /state row 0/);
    await expectRnnError(raw(() => network.getStateRow(ROWS)), 'ARGUMENT', /state row in \[0, 5\) to read but received 5/);
    expect(rowsOf(network)).toEqual(before);
    // Nothing was left in flight: the same rows run and write.
    await network.predictRows(batch, Int32Array.from([1, 2]));
    network.setStateRow(1, new Float32Array(U));
    expect(rowsOf(network)[1]).toEqual([0, 0, 0]);
    expect(rowsOf(network)[2]).not.toEqual(before[2]);
    network.dispose();
  });

  it('needs createStates first, with states as the last inputs', async () => {
    const network = new (loadNative().Network)(spec);
    await expectRnnError(raw(() => network.getStateRow(0)), 'STATE', /createStates first/);
    await expectRnnError(raw(() => network.createStates(2)), 'ARGUMENT', /state count in \[1, 1\]/);
    network.dispose();
  });
});
