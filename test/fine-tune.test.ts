import * as rk from '../lib';
import { Tensor } from '../lib/tensor';

/** 40 sequences [4 steps, 2 features]; class 1 when the first feature sums to more than 0. */
function makeData(): { x: Tensor; y: Tensor } {
  const random = new rk.Random(3);
  const x = new Float32Array(40 * 8).map(() => random.uniformRange(-1, 1));
  const y = new Float32Array(40).map((_, i) => (x[i * 8] + x[i * 8 + 2] + x[i * 8 + 4] + x[i * 8 + 6] > 0 ? 1 : 0));
  return { x: new Tensor(x, [40, 4, 2]), y: new Tensor(y, [40]) };
}

function makeModel(): rk.Sequential {
  rk.setSeed(11);
  const model = rk.sequential();
  model.add(rk.layers.lstm({ name: 'lstm', units: 4, inputShape: [4, 2] }));
  model.add(rk.layers.dense({ name: 'head', units: 2, activation: 'softmax' }));
  return model;
}

function bytesOf(weights: Tensor[]): number[][] {
  return weights.map((w) => Array.from(new Uint8Array(w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + w.data.byteLength))));
}

/** Records the weights at the start and end of every fit a stage runs. */
function weightRecorder(): { callback: rk.Callback; begins: Tensor[][]; ends: Tensor[][] } {
  const begins: Tensor[][] = [];
  const ends: Tensor[][] = [];
  let model: rk.CallbackModel | undefined;
  const copy = () => model!.getWeights().map((w) => new Tensor(w.data.slice(), w.shape));
  return {
    begins, ends,
    callback: { setModel: (m) => { model = m; }, onTrainBegin: () => { begins.push(copy()); }, onTrainEnd: () => { ends.push(copy()); } },
  };
}

const COMPILE = { optimizer: 'adam' as const, loss: 'sparseCategoricalCrossentropy' as const, metrics: ['accuracy'] };

