/**
 * rk.pretrain: a source model from unlabelled sequences (self-supervised, as ULMFiT's language-model stage). The body
 * of `model` (every layer under its head) learns next-step prediction: from the steps up to t, predict step t + 1
 * (features: a linear per-step read-out with mean squared error; token ids under an Embedding: a softmax over the
 * vocabulary with sparse cross-entropy). The trained body weights are written back into `model`; its head is left as
 * it is, so the usual next step is rk.transfer(model, { head }) and rk.fineTune on a few labels.
 *
 * A body that can see the future would solve the task by copying it, so bidirectional and goBackwards layers are
 * refused.
 */
import { RnnError } from '../errors';
import { Embedding } from '../layers/core';
import { Layer } from '../layers/layer';
import { layerFromConfig, serializeLayer } from '../layers/registry';
import { RecurrentLayer } from '../layers/recurrent';
import { Bidirectional, TimeDistributed } from '../layers/wrappers';
import { Sequential } from '../models/sequential';
import { Optimizer, OptimizerName, resolveOptimizer } from '../optimizers';
import { globalRandom, Random, withGlobalRandom } from '../random';
import { Tensor, TensorLike, toTensor } from '../tensor';
import { Callback } from '../training/callbacks';
import { History } from '../training/history';
import { DEFAULT_BATCH_SIZE } from '../training/data';
import { checkInteger, checkKnownKeys, checkNumber, invalid, optionsOrEmpty } from '../validate';
import { weightedLayers } from './stages';

/** Options of rk.pretrain. */
export interface PretrainOptions {
  /** Epochs of next-step prediction. Default 10. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Optimizer name or rk.optimizers object. Default 'adam'. */
  optimizer?: OptimizerName | Optimizer;
  /** Fraction of the sequences held out (fit's validationSplit: the last rows) to report val_loss. Default 0. */
  validationSplit?: number;
  /** Callbacks of the pretraining fit. */
  callbacks?: Callback[];
  /** fit's verbose. Default 1. */
  verbose?: 0 | 1;
  /** Seed of the read-out's initial weights, shuffling and dropout. Default: from rk.setSeed's generator. */
  seed?: number;
}

/** What rk.pretrain did. */
export interface PretrainResult {
  /** The pretraining fit's history (loss is the next-step loss). */
  history: History;
  /**
   * The next-step loss of a trivial predictor on the same data, to judge the history against: for features, "the next
   * step equals this one" (mean squared error); for tokens, the entropy of the token frequencies (unigram).
   */
  baselineLoss: number;
  /** Names of the layers of `model` whose weights were pretrained. */
  pretrained: string[];
}

const PRETRAIN_KEYS = ['epochs', 'batchSize', 'optimizer', 'validationSplit', 'callbacks', 'verbose', 'seed'] as const;

function checkBody(model: Sequential, body: readonly Layer[]): void {
  const recurrent = body.filter((l) => l instanceof RecurrentLayer || l instanceof Bidirectional);
  if (recurrent.length === 0) throw new RnnError('ARGUMENT', `Expected a recurrent layer under the head of model '${model.name}' to pretrain but it has none`);
  for (const layer of body) {
    if (layer instanceof Bidirectional || (layer instanceof RecurrentLayer && layer.goBackwards)) {
      throw new RnnError('ARGUMENT', `Expected only forward recurrent layers for next-step pretraining, but '${layer.name}' sees the future (${layer instanceof Bidirectional ? 'bidirectional' : 'goBackwards'}), so predicting the next step would be copying it`);
    }
    if (layer instanceof TimeDistributed) throw new RnnError('ARGUMENT', `Expected the body of model '${model.name}' to end in recurrent layers but '${layer.name}' is a TimeDistributed layer`);
  }
  const last = body[body.length - 1];
  if (!(last instanceof RecurrentLayer)) throw new RnnError('ARGUMENT', `Expected the layer under the head of model '${model.name}' to be recurrent but '${last.name}' is a ${last.className}`);
}

/** The inputs and targets of next-step prediction: steps 0..T-2 predict steps 1..T-1. */
function shifted(x: Tensor): { inputs: Tensor; targets: Tensor } {
  const [samples, steps] = x.shape;
  if (x.rank < 2 || steps < 2) throw new RnnError('SHAPE', `Expected sequences of at least 2 steps [samples, timeSteps, ...] but received [${x.shape.join(', ')}]`);
  const stepSize = x.size / (samples * steps);
  const inputs = new Float32Array(samples * (steps - 1) * stepSize);
  const targets = new Float32Array(samples * (steps - 1) * stepSize);
  for (let s = 0; s < samples; s++) {
    const row = x.data.subarray(s * steps * stepSize, (s + 1) * steps * stepSize);
    inputs.set(row.subarray(0, (steps - 1) * stepSize), s * (steps - 1) * stepSize);
    targets.set(row.subarray(stepSize), s * (steps - 1) * stepSize);
  }
  const rest = x.shape.slice(2);
  return { inputs: new Tensor(inputs, [samples, steps - 1, ...rest]), targets: new Tensor(targets, [samples, steps - 1, ...rest]) };
}

