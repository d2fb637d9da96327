/**
 * Bad input through the public API: every failure is an RnnError with the right code and a message naming what was
 * expected and what was received, and a failed call leaves the weights bit-identical.
 * Model under test: lstm(3 units) on [4 steps, 2 features] -> dense(3, softmax), categoricalCrossentropy.
 */
import * as rk from '../lib';
import { loadNative } from '../lib/native';
import { CHECK_CHUNK } from '../lib/tensor';
import { expectRnnError, seededUniform } from './helpers/checks';

const STEPS = 4, FEATURES = 2, CLASSES = 3, SAMPLES = 5;

function classifier(loss: 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy' = 'categoricalCrossentropy') {
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 3, inputShape: [STEPS, FEATURES] }));
  model.add(rk.layers.dense({ units: CLASSES, activation: 'softmax' }));
  model.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.5 }), loss });
  return model;
}

const goodX = () => rk.tensor(seededUniform(SAMPLES * STEPS * FEATURES, 3), [SAMPLES, STEPS, FEATURES]);
function oneHot(classes: number[], width = CLASSES): rk.Tensor {
  const data = new Float32Array(classes.length * width);
  classes.forEach((c, i) => { data[i * width + c] = 1; });
  return rk.tensor(data, [classes.length, width]);
}
const goodY = () => oneHot([0, 1, 2, 0, 1]);

/** Every weight value as raw bits, so "unchanged" means bit-identical (NaN-safe, -0-safe). */
function weightBits(model: rk.Sequential): number[][] {
  return model.getWeights().map((w) => Array.from(new Uint32Array(Float32Array.from(w.data).buffer)));
}

/** Expects `action` to fail with `code` / `message` and the model's weights to be bit-identical afterwards. */
async function expectRejectedWithoutChange(
  model: rk.Sequential, action: () => unknown, code: rk.RnnErrorCode, message: RegExp,
) {
  const before = weightBits(model);
  await expectRnnError(action, code, message);
  expect(weightBits(model)).toEqual(before);
  expect(model.isBusy).toBe(false);
}

