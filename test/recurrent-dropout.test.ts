// recurrentDropout through the public API: options and config, training-only masks drawn from the step's seed,
// inference untouched, a model that still learns, and the tfjs layer config both ways.
// The gradient math is checked in float64 by native/tests/recurrent_dropout_test.cc.
import * as rk from '../lib';
import { fromTfjsLayer, toTfjsLayer } from '../lib/io/tfjs_config';

const CELLS = ['simpleRNN', 'lstm', 'gru'] as const;
type Cell = (typeof CELLS)[number];
const STEPS = 6;

/** Sequences of +-1 steps plus a distractor; label: whether the running sum ends positive. */
function sumSignTask(samples: number, seed: number): { x: rk.Tensor; y: rk.Tensor } {
  const rng = new rk.Random(seed);
  const x = new Float32Array(samples * STEPS * 2);
  const y = new Float32Array(samples * 2);
  for (let i = 0; i < samples; i++) {
    let sum = 0;
    for (let t = 0; t < STEPS; t++) {
      const v = rng.uniform() < 0.5 ? -1 : 1;
      sum += v;
      x[(i * STEPS + t) * 2] = v;
      x[(i * STEPS + t) * 2 + 1] = rng.uniform();
    }
    y[i * 2 + (sum >= 0 ? 1 : 0)] = 1;
  }
  return { x: rk.tensor(x, [samples, STEPS, 2]), y: rk.tensor(y, [samples, 2]) };
}

function model(cell: Cell, recurrentDropout: number, units = 8): rk.Sequential {
  const m = rk.sequential();
  m.add(rk.layers[cell]({ units, inputShape: [STEPS, 2], recurrentDropout, returnSequences: true }));
  m.add(rk.layers.lstm({ units: 4, recurrentDropout }));
  m.add(rk.layers.dense({ units: 2, activation: 'softmax' }));
  m.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.02 }), loss: 'categoricalCrossentropy' });
  return m;
}

const batch = sumSignTask(16, 1);

describe('recurrentDropout options', () => {
  it.each(CELLS)('%s accepts a rate in [0, 1) and returns it from getConfig', (cell) => {
    expect(rk.layers[cell]({ units: 3, recurrentDropout: 0.25 }).getConfig().recurrentDropout).toBe(0.25);
    expect(rk.layers[cell]({ units: 3 }).getConfig().recurrentDropout).toBe(0);
  });

  it.each([1, -0.1, Number.NaN, '0.2'])('rejects %p with an ARGUMENT error naming the option', (rate) => {
    expect(() => rk.layers.gru({ units: 3, recurrentDropout: rate as number })).toThrow(
      expect.objectContaining({ code: 'ARGUMENT', message: expect.stringContaining('recurrentDropout') }),
    );
  });

  it('maps to and from the tfjs layer config as recurrent_dropout', () => {
    const layer = rk.layers.lstm({ units: 3, recurrentDropout: 0.4, name: 'rd' });
    const tfjs = toTfjsLayer({ className: layer.className, config: layer.getConfig() });
    expect((tfjs.config as Record<string, unknown>).recurrent_dropout).toBe(0.4);
    expect(fromTfjsLayer(tfjs, 'layer 0', 'model.json').config.recurrentDropout).toBe(0.4);
  });
});

describe('recurrentDropout masks only training', () => {
  it.each(CELLS)('%s: training losses depend on the seed, predict does not depend on the rate', async (cell) => {
    rk.setSeed(11);
    const dropping = model(cell, 0.5);
    const plain = model(cell, 0);
    plain.setWeights(dropping.getWeights());

    const first = await dropping.computeGradients(batch.x, batch.y, { seed: 1 });
    const again = await dropping.computeGradients(batch.x, batch.y, { seed: 1 });
    const other = await dropping.computeGradients(batch.x, batch.y, { seed: 2 });
    const undropped = await plain.computeGradients(batch.x, batch.y, { seed: 1 });
    expect(again.loss).toBe(first.loss);  // the mask comes from the seed: repeatable
    expect(other.loss).not.toBe(first.loss);
    expect(undropped.loss).not.toBe(first.loss);
    expect(Array.from(other.gradients[1].data)).not.toEqual(Array.from(first.gradients[1].data));

    const predicted = Array.from((await dropping.predict(batch.x)).data);
    expect(Array.from((await dropping.predict(batch.x)).data)).toEqual(predicted);
    expect(Array.from((await plain.predict(batch.x)).data)).toEqual(predicted);
  });
});

describe('a model with recurrentDropout still learns', () => {
  it.each(['lstm', 'gru'] as const)('%s: the training loss falls by more than a third', async (cell) => {
    rk.setSeed(5);
    const m = model(cell, 0.2, 10);
    const data = sumSignTask(256, 3);
    const history = await m.fit(data.x, data.y, { epochs: 12, batchSize: 32, verbose: 0, seed: 9 });
    const losses = history.history.loss;
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.66);
  });
});
