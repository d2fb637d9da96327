/**
 * Dict inputs and outputs of Keras functional models. A model built with dicts (`keras.Model({'a': a, 'b': b},
 * {'enc': h, 'score': y})`) has `input_layers` / `output_layers` written as dicts of `[layer, node, tensor]`
 * (Keras 3's get_config maps the structure it was built with; tf.keras 2's get_network_config packs it the same
 * way). Keras flattens a dict in sorted key order (keras.tree / optree, and tf.nest), which is the order of its
 * `model.inputs` / `model.outputs`: rnnkit takes that order and names each tensor after its key.
 */
import { RnnError } from '../../errors';
import { describeValue, isPlainObject } from '../../validate';
import type { ListGraph, WeightPlace } from './keras_nested';

type Ref = unknown[];

function bad(file: string, where: string, expected: string, received: unknown): RnnError {
  return new RnnError('FORMAT', `${file}: expected ${expected} for ${where} but received ${describeValue(received)}`);
}

/** Python's sorted() of str keys (code point order; JS compares UTF-16 code units, which differ past U+FFFF). */
export function sortedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value).sort((a, b) => {
    const [x, y] = [Array.from(a), Array.from(b)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
      if (d !== 0) return d;
    }
    return x.length - y.length;
  });
}

/**
 * A model's `input_layers` / `output_layers` as a list of `[name, node, tensor]`: Keras 3 writes a single one bare;
 * a dict becomes its values in sorted key order (each must be one tensor: a nested structure is refused).
 */
export function refList(value: unknown, where: string, file: string): unknown {
  if (!isPlainObject(value)) return Array.isArray(value) && typeof value[0] === 'string' ? [value] : value;
  const keys = sortedKeys(value);
  if (keys.length === 0) throw bad(file, where, 'at least one tensor', value);
  return keys.map((key) => {
    const ref = value[key];
    if (!Array.isArray(ref) || ref.length !== 3 || typeof ref[0] !== 'string') throw bad(file, `${where}['${key}']`, 'a tensor [layer, node, tensor] (rnnkit reads a flat dict)', ref);
    return ref;
  });
}

/**
 * The inlined graph `flat` with the tensors of dict inputs / outputs named after their keys, so data keyed as in
 * Keras reaches the same tensors: rnnkit names an input after its InputLayer and an output after its layer, so a
 * layer whose key differs is renamed to the key (`places` follows: the weights stay where the file has them). A
 * key that is another layer's name, or keys for two outputs of one layer other than rnnkit's `<layer>`,
 * `<layer>_1` (as `model.outputNames`), cannot be given and are refused.
 */
export function applyDictKeys(config: Record<string, unknown>, flat: ListGraph, places: Map<string, WeightPlace>, file: string): ListGraph {
  const renames = new Map<string, string>();
  const taken = new Set(flat.layers.map((l) => String(l.name)));
  const plan = (raw: unknown, refs: unknown, what: 'input_layers' | 'output_layers') => {
    if (!isPlainObject(raw)) return;
    const keys = sortedKeys(raw);
    const list = refs as Ref[];
    const seen = new Set<string>();
    list.forEach((ref, i) => {
      const layer = String(ref[0]);
      let name = layer;
      for (let k = 1; seen.has(name); k++) name = `${layer}_${k}`;
      seen.add(name);
      const key = keys[i];
      if (key === name) return;
      const where = `config.${what}['${key}']`;
      if (list.filter((r) => String(r[0]) === layer).length > 1) {
        throw new RnnError('FORMAT', `${file}: ${where} is one of several ${what === 'input_layers' ? 'inputs' : 'outputs'} of layer '${layer}', which rnnkit names '${layer}', '${layer}_1', ... in order; key them so (or give each its own layer) to load this model`);
      }
      if (taken.has(key) || renames.has(layer)) {
        throw new RnnError('FORMAT', `${file}: ${where} would name the tensor of layer '${layer}' '${key}', but '${key}' already names ${renames.has(layer) ? `it under '${renames.get(layer)}'` : 'another layer of the model'}; rnnkit names tensors after their layers`);
      }
      renames.set(layer, key);
      taken.add(key);
    });
  };
  plan(config.input_layers, flat.input_layers, 'input_layers');
  plan(config.output_layers, flat.output_layers, 'output_layers');
  if (renames.size === 0) return flat;
  const rename = (ref: Ref): Ref => (renames.has(String(ref[0])) ? [renames.get(String(ref[0])), ...ref.slice(1)] : ref);
  const layers = flat.layers.map((entry) => {
    const to = renames.get(String(entry.name));
    const renamed = to === undefined ? entry : { ...entry, name: to, config: { ...(entry.config as Record<string, unknown>), name: to } };
    return { ...renamed, inbound_nodes: (entry.inbound_nodes as Ref[][]).map((node) => node.map(rename)) };
  });
  for (const [from, to] of renames) {
    const place = places.get(from);
    if (place) {
      places.delete(from);
      places.set(to, place);
    }
  }
  return { ...flat, layers, input_layers: (flat.input_layers as Ref[]).map(rename), output_layers: (flat.output_layers as Ref[]).map(rename) };
}
