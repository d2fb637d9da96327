/**
 * The linear probe: the transferred body stays fixed, its features are computed once (one inference pass over the
 * training data) and the Dense head is fitted on them to convergence. For a head whose activation matches its loss
 * (softmax + categorical cross-entropy, sigmoid + binary cross-entropy, linear + squared error) that is a convex
 * problem, solved with L-BFGS (./lbfgs.ts) on the native loss and gradient, with a weight decay on the head's kernel
 * (Keras l2: factor * sum K^2) chosen by stratified k-fold cross-validation on the cached features (lowest held-out
 * loss, so the choice uses every sample's predicted probability rather than only its argmax).
 */
import { RnnError } from '../errors';
import { Dense } from '../layers/core';
import { layerFromConfig, serializeLayer } from '../layers/registry';
import { Sequential } from '../models/sequential';
import { toRnnError } from '../native';
import { Random } from '../random';
import { Tensor } from '../tensor';
import { prepareInputs, prepareTargets } from '../training/data';
import type { LossName } from '../training/losses';
import { cloneLayers } from './clone';
import { complement, stratifiedFolds, takeRows } from './folds';
import { minimize } from './lbfgs';

/** Defaults of the probe (PROBE_DEFAULTS is the one place they are written). */
export const PROBE_DEFAULTS = Object.freeze({
  /** Weight-decay factors tried by cross-validation, largest first (each solve starts from the previous one). */
  l2: Object.freeze([1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]) as readonly number[],
  /** Folds of the weight-decay choice (fewer when a class has fewer samples). */
  folds: 3,
  /** L-BFGS iteration bound per solve. */
  maxIterations: 500,
  /** Batch size of the feature pass. */
  featureBatchSize: 256,
});

/** Where the probe can run: the head is the last layer, a Dense on vector features [D]. */
export interface ProbeSite {
  headIndex: number;
  featureSize: number;
}

/** The probe's site in `model`, or the reason it cannot run there. */
export function probeSite(model: Sequential): ProbeSite | { reason: string } {
  const headIndex = model.layers.length - 1;
  const head = model.layers[headIndex];
  if (!(head instanceof Dense)) return { reason: `the last layer '${head.name}' is a ${head.className}, not a Dense head` };
  if (headIndex === 0) return { reason: 'the model has no body under its head' };
  const input = model.layerInputShape(headIndex);
  if (input.length !== 1) return { reason: `the head '${head.name}' acts on [${input.join(', ')}] per sample, not on a feature vector` };
  return { headIndex, featureSize: input[0] };
}

/** The body's output (the head's input) for every sample of x: [N, D]. */
export async function bodyFeatures(model: Sequential, site: ProbeSite, x: Tensor): Promise<Tensor> {
  const body = cloneLayers(model, site.headIndex);
  return body.predict(x, { batchSize: PROBE_DEFAULTS.featureBatchSize });
}

export interface ProbeOptions {
  /** Weight decay of the head kernel: one factor, or several to choose from by cross-validation. Default PROBE_DEFAULTS.l2. */
  l2?: number | number[];
  /** L-BFGS iteration bound per solve. Default 500. */
  maxIterations?: number;
}

/** What the probe did. */
export interface ProbeResult {
  /** The weight decay used for the final fit. */
  l2: number;
  /** Mean held-out loss of each weight decay tried, strongest first (the path stops once the loss rose twice past its best; empty when only one was given). */
  candidates: Array<{ l2: number; loss: number }>;
  /** Objective (loss + weight decay) at the solution, L-BFGS iterations, and why it stopped. */
  objective: number;
  iterations: number;
  stopped: string;
}

/** A one-layer model holding a copy of the head's config on [D] inputs, with weight decay `l2` on its kernel. */
function headModel(model: Sequential, site: ProbeSite, loss: LossName, l2: number): Sequential {
  const head = model.layers[site.headIndex];
  const layer = layerFromConfig(serializeLayer(head), 'head', {
    name: head.name, inputShape: [site.featureSize], trainable: true, kernelRegularizer: l2 > 0 ? { l1: 0, l2 } : undefined,
  });
  const probe = new Sequential({ name: `${model.name}_probe`, layers: [layer] });
  probe.compile({ optimizer: 'sgd', loss });
  return probe;
}

/** Flattens the head's weights into one float64 vector (kernel then bias). */
function flatten(weights: Tensor[]): Float64Array {
  const total = weights.reduce((n, w) => n + w.data.length, 0);
  const out = new Float64Array(total);
  let offset = 0;
  for (const w of weights) {
    out.set(w.data, offset);
    offset += w.data.length;
  }
  return out;
}

