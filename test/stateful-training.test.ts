/**
 * Training and evaluating Keras stateful recurrent models. The reference for every check is hand-built truncated
 * BPTT: the same layers without state in a functional model whose recurrent layer takes explicit initialState
 * inputs and returns its final states; chunk after chunk, the states one chunk ends with (predicted with the weights
 * before that chunk's step) are fed as the next chunk's initial states, and the step is trainOnBatch with the same
 * optimizer. Stateful fit over the consecutive chunks must match its loss trajectory and final weights (1e-5 on
 * weights, every cell, both GRU forms, bidirectional), across two fit calls (kept states and optimizer state carry
 * over). Also: evaluate and predict carry states as Keras does, predict after fit continues from fit's states,
 * fit's validation leaves the training states alone, and errors change nothing.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as rk from '../lib';

const B = 2; // rows per batch: independent sequences
const CHUNK = 3; // steps per chunk
const CHUNKS = 4;
const F = 2;
const U = 3;

type Kind = 'simpleRNN' | 'lstm' | 'gruAfter' | 'gruBefore' | 'bidirectionalLstm';

function recurrent(kind: Kind, args: Record<string, unknown>): rk.Layer {
  const base = { units: U, ...args };
  if (kind === 'simpleRNN') return rk.layers.simpleRNN(base);
  if (kind === 'lstm') return rk.layers.lstm(base);
  // As in Keras, the wrapped layer carries stateful and the batch input shape.
  if (kind === 'bidirectionalLstm') return rk.layers.bidirectional({ layer: rk.layers.lstm(base) });
  return rk.layers.gru({ ...base, resetAfter: kind === 'gruAfter' });
}

function stateCount(kind: Kind): number {
  return kind === 'lstm' ? 2 : kind === 'bidirectionalLstm' ? 4 : 1;
}

/** x [CHUNKS][B][CHUNK][F] and y [CHUNKS][B][1] from one generator: B long sequences cut into chunks. */
function sequences(seed: number) {
  const rng = new rk.Random(seed);
  const x = Array.from({ length: CHUNKS }, () => Array.from({ length: B }, () =>
    Array.from({ length: CHUNK }, () => Array.from({ length: F }, () => rng.uniformRange(-1, 1)))));
  const y = Array.from({ length: CHUNKS }, () => Array.from({ length: B }, () => [rng.uniformRange(-1, 1)]));
  return { x, y };
}

/** The stateful model: batches of B rows, each row continuing its sequence from the previous batch. */
function statefulModel(kind: Kind): rk.Model {
  const first = recurrent(kind, { stateful: true, batchInputShape: [B, CHUNK, F] });
  return rk.sequential({ layers: [first, rk.layers.dense({ units: 1 })] });
}

/** The reference: the same layers without state, initial states as inputs, final states as outputs. */
function reference(kind: Kind) {
  const layer = recurrent(kind, { returnState: true });
  const dense = rk.layers.dense({ units: 1 });
  const x = rk.input({ shape: [CHUNK, F], name: 'x' });
  const states = Array.from({ length: stateCount(kind) }, (_, k) => rk.input({ shape: [U], name: `s${k}` }));
  const [out, ...finals] = layer.apply(x, { initialState: states }) as rk.SymbolicTensor[];
  const y = dense.apply(out) as rk.SymbolicTensor;
  const train = rk.model({ inputs: [x, ...states], outputs: y });
  const carry = rk.model({ inputs: [x, ...states], outputs: finals });
  return { train, carry };
}