describe('fineTune', () => {
  test('explicit stages: a head-only stage leaves the other weights bit-identical, then every layer trains', async () => {
    const { x, y } = makeData();
    const model = makeModel();
    const recorder = weightRecorder();
    const result = await rk.fineTune(model, x, y, {
      ...COMPILE, batchSize: 8, verbose: 0, seed: 1, callbacks: [recorder.callback],
      stages: [{ epochs: 1, freeze: true, learningRate: 0.003 }, { epochs: 9, freeze: false }],
    });
    expect(result.strategy).toBe('stages');
    expect(result.stages.map((s) => s.trainable)).toEqual([['head'], ['lstm', 'head']]);
    expect(result.stages.map((s) => [s.stage.epochs, s.learningRate])).toEqual([[1, 0.003], [9, 0.001]]);
    expect(result.stages.map((s) => s.history.epoch.length)).toEqual([1, 9]);
    const [before, afterHead, afterAll] = [recorder.begins[0], recorder.ends[0], recorder.ends[1]];
    // lstm kernel, recurrent kernel and bias: bit-identical after the frozen stage, changed by the second.
    expect(bytesOf(afterHead.slice(0, 3))).toEqual(bytesOf(before.slice(0, 3)));
    expect(bytesOf(afterHead.slice(3))).not.toEqual(bytesOf(before.slice(3)));
    expect(bytesOf(afterAll.slice(0, 3))).not.toEqual(bytesOf(before.slice(0, 3)));
    expect(model.layers.map((l) => l.trainable)).toEqual([true, true]);
    expect(model.optimizer.learningRate).toBe(0.001);
    // 10 epochs over 40 samples: exactly the passes of one plain fit of 10 epochs.
    expect(result.report.cost.samplePasses).toBe(400);
  });

  test('explicit stages with a frozen list; flags are restored afterwards', async () => {
    const { x, y } = makeData();
    const model = makeModel();
    model.getLayer('head').trainable = false;
    const before = model.getWeights().map((w) => new Tensor(w.data.slice(), w.shape));
    const result = await rk.fineTune(model, x, y, {
      ...COMPILE, verbose: 0, seed: 2, batchSize: 10, stages: [{ epochs: 2, freeze: ['head'], learningRate: 0.01 }],
    });
    expect(result.stages[0].trainable).toEqual(['lstm']);
    expect(bytesOf(model.getWeights().slice(3))).toEqual(bytesOf(before.slice(3)));
    expect(bytesOf(model.getWeights().slice(0, 3))).not.toEqual(bytesOf(before.slice(0, 3)));
    expect(model.getLayer('head').trainable).toBe(false);
    expect(model.getLayer('lstm').trainable).toBe(true);
  });

  test('a layer learning-rate multiplier of 0 keeps that layer fixed, and the multipliers are reset to 1 afterwards', async () => {
    const { x, y } = makeData();
    const model = makeModel();
    const before = model.getWeights().map((w) => new Tensor(w.data.slice(), w.shape));
    await rk.fineTune(model, x, y, {
      ...COMPILE, verbose: 0, seed: 3, batchSize: 10, stages: [{ epochs: 2, freeze: false, layerLearningRates: { lstm: 0 } }],
    });
    expect(bytesOf(model.getWeights().slice(0, 3))).toEqual(bytesOf(before.slice(0, 3)));
    expect(bytesOf(model.getWeights().slice(3))).not.toEqual(bytesOf(before.slice(3)));
    // A later fit moves the lstm again: its multiplier is back to 1.
    await model.fit(x, y, { epochs: 1, batchSize: 10, verbose: 0, seed: 4 });
    expect(bytesOf(model.getWeights().slice(0, 3))).not.toEqual(bytesOf(before.slice(0, 3)));
  });

  test('validationSplit holds out a seeded random subset that every fit reports on', async () => {
    const { x, y } = makeData();
    const model = makeModel();
    const result = await rk.fineTune(model, x, y, { ...COMPILE, strategy: 'finetune', epochs: 3, batchSize: 8, validationSplit: 0.25, verbose: 0, seed: 5 });
    expect(Object.keys(result.stages[0].history.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
    // 25% of 40 samples held out: 30 train in batches of 8, so the validation accuracy is a multiple of 1/10.
    const valAccuracy = result.stages[0].history.history.val_accuracy[0];
    expect(Math.abs(valAccuracy * 10 - Math.round(valAccuracy * 10))).toBeLessThan(1e-6);
    expect(result.report.cost.samplePasses).toBe(3 * 30);
  });

  test('patience ends a stage early on val_loss', async () => {
    const { x } = makeData();
    // Labels unrelated to x: the validation loss cannot keep improving at a large learning rate.
    const noise = new Tensor(Float32Array.from({ length: 40 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), [40]);
    const result = await rk.fineTune(makeModel(), x, noise, {
      ...COMPILE, validationSplit: 0.25, batchSize: 8, verbose: 0, seed: 8, stages: [{ epochs: 60, patience: 1, learningRate: 0.05 }],
    });
    expect(result.stages[0].history.epoch.length).toBeLessThanOrEqual(10);
  });

  test('learns: the default (auto) lowers the training loss of a transferred model', async () => {
    const { x, y } = makeData();
    const source = makeModel();
    const fast = { ...COMPILE, optimizer: rk.optimizers.adam({ learningRate: 0.02 }) };
    source.compile(fast);
    await source.fit(x, y, { epochs: 10, batchSize: 8, verbose: 0, seed: 6 });
    const { model } = rk.transfer(source, { head: { units: 2 } });
    model.compile(COMPILE);
    const initial = (await model.evaluate(x, y)).loss;
    await rk.fineTune(model, x, y, { optimizer: rk.optimizers.adam({ learningRate: 0.02 }), epochs: 20, batchSize: 8, verbose: 0, seed: 7 });
    const final = (await model.evaluate(x, y)).loss;
    expect(final).toBeLessThan(initial * 0.7);
  });

  test('invalid options are ARGUMENT errors and leave the flags untouched', async () => {
    const { x, y } = makeData();
    const model = makeModel();
    const cases: Array<[object, string]> = [
      [{ ...COMPILE, stages: [{ epochs: 1, freeze: ['encoder'] }] }, "stages[0].freeze[0] but received \"encoder\""],
      [{ ...COMPILE, stages: [{ epochs: 1, patience: 2 }] }, 'validationSplit > 0'],
      [{ ...COMPILE, epochs: 4, stages: [{ epochs: 1 }] }, 'either epochs'],
      [{ ...COMPILE, stages: [{ epochs: 1, layerLearningRates: { lsmt: 0.1 } }] }, 'layerLearningRates'],
      [{ ...COMPILE, stages: [] }, 'non-empty array of stages'],
      [{ optimizer: 'adam' }, 'Expected loss'],
      [{ ...COMPILE, stage: [] }, "Unknown option 'stage'"],
      [{ ...COMPILE, strategy: 'probe', stages: [{ epochs: 1 }] }, 'either strategy or stages'],
      [{ ...COMPILE, strategy: 'lp-ft' }, 'strategy'],
      [{ ...COMPILE, strategy: 'probe', candidates: ['probe'] }, "only 'auto' compares candidates"],
      [{ ...COMPILE, strategy: 'l2sp', folds: 3 }, "only 'auto' cross-validates"],
      [{ ...COMPILE, strategy: 'finetune', probe: { l2: 0.1 } }, 'no probe runs'],
      [{ ...COMPILE, strategy: 'probe', l2sp: { alpha: 1 } }, 'no L2-SP runs'],
      [{ ...COMPILE, candidates: ['probe', 'probe'] }, 'without repeats'],
      [{ ...COMPILE, candidates: ['probe', 'transfer'] }, 'candidates[1]'],
      [{ ...COMPILE, strategy: 'l2sp', l2sp: { alpha: -1 } }, 'l2sp.alpha'],
      [{ ...COMPILE, strategy: 'probe', probe: { l2: [] } }, 'probe.l2'],
      [{ ...COMPILE, folds: 1 }, 'folds'],
      [{ ...COMPILE, strategy: 'probe', epochs: 5 }, 'it has no epochs'],
    ];
    for (const [options, fragment] of cases) {
      await expect(rk.fineTune(model, x, y, { verbose: 0, ...options } as rk.FineTuneOptions)).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining(fragment) });
    }
    expect(model.layers.map((l) => l.trainable)).toEqual([true, true]);
  });
});
