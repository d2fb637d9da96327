/**
 * Copies of a model for rk.fineTune and rk.crossValidate: rebuilt through the one model factory that io also uses
 * (lib/models/model_config.ts), so a Sequential clones as a Sequential and a graph as a graph, either with the
 * original's weights (a working copy that can be trained without touching the original) or with fresh initial
 * weights (the same architecture from scratch).
 */
import { RnnError } from '../errors';
import { serializeLayer, layerFromConfig } from '../layers/registry';
import type { Model } from '../models/model';
import { blueprintFromConfig, modelConfig } from '../models/model_config';
import { Sequential } from '../models/sequential';
import { Random, withGlobalRandom } from '../random';

/**
 * A new model with `model`'s graph, layer names and trainable flags. `weights`: 'copy' copies every weight; a Random
 * draws fresh initial weights from it (the layers' own initializers), leaving the global generator untouched.
 */
export function cloneModel<M extends Model>(model: M, weights: 'copy' | Random): M {
  const config = modelConfig(model);
  const layers = model.layers;
  const build = () => blueprintFromConfig(config, `model '${model.name}'`, (i) => ({ trainable: layers[i].trainable })).build() as M;
  if (weights !== 'copy') return withGlobalRandom(weights, build);
  const copy = build();
  copy.setWeights(model.getWeights());
  return copy;
}

/** A model of the first `count` layers of `model`, with copies of their weights (e.g. the body under a head). */
export function cloneLayers(model: Sequential, count: number): Sequential {
  const copy = new Sequential({ name: `${model.name}_body` });
  model.layers.slice(0, count).forEach((layer, i) => {
    const overrides = { name: layer.name, trainable: layer.trainable, ...(i === 0 ? { inputShape: [...model.inputShape] } : {}) };
    const added = layerFromConfig(serializeLayer(layer), `layer ${i}`, overrides);
    copy.add(added);
    added.setWeights(layer.getWeights());
  });
  return copy;
}

/**
 * The transfer recipes split one x tensor and one y tensor into folds and splits: a graph must have exactly one
 * input and one output for them; otherwise an ARGUMENT error names the counts (`what` names the function).
 */
export function checkOneInputOneOutput(model: Model, what: string): void {
  const [inputs, outputs] = [model.inputs.length, model.outputs.length];
  if (inputs !== 1 || outputs !== 1) {
    throw new RnnError('ARGUMENT', `Expected a model with one input and one output for ${what} (it splits one x and one y tensor into folds) but model '${model.name}' has ${inputs} input(s) and ${outputs} output(s)`);
  }
}
