/**
 * Nested Keras models (a Functional or Sequential used as a layer of another model), inlined as rnnkit inlines
 * nested models: the inner layers become layers of the outer graph, each call of the inner model adds one node to
 * each of its layers, and references to the inner model's outputs become references to the inner layers'.
 *
 * Config (keras/src/models/functional.py get_config serializes every operation with serialize_keras_object): a nested
 * model is an entry `{ class_name: 'Functional' | 'Sequential', config: <its own get_config>, name, inbound_nodes }`
 * (Keras 2 also 'Model'). Weights: Keras 3's saver (saving_lib._save_state) walks `layers` of each model, naming each
 * by its class in snake case with a counter per container, so an inner layer's variables sit below the inner
 * model's path: `layers/functional/layers/lstm/cell/vars` (a Sequential's `layers` leave out its InputLayer, a
 * Functional's include them). Keras 2 (legacy_h5_format.save_weights_to_hdf5_group) writes one group per layer of
 * the outer model: a nested model's group holds all its weights, named from the inner layer
 * (`enc_lstm/lstm_cell/kernel:0`).
 */
import { RnnError } from '../../errors';
import { describeValue, isPlainObject } from '../../validate';
import { kerasSnakeCase } from './keras_weights';

/** Key of a list-form entry holding its path in the Keras config (for messages). */
export const WHERE = '__rnnkitWhere';
/** Key of a nested model's entry holding its own list-form graph. */
export const NESTED = '__rnnkitNested';
/** Keras classes of models used as layers. */
export const NESTED_CLASSES = new Set(['Functional', 'Model', 'Sequential']);

/** A Keras graph in the list form: entries with `inbound_nodes: [[[layer, node, tensor, {}], ...], ...]`. */
export interface ListGraph {
  name?: unknown;
  layers: Array<Record<string, unknown>>;
  input_layers: unknown;
  output_layers: unknown;
}

/** Where one layer's weights are in a Keras file. */
export interface WeightPlace {
  /** Keras 3: the layer's container path, e.g. 'layers/functional/layers/lstm'. */
  path: string;
  /** Keras 2: the group of the outer model's layer holding the weights (a nested model's name, or the layer's). */
  group: string;
  /** Keras 2: true when `group` is a nested model's (its weight names start with the inner layer's name). */
  nested: boolean;
}

type Ref = unknown[];
const MAX_DEPTH = 64;

function bad(file: string, where: string, expected: string, received: unknown): RnnError {
  return new RnnError('FORMAT', `${file}: expected ${expected} for ${where} but received ${describeValue(received)}`);
}

/**
 * The list-form graph of a Sequential's `config` at `where`: its InputLayer (or one made from the first layer's
 * batch_input_shape, or `buildInputShape`), then each layer on the one before. `readEntry` reads each entry
 * (without nodes) as the functional reader does.
 */
export function sequentialListGraph(config: Record<string, unknown>, buildInputShape: unknown, where: string, file: string, readEntry: (entry: Record<string, unknown>, at: string) => Record<string, unknown>): ListGraph {
  const entries = config.layers;
  if (!Array.isArray(entries) || entries.length === 0) throw bad(file, `${where}.layers`, 'a non-empty array of layers', entries);
  const name = typeof config.name === 'string' && config.name.length > 0 ? config.name : 'sequential';
  const layers: Array<Record<string, unknown>> = [];
  let previous: string | undefined;
  entries.forEach((entry, i) => {
    const at = `${where}.layers[${i}]`;
    if (!isPlainObject(entry) || !isPlainObject(entry.config)) throw bad(file, at, '{ class_name, config }', entry);
    if (entry.class_name === 'InputLayer') {
      if (i !== 0) throw bad(file, at, 'an InputLayer only as the first entry', entry.class_name);
      previous = typeof entry.config.name === 'string' && entry.config.name.length > 0 ? entry.config.name : `${name}_input`;
      layers.push(readEntry({ ...entry, name: previous, config: { ...entry.config, name: previous }, inbound_nodes: [] }, at));
      return;
    }
    const { batch_input_shape: batchShape, ...own } = entry.config;
    if (previous === undefined) {
      // Keras 2 puts the input shape on the first layer; Keras 3 without an InputLayer in build_config.
      const shape = batchShape ?? buildInputShape;
      if (!Array.isArray(shape)) throw bad(file, `${at}.config.batch_input_shape`, 'the input shape (an InputLayer, a batch_input_shape or build_config)', shape);
      previous = `${name}_input`;
      const dtype = entry.class_name === 'Embedding' ? 'int32' : 'float32';
      layers.push({ class_name: 'InputLayer', name: previous, config: { batch_input_shape: shape, dtype, name: previous }, inbound_nodes: [], [WHERE]: at });
    }
    if (typeof own.name !== 'string' || own.name.length === 0) throw bad(file, `${at}.config.name`, 'a layer name', own.name);
    const { inbound_nodes: _none, ...bare } = entry;
    layers.push({ ...readEntry({ ...bare, config: own, name: own.name, inbound_nodes: [] }, at), inbound_nodes: [[[previous, 0, 0, {}]]] });
    previous = own.name;
  });
  const first = layers[0].name as string;
  return { name, layers, input_layers: [[first, 0, 0]], output_layers: [[previous, 0, 0]] };
}

