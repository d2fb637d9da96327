/**
 * Graph models in the tfjs layers format, both ways: `modelTopology: { class_name: 'Model', config: { name,
 * layers: [{ name, class_name, config, inbound_nodes }], input_layers, output_layers } }`, as tfjs' LayersModel
 * writes it. Each model input is an InputLayer entry; `inbound_nodes` has one list per use of the layer, each entry
 * `[layerName, nodeIndex, tensorIndex, kwargs]` (nodeIndex: which use of that layer; tensorIndex: which of its
 * outputs). The initial states of a recurrent layer are the entries after its input, as tfjs writes them (it folds
 * `initialState` into the inputs). Reading orders the nodes so each comes after the nodes it reads, then rebuilds
 * the model through lib/models/model_config.ts like an rnnkit file.
 */
import { RnnError } from '../errors';
import { serializeLayer } from '../layers/registry';
import type { Model } from '../models/model';
import { blueprintFromConfig, GraphConfig, TensorRef } from '../models/model_config';
import { publicShape } from '../models/symbolic';
import { describeValue, isPlainObject } from '../validate';
import { asFormatError } from './model_plan';
import { fromTfjsInputLayer, fromTfjsLayer, toTfjsLayer } from './tfjs_config';

/** Layers whose inputs after the first are initial states. */
const STATEFUL_CLASSES = new Set(['SimpleRNN', 'LSTM', 'GRU', 'Bidirectional']);
const MAX_ENTRIES = 10000;

/** Each node's index among the calls of its layer (Keras's node_index: 0 for a layer's first use, 1 for its second...). */
export function layerCallIndices(nodes: ReadonlyArray<{ layer: unknown }>): Map<unknown, number> {
  const nodeIndex = new Map<unknown, number>();
  const uses = new Map<unknown, number>();
  for (const node of nodes) {
    const k = uses.get(node.layer) ?? 0;
    nodeIndex.set(node, k);
    uses.set(node.layer, k + 1);
  }
  return nodeIndex;
}

/** The tfjs `config` of a graph model (class_name 'Model'). */
export function toTfjsGraph(model: Model): Record<string, unknown> {
  const topology = model.topology!;
  const nodeIndex = layerCallIndices(topology.nodes);
  const ref = (t: (typeof topology.inputs)[number]) => (t.node ? [t.node.layer.name, nodeIndex.get(t.node)!, t.outputIndex] : [t.name, 0, 0]);
  // A stateful model's fixed batch size (rnnkit keeps it on the first layer) is every input's, as Keras writes it.
  const batch = topology.layers[0]?.batchSize ?? null;
  const inputLayers = topology.inputs.map((t) => ({
    name: t.name,
    class_name: 'InputLayer',
    config: { batch_input_shape: [batch, ...publicShape(t.sampleShape)], dtype: t.dtype, sparse: false, name: t.name },
    inbound_nodes: [],
  }));
  const layers = topology.layers.map((layer) => ({
    name: layer.name,
    ...toTfjsLayer(serializeLayer(layer)),
    inbound_nodes: topology.nodes.filter((n) => n.layer === layer).map((n) => n.inputs.map((t) => [...ref(t), {}])),
  }));
  return {
    name: model.name,
    layers: [...inputLayers, ...layers],
    input_layers: topology.inputs.map((t) => ref(t)),
    output_layers: topology.outputs.map((t) => ref(t)),
  };
}

/** Reads one layer entry (without name and inbound_nodes) of a graph config into an rnnkit serialized layer. */
export type GraphLayerReader = (entry: Record<string, unknown>, where: string, file: string) => ReturnType<typeof fromTfjsLayer>;

/**
 * rnnkit's graph config from the `config` of a tfjs/Keras `class_name: 'Model'` topology. `readLayer` reads each
 * layer entry (the Keras reader passes its own, which knows Keras-only keys); `where` names the config in errors.
 */
