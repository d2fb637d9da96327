/**
 * The linear probe: the transferred body stays fixed, its features are computed once (one inference pass over the
 * training data) and the Dense head is fitted on them to convergence. For a head whose activation matches its loss
 * (softmax + categorical cross-entropy, sigmoid + binary cross-entropy, linear + squared error) that is a convex
 * problem, solved with L-BFGS in one native call (native/kernels/lbfgs.h over the network's loss and gradient), with a weight decay on the head's kernel
 * (Keras l2: factor * sum K^2) chosen by stratified k-fold cross-validation on the cached features (lowest held-out
 * loss, so the choice uses every sample's predicted probability rather than only its argmax).
 *
 * The features are standardised first (per-feature mean and standard deviation over the training rows), as for any
 * logistic regression: recurrent features differ in scale by orders of magnitude, which makes the problem
 * ill-conditioned (a 10-class speech probe took 441 L-BFGS iterations raw). The weight decay therefore applies to the
 * kernel on standardised features, and the solution is rewritten for raw features before it goes into the head.
 */
import { RnnError } from '../errors';
import { Dense } from '../layers/core';
import { layerFromConfig, serializeLayer } from '../layers/registry';
import { Model } from '../models/model';
import { Sequential } from '../models/sequential';
import { Random } from '../random';
import { Tensor } from '../tensor';
import type { LossName } from '../training/losses';
import { cloneLayers } from './clone';
import { complement, stratifiedFolds, takeRows } from './folds';

/** Defaults of the probe (PROBE_DEFAULTS is the one place they are written). */
export const PROBE_DEFAULTS = Object.freeze({
  /** Weight-decay factors tried by cross-validation, largest first (each solve starts from the previous one). */
  l2: Object.freeze([1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]) as readonly number[],
  /** Folds of the weight-decay choice (fewer when a class has fewer samples). */
  folds: 3,
  /** L-BFGS iteration bound per solve. */
  maxIterations: 200,
  /** Batch size of the feature pass. */
  featureBatchSize: 256,
});

/**
 * When L-BFGS stops (kernels/lbfgs.h): max |gradient| <= gradientTolerance * max(1, |f|), or one iteration lowering f
 * by less than valueTolerance * max(1, |f|). The objective is float32, so tighter tolerances only add iterations.
 */
const SOLVER_TOLERANCES = Object.freeze({ gradientTolerance: 1e-4, valueTolerance: 1e-8 });

/** Where the probe can run: the head is the model's output layer, a Dense on vector features [D], used once. */
export interface ProbeSite {
  headIndex: number;
  featureSize: number;
}

/** The probe's site in `model` (a Sequential's last layer, a one-output graph's output layer), or why it cannot run. */
export function probeSite(model: Model): ProbeSite | { reason: string } {
  const topology = model.topology!;
  if (topology.outputs.length !== 1) return { reason: `model '${model.name}' has ${topology.outputs.length} outputs, not one head` };
  const node = topology.outputs[0].node!;
  const head = node.layer;
  if (!(head instanceof Dense)) return { reason: `the last layer '${head.name}' is a ${head.className}, not a Dense head` };
  if (topology.nodes.some((n) => n.layer === head && n !== node)) return { reason: `the head '${head.name}' is applied more than once` };
  if (node.inputs[0].isInput) return { reason: 'the model has no body under its head' };
  const input = node.inputs[0].sampleShape;
  if (input.length !== 1) return { reason: `the head '${head.name}' acts on [${input.join(', ')}] per sample, not on a feature vector` };
  return { headIndex: model.layers.indexOf(head), featureSize: input[0] };
}

/** The body's output (the head's input) for every sample of x: [N, D]. */
export async function bodyFeatures(model: Model, site: ProbeSite, x: Tensor): Promise<Tensor> {
  if (model instanceof Sequential) {
    const body = cloneLayers(model, site.headIndex);
    return body.predict(x, { batchSize: PROBE_DEFAULTS.featureBatchSize });
  }
  // A graph's body is the graph up to the head's input: a model over the same layers (their weights are shared, not
  // copied), disposed once the features are out.
  const topology = model.topology!;
  const body = new Model({ inputs: [...topology.inputs], outputs: topology.outputs[0].node!.inputs[0], name: `${model.name}_body` });
  try {
    return (await body.predict(x, { batchSize: PROBE_DEFAULTS.featureBatchSize })) as Tensor;
  } finally {
    body.dispose();
  }
}

