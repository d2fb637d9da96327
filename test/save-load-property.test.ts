/**
 * Every model that compiles also saves and loads: a seeded property test builds random valid models (recurrent
 * stacks of SimpleRNN / LSTM / GRU in both GRU forms, bidirectional wrappers, masking, embeddings, dropout,
 * time-distributed heads) with random valid compile settings, trains one step, saves in both formats, loads, and
 * checks that the loaded model predicts bit for bit the same; with the optimizer state included, one more training
 * step on the original and on the loaded copy must give the same weights bit for bit. (tfjs has no reset-after GRU:
 * such models must be refused by the tfjs writer with a FORMAT error naming the layer, never written.)
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { Random } from '../lib/random';

const SEED = 18;
const CASES = 60;
const root = mkdtempSync(join(tmpdir(), 'rnnkit-property-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pick = <T>(rng: Random, items: readonly T[]): T => items[rng.integer(items.length)];

interface Case { model: rk.Sequential; x: rk.Tensor; y: rk.Tensor; description: string; hasResetAfterGru: boolean }

function randomCase(rng: Random, index: number): Case {
  rk.setSeed(SEED * 1000 + index);
  const steps = 2 + rng.integer(4), features = 1 + rng.integer(3), samples = 4 + rng.integer(5);
  const layers: rk.Layer[] = [];
  const parts: string[] = [];
  let hasResetAfterGru = false;
  const embedding = rng.integer(5) === 0;
  const vocabulary = 4 + rng.integer(6);
  if (embedding) {
    layers.push(rk.layers.embedding({ inputDim: vocabulary, outputDim: 1 + rng.integer(3), maskZero: rng.integer(2) === 0, inputShape: [steps] }));
    parts.push('embedding');
  } else if (rng.integer(4) === 0) {
    layers.push(rk.layers.masking({ maskValue: 0, inputShape: [steps, features] }));
    parts.push('masking');
  }
  const recurrentCount = 1 + rng.integer(2);
  const sequenceHead = rng.integer(4) === 0;
  for (let r = 0; r < recurrentCount; r++) {
    const cell = pick(rng, ['simpleRNN', 'lstm', 'gru'] as const);
    const resetAfter = cell === 'gru' ? rng.integer(2) === 0 : undefined;
    if (resetAfter) hasResetAfterGru = true;
    const args = {
      units: 1 + rng.integer(4), returnSequences: r < recurrentCount - 1 || sequenceHead,
      goBackwards: rng.integer(4) === 0, activation: pick(rng, ['tanh', 'relu', 'sigmoid'] as const),
      recurrentDropout: rng.integer(3) === 0 ? 0.2 : 0, dropout: rng.integer(3) === 0 ? 0.1 : 0,
      ...(layers.length === 0 ? { inputShape: [steps, features] } : {}),
      ...(resetAfter !== undefined ? { resetAfter } : {}),
    };
    const recurrent = cell === 'simpleRNN' ? rk.layers.simpleRNN(args) : cell === 'lstm' ? rk.layers.lstm(args) : rk.layers.gru(args);
    if (rng.integer(3) === 0) {
      const inputShape = (recurrent as unknown as { inputShape?: number[] }).inputShape;
      layers.push(rk.layers.bidirectional({ layer: cell === 'simpleRNN' ? rk.layers.simpleRNN({ ...args, inputShape: undefined }) : cell === 'lstm' ? rk.layers.lstm({ ...args, inputShape: undefined }) : rk.layers.gru({ ...args, inputShape: undefined }),
        mergeMode: pick(rng, ['concat', 'sum', 'mul', 'ave'] as const), ...(inputShape ? { inputShape } : {}) }));
      parts.push(`bidirectional(${cell}${resetAfter ? ' resetAfter' : ''})`);
    } else {
      layers.push(recurrent);
      parts.push(`${cell}${resetAfter ? ' resetAfter' : ''}`);
    }
  }
  if (rng.integer(3) === 0) {
    layers.push(rk.layers.dropout({ rate: 0.25 }));
    parts.push('dropout');
  }
  const loss = pick(rng, ['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError', 'meanAbsoluteError', 'huber'] as const);
  const classes = loss === 'binaryCrossentropy' ? 1 : 2 + rng.integer(3);
  const activation = loss.includes('ategorical') ? 'softmax' : loss === 'binaryCrossentropy' ? 'sigmoid' : pick(rng, ['linear', 'tanh'] as const);
  const head = rk.layers.dense({ units: classes, activation });
  layers.push(sequenceHead && rng.integer(2) === 0 ? rk.layers.timeDistributed({ layer: head }) : head);
  parts.push(`dense(${classes}, ${activation})${sequenceHead ? ' per step' : ''}`);
  const model = rk.sequential({ layers });

  const optimizerKind = pick(rng, ['sgd', 'rmsprop', 'adam', 'adamw', 'adagrad'] as const);
  const clip = rng.integer(3) === 0 ? { clipnorm: 0.5 + rng.uniform() } : {};
  const learningRate = 10 ** -(1 + rng.integer(3));
  const optimizer = optimizerKind === 'sgd' ? rk.optimizers.sgd({ learningRate, momentum: rng.integer(2) * 0.9, nesterov: rng.integer(2) === 0, ...clip })
    : optimizerKind === 'rmsprop' ? rk.optimizers.rmsprop({ learningRate, centered: rng.integer(2) === 0, momentum: rng.integer(2) * 0.5, ...clip })
      : optimizerKind === 'adam' ? rk.optimizers.adam({ learningRate, ...clip })
        : optimizerKind === 'adamw' ? rk.optimizers.adamw({ learningRate, weightDecay: 0.01, ...clip })
          : rk.optimizers.adagrad({ learningRate, ...clip });
  const metrics = loss === 'sparseCategoricalCrossentropy' ? ['accuracy'] : pick(rng, [[], ['accuracy'], ['mae', 'mse']]);
  model.compile({ optimizer, loss, metrics });
  parts.push(`${loss} ${optimizerKind} [${metrics.join(',')}]`);

  const inputSize = embedding ? samples * steps : samples * steps * features;
  const x = embedding
    ? rk.tensor(Float32Array.from({ length: inputSize }, () => rng.integer(vocabulary)), [samples, steps])
    : rk.tensor(Float32Array.from({ length: inputSize }, () => (rng.integer(5) === 0 ? 0 : rng.uniform() * 2 - 1)), [samples, steps, features]);
  const outRows = samples * (sequenceHead ? steps : 1);
  const outShape = sequenceHead ? [samples, steps] : [samples];
  let y: rk.Tensor;
  if (loss === 'sparseCategoricalCrossentropy') y = rk.tensor(Float32Array.from({ length: outRows }, () => rng.integer(classes)), outShape);
  else if (loss === 'categoricalCrossentropy') {
    const values = new Float32Array(outRows * classes);
    for (let r = 0; r < outRows; r++) values[r * classes + rng.integer(classes)] = 1;
    y = rk.tensor(values, [...outShape, classes]);
  } else y = rk.tensor(Float32Array.from({ length: outRows * classes }, () => (loss === 'binaryCrossentropy' ? rng.integer(2) : rng.uniform())), [...outShape, classes]);
  return { model, x, y, description: parts.join(' > '), hasResetAfterGru };
}

const bits = (t: rk.Tensor) => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
const weightBits = (m: rk.Sequential) => m.getWeights().map(bits);

test(`${CASES} random models: save and load in both formats predict and resume bit for bit`, async () => {
  const rng = new Random(SEED);
  const failures: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const { model, x, y, description, hasResetAfterGru } = randomCase(rng, i);
    try {
      await model.trainOnBatch(x, y);
      const expected = bits(await model.predict(x));
      const file = join(root, `case${i}.rnnkit`);
      await model.save(file, { includeOptimizer: true });
      const loaded = (await rk.loadModel(file)) as rk.Sequential;
      if (bits(await loaded.predict(x)).join() !== expected.join()) failures.push(`${i} ${description}: rnnkit predictions differ`);
      rk.setSeed(i);
      await model.trainOnBatch(x, y);
      rk.setSeed(i);
      await loaded.trainOnBatch(x, y);
      if (weightBits(loaded).join('|') !== weightBits(model).join('|')) failures.push(`${i} ${description}: resumed step differs`);
      const tfjsDir = join(root, `case${i}-tfjs`);
      const tfjsSave = model.save(tfjsDir, { format: 'tfjs' });
      if (hasResetAfterGru) {
        await expect(tfjsSave).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/Expected resetAfter false for GRU layer/) });
      } else {
        await tfjsSave;
        const fromTfjs = (await rk.loadModel(tfjsDir)) as rk.Sequential;
        const now = bits(await model.predict(x));
        if (bits(await fromTfjs.predict(x)).join() !== now.join()) failures.push(`${i} ${description}: tfjs predictions differ`);
      }
    } catch (error) {
      failures.push(`${i} ${description}: ${(error as Error).message}`);
    }
  }
  expect(failures).toEqual([]);
}, 120_000);
