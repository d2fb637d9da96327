/**
 * Keras functional models (`class_name: 'Functional'`, Keras 2 also 'Model') both ways, through rnnkit's graph
 * config (lib/models/model_config.ts), the one model factory.
 *
 * Keras 2 (`model_config` of a legacy .h5) lists each use of a layer as `[[layer, nodeIndex, tensorIndex, kwargs],
 * ...]`, with a recurrent layer's initial states usually folded into its inputs: the tfjs form, read by
 * tfjs_graph.ts with the Keras layer reader once the call keywords (kwargs, repeated on each entry) are taken out.
 * Keras 3 (`config.json`, keras/src/models/functional.py get_config and
 * keras/src/ops/node.py) writes each use as `{ args, kwargs }`, each tensor as `{ class_name: '__keras_tensor__',
 * config: { shape, dtype, keras_history: [layer, nodeIndex, tensorIndex] } }`; a merge layer takes its inputs as
 * one list argument, a recurrent layer its states as the `initial_state` keyword. Those nodes are rewritten to the
 * list form (states after the input) before the same reader runs; any other argument or keyword is refused by path.
 * A model used as a layer (nested) is inlined first (keras_nested.ts), as rnnkit inlines nested models.
 */
import { RnnError } from '../../errors';
import { serializeLayer } from '../../layers/registry';
import type { Layer } from '../../layers/layer';
import type { Model } from '../../models/model';
import type { GraphConfig } from '../../models/model_config';
import { GraphNode, publicShape, SymbolicTensor } from '../../models/symbolic';
import { describeValue, isPlainObject } from '../../validate';
import { fromTfjsGraph, layerCallIndices } from '../tfjs_graph';
import { ATTENTION_CALL_KEYS, ATTENTION_CLASSES } from './keras_attention';
import { fromKerasLayer, KerasFlavor, toKeras3Layer } from './keras_layers';
import { applyDictKeys, refList } from './keras_dict';
import { inlineNested, ListGraph, NESTED, NESTED_CLASSES, sequentialListGraph, WeightPlace, WHERE } from './keras_nested';

const KERAS_TENSOR = '__keras_tensor__';
const MAX_NESTING = 32;
const RECURRENT = new Set(['SimpleRNN', 'LSTM', 'GRU', 'Bidirectional']);

function bad(file: string, where: string, expected: string, received: unknown): RnnError {
  return new RnnError('FORMAT', `${file}: expected ${expected} for ${where} but received ${describeValue(received)}`);
}

/** `[layer, nodeIndex, tensorIndex, {}]` of a Keras 3 `__keras_tensor__` at `where`. */
function tensorRef(value: unknown, where: string, file: string): unknown[] {
  if (!isPlainObject(value) || value.class_name !== KERAS_TENSOR || !isPlainObject(value.config) || !Array.isArray(value.config.keras_history) || value.config.keras_history.length !== 3) {
    throw bad(file, where, `a tensor { class_name: '${KERAS_TENSOR}', config: { keras_history: [layer, node, tensor] } } (rnnkit takes no other call arguments)`, value);
  }
  return [...value.config.keras_history, {}];
}

/**
 * The call keywords of one node at `where`: `initial_state` tensors (returned, as `[layer, node, tensor, {}]`, to
 * follow the inputs; `ref` reads one), the attention options rnnkit keeps on the layer (collected in `call`, only for
 * an attention layer), and `training` / `mask` only where Keras computes the same at inference (false or null:
 * training=True would run dropout in predict, a mask tensor would replace the layer's own). Anything else is refused
 * by name.
 */
