/**
 * rk.fineTune's recipes (probe, LP-FT, L2-SP, ULMFiT, scratch) and its default ('auto': cross-validated choice).
 * Task with a known answer: class 1 when the sum of a sequence's first feature (plus a domain shift) is positive, so a
 * linear read-out of a recurrent summary solves it. Tolerances: the probe's optimum is compared in float32 (1e-4 on the
 * objective); accuracies use margins far from chance (0.5).
 */
import * as rk from '../lib';
import { globalRandom } from '../lib/random';
import { Tensor } from '../lib/tensor';

function makeData(samples: number, seed: number, shift: number): { x: Tensor; y: Tensor } {
  const random = new rk.Random(seed);
  const x = new Float32Array(samples * 8).map(() => random.uniformRange(-1, 1));
  const y = new Float32Array(samples).map((_, i) => (x[i * 8] + x[i * 8 + 2] + x[i * 8 + 4] + x[i * 8 + 6] + shift > 0 ? 1 : 0));
  return { x: new Tensor(x, [samples, 4, 2]), y: new Tensor(y, [samples]) };
}

const LOSS = { loss: 'sparseCategoricalCrossentropy' as const, metrics: ['accuracy'] };
let source: rk.Sequential;

beforeAll(async () => {
  rk.setSeed(1);
  source = rk.sequential({ name: 'source' });
  source.add(rk.layers.lstm({ name: 'lstm', units: 8, inputShape: [4, 2] }));
  source.add(rk.layers.dense({ name: 'out', units: 2, activation: 'softmax' }));
  source.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.01 }), ...LOSS });
  const a = makeData(400, 1, 0);
  await source.fit(a.x, a.y, { epochs: 10, batchSize: 32, verbose: 0, seed: 1 });
});

function transferred(seed = 123): rk.Sequential {
  rk.setSeed(seed); // the new head's initial weights come from the global generator
  return rk.transfer(source, { head: { units: 2 } }).model;
}

function bytes(weights: Tensor[]): number[][] {
  return weights.map((w) => Array.from(new Uint8Array(w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + w.data.byteLength))));
}

const target = makeData(60, 2, 0.5);
const test_ = makeData(400, 3, 0.5);