/** Options of the linear probe (rk.fineTune's `probe`). */
export interface ProbeOptions {
  /** Weight decay of the head kernel: one factor, or several to choose from by cross-validation. Default PROBE_DEFAULTS.l2. */
  l2?: number | number[];
  /** L-BFGS iteration bound per solve. Default 200. */
  maxIterations?: number;
}

/** What the probe did. */
export interface ProbeResult {
  /** The weight decay used for the final fit. */
  l2: number;
  /** Mean held-out loss of each weight decay tried, strongest first (the path stops once the loss rose twice past its best; empty when only one was given). */
  candidates: Array<{
    /** A weight decay tried. */
    l2: number;
    /** Its mean held-out loss. */
    loss: number;
  }>;
  /** The objective (loss + weight decay, on standardised features) at the solution. */
  objective: number;
  /** L-BFGS iterations of the final fit. */
  iterations: number;
  /** Why L-BFGS stopped: 'gradient', 'value', 'iterations' or 'line search'. */
  stopped: string;
}

/** A one-layer model holding a copy of the head's config on [D] inputs, with weight decay `l2` on its kernel. */
function headModel(model: Model, site: ProbeSite, loss: LossName, l2: number): Sequential {
  const head = model.layers[site.headIndex];
  const layer = layerFromConfig(serializeLayer(head), 'head', {
    name: head.name, inputShape: [site.featureSize], trainable: true, kernelRegularizer: l2 > 0 ? { l1: 0, l2 } : undefined,
  });
  const probe = new Sequential({ name: `${model.name}_probe`, layers: [layer] });
  probe.compile({ optimizer: 'sgd', loss });
  return probe;
}

/**
 * Minimises loss + decay of a head model over (features, y), from `start`; returns the solution as weight tensors.
 * One native call: L-BFGS runs in C++ over the network's own loss and gradient (kernels/lbfgs.h), so a solve costs
 * its arithmetic, not one JS round trip per evaluation.
 */
async function solve(model: Model, features: Tensor, y: Tensor, start: Tensor[], maxIterations: number) {
  model.setWeights(start);
  const result = await model.minimizeOnBatch(features, y, { maxIterations, ...SOLVER_TOLERANCES });
  return { weights: model.getWeights(), result };
}

/** Held-out data loss (no weight decay) of head weights on some rows. */
async function heldOutLoss(plain: Sequential, weights: Tensor[], features: Tensor, y: Tensor): Promise<number> {
  plain.setWeights(weights);
  return (await plain.evaluate(features, y, { batchSize: Math.max(1, features.shape[0]) })).loss;
}

/** A weight decay chosen by cross-validation, and the mean held-out loss of each one tried. */
export interface DecayChoice {
  l2: number;
  candidates: Array<{ l2: number; loss: number }>;
}

/**
 * Chooses the head's weight decay among `options.l2` (default PROBE_DEFAULTS.l2) by stratified k-fold
 * cross-validation on the features: the lowest mean held-out loss.
 */
export async function chooseDecay(
  model: Model, site: ProbeSite, features: Tensor, y: Tensor, loss: LossName, rng: Random,
  options: ProbeOptions & { ids?: Int32Array } = {},
): Promise<DecayChoice> {
  const grid = options.l2 === undefined ? [...PROBE_DEFAULTS.l2] : Array.isArray(options.l2) ? [...options.l2] : [options.l2];
  grid.sort((a, b) => b - a);
  if (grid.length === 1) return { l2: grid[0], candidates: [] };
  const maxIterations = options.maxIterations ?? PROBE_DEFAULTS.maxIterations;
  const samples = features.shape[0];
  const standard = standardise(features, featureScaling(features, (model.layers[site.headIndex] as Dense).useBias));
  const zero = zeroWeights(model, site);
  const plain = headModel(model, site, loss, 0);
  const smallestClass = options.ids ? Math.min(...countClasses(options.ids)) : samples;
  const folds = Math.max(2, Math.min(PROBE_DEFAULTS.folds, smallestClass, samples));
  const all = Array.from({ length: samples }, (_, i) => i);
  const parts = stratifiedFolds(all, folds, rng, options.ids).map((held) => {
    const train = complement(all, held);
    return {
      train: [takeRows(standard, train), takeRows(y, train)] as const, held: [takeRows(standard, held), takeRows(y, held)] as const,
      start: zero,
    };
  });
  // The path runs from the strongest decay to the weakest, each fold warm-started from its previous solution. The
  // held-out loss over the path is U-shaped, so it stops once the mean has risen twice in a row past its best: the
  // weak decays left are the slowest to solve and would not be chosen.
  const candidates: Array<{ l2: number; loss: number }> = [];
  let rises = 0;
  for (const l2 of grid) {
    let sum = 0;
    for (const part of parts) {
      const { weights } = await solve(headModel(model, site, loss, l2), part.train[0], part.train[1], part.start, maxIterations);
      sum += await heldOutLoss(plain, weights, part.held[0], part.held[1]);
      part.start = weights;
    }
    const best = Math.min(...candidates.map((c) => c.loss));
    candidates.push({ l2, loss: sum / parts.length });
    rises = candidates[candidates.length - 1].loss > best ? rises + 1 : 0;
    if (rises === 2) break;
  }
  return { l2: candidates.reduce((a, b) => (b.loss < a.loss ? b : a)).l2, candidates };
}