describe('shapes of x and y', () => {
  const model = classifier();
  const x = goodX(), y = goodY();
  it.each<[string, rk.Tensor]>([
    ['wrong rank', rk.tensor(new Float32Array(SAMPLES * STEPS), [SAMPLES, STEPS])],
    ['wrong feature count', rk.tensor(new Float32Array(SAMPLES * STEPS * 3), [SAMPLES, STEPS, 3])],
    ['wrong time steps', rk.tensor(new Float32Array(SAMPLES * 6 * FEATURES), [SAMPLES, 6, FEATURES])],
  ])('x with the %s is a SHAPE error in fit, trainOnBatch, evaluate and predict', async (_, badX) => {
    const message = new RegExp(`Expected x of shape \\[batch, 4, 2\\] but received \\[${badX.shape.join(', ')}\\]`);
    await expectRejectedWithoutChange(model, () => model.fit(badX, y, { verbose: 0 }), 'SHAPE', message);
    await expectRejectedWithoutChange(model, () => model.trainOnBatch(badX, y), 'SHAPE', message);
    await expectRnnError(() => model.evaluate(badX, y), 'SHAPE', message);
    await expectRnnError(() => model.predict(badX), 'SHAPE', message);
  });

  it('y with the wrong number of samples is a SHAPE error', async () => {
    await expectRejectedWithoutChange(model, () => model.fit(x, oneHot([0, 1, 2, 0]), { verbose: 0 }), 'SHAPE',
      /Expected y to hold 5 samples .*but received 4/);
  });

  it('y with the wrong number of classes is a SHAPE error', async () => {
    await expectRejectedWithoutChange(model, () => model.fit(x, oneHot([0, 1, 1, 0, 1], 2), { verbose: 0 }), 'SHAPE',
      /Expected y of shape \[batch, 3\] but received \[5, 2\]/);
  });

  it('class indices given to a one-hot loss are a SHAPE error with a hint', async () => {
    await expectRejectedWithoutChange(model, () => model.fit(x, [0, 1, 2, 0, 1], { verbose: 0 }), 'SHAPE',
      /Expected y of shape \[batch, 3\] but received \[5\] \(class indices need loss sparseCategoricalCrossentropy/);
  });

  it('a bad validationData y fails before the first step', async () => {
    const validationData: [rk.Tensor, rk.Tensor] = [x, oneHot([0, 1, 0, 1, 0], 2)];
    await expectRejectedWithoutChange(model, () => model.fit(x, y, { verbose: 0, validationData }), 'SHAPE',
      /Expected validationData y of shape \[batch, 3\] but received \[5, 2\]/);
  });

  it('an empty batch (0 samples) is a SHAPE error everywhere', async () => {
    const emptyX = rk.tensor(new Float32Array(0), [0, STEPS, FEATURES]);
    const emptyY = rk.tensor(new Float32Array(0), [0, CLASSES]);
    const message = /Expected at least one sample in x but received an empty batch/;
    await expectRejectedWithoutChange(model, () => model.fit(emptyX, emptyY, { verbose: 0 }), 'SHAPE', message);
    await expectRejectedWithoutChange(model, () => model.trainOnBatch(emptyX, emptyY), 'SHAPE', message);
    await expectRnnError(() => model.evaluate(emptyX, emptyY), 'SHAPE', message);
    await expectRnnError(() => model.predict(emptyX), 'SHAPE', message);
    await expectRnnError(() => model.predictOnBatch(emptyX), 'SHAPE', message);
  });
});

describe('sparse labels', () => {
  const model = classifier('sparseCategoricalCrossentropy');
  it.each([3, -1, 1.5])('label %p outside the integers [0, 3) is an ARGUMENT error', async (label) => {
    await expectRejectedWithoutChange(model, () => model.fit(goodX(), [0, 1, 2, 0, label], { verbose: 0 }), 'ARGUMENT',
      new RegExp(`Expected class indices that are integers in \\[0, 3\\) in y but received ${label} at position 4`));
  });
});

describe('token ids', () => {
  // Ids are checked with the other inputs before the first step (the native check is only a last guard).
  it('an id outside [0, inputDim) in the last sample fails before any step, weights bit-identical', async () => {
    const model = rk.sequential();
    model.add(rk.layers.embedding({ inputDim: 5, outputDim: 2, inputShape: [4] }));
    model.add(rk.layers.lstm({ units: 3 }));
    model.add(rk.layers.dense({ units: CLASSES, activation: 'softmax' }));
    model.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.5 }), loss: 'categoricalCrossentropy' });
    const ids = [[1, 2, 3, 4], [0, 1, 2, 3], [4, 4, 1, 0], [2, 2, 2, 7]];
    const fit = () => model.fit(ids, oneHot([0, 1, 2, 0]), { verbose: 0, batchSize: 1, shuffle: false });
    await expectRejectedWithoutChange(model, fit, 'ARGUMENT', /Expected token ids that are integers in \[0, 5\).* received 7/);
    await expectRnnError(() => model.predict([[1, 2, 3, 2.5]]), 'ARGUMENT',
      /Expected token ids that are integers in \[0, 5\).* received 2\.5/);
  });
});