/** A graph's layers inlined: no nested model left, node references in this graph's names. */
interface Flat {
  layers: Array<Record<string, unknown>>;
  inputs: string[];
  outputs: Ref[];
}

function refs(value: unknown, where: string, file: string): Ref[] {
  if (!Array.isArray(value) || !value.every((r) => Array.isArray(r) && r.length >= 3 && typeof r[0] === 'string')) throw bad(file, where, 'a list of [layer, node, tensor]', value);
  return value as Ref[];
}

/**
 * The graph `list` with every nested model inlined, and where each layer's weights are (`places`, by layer name).
 * `sequentialOuter`: the outermost model is a Sequential (its `layers` leave out the InputLayer).
 */
export function inlineNested(list: ListGraph, file: string, sequentialOuter: boolean): { graph: ListGraph; places: Map<string, WeightPlace> } {
  const places = new Map<string, WeightPlace>();
  const seen = new Map<string, string>();
  const inputs = list.layers.filter((e) => e.class_name === 'InputLayer');
  for (const e of inputs) seen.set(String(e.name), String(e[WHERE]));
  const flat = flatten(list, 'layers', undefined, sequentialOuter, file, places, seen);
  return { graph: { name: list.name, layers: [...inputs, ...flat.layers], input_layers: list.input_layers, output_layers: flat.outputs }, places };
}

function flatten(graph: ListGraph, prefix: string, top: string | undefined, sequential: boolean, file: string, places: Map<string, WeightPlace>, seen: Map<string, string>): Flat {
  const counts = new Map<string, number>();
  const layers: Array<Record<string, unknown>> = [];
  const calls = new Map<string, Ref[][]>(); // a nested model's outputs, per call
  for (const entry of graph.layers) {
    const className = String(entry.class_name);
    const where = String(entry[WHERE]);
    if (className === 'InputLayer' && sequential) continue; // not in a Sequential's `layers`
    const nested = entry[NESTED] as ListGraph | undefined;
    const base = nested ? (className === 'Sequential' ? 'sequential' : 'functional') : kerasSnakeCase(className);
    const k = counts.get(base);
    counts.set(base, k === undefined ? 0 : k + 1);
    const path = `${prefix}/${k === undefined ? base : `${base}_${k + 1}`}`;
    if (className === 'InputLayer') continue;
    const name = String(entry.name);
    if (!nested) {
      const other = seen.get(name);
      if (other !== undefined) throw new RnnError('FORMAT', `${file}: ${where} is named '${name}' as ${other} is; rnnkit inlines nested models, so every layer name must be unique across them`);
      seen.set(name, where);
      places.set(name, { path, group: top ?? name, nested: top !== undefined });
      layers.push(entry);
      continue;
    }
    const inner = flatten(nested, `${path}/layers`, top ?? name, className === 'Sequential', file, places, seen);
    const nodes = entry.inbound_nodes as Ref[][];
    const uses = new Map(inner.layers.map((l) => [String(l.name), (l.inbound_nodes as unknown[]).length]));
    const perCall: Ref[][] = [];
    const added = inner.layers.map(() => [] as Ref[][]);
    nodes.forEach((callInputs, c) => {
      if (callInputs.length !== inner.inputs.length) throw bad(file, `${where}.inbound_nodes[${c}]`, `${inner.inputs.length} input tensor(s) for the nested model '${name}'`, `${callInputs.length}`);
      const map = (ref: Ref, at: string): Ref => {
        const input = inner.inputs.indexOf(String(ref[0]));
        if (input >= 0) return [...callInputs[input].slice(0, 3), {}];
        const count = uses.get(String(ref[0]));
        if (count === undefined || !Number.isSafeInteger(ref[1])) throw bad(file, at, `a tensor of the nested model '${name}'`, ref);
        return [ref[0], c * count + (ref[1] as number), ref[2], {}];
      };
      inner.layers.forEach((l, j) => {
        for (const node of l.inbound_nodes as Ref[][]) added[j].push(node.map((r) => map(r, `${where} layer '${String(l.name)}'`)));
      });
      perCall.push(inner.outputs.map((r) => map(r, `${where} outputs`)));
    });
    calls.set(name, perCall);
    inner.layers.forEach((l, j) => layers.push({ ...l, inbound_nodes: added[j] }));
  }
  // References to a nested model's outputs (call c, output k) become its inner layers' (repeatedly: a call's inputs
  // may be another nested model's outputs).
  const resolve = (ref: Ref, at: string): Ref => {
    let current = ref;
    for (let depth = 0; calls.has(String(current[0])); depth++) {
      const out = calls.get(String(current[0]))![current[1] as number]?.[current[2] as number];
      if (!out || depth > MAX_DEPTH) throw bad(file, at, `an output of the nested model '${String(current[0])}'`, current);
      current = out;
    }
    return current;
  };
  const resolved = layers.map((l) => ({ ...l, inbound_nodes: (l.inbound_nodes as Ref[][]).map((node) => node.map((r) => resolve(r, String(l[WHERE])))) }));
  const inputNames = refs(graph.input_layers, 'input_layers', file).map((r) => String(r[0]));
  const outputs = refs(graph.output_layers, 'output_layers', file).map((r) => resolve(r, 'output_layers'));
  return { layers: resolved, inputs: inputNames, outputs };
}