function zeroWeights(model: Model, site: ProbeSite): Tensor[] {
  return model.layers[site.headIndex].getWeights().map((w) => new Tensor(new Float32Array(w.data.length), w.shape.slice()));
}

/**
 * Fits the head of `model` on cached body features to the optimum of loss + l2 * |kernel|^2 (on standardised
 * features) and writes the solution into the model's head; the body is not touched. The weight decay is `decided`
 * when given (e.g. chosen once for every fold of rk.fineTune's cross-validation), else chosen here by chooseDecay.
 */
export async function fitProbe(
  model: Model, site: ProbeSite, features: Tensor, y: Tensor, loss: LossName, rng: Random,
  options: ProbeOptions & { ids?: Int32Array; decided?: DecayChoice } = {},
): Promise<ProbeResult> {
  const samples = features.shape[0];
  if (y.shape[0] !== samples) throw new RnnError('SHAPE', `Expected y to hold ${samples} samples (one per feature row) but received ${y.shape[0]}`);
  const decay = options.decided ?? await chooseDecay(model, site, features, y, loss, rng, options);
  const scaling = featureScaling(features, (model.layers[site.headIndex] as Dense).useBias);
  const maxIterations = options.maxIterations ?? PROBE_DEFAULTS.maxIterations;
  const { weights, result } = await solve(headModel(model, site, loss, decay.l2), standardise(features, scaling), y, zeroWeights(model, site), maxIterations);
  model.layers[site.headIndex].setWeights(unstandardise(weights, scaling));
  return { l2: decay.l2, candidates: decay.candidates, objective: result.value, iterations: result.iterations, stopped: result.stopped };
}

/**
 * Per-feature mean and standard deviation over the rows (a constant feature gets 1, so it stays as it is). A head
 * without a bias cannot absorb a shift, so then the features are only scaled (mean 0, root mean square as the scale).
 */
function featureScaling(features: Tensor, centre: boolean): { mean: Float64Array; std: Float64Array } {
  const [rows, width] = features.shape;
  const mean = new Float64Array(width);
  const square = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < width; d++) {
      const v = features.data[r * width + d];
      mean[d] += v;
      square[d] += v * v;
    }
  }
  const std = new Float64Array(width);
  for (let d = 0; d < width; d++) {
    mean[d] = centre ? mean[d] / rows : 0;
    const variance = square[d] / rows - mean[d] * mean[d];
    std[d] = variance > 1e-12 ? Math.sqrt(variance) : 1;
  }
  return { mean, std };
}

function standardise(features: Tensor, { mean, std }: { mean: Float64Array; std: Float64Array }): Tensor {
  const width = mean.length;
  return new Tensor(features.data.map((v, i) => (v - mean[i % width]) / std[i % width]), features.shape.slice());
}

/**
 * Head weights on standardised features z = (f - mean) / std, rewritten for raw features f:
 * z K + b = f (K / std) + (b - (mean / std) K), row d of the kernel divided by std_d.
 */
function unstandardise([kernel, bias]: Tensor[], { mean, std }: { mean: Float64Array; std: Float64Array }): Tensor[] {
  const [width, units] = kernel.shape;
  const raw = new Float32Array(kernel.data.length);
  const shift = new Float64Array(units);
  for (let d = 0; d < width; d++) {
    for (let u = 0; u < units; u++) {
      const k = kernel.data[d * units + u];
      raw[d * units + u] = k / std[d];
      shift[u] += (mean[d] / std[d]) * k;
    }
  }
  // Without a bias the features were only scaled (mean 0), so there is no shift to absorb.
  return bias ? [new Tensor(raw, kernel.shape.slice()), new Tensor(Float32Array.from(bias.data, (b, u) => b - shift[u]), bias.shape.slice())]
    : [new Tensor(raw, kernel.shape.slice())];
}

function countClasses(ids: Int32Array): number[] {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.values()];
}