function zeros(): rk.Tensor[] {
  return Array.from({ length: 8 }, () => rk.tensor(new Float32Array(B * U), [B, U]));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function flat(tensors: rk.Tensor[]): number[] {
  return tensors.flatMap((t) => Array.from(t.data));
}

/** Runs the reference over the chunks from zero states; returns the loss per step. */
async function referenceRun(kind: Kind, ref: ReturnType<typeof reference>, data: ReturnType<typeof sequences>): Promise<number[]> {
  let states = zeros().slice(0, stateCount(kind));
  const losses: number[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    const inputs = [rk.tensor(data.x[c]), ...states];
    const next = await ref.carry.predict(inputs);
    losses.push((await ref.train.trainOnBatch(inputs, rk.tensor(data.y[c]))).loss);
    states = Array.isArray(next) ? next : [next];
  }
  return losses;
}

const optimizer = () => rk.optimizers.adam({ learningRate: 0.05 });

describe('stateful training', () => {
  it.each<Kind>(['simpleRNN', 'lstm', 'gruAfter', 'gruBefore', 'bidirectionalLstm'])(
    '%s: stateful fit over consecutive chunks (two fit calls) equals truncated BPTT by hand', async (kind) => {
      rk.setSeed(21);
      const ref = reference(kind);
      const model = statefulModel(kind);
      model.setWeights(ref.train.getWeights());
      ref.train.compile({ optimizer: optimizer(), loss: 'mse' });
      model.compile({ optimizer: optimizer(), loss: 'mse' });
      const data = sequences(5);
      const expected = await referenceRun(kind, ref, data);

      const losses: number[] = [];
      const record = { onBatchEnd: (_: number, logs?: Record<string, number>) => { losses.push(logs!.loss); } };
      const half = CHUNKS / 2;
      const rows = (from: number, to: number) => rk.tensor(data.x.slice(from, to).flat());
      const targets = (from: number, to: number) => rk.tensor(data.y.slice(from, to).flat());
      const history = await model.fit(rows(0, half), targets(0, half), { epochs: 1, verbose: 0, callbacks: [record] });
      await model.fit(rows(half, CHUNKS), targets(half, CHUNKS), { epochs: 1, verbose: 0, callbacks: [record] });
      expect(history.history.loss).toHaveLength(1);
      expect(maxDiff(losses, expected)).toBeLessThan(1e-5);
      expect(maxDiff(flat(model.getWeights()), flat(ref.train.getWeights()))).toBeLessThan(1e-5);
      // The weights moved, so the comparison is not between two untouched models.
      expect(expected[CHUNKS - 1]).not.toBeCloseTo(expected[0], 3);
    });

  it('trainOnBatch chunk by chunk equals fit; testOnBatch and evaluate carry states like predict', async () => {
    rk.setSeed(22);
    const kind: Kind = 'lstm';
    const ref = reference(kind);
    const model = statefulModel(kind);
    model.setWeights(ref.train.getWeights());
    model.compile({ optimizer: optimizer(), loss: 'mse' });
    ref.train.compile({ optimizer: optimizer(), loss: 'mse' });
    const data = sequences(6);
    const expected = await referenceRun(kind, ref, data);
    const got: number[] = [];
    for (let c = 0; c < CHUNKS; c++) got.push((await model.trainOnBatch(rk.tensor(data.x[c]), rk.tensor(data.y[c]))).loss);
    expect(maxDiff(got, expected)).toBeLessThan(1e-5);

    // Evaluate of chunk 2 after chunk 1 continues from chunk 1's states: it equals the reference from those states
    // and differs from evaluate after resetStates (zero states).
    model.resetStates();
    const x1 = rk.tensor(data.x[0]);
    const x2 = rk.tensor(data.x[1]);
    const y2 = rk.tensor(data.y[1]);
    await model.evaluate(x1, rk.tensor(data.y[0]));
    const afterFirst = model.getStates();
    const continued = await model.evaluate(x2, y2);
    const statesAfterChunk1 = (await ref.carry.predict([x1, ...zeros().slice(0, 2)])) as rk.Tensor[];
    ref.train.compile({ optimizer: optimizer(), loss: 'mse' });
    const fromStates = await ref.train.evaluate([x2, ...statesAfterChunk1], y2);
    expect(Math.abs(continued.loss - fromStates.loss)).toBeLessThan(1e-6);
    model.resetStates();
    const fresh = await model.evaluate(x2, y2);
    expect(Math.abs(fresh.loss - continued.loss)).toBeGreaterThan(1e-4);
    // testOnBatch does what evaluate does on one batch: same loss, same states after it.
    model.setStates(afterFirst);
    expect(Math.abs((await model.testOnBatch(x2, y2)).loss - continued.loss)).toBeLessThan(1e-6);
    const afterTest = model.getStates();
    model.setStates(afterFirst);
    await model.predict(x2);
    expect(maxDiff(flat(model.getStates().map((s) => rk.tensor(s, [s.length]))), flat(afterTest.map((s) => rk.tensor(s, [s.length]))))).toBeLessThan(1e-6);
  });

  it('predict after fit continues from the states fit left (Keras); fit validation leaves them alone', async () => {
    rk.setSeed(23);
    const model = statefulModel('gruAfter');
    model.compile({ optimizer: optimizer(), loss: 'mse' });
    const data = sequences(7);
    const x = rk.tensor(data.x.slice(0, 2).flat());
    const y = rk.tensor(data.y.slice(0, 2).flat());
    await model.fit(x, y, { verbose: 0 });
    const fitStates = model.getStates();
    expect(fitStates[0].some((v) => v !== 0)).toBe(true);
    const next = rk.tensor(data.x[2]);
    const continued = (await model.predict(next)) as rk.Tensor;
    model.setStates(fitStates);
    const again = (await model.predict(next)) as rk.Tensor;
    expect(maxDiff(continued.data, again.data)).toBeLessThan(1e-6);
    model.resetStates();
    const fresh = (await model.predict(next)) as rk.Tensor;
    expect(maxDiff(fresh.data, continued.data)).toBeGreaterThan(1e-4);

    // Validation evaluates from the training states but does not move them: the states after a fit with
    // validationData equal those of the same fit without it (same weights, same data).
    const twin = statefulModel('gruAfter');
    twin.setWeights(model.getWeights());
    model.resetStates();
    twin.compile({ optimizer: optimizer(), loss: 'mse' });
    model.compile({ optimizer: optimizer(), loss: 'mse' });
    const history = await model.fit(x, y, { verbose: 0, validationData: [rk.tensor(data.x[3]), rk.tensor(data.y[3])] });
    await twin.fit(x, y, { verbose: 0 });
    expect(history.history.val_loss).toHaveLength(1);
    expect(maxDiff(model.getStates()[0], twin.getStates()[0])).toBeLessThan(1e-6);
    expect(maxDiff(flat(model.getWeights()), flat(twin.getWeights()))).toBeLessThan(1e-6);
  });

  it('a callback resetting the states at every epoch begin trains as separate fits with resetStates between', async () => {
    rk.setSeed(26);
    const a = statefulModel('lstm');
    const b = statefulModel('lstm');
    const c = statefulModel('lstm');
    b.setWeights(a.getWeights());
    c.setWeights(a.getWeights());
    for (const m of [a, b, c]) m.compile({ optimizer: optimizer(), loss: 'mse' });
    const data = sequences(10);
    const x = rk.tensor(data.x.slice(0, 2).flat());
    const y = rk.tensor(data.y.slice(0, 2).flat());
    let model: rk.CallbackModel | undefined;
    const reset: rk.Callback = {
      setModel: (m: rk.CallbackModel) => { model = m; },
      onEpochBegin: () => { model!.resetStates!(); },
    } as rk.Callback;
    await a.fit(x, y, { epochs: 2, verbose: 0, callbacks: [reset] });
    await b.fit(x, y, { epochs: 1, verbose: 0 });
    b.resetStates();
    await b.fit(x, y, { epochs: 1, verbose: 0 });
    expect(maxDiff(flat(a.getWeights()), flat(b.getWeights()))).toBeLessThan(1e-6);
    // Without the reset the second epoch starts from the first epoch's final states: other weights.
    await c.fit(x, y, { epochs: 2, verbose: 0 });
    expect(maxDiff(flat(c.getWeights()), flat(b.getWeights()))).toBeGreaterThan(1e-5);
  });

  it('after stateful fit the weights are in save(), getWeights and a non-stateful model of the same layers', async () => {
    rk.setSeed(24);
    const model = statefulModel('lstm');
    model.compile({ optimizer: optimizer(), loss: 'mse' });
    const before = flat(model.getWeights());
    const data = sequences(8);
    await model.fit(rk.tensor(data.x.flat()), rk.tensor(data.y.flat()), { verbose: 0 });
    const after = model.getWeights();
    expect(maxDiff(flat(after), before)).toBeGreaterThan(1e-3);
    // Another model applying the same layers reads the trained weights (and, being made of stateful layers, shares
    // their kept states, as in Keras).
    const input = rk.input({ shape: [CHUNK, F] });
    const shared = rk.model({ inputs: input, outputs: model.layers.reduce((t, layer) => layer.apply(t) as rk.SymbolicTensor, input) });
    expect(maxDiff(flat(shared.getWeights()), flat(after))).toBe(0);
    // A non-stateful copy given the weights predicts what the stateful model predicts from zero states.
    const copy = rk.sequential({ layers: [rk.layers.lstm({ units: U, inputShape: [CHUNK, F] }), rk.layers.dense({ units: 1 })] });
    copy.setWeights(after);
    model.resetStates();
    const x = rk.tensor(data.x[0]);
    expect(maxDiff(((await model.predict(x)) as rk.Tensor).data, ((await copy.predict(x)) as rk.Tensor).data)).toBeLessThan(1e-6);
    // save() writes the trained weights.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rk-stateful-fit-')), 'm.rnnkit');
    await model.save(file, { includeOptimizer: true });
    const loaded = await rk.loadModel(file);
    expect(loaded.isStateful).toBe(true);
    expect(maxDiff(flat(loaded.getWeights()), flat(after))).toBe(0);
  });

  it('errors name expected and received, and change neither weights nor kept states', async () => {
    rk.setSeed(25);
    const model = statefulModel('lstm');
    model.compile({ optimizer: optimizer(), loss: 'mse' });
    const data = sequences(9);
    await model.predict(rk.tensor(data.x[0]));
    const weights = flat(model.getWeights());
    const states = model.getStates();
    const three = rk.tensor([...data.x[0], data.x[1][0]]);
    const threeY = rk.tensor([...data.y[0], data.y[1][0]]);
    const x = rk.tensor(data.x.slice(0, 2).flat());
    const y = rk.tensor(data.y.slice(0, 2).flat());
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [() => model.fit(three, threeY, { verbose: 0 }), 'SHAPE', /multiple of 2 samples.*received 3/],
      [() => model.evaluate(three, threeY), 'SHAPE', /multiple of 2 samples.*received 3/],
      [() => model.predict(three), 'SHAPE', /multiple of 2 samples.*received 3/],
      [() => model.fit(x, y, { shuffle: true, verbose: 0 }), 'ARGUMENT', /shuffle false.*received true/],
      [() => model.fit(x, y, { batchSize: 4, verbose: 0 }), 'ARGUMENT', /batchSize 2.*received 4/],
      [() => model.evaluate(x, y, { batchSize: 1 }), 'ARGUMENT', /batchSize 2.*received 1/],
      [() => model.fit(x, y, { validationSplit: 0.2, verbose: 0 }), 'SHAPE', /multiple of 2 samples.*for fit but received 3/],
      [() => model.fit(x, y, { validationData: [three, threeY], verbose: 0 }), 'SHAPE', /validationData.*received 3/],
      [() => model.trainOnBatch(x, y), 'SHAPE', /exactly 2 samples.*received 4/],
      [() => model.testOnBatch(x, y), 'SHAPE', /exactly 2 samples.*received 4/],
      [() => model.predictOnBatch(x), 'SHAPE', /exactly 2 samples.*received 4/],
    ];
    for (const [call, code, message] of cases) {
      await expect(call()).rejects.toMatchObject({ name: 'RnnError', code, message: expect.stringMatching(message) });
    }
    expect(flat(model.getWeights())).toEqual(weights);
    expect(model.getStates()).toEqual(states);
  });
});