describe('fineTune recipes', () => {
  test('probe: the head reaches the convex optimum of a long gradient run, and the body stays bit-identical', async () => {
    const model = transferred();
    const body = bytes(model.getWeights().slice(0, 3));
    const result = await rk.fineTune(model, target.x, target.y, { ...LOSS, strategy: 'probe', probe: { l2: 1e-3 }, verbose: 0, seed: 1 });
    expect(result.strategy).toBe('probe');
    expect(result.stages).toEqual([]);
    expect(result.probe!.stopped).not.toBe('iterations');
    expect(bytes(model.getWeights().slice(0, 3))).toEqual(body);

    // The same objective trained long by Adam: loss + 1e-3 |kernel|^2 on the standardised body features.
    const bodyModel = rk.sequential();
    bodyModel.add(rk.layers.lstm({ name: 'lstm', units: 8, inputShape: [4, 2] }));
    bodyModel.getLayer('lstm').setWeights(model.getLayer('lstm').getWeights());
    const raw = await bodyModel.predict(target.x);
    const standard = new Float32Array(raw.data.length);
    for (let d = 0; d < 8; d++) {
      const column = Array.from({ length: 60 }, (_, r) => raw.data[r * 8 + d]);
      const mean = column.reduce((a, b) => a + b, 0) / 60;
      const std = Math.sqrt(column.reduce((a, v) => a + (v - mean) ** 2, 0) / 60);
      column.forEach((v, r) => { standard[r * 8 + d] = (v - mean) / std; });
    }
    const cached = new Tensor(standard, [60, 8]);
    const long = rk.sequential();
    long.add(rk.layers.dense({ units: 2, activation: 'softmax', inputShape: [8], kernelRegularizer: rk.regularizers.l2(1e-3) }));
    long.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.02 }), loss: 'sparseCategoricalCrossentropy' });
    const schedule = rk.callbacks.learningRateScheduler((epoch: number) => 0.02 * 0.9993 ** epoch);
    await long.fit(cached, target.y, { epochs: 6000, batchSize: 60, verbose: 0, shuffle: false, callbacks: [schedule] });
    const longObjective = (await long.computeGradients(cached, target.y)).loss;
    // The probe is as good as the long run (float32 objective, L-BFGS tolerance 1e-4), and they agree: one optimum.
    expect(result.probe!.objective).toBeLessThanOrEqual(longObjective + 1e-4);
    expect(Math.abs(longObjective - result.probe!.objective)).toBeLessThan(1e-3);
    // The head holds the solution rewritten for raw features: the same predictions as the long run on standardised ones.
    const [mine, theirs] = [(await model.predict(target.x)).data, (await long.predict(cached)).data];
    let largest = 0;
    for (let i = 0; i < mine.length; i++) largest = Math.max(largest, Math.abs(mine[i] - theirs[i]));
    // L-BFGS stops once max |gradient| <= 1e-4 |f|: probabilities agree to about a percent, not to float precision.
    expect(largest).toBeLessThan(0.02);
  });

  test('probe: the weight decay is chosen by cross-validation among the ones given', async () => {
    const model = transferred();
    const result = await rk.fineTune(model, target.x, target.y, { ...LOSS, strategy: 'probe', probe: { l2: [1e-4, 1000] }, verbose: 0, seed: 2 });
    const tried = result.probe!.candidates;
    expect(tried.map((c) => c.l2)).toEqual([1000, 1e-4]);
    const best = tried.reduce((a, b) => (b.loss < a.loss ? b : a));
    expect(result.probe!.l2).toBe(best.l2);
    // A decay of 1000 crushes the head towards 0 (held-out loss near log 2): far worse than 1e-4.
    expect(best.l2).toBe(1e-4);
  });

  test.each(['probe', 'lpft', 'l2sp', 'finetune', 'ulmfit', 'scratch'] as const)('%s learns the target task', async (strategy) => {
    const model = transferred();
    await rk.fineTune(model, target.x, target.y, { ...LOSS, strategy, batchSize: 16, verbose: 0, seed: 3 });
    const { accuracy } = await model.evaluate(test_.x, test_.y);
    expect(accuracy).toBeGreaterThan(strategy === 'scratch' ? 0.7 : 0.85);
  });

  test('lpft: the fine-tuning stage starts from the probe\'s head and then moves every layer', async () => {
    const probed = transferred();
    const probe = await rk.fineTune(probed, target.x, target.y, { ...LOSS, strategy: 'probe', verbose: 0, seed: 4 });
    const model = transferred();
    let atStart: Tensor[] = [];
    let seen: rk.CallbackModel | undefined;
    const record: rk.Callback = { setModel(m) { seen = m; }, onTrainBegin() { atStart = seen!.getWeights().slice(3); } };
    const result = await rk.fineTune(model, target.x, target.y, { ...LOSS, strategy: 'lpft', verbose: 0, seed: 4, callbacks: [record] });
    expect(result.probe!.l2).toBe(probe.probe!.l2);
    expect(bytes(atStart)).toEqual(bytes(probed.getLayer('head').getWeights()));
    expect(result.stages.map((s) => s.trainable)).toEqual([['lstm', 'head']]);
    expect(bytes(model.getLayer('lstm').getWeights())).not.toEqual(bytes(source.getLayer('lstm').getWeights()));
  });

  test('l2sp: a strong pull keeps the transferred weights near the source; the penalty is gone afterwards', async () => {
    const distance = async (alpha: number | undefined) => {
      const model = transferred();
      const strategy = alpha === undefined ? 'finetune' : 'l2sp';
      await rk.fineTune(model, target.x, target.y, { ...LOSS, strategy, ...(alpha === undefined ? {} : { l2sp: { alpha, beta: 0 } }), batchSize: 16, verbose: 0, seed: 5 });
      const [a, b] = [model.getLayer('lstm').getWeights(), source.getLayer('lstm').getWeights()];
      let sum = 0;
      a.forEach((w, k) => w.data.forEach((v, i) => { sum += (v - b[k].data[i]) ** 2; }));
      return { model, sum };
    };
    const plain = await distance(undefined);
    const pulled = await distance(10);
    expect(pulled.sum).toBeLessThan(plain.sum * 0.25);
    // No anchor is left behind: the gradient of the fine-tuned model is that of its loss alone.
    const { loss } = await pulled.model.computeGradients(target.x, target.y);
    const { loss: evaluated } = await pulled.model.evaluate(target.x, target.y, { batchSize: 60 });
    expect(Math.abs(loss - evaluated)).toBeLessThan(1e-5);
  });

  test('l2sp: the anchored penalty adds exactly 2 alpha (w - anchor) to the gradient and alpha |w - anchor|^2 to the loss', async () => {
    const model = transferred();
    model.compile({ optimizer: 'sgd', ...LOSS });
    const plain = await model.computeGradients(target.x, target.y, { seed: 1 });
    const network = model.requireNetwork();
    const index = model.paramIndicesOf(model.getLayer('lstm'))[0];
    const w = network.getParam(index);
    const anchor = w.map((v, i) => v + 0.01 * ((i % 7) - 3));
    network.setAnchor(index, anchor, 0.5);
    const anchored = await model.computeGradients(target.x, target.y, { seed: 1 });
    let penalty = 0;
    for (let i = 0; i < w.length; i++) {
      penalty += 0.5 * (w[i] - anchor[i]) ** 2;
      expect(anchored.gradients[0].data[i] - plain.gradients[0].data[i]).toBeCloseTo(2 * 0.5 * (w[i] - anchor[i]), 5);
    }
    expect(anchored.loss - plain.loss).toBeCloseTo(penalty, 5);
    network.setAnchor(index, null, 0);
    expect((await model.computeGradients(target.x, target.y, { seed: 1 })).loss).toBe(plain.loss);
    expect(() => network.setAnchor(index, anchor, -1)).toThrow(/L2-SP factor/);
    expect(() => network.setAnchor(index, new Float32Array(3), 1)).toThrow();
  });

  test('ulmfit: one stage per weighted layer, unfreezing from the top with rates divided by 2.6 per layer', async () => {
    const model = transferred();
    const result = await rk.fineTune(model, target.x, target.y, { ...LOSS, strategy: 'ulmfit', epochs: 8, batchSize: 16, verbose: 0, seed: 6 });
    expect(result.stages.map((s) => s.trainable)).toEqual([['head'], ['lstm', 'head']]);
    expect(result.stages.map((s) => s.stage.epochs)).toEqual([4, 4]);
    expect(result.stages[1].stage.layerLearningRates).toEqual({ lstm: 1 / 2.6, head: 1 });
  });

  test('scratch: fresh weights drawn from the fineTune seed, the global generator untouched', async () => {
    const weightsAfter = async (seed: number) => {
      const model = transferred();
      rk.setSeed(99);
      let start: Tensor[] = [];
      let seen: rk.CallbackModel | undefined;
      const record: rk.Callback = { setModel(m) { seen = m; }, onTrainBegin() { start = seen!.getWeights(); } };
      await rk.fineTune(model, target.x, target.y, { ...LOSS, strategy: 'scratch', epochs: 1, verbose: 0, seed, callbacks: [record] });
      return { start, next: globalRandom().uniform() };
    };
    const a = await weightsAfter(7);
    const b = await weightsAfter(7);
    const c = await weightsAfter(8);
    expect(bytes(a.start)).toEqual(bytes(b.start));
    expect(bytes(a.start)).not.toEqual(bytes(c.start));
    expect(bytes(a.start.slice(0, 3))).not.toEqual(bytes(source.getLayer('lstm').getWeights()));
    // The global stream continued from setSeed(99) the same way each time: fineTune drew nothing from it.
    expect(a.next).toBe(b.next);
    expect(a.next).toBe(c.next);
  });
});

