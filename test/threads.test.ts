// Threads: the default, the setting's validation, and what a batch split over threads computes. A batch of at
// least 16 samples is cut into shards that the calling thread and a sleeping worker pool take from a shared
// counter; the cut depends only on the batch size and the thread count, so results must not depend on scheduling.
import * as os from 'os';
import * as rk from '../lib';

const STEPS = 7;

function data(samples: number, seed: number, padFrom?: number): { x: rk.Tensor; y: rk.Tensor } {
  const rng = new rk.Random(seed);
  const x = new Float32Array(samples * STEPS * 3);
  const y = new Float32Array(samples * 2);
  for (let i = 0; i < samples; i++) {
    // With padFrom, sample i keeps STEPS - (i % 4) steps and is post-padded with zeros (masked).
    const length = padFrom === undefined ? STEPS : STEPS - (i % 4);
    for (let t = 0; t < length; t++) for (let f = 0; f < 3; f++) x[(i * STEPS + t) * 3 + f] = rng.uniform() * 2 - 1;
    y[i * 2 + (rng.uniform() < 0.5 ? 0 : 1)] = 1;
  }
  return { x: rk.tensor(x, [samples, STEPS, 3]), y: rk.tensor(y, [samples, 2]) };
}

function model(seed: number, masked = false): rk.Sequential {
  rk.setSeed(seed);
  const m = rk.sequential();
  if (masked) m.add(rk.layers.masking({ maskValue: 0, inputShape: [STEPS, 3] }));
  m.add(rk.layers.lstm({ units: 9, returnSequences: true, ...(masked ? {} : { inputShape: [STEPS, 3] }) }));
  m.add(rk.layers.gru({ units: 6 }));
  m.add(rk.layers.dense({ units: 2, activation: 'softmax' }));
  m.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
  return m;
}

async function gradientsWith(threads: number, masked: boolean): Promise<{ loss: number; gradients: Float32Array[] }> {
  rk.setThreads(threads);
  const batch = data(64, 5, masked ? 1 : undefined);
  const result = await model(3, masked).computeGradients(batch.x, batch.y);
  return { loss: result.loss, gradients: result.gradients.map((g) => Float32Array.from(g.data)) };
}

async function trainedWith(threads: number): Promise<Float32Array[]> {
  rk.setThreads(threads);
  const m = model(4);
  const batch = data(96, 6);
  await m.fit(batch.x, batch.y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
  return m.getWeights().map((w) => Float32Array.from(w.data));
}

const initialThreads = rk.getThreads();
afterEach(() => rk.setThreads(initialThreads));

describe('thread setting', () => {
  it('defaults to two threads on a machine with two or more cores, else one', () => {
    if (process.env.RNNKIT_THREADS) return;  // the environment overrides the default
    expect(initialThreads).toBe(Math.min(2, os.cpus().length));
  });

  it('rejects a count that is not an integer in [1, 256], naming what it received', () => {
    expect(() => rk.setThreads(0)).toThrow(/threads.*0/);
    expect(() => rk.setThreads(1.5)).toThrow(/threads.*1\.5/);
    expect(rk.getThreads()).toBe(initialThreads);
  });
});

describe('a batch split over threads', () => {
  it.each([false, true])('gives the one-thread gradients up to float rounding (masked: %s)', async (masked) => {
    const one = await gradientsWith(1, masked);
    const two = await gradientsWith(2, masked);
    expect(two.loss).toBeCloseTo(one.loss, 6);
    two.gradients.forEach((g, i) => {
      const scale = Math.max(...Array.from(one.gradients[i], Math.abs));
      g.forEach((v, k) => expect(Math.abs(v - one.gradients[i][k])).toBeLessThanOrEqual(1e-5 * scale + 1e-7));
    });
  });

  it.each([false, true])('is bit-identical from run to run (masked: %s)', async (masked) => {
    const a = await gradientsWith(2, masked);
    const b = await gradientsWith(2, masked);
    expect(b.loss).toBe(a.loss);
    b.gradients.forEach((g, i) => expect(Buffer.from(g.buffer).equals(Buffer.from(a.gradients[i].buffer))).toBe(true));
  });

  it('trains two models at once to exactly the weights they reach one after the other', async () => {
    const alone = await trainedWith(2);
    rk.setThreads(2);
    const [first, second] = await Promise.all([0, 1].map(async () => {
      const m = model(4);
      const batch = data(96, 6);
      await m.fit(batch.x, batch.y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
      return m.getWeights().map((w) => Float32Array.from(w.data));
    }));
    for (const weights of [first, second]) {
      weights.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(alone[i].buffer))).toBe(true));
    }
  });
});
