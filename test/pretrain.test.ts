/**
 * rk.pretrain: next-step prediction on unlabelled sequences trains the body of a model (its head untouched), on tasks
 * whose next step is predictable: noisy-free sine waves (features, MSE) and a repeating token cycle (ids, sparse
 * cross-entropy). Tolerance: the learned loss must fall well below the trivial predictor's (a factor stated per test).
 */
import * as rk from '../lib';
import { Tensor } from '../lib/tensor';

function bytes(weights: Tensor[]): number[][] {
  return weights.map((w) => Array.from(new Uint8Array(w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + w.data.byteLength))));
}

/** 200 sine waves of 12 steps, random phase and frequency: [200, 12, 1]. */
function sines(): Tensor {
  const random = new rk.Random(4);
  const data = new Float32Array(200 * 12);
  for (let s = 0; s < 200; s++) {
    const [phase, frequency] = [random.uniformRange(0, 2 * Math.PI), random.uniformRange(0.3, 0.9)];
    for (let t = 0; t < 12; t++) data[s * 12 + t] = Math.sin(phase + frequency * t);
  }
  return new Tensor(data, [200, 12, 1]);
}

describe('pretrain', () => {
  test('next-step prediction on sine waves beats "the next step equals this one" and moves only the body', async () => {
    rk.setSeed(3);
    const model = rk.sequential();
    model.add(rk.layers.lstm({ name: 'lstm', units: 16, inputShape: [12, 1] }));
    model.add(rk.layers.dense({ name: 'head', units: 3, activation: 'softmax' }));
    const [body, head] = [bytes(model.getLayer('lstm').getWeights()), bytes(model.getLayer('head').getWeights())];
    const result = await rk.pretrain(model, sines(), { epochs: 40, batchSize: 20, verbose: 0, seed: 1, optimizer: rk.optimizers.adam({ learningRate: 0.01 }) });
    const losses = result.history.history.loss;
    expect(result.pretrained).toEqual(['lstm']);
    // Copying the current step costs about 2 (1 - cos f) / 2 on average; a recurrent state that tracks the phase does far better.
    expect(losses[losses.length - 1]).toBeLessThan(result.baselineLoss * 0.2);
    expect(bytes(model.getLayer('lstm').getWeights())).not.toEqual(body);
    expect(bytes(model.getLayer('head').getWeights())).toEqual(head);
    // The pretrained body is an ordinary source for rk.transfer.
    const { model: target, report } = rk.transfer(model, { head: { units: 2 } });
    expect(report.weights.filter((e) => e.action === 'copied').map((e) => e.layer)).toEqual(['lstm', 'lstm', 'lstm']);
    expect(bytes(target.getLayer('lstm').getWeights())).toEqual(bytes(model.getLayer('lstm').getWeights()));
  });

  test('token ids under an embedding: next-token cross-entropy falls below the unigram entropy', async () => {
    rk.setSeed(5);
    // Cycles 1 2 3 4 1 2 3 4 ... from a random start: each next token is determined by the current one.
    const random = new rk.Random(6);
    const ids = new Float32Array(120 * 10);
    for (let s = 0; s < 120; s++) {
      const start = random.integer(4);
      for (let t = 0; t < 10; t++) ids[s * 10 + t] = 1 + ((start + t) % 4);
    }
    const model = rk.sequential();
    model.add(rk.layers.embedding({ name: 'embedding', inputDim: 5, outputDim: 4, inputShape: [10] }));
    model.add(rk.layers.gru({ name: 'gru', units: 8 }));
    model.add(rk.layers.dense({ name: 'head', units: 2, activation: 'softmax' }));
    const result = await rk.pretrain(model, new Tensor(ids, [120, 10]), { epochs: 30, batchSize: 20, verbose: 0, seed: 2, optimizer: rk.optimizers.adam({ learningRate: 0.02 }) });
    expect(result.pretrained).toEqual(['embedding', 'gru']);
    expect(result.baselineLoss).toBeCloseTo(Math.log(4), 2);
    const losses = result.history.history.loss;
    expect(losses[losses.length - 1]).toBeLessThan(0.2 * result.baselineLoss);
  });

  test('refuses bodies that see the future, and bad input, with nothing changed', async () => {
    const model = rk.sequential();
    model.add(rk.layers.bidirectional({ name: 'bi', layer: rk.layers.lstm({ units: 4 }), inputShape: [12, 1] }));
    model.add(rk.layers.dense({ name: 'head', units: 2, activation: 'softmax' }));
    const before = bytes(model.getWeights());
    await expect(rk.pretrain(model, sines(), { verbose: 0 })).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining("'bi' sees the future") });
    const backwards = rk.sequential();
    backwards.add(rk.layers.lstm({ name: 'rev', units: 4, goBackwards: true, inputShape: [12, 1] }));
    backwards.add(rk.layers.dense({ name: 'head', units: 2 }));
    await expect(rk.pretrain(backwards, sines(), { verbose: 0 })).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining('goBackwards') });
    const plain = rk.sequential();
    plain.add(rk.layers.lstm({ name: 'lstm', units: 4, inputShape: [12, 1] }));
    plain.add(rk.layers.dense({ name: 'head', units: 2 }));
    await expect(rk.pretrain(plain, new Tensor(new Float32Array(24), [2, 12, 1]), { verbose: 0, epochs: 0 })).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining('epochs') });
    await expect(rk.pretrain(plain, new Tensor(new Float32Array(20), [2, 10, 1]), { verbose: 0 })).rejects.toMatchObject({ code: 'SHAPE', message: expect.stringContaining('[samples, 12, 1]') });
    await expect(rk.pretrain(plain, sines(), { verbose: 0, objective: 'masked' } as never)).rejects.toMatchObject({ code: 'ARGUMENT' });
    expect(bytes(model.getWeights())).toEqual(before);
  });
});
