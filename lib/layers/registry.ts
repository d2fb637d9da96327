/**
 * Rebuilding layers from `{ className, config }` (what getConfig and saved models hold). Configs are validated by
 * the layer constructors, so a forged or outdated config raises the same errors as bad constructor arguments.
 */
import { RnnError } from '../errors';
import { describeValue, isPlainObject } from '../validate';
import { Dense, Dropout, Embedding, Masking } from './core';
import { Layer } from './layer';
import { RecurrentLayer } from './recurrent';
import { Bidirectional, TimeDistributed } from './wrappers';
import { Add, Average, Concatenate, Maximum, Multiply, Subtract } from './merge';
import { Flatten, RepeatVector, Reshape } from './reshape';
import { AdditiveAttention, Attention } from './attention';

export interface SerializedLayer {
  className: string;
  config: Record<string, unknown>;
}

type Factory = (config: Record<string, unknown>) => Layer;

const FACTORIES: Record<string, Factory> = {
  SimpleRNN: (c) => new RecurrentLayer('simpleRNN', c as never),
  LSTM: (c) => new RecurrentLayer('lstm', c as never),
  GRU: (c) => new RecurrentLayer('gru', c as never),
  Dense: (c) => new Dense(c as never),
  Dropout: (c) => new Dropout(c as never),
  Masking: (c) => new Masking(c as never),
  Embedding: (c) => new Embedding(c as never),
  Bidirectional: (c) => new Bidirectional({ ...c, layer: layerFromConfig(c.layer, 'Bidirectional.layer') } as never),
  TimeDistributed: (c) => new TimeDistributed({ ...c, layer: layerFromConfig(c.layer, 'TimeDistributed.layer') } as never),
  Concatenate: (c) => new Concatenate(c as never),
  Add: (c) => new Add(c as never),
  Subtract: (c) => new Subtract(c as never),
  Multiply: (c) => new Multiply(c as never),
  Average: (c) => new Average(c as never),
  Maximum: (c) => new Maximum(c as never),
  RepeatVector: (c) => new RepeatVector(c as never),
  Reshape: (c) => new Reshape(c as never),
  Flatten: (c) => new Flatten(c as never),
  Attention: (c) => new Attention(c as never),
  AdditiveAttention: (c) => new AdditiveAttention(c as never),
};

/** The class names layerFromConfig accepts. */
export const LAYER_CLASS_NAMES = Object.freeze(Object.keys(FACTORIES));

/** `{ className, config }` of a layer: the inverse of layerFromConfig. */
export function serializeLayer(layer: Layer): SerializedLayer {
  return { className: layer.className, config: layer.getConfig() };
}

/**
 * A new layer from `{ className, config }`. `overrides` replace config entries (e.g. a new name or inputShape).
 * Throws FORMAT for an unknown class or a malformed entry, and the constructor's errors for bad options.
 */
export function layerFromConfig(serialized: unknown, name = 'layer', overrides: Record<string, unknown> = {}): Layer {
  if (!isPlainObject(serialized) || typeof serialized.className !== 'string' || !isPlainObject(serialized.config)) {
    throw new RnnError('FORMAT', `Expected { className, config } for ${name} but received ${describeValue(serialized)}`);
  }
  const factory = Object.prototype.hasOwnProperty.call(FACTORIES, serialized.className) ? FACTORIES[serialized.className] : undefined;
  if (!factory) {
    throw new RnnError('FORMAT', `Expected a layer class among ${LAYER_CLASS_NAMES.join(', ')} for ${name} but received '${serialized.className}'`);
  }
  return factory({ ...serialized.config, ...overrides });
}