function callKwargs(kwargs: unknown, where: string, file: string, ref: (value: unknown, at: string) => unknown[], call?: Record<string, unknown>): unknown[][] {
  if (!isPlainObject(kwargs)) throw bad(file, where, 'an object', kwargs);
  const states: unknown[][] = [];
  for (const [key, value] of Object.entries(kwargs)) {
    if (key === 'initial_state' && value !== null) {
      const list = Array.isArray(value) && (Array.isArray(value[0]) || isPlainObject(value[0])) ? value : [value];
      states.push(...list.map((t, k) => ref(t, `${where}.initial_state[${k}]`)));
    } else if (call && Object.prototype.hasOwnProperty.call(ATTENTION_CALL_KEYS, key) && typeof value === 'boolean') {
      call[key] = value;
    } else if (key === 'training' && value === true) {
      throw new RnnError('FORMAT', `${file}: ${where} has training=True, which makes Keras run the layer in training mode (dropout active) even in predict; rnnkit cannot import that call (save the model with the layer called without training=True)`);
    } else if (!(key === 'training' && (value === null || value === false)) && !(key === 'mask' && value === null)) {
      throw new RnnError('FORMAT', `${file}: ${where} has the call argument '${key}' (${describeValue(value)}), which rnnkit cannot import; it reads initial_state, training=False, and return_attention_scores / use_causal_mask of an attention layer`);
    }
  }
  return states;
}

/** A Keras 3 node `{ args, kwargs }` as the list form: inputs first, then initial states. */
function keras3Node(node: unknown, where: string, file: string, call?: Record<string, unknown>): unknown[][] {
  if (!isPlainObject(node) || !Array.isArray(node.args) || node.args.length !== 1) throw bad(file, where, '{ args: [inputs], kwargs } (one positional argument)', node);
  const [first] = node.args;
  const inputs = Array.isArray(first) ? first.map((t, k) => tensorRef(t, `${where}.args[0][${k}]`, file)) : [tensorRef(first, `${where}.args[0]`, file)];
  return [...inputs, ...callKwargs(node.kwargs ?? {}, `${where}.kwargs`, file, (t, at) => tensorRef(t, at, file), call)];
}

/**
 * A Keras 2 node `[[layer, node, tensor, kwargs], ...]` (tf.keras's Node.serialize repeats the call's keywords on
 * every input entry, tensors in them as `[layer, node, tensor]`) as the list form with empty kwargs: inputs first,
 * then initial states given as a keyword (tf.keras usually folds them into the inputs already).
 */
function keras2Node(node: unknown, where: string, file: string, call?: Record<string, unknown>): unknown[][] {
  if (!Array.isArray(node) || node.length === 0 || !node.every(Array.isArray)) throw bad(file, where, 'a list of [layer, node, tensor, kwargs]', node);
  const entries = node as unknown[][];
  const kwargs = entries[0][3] ?? {};
  entries.forEach((entry, k) => {
    if (JSON.stringify(entry[3] ?? {}) !== JSON.stringify(kwargs)) throw bad(file, `${where}[${k}][3]`, `the call keywords of ${where}[0] (Keras repeats them on every input)`, entry[3]);
  });
  const ref = (t: unknown, at: string): unknown[] => {
    if (!Array.isArray(t) || t.length < 3 || typeof t[0] !== 'string') throw bad(file, at, 'a tensor [layer, node, tensor]', t);
    return [...t.slice(0, 3), {}];
  };
  return [...entries.map((e) => [...e.slice(0, 3), {}]), ...callKwargs(kwargs, `${where}[0][3]`, file, ref, call)];
}