function unflatten(w: Float64Array, like: Tensor[]): Tensor[] {
  let offset = 0;
  return like.map((t) => {
    const part = Float32Array.from(w.subarray(offset, offset + t.data.length));
    offset += t.data.length;
    return new Tensor(part, t.shape.slice());
  });
}

/**
 * Minimises loss + decay of a head model over (features, y), from `start`; returns the solution as weight tensors.
 * The data are checked once; every evaluation is then one call of the native network (about 20 us for a few hundred
 * rows, against 120 us through model.computeGradients, which checks its inputs on every call).
 */
async function solve(model: Sequential, features: Tensor, y: Tensor, start: Tensor[], maxIterations: number) {
  const shapes = model.dataShapes(model.requireCompiled().loss);
  const input = await prepareInputs(features, shapes);
  const targets = await prepareTargets(y, shapes, input.shape[0]);
  const network = model.requireNetwork();
  const indices = model.layers.flatMap((layer) => model.paramIndicesOf(layer));
  const result = await minimize(async (w) => {
    unflatten(w, start).forEach((t, k) => network.setParam(indices[k], t.data));
    const out = await network.computeGradients(input.data, input.shape[0], targets.data, null, 0).catch((e) => { throw toRnnError(e); });
    return { value: out.metrics.loss, gradient: flatten(indices.map((i, k) => new Tensor(out.gradients[i], start[k].shape))) };
  }, flatten(start), { maxIterations });
  return { weights: unflatten(result.w, start), result };
}

/** Held-out data loss (no weight decay) of head weights on some rows. */
async function heldOutLoss(plain: Sequential, weights: Tensor[], features: Tensor, y: Tensor): Promise<number> {
  plain.setWeights(weights);
  return (await plain.evaluate(features, y, { batchSize: Math.max(1, features.shape[0]) })).loss;
}

/**
 * Fits the head of `model` on cached body features to the optimum of loss + l2 * |kernel|^2, choosing l2 by
 * cross-validation when several are given, and writes the solution into the model's head. The body is not touched.
 */
export async function fitProbe(
  model: Sequential, site: ProbeSite, features: Tensor, y: Tensor, loss: LossName, rng: Random,
  options: ProbeOptions & { ids?: Int32Array } = {},
): Promise<ProbeResult> {
  const grid = options.l2 === undefined ? [...PROBE_DEFAULTS.l2] : Array.isArray(options.l2) ? [...options.l2] : [options.l2];
  grid.sort((a, b) => b - a);
  const maxIterations = options.maxIterations ?? PROBE_DEFAULTS.maxIterations;
  const samples = features.shape[0];
  if (y.shape[0] !== samples) throw new RnnError('SHAPE', `Expected y to hold ${samples} samples (one per feature row) but received ${y.shape[0]}`);
  const head = model.layers[site.headIndex];
  const zero = head.getWeights().map((w) => new Tensor(new Float32Array(w.data.length), w.shape.slice()));
  const candidates: Array<{ l2: number; loss: number }> = [];
  let chosen = grid[0];
  if (grid.length > 1) {
    const plain = headModel(model, site, loss, 0);
    const smallestClass = options.ids ? Math.min(...countClasses(options.ids)) : samples;
    const folds = Math.max(2, Math.min(PROBE_DEFAULTS.folds, smallestClass, samples));
    const all = Array.from({ length: samples }, (_, i) => i);
    const heldOut = stratifiedFolds(all, folds, rng, options.ids);
    const parts = heldOut.map((held) => {
      const train = complement(all, held);
      return {
        train: [takeRows(features, train), takeRows(y, train)] as const, held: [takeRows(features, held), takeRows(y, held)] as const,
        start: zero,
      };
    });
    // The path runs from the strongest decay to the weakest, each fold warm-started from its previous solution. The
    // held-out loss over the path is U-shaped, so it stops once the mean has risen twice in a row past its best: the
    // weak decays left are the slowest to solve and would not be chosen.
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
    chosen = candidates.reduce((a, b) => (b.loss < a.loss ? b : a)).l2;
  }
  const { weights, result } = await solve(headModel(model, site, loss, chosen), features, y, zero, maxIterations);
  head.setWeights(weights);
  return { l2: chosen, candidates, objective: result.value, iterations: result.iterations, stopped: result.reason };
}

function countClasses(ids: Int32Array): number[] {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.values()];
}