export function fromTfjsGraph(raw: unknown, file: string, readLayer: GraphLayerReader = fromTfjsLayer, where = 'modelTopology.config'): GraphConfig {
  if (!isPlainObject(raw)) throw bad(file, where, 'an object { name, layers, input_layers, output_layers }', raw);
  const entries = raw.layers;
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) throw bad(file, `${where}.layers`, 'a non-empty array of layers', entries);
  const inputsByName = new Map<string, { name: string; shape: (number | null)[]; dtype: string; batch?: number }>();
  const layers: Array<{ name: string; serialized: ReturnType<typeof fromTfjsLayer>; inbound: unknown[][][] }> = [];
  entries.forEach((entry, i) => {
    const at = `${where}.layers[${i}]`;
    if (!isPlainObject(entry) || !isPlainObject(entry.config)) throw bad(file, at, '{ name, class_name, config, inbound_nodes }', entry);
    if (entry.class_name === 'InputLayer') {
      const spec = fromTfjsInputLayer(entry.config, at, file);
      inputsByName.set(spec.name, { name: spec.name, shape: publicShape(spec.shape), dtype: spec.dtype, ...(spec.batch === undefined ? {} : { batch: spec.batch }) });
      return;
    }
    const inbound = entry.inbound_nodes;
    if (!Array.isArray(inbound) || inbound.length === 0 || !inbound.every((n) => Array.isArray(n) && n.length > 0 && n.every(Array.isArray))) {
      throw bad(file, `${at}.inbound_nodes`, 'a non-empty array of nodes, each a list of [layer, nodeIndex, tensorIndex, kwargs]', inbound);
    }
    const { inbound_nodes: _nodes, name: _name, ...layerEntry } = entry;
    const serialized = readLayer(layerEntry, at, file);
    layers.push({ name: String(serialized.config.name ?? entry.name), serialized, inbound: inbound as unknown[][][] });
  });

  const inputNames = readRefs(raw.input_layers, `${where}.input_layers`, file).map(([name]) => name as string);
  const batches = new Set<number>();
  const inputs = inputNames.map((name, i) => {
    const spec = inputsByName.get(name);
    if (!spec) throw bad(file, `${where}.input_layers[${i}]`, `the name of an InputLayer (${[...inputsByName.keys()].join(', ')})`, name);
    const { batch, ...rest } = spec;
    if (batch !== undefined) batches.add(batch);
    return rest;
  });
  if (batches.size > 1) throw bad(file, `${where}.input_layers`, 'one fixed batch size (or null) for every input', `the batch sizes ${[...batches].join(', ')}`);
  // Nodes in an order where each reads only tensors already produced: a pass over the layers in file order takes
  // every node whose inputs exist, until none is left (a pass that takes none means a cycle or a missing layer).
  const produced = new Map<string, number[]>();
  const nodes: GraphConfig['nodes'] = [];
  const next = layers.map(() => 0);
  const resolve = (entry: unknown[], at: string): TensorRef | undefined => {
    const [name, nodeIdx, tensorIdx, kwargs] = entry;
    if (typeof name !== 'string' || !Number.isSafeInteger(nodeIdx) || !Number.isSafeInteger(tensorIdx)) {
      throw bad(file, at, '[layerName, nodeIndex, tensorIndex, kwargs]', entry);
    }
    if (kwargs !== undefined && !(isPlainObject(kwargs) && Object.keys(kwargs).length === 0)) {
      throw bad(file, `${at} kwargs`, '{} (rnnkit reads initial states given as inbound tensors, as tfjs writes them)', kwargs);
    }
    const input = inputNames.indexOf(name);
    if (input >= 0) return [-1, input];
    const made = produced.get(name)?.[nodeIdx as number];
    return made === undefined ? undefined : [made, tensorIdx as number];
  };
  for (let progress = true; progress;) {
    progress = false;
    layers.forEach((layer, l) => {
      while (next[l] < layer.inbound.length) {
        const at = `layer '${layer.name}' inbound_nodes[${next[l]}]`;
        const refs = layer.inbound[next[l]].map((e, k) => resolve(e, `${at}[${k}]`));
        if (refs.some((r) => r === undefined)) break;
        const states = STATEFUL_CLASSES.has(layer.serialized.className) ? refs.length - 1 : 0;
        produced.set(layer.name, [...(produced.get(layer.name) ?? []), nodes.length]);
        nodes.push({ layer: l, inputs: refs as TensorRef[], initialStates: states });
        next[l] += 1;
        progress = true;
      }
    });
  }
  const stuck = layers.findIndex((layer, l) => next[l] < layer.inbound.length);
  if (stuck >= 0) {
    throw new RnnError('FORMAT', `${file}: expected every inbound node to read inputs or earlier layers but layer '${layers[stuck].name}' node ${next[stuck]} reads ${JSON.stringify(layers[stuck].inbound[next[stuck]].map((e) => e.slice(0, 3)))}, which no layer produces (or a cycle)`);
  }
  const outputs = readRefs(raw.output_layers, `${where}.output_layers`, file).map((entry, i) => {
    const r = resolve(entry, `${where}.output_layers[${i}]`);
    if (!r) throw bad(file, `${where}.output_layers[${i}]`, 'a tensor some layer produces', entry);
    return r;
  });
  const name = typeof raw.name === 'string' && raw.name.length > 0 ? raw.name : 'model';
  const graph: GraphConfig = { className: 'Model', name, inputs, layers: layers.map((l) => l.serialized), nodes, outputs };
  return batches.size === 0 ? graph : withFixedBatch(graph, [...batches][0], file);
}

/**
 * A graph whose inputs have a fixed batch size (a stateful model): rnnkit keeps it as the batchInputShape of the
 * model's first layer (the first the graph uses, found by building the graph in plain JS).
 */
function withFixedBatch(graph: GraphConfig, batch: number, file: string): GraphConfig {
  const { plan } = asFormatError(file, 'model', () => blueprintFromConfig(graph, 'config', undefined, true));
  const index = graph.layers.findIndex((l) => l.config.name === plan[0].layer.name);
  const { inputShape: _any, batchInputShape: _own, ...config } = graph.layers[index].config;
  const layers = graph.layers.slice();
  layers[index] = { className: layers[index].className, config: { ...config, batchInputShape: [batch, ...publicShape(plan[0].inputShape)] } };
  return { ...graph, layers };
}

function readRefs(raw: unknown, where: string, file: string): unknown[][] {
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((r) => Array.isArray(r) && r.length >= 3 && typeof r[0] === 'string')) {
    throw bad(file, where, 'a non-empty array of [layerName, nodeIndex, tensorIndex]', raw);
  }
  return raw as unknown[][];
}

function bad(file: string, where: string, expected: string, received: unknown): RnnError {
  return new RnnError('FORMAT', `${file}: expected ${expected} for ${where} but received ${describeValue(received)}`);
}