/** Reads a layer entry's nodes into the list form (attention call options onto its config); `where` is its path. */
function listFormEntry(entry: Record<string, unknown>, where: string, file: string, flavor: KerasFlavor): Record<string, unknown> {
  const inner = entry.config as Record<string, unknown>;
  if (entry.class_name === 'InputLayer') {
    // Keras 3 InputLayer configs carry `optional` (always false for a model input rnnkit can feed).
    const { optional, ...rest } = inner;
    if (optional !== undefined && optional !== false) throw bad(file, `${where}.config.optional`, 'false', optional);
    return { ...entry, config: rest, inbound_nodes: [], [WHERE]: where };
  }
  const nested = NESTED_CLASSES.has(String(entry.class_name)) ? { [NESTED]: nestedListGraph(entry, where, file, flavor) } : {};
  if (!Array.isArray(entry.inbound_nodes)) throw bad(file, `${where}.inbound_nodes`, 'an array of nodes (one per call of the layer)', entry.inbound_nodes);
  const readNode = flavor === 'keras2' ? keras2Node : keras3Node;
  if (!ATTENTION_CLASSES.has(String(entry.class_name))) {
    return { ...entry, ...nested, inbound_nodes: entry.inbound_nodes.map((node, n) => readNode(node, `${where}.inbound_nodes[${n}]`, file)), [WHERE]: where };
  }
  // rnnkit keeps the attention call options on the layer: every use must pass the same ones.
  const calls = entry.inbound_nodes.map(() => ({ return_attention_scores: false, use_causal_mask: false }) as Record<string, unknown>);
  const nodes = entry.inbound_nodes.map((node, n) => readNode(node, `${where}.inbound_nodes[${n}]`, file, calls[n]));
  const differs = calls.findIndex((c) => JSON.stringify(c) !== JSON.stringify(calls[0]));
  if (differs > 0) {
    throw new RnnError('FORMAT', `${file}: ${where}.inbound_nodes[${differs}] calls the layer with ${JSON.stringify(calls[differs])} but inbound_nodes[0] with ${JSON.stringify(calls[0])}; rnnkit's attention layers take these options once, for every use`);
  }
  return { ...entry, config: { ...inner, ...calls[0] }, inbound_nodes: nodes, [WHERE]: where };
}

/** The list-form graph of a Keras functional model's `config` at `where` (nested models keep their own graphs). */
export function kerasListGraph(config: Record<string, unknown>, file: string, flavor: KerasFlavor, where = 'config'): ListGraph {
  const entries = config.layers;
  if (!Array.isArray(entries)) throw bad(file, `${where}.layers`, 'an array of layers', entries);
  const layers = entries.map((entry, i) => {
    const at = `${where}.layers[${i}]`;
    if (!isPlainObject(entry) || !isPlainObject(entry.config)) throw bad(file, at, '{ class_name, config, name, inbound_nodes }', entry);
    return listFormEntry(entry, at, file, flavor);
  });
  return {
    name: config.name, layers,
    input_layers: refList(config.input_layers, `${where}.input_layers`, file), output_layers: refList(config.output_layers, `${where}.output_layers`, file),
  };
}

