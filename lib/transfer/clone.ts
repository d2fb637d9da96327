/**
 * Copies of a Sequential model for rk.fineTune: the same layers rebuilt from their configs (lib/layers/registry.ts),
 * either with the original's weights (a working copy that can be trained without touching the original) or with
 * fresh initial weights (the same architecture from scratch).
 */
import { serializeLayer, layerFromConfig } from '../layers/registry';
import { Sequential } from '../models/sequential';
import { Random, withGlobalRandom } from '../random';

/**
 * A new model with `model`'s layers, names and trainable flags. `weights`: 'copy' copies every weight; a Random draws
 * fresh initial weights from it (the layers' own initializers), leaving the global generator untouched.
 */
export function cloneModel(model: Sequential, weights: 'copy' | Random): Sequential {
  const build = () => {
    const copy = new Sequential({ name: model.name });
    model.layers.forEach((layer, i) => copy.add(layerFromConfig(serializeLayer(layer), `layer ${i}`, overridesOf(model, i))));
    return copy;
  };
  if (weights !== 'copy') return withGlobalRandom(weights, build);
  const copy = build();
  copy.setWeights(model.getWeights());
  return copy;
}

function overridesOf(model: Sequential, index: number): Record<string, unknown> {
  const layer = model.layers[index];
  return { name: layer.name, trainable: layer.trainable, ...(index === 0 ? { inputShape: [...model.inputShape] } : {}) };
}

/** A model of the first `count` layers of `model`, with copies of their weights (e.g. the body under a head). */
export function cloneLayers(model: Sequential, count: number): Sequential {
  const copy = new Sequential({ name: `${model.name}_body` });
  model.layers.slice(0, count).forEach((layer, i) => {
    const added = layerFromConfig(serializeLayer(layer), `layer ${i}`, overridesOf(model, i));
    copy.add(added);
    added.setWeights(layer.getWeights());
  });
  return copy;
}
