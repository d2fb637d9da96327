import * as rk from '../lib';
import { Tensor } from '../lib/tensor';
import { foldRows } from '../lib/transfer/cross_validate';

/** 20 sequences [3 steps, 1 feature]; y = the sum of the steps (a regression a tiny SimpleRNN can fit). */
function makeData(): { x: Tensor; y: Tensor } {
  const random = new rk.Random(5);
  const x = new Float32Array(20 * 3).map(() => random.uniformRange(-1, 1));
  const y = new Float32Array(20).map((_, i) => x[i * 3] + x[i * 3 + 1] + x[i * 3 + 2]);
  return { x: new Tensor(x, [20, 3, 1]), y: new Tensor(y, [20, 1]) };
}

function builder(units: number, compiled = true): () => rk.Sequential {
  return () => {
    const model = rk.sequential();
    model.add(rk.layers.simpleRNN({ units, inputShape: [3, 1] }));
    model.add(rk.layers.dense({ units: 1 }));
    if (compiled) model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.02 }), loss: 'mse', metrics: ['mae'] });
    return model;
  };
}

describe('foldRows', () => {
  test.each([[10, 5, [2, 2, 2, 2, 2]], [11, 3, [3, 4, 4]], [7, 7, [1, 1, 1, 1, 1, 1, 1]]])(
    '%i samples in %i folds: sizes %j, every row held out exactly once', (samples, folds, sizes) => {
      const rows = foldRows(samples, folds, new rk.Random(1));
      expect(rows.map((f) => f.length)).toEqual(sizes);
      expect(rows.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: samples }, (_, i) => i));
    });

  test('the assignment depends on the seed only', () => {
    expect(foldRows(12, 3, new rk.Random(4))).toEqual(foldRows(12, 3, new rk.Random(4)));
    expect(foldRows(12, 3, new rk.Random(4))).not.toEqual(foldRows(12, 3, new rk.Random(5)));
  });
});

describe('crossValidate', () => {
  test('one builder: per-fold held-out metrics, their mean and sample standard deviation', async () => {
    const { x, y } = makeData();
    const seen: number[] = [];
    const counter: rk.Callback = { setParams: (p) => { seen.push(p.samples); } };
    rk.setSeed(1);
    const result = await rk.crossValidate(builder(3), x, y, { folds: 4, seed: 2, verbose: 0, fitOptions: { epochs: 3, batchSize: 5, callbacks: [counter] } });
    // Every fold trains on 15 of the 20 samples.
    expect(seen).toEqual([15, 15, 15, 15]);
    expect(result.folds).toHaveLength(4);
    const losses = result.folds.map((f) => f.loss);
    const mean = losses.reduce((a, b) => a + b, 0) / 4;
    const std = Math.sqrt(losses.reduce((a, v) => a + (v - mean) ** 2, 0) / 3);
    expect(result.mean.loss).toBeCloseTo(mean, 12);
    expect(result.std.loss).toBeCloseTo(std, 12);
    expect(Object.keys(result.mean)).toEqual(['loss', 'mae']);
    expect(result.std.loss).toBeGreaterThan(0);
  });

  test('candidates: the best has the lowest mean of the monitored metric', async () => {
    const { x, y } = makeData();
    rk.setSeed(2);
    const result = await rk.crossValidate({ tiny: builder(1), wider: builder(6) }, x, y, {
      folds: 3, seed: 3, verbose: 0, fitOptions: { epochs: 30, batchSize: 5 },
    });
    expect(Object.keys(result.candidates)).toEqual(['tiny', 'wider']);
    const [tiny, wider] = [result.candidates.tiny.mean.loss, result.candidates.wider.mean.loss];
    expect(result.best).toBe(tiny < wider ? 'tiny' : 'wider');
    expect(result.monitor).toBe('loss');
    // With monitor 'mae' the choice follows the mean absolute error instead.
    rk.setSeed(2);
    const byMae = await rk.crossValidate({ tiny: builder(1), wider: builder(6) }, x, y, {
      folds: 3, seed: 3, verbose: 0, monitor: 'mae', fitOptions: { epochs: 30, batchSize: 5 },
    });
    const maes = byMae.candidates;
    expect(byMae.best).toBe(maes.tiny.mean.mae < maes.wider.mean.mae ? 'tiny' : 'wider');
  });

  test('compile settings apply to every fold (one optimizer object, cloned per fold)', async () => {
    const { x, y } = makeData();
    const optimizer = rk.optimizers.adam({ learningRate: 0.01 });
    const result = await rk.crossValidate(builder(2, false), x, y, {
      folds: 2, seed: 1, verbose: 0, compile: { optimizer, loss: 'mse' }, fitOptions: { epochs: 1 },
    });
    expect(result.folds.map((f) => Object.keys(f))).toEqual([['loss'], ['loss']]);
  });

  test('invalid calls are ARGUMENT errors', async () => {
    const { x, y } = makeData();
    const cases: Array<[unknown, object, string]> = [
      [builder(1), { folds: 1 }, 'folds'],
      [builder(1), { fitOptions: { validationSplit: 0.2 } }, 'without validationSplit'],
      [builder(1, false), {}, 'not compiled'],
      [{ a: builder(1), b: builder(2) }, { folds: 2, monitor: 'accuracy', fitOptions: { epochs: 1 } }, "monitor but received \"accuracy\""],
      [{}, {}, 'crossValidate candidates'],
      [builder(1), { fold: 3 }, "Unknown option 'fold'"],
    ];
    for (const [build, options, fragment] of cases) {
      await expect(rk.crossValidate(build as never, x, y, { verbose: 0, ...options })).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining(fragment) });
    }
  });
});
