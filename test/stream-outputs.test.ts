/**
 * The stream pool's per-step outputs (made without re-checking shapes the pool has already checked once per batch)
 * and idle eviction with queued steps: every output of a batch is its own Tensor with its own buffer and a frozen
 * shape, for one and for several model outputs; a stream is never evicted while a step waits, and its idle time
 * counts from when its last step ended.
 */
import * as rk from '../lib';

const F = 3;

function rows(count: number, seed: number): number[][] {
  const rng = new rk.Random(seed);
  return Array.from({ length: count }, () => Array.from({ length: F }, () => rng.uniformRange(-1, 1)));
}

async function predictOne(model: rk.Model, step: number[]): Promise<rk.Tensor[]> {
  const out = await model.predict(rk.tensor([[step]]));
  return Array.isArray(out) ? out : [out];
}

describe('stream pool outputs', () => {
  it('gives every step of a batch its own tensor, buffer and frozen shape, for one and two model outputs', async () => {
    rk.setSeed(11);
    const input = rk.input({ shape: [null, F] });
    const seq = rk.layers.lstm({ units: 4, returnSequences: true }).apply(input) as rk.SymbolicTensor;
    const last = rk.layers.lstm({ units: 3 }).apply(seq) as rk.SymbolicTensor;
    const head = rk.layers.dense({ units: 2 }).apply(last) as rk.SymbolicTensor;
    const two = rk.model({ inputs: input, outputs: [head, seq] });
    const one = rk.model({ inputs: input, outputs: head });
    one.setWeights(two.getWeights());
    const steps = rows(5, 3);
    for (const model of [one, two]) {
      const pool = rk.streams(model);
      const outs = await Promise.all(steps.map((x, s) => pool.step(`s${s}`, x)));
      expect(pool.stats()).toMatchObject({ calls: 5, batches: 1 });
      const buffers = new Set<ArrayBufferLike>();
      for (let s = 0; s < steps.length; s++) {
        const got = Array.isArray(outs[s]) ? (outs[s] as rk.Tensor[]) : [outs[s] as rk.Tensor];
        const want = await predictOne(model, steps[s]);
        expect(got.length).toBe(want.length);
        got.forEach((t, k) => {
          expect(t).toBeInstanceOf(rk.Tensor);
          expect(t.shape).toEqual(want[k].shape.slice(1));
          expect(Object.isFrozen(t.shape)).toBe(true);
          expect(t.data.buffer.byteLength).toBe(t.data.byteLength);  // a copy of its rows, not a view of the batch
          buffers.add(t.data.buffer);
          for (let i = 0; i < t.size; i++) expect(Math.abs(t.data[i] - want[k].data[i])).toBeLessThan(2e-5);
          expect(t.reshape([t.size]).shape).toEqual([t.size]);
        });
      }
      expect(buffers.size).toBe(steps.length * (model === two ? 2 : 1));
      // Writing to one step's output changes no other.
      const first = (Array.isArray(outs[0]) ? outs[0][0] : outs[0]) as rk.Tensor;
      const second = (Array.isArray(outs[1]) ? outs[1][0] : outs[1]) as rk.Tensor;
      const before = Array.from(second.data);
      first.data.fill(42);
      expect(Array.from(second.data)).toEqual(before);
      await pool.close();
    }
  });

  it('never evicts a stream while its step waits, and counts idle time from when the step ended', async () => {
    rk.setSeed(5);
    const model = rk.sequential({ layers: [rk.layers.simpleRNN({ units: 3, inputShape: [null, F] })] });
    // A step waits 300 ms for its batch, longer than idleMs; the eviction check runs every 100 ms meanwhile.
    const pool = rk.streams(model, { idleMs: 200, maxDelayMs: 300 });
    const [x0, x1] = rows(2, 9);
    await pool.step('a', x0);
    // Idle time counts from the end of the step: 120 ms later (an eviction check has run) the stream is still there.
    await new Promise((r) => setTimeout(r, 120));
    expect(pool.stats().streams).toBe(1);
    await pool.step('a', x1);
    await new Promise((r) => setTimeout(r, 500));
    expect(pool.stats().streams).toBe(0);
    await pool.close();
  });
});