function baseline(inputs: Tensor, targets: Tensor, vocabulary: number | undefined): number {
  if (vocabulary !== undefined) {
    const counts = new Float64Array(vocabulary);
    for (const id of targets.data) counts[id]++;
    const total = targets.size;
    return counts.reduce((h, c) => (c > 0 ? h - (c / total) * Math.log(c / total) : h), 0);
  }
  let sum = 0;
  for (let i = 0; i < inputs.size; i++) sum += (targets.data[i] - inputs.data[i]) ** 2;
  return sum / inputs.size;
}

/**
 * Pretrains the body of `model` on unlabelled sequences x by next-step prediction and writes the learned weights
 * into it (see the file header). `model`'s head and the source data are not touched.
 */
export async function pretrain(model: Sequential, x: TensorLike, options: PretrainOptions = {}): Promise<PretrainResult> {
  if (!(model instanceof Sequential)) throw invalid('ARGUMENT', 'a Sequential model', 'model', model);
  const opts = optionsOrEmpty(options, 'pretrain options');
  checkKnownKeys(opts, PRETRAIN_KEYS, 'pretrain options');
  const epochs = opts.epochs === undefined ? 10 : checkInteger(opts.epochs, 'epochs', { min: 1 });
  const batchSize = opts.batchSize === undefined ? DEFAULT_BATCH_SIZE : checkInteger(opts.batchSize, 'batchSize', { min: 1 });
  const validationSplit = opts.validationSplit === undefined ? 0 : checkNumber(opts.validationSplit, 'validationSplit', { min: 0, max: 0.9 });
  const verbose = (opts.verbose === undefined ? 1 : checkInteger(opts.verbose, 'verbose', { min: 0, max: 1 })) as 0 | 1;
  const seed = opts.seed === undefined ? globalRandom().integer(0x7fffffff) : checkInteger(opts.seed, 'seed', { min: 0 });
  const optimizer = resolveOptimizer(opts.optimizer) ?? new Optimizer('adam');

  const weighted = weightedLayers(model);
  const headIndex = model.layers.findIndex((l) => l.name === weighted[weighted.length - 1]);
  const body = model.layers.slice(0, headIndex);
  if (body.length === 0) throw new RnnError('ARGUMENT', `Expected a body under the head of model '${model.name}' to pretrain but it has only '${model.layers[0]?.name}'`);
  checkBody(model, body);
  const first = body[0];
  const vocabulary = first instanceof Embedding ? first.inputDim : undefined;
  const data = toTensor(x, 'x');
  const expected = model.inputShape;
  if (data.rank !== expected.length + 1 || data.shape.slice(1).some((d, i) => d !== expected[i])) {
    throw new RnnError('SHAPE', `Expected x of shape [samples, ${expected.join(', ')}] (the model's input) but received [${data.shape.join(', ')}]`);
  }
  const { inputs, targets } = shifted(data);

  // The same body on T - 1 steps, its last recurrent layer returning every step, and a per-step read-out.
  const stepSize = vocabulary ?? data.size / (data.shape[0] * data.shape[1]);
  const pretrainer = withGlobalRandom(new Random(seed), () => {
    const net = new Sequential({ name: `${model.name}_pretrain` });
    body.forEach((layer, i) => {
      const overrides: Record<string, unknown> = { name: layer.name, trainable: true };
      if (i === 0) overrides.inputShape = [expected[0] - 1, ...expected.slice(1)];
      if (i === body.length - 1) overrides.returnSequences = true;
      net.add(layerFromConfig(serializeLayer(layer), `layer ${i}`, overrides));
    });
    net.add(layerFromConfig({ className: 'Dense', config: { units: stepSize, activation: vocabulary ? 'softmax' : 'linear' } }, 'read-out', { name: `${model.name}_next_step` }));
    return net;
  });
  body.forEach((layer, i) => pretrainer.layers[i].setWeights(layer.getWeights()));
  pretrainer.compile({ optimizer: optimizer.clone(), loss: vocabulary ? 'sparseCategoricalCrossentropy' : 'meanSquaredError' });
  const history = await pretrainer.fit(inputs, targets, { epochs, batchSize, validationSplit, callbacks: opts.callbacks, verbose, seed });
  body.forEach((layer, i) => layer.setWeights(pretrainer.layers[i].getWeights()));
  return { history, baselineLoss: baseline(inputs, targets, vocabulary), pretrained: body.filter((l) => weighted.includes(l.name)).map((l) => l.name) };
}
