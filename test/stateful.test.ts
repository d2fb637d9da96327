/**
 * Keras stateful recurrent layers: fed one step per predict call they give exactly the whole-sequence predict of
 * the same layers without state (every cell, both GRU forms); resetStates starts over; resetStates(states)
 * resumes from given states; bidirectional keeps both directions' states; the fixed batch size and shuffled
 * stateful training are typed errors (stateful training itself: test/stateful-training.test.ts); the options
 * survive getConfig and an rnnkit file round trip.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as rk from '../lib';

const B = 3;
const T = 5;
const F = 2;

function cell(kind: string, args: Record<string, unknown>): rk.RecurrentLayer {
  const base = { units: 4, ...args };
  if (kind === 'simpleRNN') return rk.layers.simpleRNN(base);
  if (kind === 'lstm') return rk.layers.lstm(base);
  return rk.layers.gru({ ...base, resetAfter: kind === 'gruAfter' });
}

function data(seed: number): number[][][] {
  const rng = new rk.Random(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: F }, () => rng.uniformRange(-1, 1))));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 2e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tol);
}

describe('stateful recurrent layers', () => {
  it.each(['simpleRNN', 'lstm', 'gruAfter', 'gruBefore'])('%s fed one step per call equals the whole-sequence predict', async (kind) => {
    rk.setSeed(3);
    const whole = rk.sequential({ layers: [cell(kind, { returnSequences: true, inputShape: [T, F] }), rk.layers.dense({ units: 2 })] });
    const stateful = rk.sequential({ layers: [cell(kind, { returnSequences: true, stateful: true, batchInputShape: [B, 1, F] }), rk.layers.dense({ units: 2 })] });
    stateful.setWeights(whole.getWeights());
    expect(stateful.isStateful).toBe(true);
    const x = data(1);
    const expected = (await whole.predict(rk.tensor(x))) as rk.Tensor; // [B, T, 2]
    const run = async () => {
      const got = new Float32Array(B * T * 2);
      for (let t = 0; t < T; t++) {
        const out = (await stateful.predict(rk.tensor(x.map((seq) => [seq[t]])))) as rk.Tensor; // [B, 1, 2]
        for (let b = 0; b < B; b++) got.set(out.data.subarray(b * 2, b * 2 + 2), (b * T + t) * 2);
      }
      return got;
    };
    expectClose(await run(), expected.data);
    // Without a reset the next pass continues from the kept state: different outputs.
    const continued = await run();
    expect(Math.max(...continued.map((v, i) => Math.abs(v - expected.data[i])))).toBeGreaterThan(1e-4);
    stateful.resetStates();
    expectClose(await run(), expected.data);
  });

  it('resetStates(states) resumes from given states; several batches in one predict continue each row', async () => {
    rk.setSeed(4);
    const layer = rk.layers.lstm({ units: 4, stateful: true, batchInputShape: [B, 2, F] });
    const model = rk.sequential({ layers: [layer] });
    const x = data(2).map((seq) => seq.slice(0, 4));
    const first = rk.tensor(x.map((s) => s.slice(0, 2)));
    const second = rk.tensor(x.map((s) => s.slice(2, 4)));
    await model.predict(first);
    const kept = layer.getStates()!;
    expect(kept.map((s) => s.length)).toEqual([B * 4, B * 4]);
    const afterSecond = (await model.predict(second)) as rk.Tensor;
    layer.resetStates(kept);
    expectClose(((await model.predict(second)) as rk.Tensor).data, afterSecond.data);
    // Two batches of B samples in one call: the second batch continues the first, row by row.
    model.resetStates();
    const both = (await model.predict(rk.tensor([...x.map((s) => s.slice(0, 2)), ...x.map((s) => s.slice(2, 4))]))) as rk.Tensor;
    expectClose(both.data.subarray(B * 4), afterSecond.data);
  });

  it('bidirectional keeps the states of both directions (Keras allows stateful bidirectional)', async () => {
    rk.setSeed(5);
    const bi = rk.layers.bidirectional({ layer: rk.layers.gru({ units: 3, stateful: true, batchInputShape: [B, 2, F] }) });
    const model = rk.sequential({ layers: [bi] });
    const x = data(3).map((s) => s.slice(0, 2));
    const a = (await model.predict(rk.tensor(x))) as rk.Tensor;
    expect(bi.getStates()!.length).toBe(2);
    const b = (await model.predict(rk.tensor(x))) as rk.Tensor;
    expect(Math.max(...b.data.map((v, i) => Math.abs(v - a.data[i])))).toBeGreaterThan(1e-4);
    model.resetStates();
    expectClose(((await model.predict(rk.tensor(x))) as rk.Tensor).data, a.data);
  });

  it('errors: another batch size, no batchInputShape, shuffled training, resetStates on a stateless layer', async () => {
    const model = rk.sequential({ layers: [rk.layers.simpleRNN({ units: 2, stateful: true, batchInputShape: [B, 2, F] })] });
    const layer = model.layers[0] as rk.RecurrentLayer;
    await expect(model.predict(rk.tensor(data(1).slice(0, 2).map((s) => s.slice(0, 2))))).rejects.toMatchObject({ code: 'SHAPE' });
    expect(layer.getStates()).toBeUndefined();
    await expect(model.predict(rk.tensor(data(1).map((s) => s.slice(0, 2))), { batchSize: 2 })).rejects.toMatchObject({ code: 'ARGUMENT' });
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    await expect(model.fit(rk.tensor(data(1).map((s) => s.slice(0, 2))), rk.tensor([[0, 0], [0, 0], [0, 0]]), { shuffle: true, verbose: 0 })).rejects.toMatchObject({ code: 'ARGUMENT' });
    expect(() => layer.resetStates([new Float32Array(5)])).toThrow(expect.objectContaining({ code: 'SHAPE' }));
    expect(() => rk.layers.lstm({ units: 2 }).resetStates()).toThrow(expect.objectContaining({ code: 'STATE' }));
    expect(() => rk.layers.lstm({ units: 2, stateful: 1 as never })).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.layers.lstm({ units: 2, batchInputShape: [0, 2, 2] })).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.layers.lstm({ units: 2, batchInputShape: [2, 2, 2], inputShape: [2, 2] })).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    // Keras refuses a stateful layer without a fixed batch size when the model is built; so do we.
    expect(() => rk.sequential({ layers: [rk.layers.lstm({ units: 2, stateful: true, inputShape: [2, F] })] }))
      .toThrow(expect.objectContaining({ code: 'ARGUMENT', message: expect.stringMatching(/batch size must be fixed/) }));
  });

  it('keeps stateful and batchInputShape through getConfig and an rnnkit file', async () => {
    rk.setSeed(6);
    const model = rk.sequential({ layers: [rk.layers.lstm({ units: 3, stateful: true, batchInputShape: [B, 2, F] })] });
    expect(model.layers[0].getConfig()).toMatchObject({ stateful: true, batchInputShape: [B, 2, F] });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rk-stateful-')), 'm.rnnkit');
    await model.save(file);
    const loaded = await rk.loadModel(file);
    expect(loaded.isStateful).toBe(true);
    const x = rk.tensor(data(7).map((s) => s.slice(0, 2)));
    expectClose(((await loaded.predict(x)) as rk.Tensor).data, ((await model.predict(x)) as rk.Tensor).data);
  });

  it('round-trips the tfjs format: stateful: true and the batch size in batch_input_shape', async () => {
    rk.setSeed(8);
    const model = rk.sequential({ layers: [rk.layers.lstm({ units: 3, stateful: true, batchInputShape: [B, 2, F] }), rk.layers.dense({ units: 1 })] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rk-stateful-tfjs-'));
    await model.save(dir, { format: 'tfjs' });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const first = json.modelTopology.config.layers.find((l: { class_name: string }) => l.class_name === 'LSTM').config;
    expect(first.stateful).toBe(true);
    expect(first.batch_input_shape).toEqual([B, 2, F]);
    const loaded = await rk.loadModel(dir);
    expect(loaded.isStateful).toBe(true);
    const x = rk.tensor(data(9).map((s) => s.slice(0, 2)));
    const a1 = (await model.predict(x)) as rk.Tensor;
    const b1 = (await loaded.predict(x)) as rk.Tensor;
    expectClose(b1.data, a1.data);
    // Both keep state: the second call differs from the first and still agrees between them.
    const a2 = (await model.predict(x)) as rk.Tensor;
    const b2 = (await loaded.predict(x)) as rk.Tensor;
    expectClose(b2.data, a2.data);
    expect(Math.max(...a2.data.map((v, i) => Math.abs(v - a1.data[i])))).toBeGreaterThan(1e-5);
  });

  it('model.getStates / setStates move the per-sample state of every stateful layer to another model exactly', async () => {
    rk.setSeed(10);
    const make = () => rk.sequential({ layers: [
      rk.layers.gru({ units: 3, stateful: true, returnSequences: true, batchInputShape: [B, 2, F] }),
      rk.layers.lstm({ units: 2, stateful: true }),
    ] });
    const a = make();
    const b = make();
    b.setWeights(a.getWeights());
    expect(a.getStates().map((s) => s.length)).toEqual([B * 3, B * 2, B * 2]);
    expect(a.getStates().every((s) => s.every((v) => v === 0))).toBe(true);
    const x1 = rk.tensor(data(11).map((s) => s.slice(0, 2)));
    const x2 = rk.tensor(data(12).map((s) => s.slice(0, 2)));
    await a.predict(x1);
    b.setStates(a.getStates());
    expectClose(((await b.predict(x2)) as rk.Tensor).data, ((await a.predict(x2)) as rk.Tensor).data);
    expect(() => b.setStates([new Float32Array(B * 3)])).toThrow(expect.objectContaining({ code: 'SHAPE' }));
    expect(() => b.setStates([new Float32Array(B * 3), new Float32Array(1), new Float32Array(B * 2)])).toThrow(expect.objectContaining({ code: 'SHAPE' }));
    const stateless = rk.sequential({ layers: [rk.layers.lstm({ units: 2, inputShape: [2, F] })] });
    expect(() => stateless.getStates()).toThrow(expect.objectContaining({ code: 'STATE' }));
  });
});