describe('NaN and Infinity', () => {
  const model = classifier();
  it.each<[string, number]>([['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]])(
    '%s in the last sample of x fails before any step, weights bit-identical', async (name, value) => {
      const x = goodX();
      x.data[x.size - 1] = value;
      // batchSize 1: a check made per batch would have trained on the first four samples already.
      await expectRejectedWithoutChange(model, () => model.fit(x, goodY(), { verbose: 0, batchSize: 1, shuffle: false }),
        'NOT_FINITE', new RegExp(`Expected finite values for x but x\\[4\\]\\[3\\]\\[1\\] \\(flat index 39\\) is ${name}`));
      await expectRejectedWithoutChange(model, () => model.trainOnBatch(x, goodY()), 'NOT_FINITE',
        /Expected finite values for x/);
      await expectRnnError(() => model.predict(x), 'NOT_FINITE', /Expected finite values for x/);
    });

  it('NaN in y fails before any step, weights bit-identical', async () => {
    const y = goodY();
    y.data[7] = NaN;
    await expectRejectedWithoutChange(model, () => model.fit(goodX(), y, { verbose: 0, batchSize: 1 }), 'NOT_FINITE',
      /Expected finite values for y but y\[2\]\[1\] \(flat index 7\) is NaN/);
    await expectRejectedWithoutChange(model, () => model.computeGradients(goodX(), y), 'NOT_FINITE',
      /Expected finite values for y/);
  });

  it('a large x is checked in chunks that let the event loop run, and a NaN in its last value is still found', async () => {
    // Three check chunks' worth of samples: validation must yield between chunks (no long stall) and still reject
    // the whole fit before any step.
    const samples = Math.ceil((3 * CHECK_CHUNK) / (STEPS * FEATURES));
    const x = rk.tensor(new Float32Array(samples * STEPS * FEATURES).fill(0.5), [samples, STEPS, FEATURES]);
    x.data[x.size - 1] = NaN;
    const labels = new Float32Array(samples * CLASSES);
    for (let i = 0; i < samples; i++) labels[i * CLASSES + (i % CLASSES)] = 1;
    // An immediate that re-arms itself runs once at every yield to the event loop, however fast the chunks are
    // checked (a timer would need a millisecond to pass, which a loaded or a fast machine does not guarantee).
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      if (!ticking) return;
      ticks++;
      setImmediate(tick);
    };
    setImmediate(tick);
    try {
      await expectRejectedWithoutChange(model, () => model.fit(x, rk.tensor(labels, [samples, CLASSES]), { verbose: 0 }),
        'NOT_FINITE', new RegExp(`Expected finite values for x but x\\[${samples - 1}\\]\\[3\\]\\[1\\]`));
    } finally {
      ticking = false;
    }
    expect(ticks).toBeGreaterThan(0);
  });

  it('the first non-finite value wins wherever it sits: each kind, inside and across check chunks', async () => {
    // The scan is native and blockwise (4096 values): positions on both sides of block and chunk edges.
    const samples = Math.ceil((2 * CHECK_CHUNK) / (STEPS * FEATURES)) + 1;
    const size = samples * STEPS * FEATURES;
    const cases: Array<[number, number, string]> = [
      [0, Infinity, 'Infinity'], [4095, -Infinity, '-Infinity'], [4096, NaN, 'NaN'],
      [CHECK_CHUNK - 1, Infinity, 'Infinity'], [CHECK_CHUNK, NaN, 'NaN'], [size - 1, -Infinity, '-Infinity'],
    ];
    for (const [index, value, text] of cases) {
      const x = rk.tensor(new Float32Array(size).fill(-0.25), [samples, STEPS, FEATURES]);
      x.data[index] = value;
      if (index + 9 < size) x.data[index + 9] = NaN;  // a later one must not be the one reported
      await expect(model.predict(x)).rejects.toMatchObject({
        code: 'NOT_FINITE', message: expect.stringContaining(`(flat index ${index}) is ${text}`),
      });
    }
  });

  it('the native scan behind these checks refuses bad arguments, naming what it received', () => {
    const scan = loadNative().firstNonFinite;
    const values = new Float32Array([1, NaN, 2]);
    expect([scan(values, 0, 3), scan(values, 2, 3), scan(values, 1, 1)]).toEqual([1, -1, -1]);
    expect(() => scan(values, 2, 1)).toThrow(/expected integers 0 <= from <= to <= 3 but received from 2, to 1/);
    expect(() => scan(values, 0, 4)).toThrow(/received from 0, to 4/);
    expect(() => scan(values, 0.5, 2)).toThrow(/received from 0.5, to 2/);
    expect(() => scan([1, 2] as unknown as Float32Array, 0, 1)).toThrow(/expected a Float32Array but received 1,2/);
  });

  it('the model trains normally after the failed calls', async () => {
    const before = weightBits(model);
    const history = await model.fit(goodX(), goodY(), { verbose: 0, epochs: 1 });
    expect(Number.isFinite(history.history.loss[0])).toBe(true);
    expect(weightBits(model)).not.toEqual(before);
  });
});

describe('zero-length sequences (every step masked)', () => {
  function maskedModel() {
    const model = rk.sequential();
    model.add(rk.layers.masking({ maskValue: 0, inputShape: [STEPS, FEATURES] }));
    model.add(rk.layers.gru({ units: 3 }));
    model.add(rk.layers.dense({ units: 2 }));
    model.compile({ optimizer: rk.optimizers.sgd({ learningRate: 0.1 }), loss: 'meanSquaredError' });
    model.getLayer(2).setWeights([rk.tensor(seededUniform(6, 5), [3, 2]), rk.tensor([0.25, -0.5], [2])]);
    return model;
  }
  // Sample 0 is all padding; sample 1 has real steps.
  const x = rk.tensor([...new Array(STEPS * FEATURES).fill(0), ...seededUniform(STEPS * FEATURES, 6)], [2, STEPS, FEATURES]);
  const y = rk.tensor([1, 1, -1, 0.5], [2, 2]);

  it('an all-masked sample gets the initial state (zeros) as recurrent output: the model outputs the bias', async () => {
    const out = (await maskedModel().predict(x)).data;
    expect(Array.from(out.subarray(0, 2))).toEqual([0.25, -0.5]);
    expect(out[2] !== 0.25 || out[3] !== -0.5).toBe(true);
  });

  it('training on all-masked samples gives finite losses, weights and gradients', async () => {
    const model = maskedModel();
    const allMasked = rk.tensor(new Float32Array(2 * STEPS * FEATURES), [2, STEPS, FEATURES]);
    const { loss, gradients } = await model.computeGradients(allMasked, y);
    // dL/d(dense kernel) = h^T dOut = 0 since h = 0; the GRU gets no gradient at all; only the dense bias moves.
    expect(Number.isFinite(loss)).toBe(true);
    gradients.slice(0, 4).forEach((g) => expect(Array.from(g.data).every((v) => v === 0)).toBe(true));
    expect(Array.from(gradients[4].data).some((v) => v !== 0)).toBe(true);
    const history = await model.fit(rk.tensor(Float32Array.from([...allMasked.data, ...x.data]), [4, STEPS, FEATURES]),
      rk.tensor(Float32Array.from([...y.data, ...y.data]), [4, 2]), { verbose: 0, epochs: 3, batchSize: 2 });
    expect(history.history.loss.every((l) => Number.isFinite(l))).toBe(true);
    expect(model.getWeights().every((w) => w.data.every((v) => Number.isFinite(v)))).toBe(true);
  });
});

describe('options', () => {
  const model = classifier();
  it.each<[string, () => unknown, RegExp]>([
    ['fit', () => model.fit(goodX(), goodY(), { epoch: 2 } as never),
      /Unknown option 'epoch' in fit options \(did you mean 'epochs'\?\); allowed options are: epochs,/],
    ['evaluate', () => model.evaluate(goodX(), goodY(), { batch_size: 2 } as never),
      /Unknown option 'batch_size' in evaluate options.*allowed options are: batchSize, sampleWeight/],
    ['predict', () => model.predict(goodX(), { verbose: 0 } as never),
      /Unknown option 'verbose' in predict options; allowed options are: batchSize/],
    ['compile', () => model.compile({ optimizer: 'sgd', loss: 'mse', metric: ['mse'] } as never),
      /Unknown option 'metric' in compile options \(did you mean 'metrics'\?\)/],
    ['lstm', () => rk.layers.lstm({ units: 2, returnSequence: true } as never),
      /Unknown option 'returnSequence' in lstm layer options \(did you mean 'returnSequences'\?\)/],
    ['sgd', () => rk.optimizers.sgd({ lr: 0.1 } as never),
      /Unknown option 'lr' in sgd options; allowed options are: learningRate,/],
  ])('an unknown option name in %s is an ARGUMENT error naming it and the allowed ones', async (_, action, message) => {
    await expectRejectedWithoutChange(model, action, 'ARGUMENT', message);
  });

  it.each<[string, () => unknown, rk.RnnErrorCode, RegExp]>([
    ['epochs as a string', () => model.fit(goodX(), goodY(), { epochs: '2' } as never),
      'ARGUMENT', /Expected an integer >= 0 for epochs but received "2"/],
    ['batchSize 0', () => model.fit(goodX(), goodY(), { batchSize: 0 }),
      'ARGUMENT', /Expected an integer >= 1 for batchSize but received 0/],
    ['shuffle as a number', () => model.fit(goodX(), goodY(), { shuffle: 1 } as never),
      'ARGUMENT', /Expected a boolean for shuffle but received 1/],
    ['options as an array', () => model.fit(goodX(), goodY(), [] as never),
      'ARGUMENT', /Expected a plain options object for fit options but received array\(0\)/],
    ['x as a string', () => model.fit('x' as never, goodY()),
      'DTYPE', /Expected a Tensor, a \(nested\) array of numbers or a tfjs tensor for x but received "x"/],
    ['a string inside x', () => model.predict([[[1, 'a']]] as never),
      'DTYPE', /Expected a number for x\[0\]\[0\]\[1\] but received "a"/],
    ['a ragged x', () => model.predict([[[1, 2], [3]]] as never),
      'SHAPE', /Expected a rectangular array for x .* has length 1, expected 2/],
    ['a string tfjs-like tensor', () => model.predict({ shape: [1, 4, 2], dtype: 'string', dataSync: () => [] } as never),
      'DTYPE', /Expected a tensor of dtype 'float32' or 'int32' for x but received "string"/],
    ['units 2.5', () => rk.layers.lstm({ units: 2.5 }),
      'ARGUMENT', /Expected an integer >= 1 for lstm_\d+\.units but received 2\.5/],
    ['returnSequences "yes"', () => rk.layers.gru({ units: 2, returnSequences: 'yes' } as never),
      'ARGUMENT', /Expected a boolean for gru_\d+\.returnSequences but received "yes"/],
    ['an unknown loss', () => model.compile({ optimizer: 'sgd', loss: 'crossEntropy' as never }),
      'ARGUMENT', /Expected one of categoricalCrossentropy, .* for loss but received "crossEntropy"/],
    ['an unknown optimizer', () => model.compile({ optimizer: 'sgdm' as never, loss: 'mse' }),
      'ARGUMENT', /Expected an optimizer name \(sgd, .*\) or rk.optimizers object but received "sgdm"/],
  ])('%s is an error naming what was expected and received', async (_, action, code, message) => {
    await expectRejectedWithoutChange(model, action, code, message);
  });
});

describe('setWeights with the wrong shapes', () => {
  const model = classifier();
  const good = () => model.getWeights();
  it('a wrong shape in the last tensor changes nothing (not even the earlier tensors)', async () => {
    const weights = good().map((w) => rk.tensor(Float32Array.from(w.data).fill(0.125), w.shape.slice()));
    weights[4] = rk.tensor(new Float32Array(4), [4]);
    await expectRejectedWithoutChange(model, () => model.setWeights(weights), 'SHAPE',
      /Expected weight 'bias' of layer 'dense_\d+' to have shape \[3\] but received \[4\]/);
  });
  it('the wrong number of tensors changes nothing', async () => {
    await expectRejectedWithoutChange(model, () => model.setWeights(good().slice(0, 4)), 'SHAPE',
      /Expected 5 weight tensors for model 'sequential' but received 4/);
  });
  it('NaN in a weight changes nothing', async () => {
    const weights = good().map((w) => rk.tensor(Float32Array.from(w.data).fill(0.125), w.shape.slice()));
    weights[1].data[2] = NaN;
    await expectRejectedWithoutChange(model, () => model.setWeights(weights), 'NOT_FINITE',
      /Expected finite values in weight 'recurrent_kernel' of layer 'lstm_\d+' but received NaN at 2/);
  });
  it('a layer-level setWeights with a wrong shape changes nothing', async () => {
    const layerWeights = model.getLayer(0).getWeights();
    layerWeights[0] = rk.tensor(new Float32Array(2 * 13), [2, 13]);
    await expectRejectedWithoutChange(model, () => model.getLayer(0).setWeights(layerWeights), 'SHAPE',
      /Expected weight 'kernel' of layer 'lstm_\d+' to have shape \[2, 12\] but received \[2, 13\]/);
  });
});

describe('concurrent calls', () => {
  it('a second fit while one is running is BUSY, and so is setWeights; both work once it finished', async () => {
    const model = classifier();
    const weights = model.getWeights();
    const x = rk.tensor(seededUniform(64 * STEPS * FEATURES, 4), [64, STEPS, FEATURES]);
    const y = oneHot(Array.from({ length: 64 }, (_, i) => i % CLASSES));
    const running = model.fit(x, y, { verbose: 0, epochs: 2, batchSize: 8 });
    expect(model.isBusy).toBe(true);
    await expectRnnError(() => model.fit(x, y, { verbose: 0 }), 'BUSY',
      /Cannot fit while fit is running on model 'sequential'; await it first/);
    await expectRnnError(() => model.setWeights(weights), 'BUSY', /Cannot set weights while fit is running/);
    await expectRnnError(() => model.getLayer(0).setWeights(weights.slice(0, 3)), 'BUSY',
      /Cannot set weights while fit is running/);
    await expectRnnError(() => model.trainOnBatch(x, y), 'BUSY', /Cannot train while fit is running/);
    await running;
    expect(model.isBusy).toBe(false);
    model.setWeights(weights);
    expect(weightBits(model)).toEqual(weights.map((w) => Array.from(new Uint32Array(Float32Array.from(w.data).buffer))));
  });
});
