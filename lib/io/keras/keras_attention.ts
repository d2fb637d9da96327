/**
 * Keras 3 `Attention` and `AdditiveAttention` configs (keras/src/layers/attention/attention.py,
 * additive_attention.py). Their get_config holds the constructor arguments: Attention `use_scale`, `score_mode`
 * ('dot' | 'concat'), `dropout`, `seed`; AdditiveAttention `use_scale`, `dropout` (its base's score_mode removed).
 * What rnnkit keeps per layer, `returnAttentionScores` and `useCausalMask`, Keras takes per call: they travel as the
 * `return_attention_scores` / `use_causal_mask` keywords of each node (keras_graph.ts), and the reader below takes
 * them from the config keys keras_graph.ts sets after checking every node of the layer agrees.
 */
import { RnnError } from '../../errors';
import type { SerializedLayer } from '../../layers/registry';
import { describeValue } from '../../validate';

/** Keras's attention classes rnnkit has. */
export const ATTENTION_CLASSES = new Set(['Attention', 'AdditiveAttention']);
/** The call keywords rnnkit keeps on the layer: Keras keyword -> rnnkit option. */
export const ATTENTION_CALL_KEYS: Record<string, string> = { return_attention_scores: 'returnAttentionScores', use_causal_mask: 'useCausalMask' };

const isNull = (v: unknown) => v === null || v === undefined;

/** rnnkit's serialized attention layer from a Keras config already stripped of dtype and wrapper keys. */
export function fromKerasAttention(className: string, config: Record<string, unknown>, where: string, file: string): SerializedLayer {
  const fail = (key: string, what: string, value: unknown): never => {
    throw new RnnError('FORMAT', `${file}: expected ${what} for ${where}.config.${key} but received ${describeValue(value)}`);
  };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'name') out.name = value;
    else if (key === 'trainable') out.trainable = value;
    else if (key === 'use_scale') out.useScale = value;
    else if (key === 'dropout') out.dropout = value;
    else if (key === 'score_mode' && className === 'Attention') out.scoreMode = value;
    else if (key === 'seed') { if (!isNull(value) && typeof value !== 'number') fail(key, 'a number or null (it only chooses which weights drop)', value); }
    else if (key === 'causal') out.useCausalMask = value; // Keras 2's constructor form of use_causal_mask
    else if (Object.prototype.hasOwnProperty.call(ATTENTION_CALL_KEYS, key)) out[ATTENTION_CALL_KEYS[key]] = value;
    else throw new RnnError('FORMAT', `${file}: ${where} (${className}) has the key '${key}', which rnnkit does not support`);
  }
  return { className, config: out };
}

/** Keras 3's get_config of an rnnkit attention layer (the call options go to the nodes, not here). */
export function toKeras3AttentionConfig(layer: SerializedLayer): Record<string, unknown> {
  const c = layer.config;
  const out: Record<string, unknown> = { name: c.name, trainable: c.trainable, use_scale: c.useScale, dropout: c.dropout };
  if (layer.className === 'Attention') Object.assign(out, { score_mode: c.scoreMode, seed: null });
  return out;
}