describe('fineTune default (auto)', () => {
  test('chooses by cross-validation, deterministically for a seed, reports every candidate, leaves the source alone', async () => {
    const sourceBefore = bytes(source.getWeights());
    const run = async () => {
      const model = transferred();
      const result = await rk.fineTune(model, target.x, target.y, { ...LOSS, batchSize: 16, verbose: 0, seed: 8 });
      return { model, result };
    };
    const first = await run();
    const second = await run();
    const { report } = first.result;
    expect(report.chosenBy).toBe('cross-validation');
    expect(report.candidates.map((c) => c.recipe)).toEqual(['lpft', 'probe', 'l2sp', 'scratch']);
    for (const c of report.candidates) {
      expect(c.accuracy).toHaveLength(2);
      expect(c.loss).toHaveLength(2);
    }
    // The rule: the first candidate stays unless another beats it sample by sample by more than one standard error;
    // then the best mean accuracy among those that do.
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const passed = report.candidates.slice(1).filter((c) => c.versusIncumbent!.z > 1);
    const expected = passed.length === 0 ? 'lpft' : passed.reduce((a, b) => (mean(b.accuracy) > mean(a.accuracy) ? b : a)).recipe;
    expect(first.result.strategy).toBe(expected);
    // The scratch guard is far behind on this task: it never passes.
    expect(report.candidates[3].versusIncumbent!.gain).toBeLessThan(0);
    expect(second.result.strategy).toBe(first.result.strategy);
    const comparable = (c: rk.CandidateScore) => ({ ...c, seconds: 0 });
    expect(second.result.report.candidates.map(comparable)).toEqual(report.candidates.map(comparable));
    expect(bytes(second.model.getWeights())).toEqual(bytes(first.model.getWeights()));
    expect(bytes(source.getWeights())).toEqual(sourceBefore);
    // Three gradient candidates over 2 folds (one plain fit each) plus the retrain: at most about 4x a plain fit.
    expect(report.cost.ratio).toBeLessThanOrEqual(4 + 1e-9);
    const text = report.toString();
    for (const name of ['probe', 'lpft', 'l2sp', 'scratch', 'chosen', 'cost', 'prior choice', '(z ']) expect(text).toContain(name);
  });

  test('a model the probe cannot read skips probe and LP-FT with the reason', async () => {
    const model = rk.sequential({ name: 'seq_head' });
    model.add(rk.layers.lstm({ name: 'lstm', units: 4, inputShape: [4, 2], returnSequences: true }));
    model.add(rk.layers.dense({ name: 'head', units: 2, activation: 'softmax' }));
    const perStep = new Tensor(new Float32Array(60 * 4).map((_, i) => target.y.data[Math.floor(i / 4)]), [60, 4]);
    const result = await rk.fineTune(model, target.x, perStep, { ...LOSS, epochs: 2, verbose: 0, seed: 9 });
    const skipped = result.report.candidates.filter((c) => c.skipped).map((c) => c.recipe);
    expect(skipped).toEqual(['lpft', 'probe']);
    expect(result.report.candidates[0].skipped).toContain('acts on [4, 4]');
    await expect(rk.fineTune(model, target.x, perStep, { ...LOSS, strategy: 'probe', verbose: 0 }))
      .rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining('Dense head on feature vectors') });
  });

  test('too few samples for the folds is an ARGUMENT error before any work', async () => {
    const few = makeData(3, 4, 0.5);
    const model = transferred();
    const before = bytes(model.getWeights());
    await expect(rk.fineTune(model, few.x, few.y, { ...LOSS, verbose: 0 }))
      .rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining('at least 4 training samples for 2-fold cross-validation but received 3') });
    expect(bytes(model.getWeights())).toEqual(before);
  });
});