/** The list-form graph of a nested model's entry (a Functional's own graph, a Sequential's chain). */
function nestedListGraph(entry: Record<string, unknown>, where: string, file: string, flavor: KerasFlavor): ListGraph {
  const config = entry.config as Record<string, unknown>;
  // Each level adds '.config.layers[i]' to the path; a forged file must not exhaust the stack.
  if ((where.match(/\.layers\[/g) ?? []).length > MAX_NESTING) throw bad(file, where, `models nested at most ${MAX_NESTING} deep`, 'a deeper one');
  if (entry.class_name !== 'Sequential') return kerasListGraph(config, file, flavor, `${where}.config`);
  return sequentialListGraph(config, isPlainObject(entry.build_config) ? entry.build_config.input_shape : undefined, `${where}.config`, file, (e, at) => listFormEntry(e, at, file, flavor));
}

/** Whether a Keras model config is a functional graph ('Functional'; Keras 2 also wrote 'Model'). */
export function isKerasFunctional(raw: unknown): boolean {
  return isPlainObject(raw) && ['Functional', 'Model'].includes(raw.class_name as string);
}

/** Whether a Keras Sequential config holds a model used as a layer (then it is read as a graph). */
export function hasNestedModel(config: Record<string, unknown>): boolean {
  return Array.isArray(config.layers) && config.layers.some((l) => isPlainObject(l) && NESTED_CLASSES.has(String(l.class_name)));
}

/**
 * rnnkit's graph config from a Keras model's `config` (`flavor` says which Keras wrote it): a Functional's, or a
 * Sequential's that holds nested models (`buildInputShape`: its build_config.input_shape). Nested models are
 * inlined; `places` says where each layer's weights are in the file. `dictKeys`: name dict inputs / outputs after
 * their keys (keras_dict.ts; false when only the file's layer names matter, loading weights by name).
 */
export function fromKerasFunctional(config: Record<string, unknown>, file: string, flavor: KerasFlavor, sequential?: { buildInputShape: unknown }, dictKeys = true): { graph: GraphConfig; places: Map<string, WeightPlace> } {
  const list = sequential
    ? sequentialListGraph(config, sequential.buildInputShape, 'config', file, (e, at) => listFormEntry(e, at, file, flavor))
    : kerasListGraph(config, file, flavor);
  const inlined = inlineNested(list, file, sequential !== undefined);
  const { places } = inlined;
  // Dict inputs / outputs: the tensors take their keys as names (not for loading weights by the file's names).
  const flat = !sequential && dictKeys ? applyDictKeys(config, inlined.graph, places, file) : inlined.graph;
  let maskSource: string | undefined;
  for (const entry of flat.layers) {
    const inner = entry.config as Record<string, unknown>;
    const where = String(entry[WHERE]);
    if (entry.class_name === 'Masking' || (entry.class_name === 'Embedding' && inner.mask_zero === true)) maskSource = `${where} (${String(entry.class_name)})`;
    if (maskSource && RECURRENT.has(String(entry.class_name)) && entry.class_name !== 'Bidirectional' && inner.return_sequences === true && inner.zero_output_for_mask !== true) {
      // Keras repeats the last output at masked steps there, rnnkit writes zeros (see keras_model.ts); in a graph
      // rnnkit does not follow where the mask and the sequence go, so the layer is refused whenever a mask exists.
      throw new RnnError('FORMAT', `${file}: ${where} (${String(entry.class_name)}) returns sequences with zero_output_for_mask false in a model with the mask of ${maskSource}; Keras repeats the last output at masked steps where rnnkit writes zeros; set zero_output_for_mask=True on the layer in Keras (rnnkit writes it so)`);
    }
  }
  const graph = fromTfjsGraph({ ...flat, name: config.name }, file, (entry, at) => {
    const { [WHERE]: where, ...rest } = entry;
    return fromKerasLayer(rest, typeof where === 'string' ? where : at, file, flavor);
  }, 'config');
  return { graph, places };
}

/** Keras 3's `__keras_tensor__` form of a tensor produced by `[layer, node, tensor]`. */
function kerasTensor(t: SymbolicTensor, history: unknown[]): Record<string, unknown> {
  return { class_name: KERAS_TENSOR, config: { shape: [null, ...publicShape(t.sampleShape)], dtype: t.dtype, keras_history: history } };
}

/**
 * The order of `model.operations` (InputLayers as their input tensors, then layers) that Keras 3 computes when it
 * builds this graph (keras/src/ops/function.py map_graph): a depth-first walk from the outputs numbers operations
 * in the order first seen; a node's depth is the longest path to an output; operations sort by depth, deepest
 * first, ties by that number. Keras writes config.layers and walks the weights in this order, so rnnkit writes
 * both in it too.
 */
export function kerasOperationOrder(model: Model): Array<Layer | SymbolicTensor> {
  const topology = model.topology!;
  type KNode = GraphNode | SymbolicTensor;
  const producer = (t: SymbolicTensor): KNode => t.node ?? t;
  const opOf = (n: KNode): Layer | SymbolicTensor => (n instanceof SymbolicTensor ? n : n.layer);
  const parents = (n: KNode): KNode[] => (n instanceof SymbolicTensor ? [] : n.inputs.map(producer));
  const finished = new Set<KNode>();
  const order: KNode[] = [];
  const index = new Map<Layer | SymbolicTensor, number>();
  const visit = (t: SymbolicTensor): void => {
    const node = producer(t);
    if (finished.has(node)) return;
    if (!index.has(opOf(node))) index.set(opOf(node), index.size);
    for (const p of node instanceof SymbolicTensor ? [] : node.inputs) visit(p);
    finished.add(node);
    order.push(node);
  };
  topology.outputs.forEach(visit);
  const nodeDepth = new Map<KNode, number>();
  const opDepth = new Map<Layer | SymbolicTensor, number>();
  for (const node of order.slice().reverse()) {
    const depth = Math.max(nodeDepth.get(node) ?? 0, opDepth.get(opOf(node)) ?? 0);
    opDepth.set(opOf(node), depth);
    nodeDepth.set(node, depth);
    for (const p of parents(node)) nodeDepth.set(p, Math.max(depth + 1, nodeDepth.get(p) ?? 0));
  }
  return [...opDepth.keys()].sort((a, b) => opDepth.get(b)! - opDepth.get(a)! || index.get(a)! - index.get(b)!);
}

/** The layers of a functional model in Keras's operation order (the order of its weights file). */
export function kerasLayerOrder(model: Model): Layer[] {
  return kerasOperationOrder(model).filter((op): op is Layer => !(op instanceof SymbolicTensor));
}

/**
 * The Keras 3 `config.json` object of a functional model: InputLayers and layers in Keras's operation order
 * ({@link kerasOperationOrder}), each layer with its nodes as `{ args, kwargs }`.
 */
export function toKeras3Functional(model: Model): Record<string, unknown> {
  const topology = model.topology!;
  const nodeIndex = layerCallIndices(topology.nodes);
  const history = (t: SymbolicTensor) => (t.node ? [t.node.layer.name, nodeIndex.get(t.node)!, t.outputIndex] : [t.name, 0, 0]);
  // A stateful model's fixed batch size (on rnnkit's first layer) is every Input's batch_shape[0] in Keras.
  const batch = topology.layers[0]?.batchSize ?? null;
  const inputEntry = (t: SymbolicTensor) => ({
    module: 'keras.layers', class_name: 'InputLayer',
    config: { batch_shape: [batch, ...publicShape(t.sampleShape)], dtype: t.dtype, sparse: false, name: t.name },
    registered_name: null, name: t.name, inbound_nodes: [],
  });
  const layerEntry = (layer: Layer) => {
    const nodes = topology.nodes.filter((n) => n.layer === layer);
    const first = nodes[0];
    const main = first.inputs.slice(0, first.inputs.length - first.initialStates);
    const shapes = main.map((t) => [batch, ...publicShape(t.sampleShape)]);
    const entry = toKeras3Layer(serializeLayer(layer), shapes[0]);
    if (shapes.length > 1) entry.build_config = { input_shape: shapes };
    return {
      ...entry,
      name: layer.name,
      inbound_nodes: nodes.map((n) => {
        const count = n.inputs.length - n.initialStates;
        const tensors = n.inputs.slice(0, count).map((t) => kerasTensor(t, history(t)));
        const states = n.inputs.slice(count).map((t) => kerasTensor(t, history(t)));
        const kwargs: Record<string, unknown> = states.length > 0 ? { initial_state: states } : {};
        if (ATTENTION_CLASSES.has(layer.className)) {
          // Keras takes these per call: written on every node when set (rnnkit sets them per layer).
          for (const [keras, ours] of Object.entries(ATTENTION_CALL_KEYS)) if ((layer as unknown as Record<string, unknown>)[ours] === true) kwargs[keras] = true;
        }
        return { args: [count > 1 ? tensors : tensors[0]], kwargs };
      }),
    };
  };
  const layers = kerasOperationOrder(model).map((op) => (op instanceof SymbolicTensor ? inputEntry(op) : layerEntry(op)));
  return {
    module: 'keras.src.models.functional', class_name: 'Functional',
    config: {
      name: model.name, trainable: true,
      layers,
      input_layers: topology.inputs.map(history),
      output_layers: topology.outputs.map(history),
    },
    registered_name: 'Functional',
    build_config: { input_shape: null },
  };
}
