/**
 * The one model factory: a model as a plain config (what the rnnkit file stores and what cloning copies) and a model
 * rebuilt from one. lib/io and lib/transfer both build models here, so a graph saves, loads and clones as a graph.
 *
 *   Sequential: { className: 'Sequential', name, layers: [{ className, config }] }
 *   graph:      { className: 'Model', name, inputs: [{ name, shape, dtype }], layers: [{ className, config }],
 *                 nodes: [{ layer, inputs: [[source, index]], initialStates }], outputs: [[source, index]] }
 *
 * In a graph, `layers` is in order of first use (getWeights order), `nodes` in topological order; a tensor reference
 * `[source, index]` is model input `index` when source is -1, else output `index` of node `source` (an earlier node).
 * A model applied inside another model is flattened: its nodes are the outer graph's nodes (the same layers), so
 * the saved graph holds layers only. Rebuilding is two steps: `blueprintFromConfig` creates the layers and the
 * symbolic graph in plain JS (every check, nothing native) and lists the weights each layer needs; `build()` then
 * creates the model, so a reader can check the weights in a file against the plan before any native memory exists.
 */
import { RnnError } from '../errors';
import type { Layer, WeightSpec } from '../layers/layer';
import { layerFromConfig, SerializedLayer, serializeLayer } from '../layers/registry';
import { describeValue, isPlainObject } from '../validate';
import { Model } from './model';
import { Sequential } from './sequential';
import { checkSampleShape, publicShape, SymbolicTensor } from './symbolic';
import { buildTopology, Topology } from './topology';

/** A reference to a tensor of a graph: `[-1, i]` model input i, `[n, k]` output k of node n. */
export type TensorRef = [source: number, index: number];

/** A sequential model's config. */
export interface SequentialConfig {
  className: 'Sequential';
  name: string;
  layers: SerializedLayer[];
}

/** A graph model's config. */
export interface GraphConfig {
  className: 'Model';
  name: string;
  inputs: Array<{ name: string; shape: (number | null)[]; dtype: string }>;
  layers: SerializedLayer[];
  nodes: Array<{ layer: number; inputs: TensorRef[]; initialStates: number }>;
  outputs: TensorRef[];
}

/** Either config. */
export type ModelConfig = SequentialConfig | GraphConfig;

/** One layer of a model being rebuilt: the per-sample shape of its first input and the weights it declares. */
export interface LayerPlan {
  layer: Layer;
  inputShape: number[];
  specs: WeightSpec[];
}

/** A model rebuilt in plain JS, not yet created: its layers in getWeights order with their weights. */
export interface ModelBlueprint {
  name: string;
  plan: LayerPlan[];
  /** Creates the model (native network with fresh initial weights). */
  build(): Model;
}

const MAX_LAYERS = 10000;

/** The config of `model` (a Sequential keeps its sequential form). */
export function modelConfig(model: Model): ModelConfig {
  const topology = model.topology;
  if (!topology) throw new RnnError('STATE', `Model '${model.name}' has no layers yet`);
  const layers = topology.layers.map((l) => serializeLayer(l));
  if (model instanceof Sequential) {
    return { className: 'Sequential', name: model.name, layers };
  }
  const refs = new Map<SymbolicTensor, TensorRef>();
  topology.inputs.forEach((t, i) => refs.set(t, [-1, i]));
  const layerIndex = new Map(topology.layers.map((l, i) => [l, i]));
  const nodes = topology.nodes.map((node, n) => {
    node.outputs.forEach((t, k) => refs.set(t, [n, k]));
    return { layer: layerIndex.get(node.layer)!, inputs: node.inputs.map((t) => refs.get(t)!.slice() as TensorRef), initialStates: node.initialStates };
  });
  return {
    className: 'Model',
    name: model.name,
    inputs: topology.inputs.map((t) => ({ name: t.name, shape: publicShape(t.sampleShape), dtype: t.dtype })),
    layers,
    nodes,
    outputs: topology.outputs.map((t) => refs.get(t)!.slice() as TensorRef),
  };
}

/**
 * The blueprint of the model `raw` describes (untrusted: every field is checked; errors name `where`). `overrides`
 * replace entries of layer i's config (e.g. its trainable flag); `anyLayerOrder` accepts a graph's layers listed in
 * another order than their first use (the plan is in first-use order either way).
 */
export function blueprintFromConfig(raw: unknown, where: string, overrides?: (index: number) => Record<string, unknown>, anyLayerOrder = false): ModelBlueprint {
  if (!isPlainObject(raw)) throw fail(where, 'an object { className, name, layers, ... }', raw);
  const name = raw.name;
  if (typeof name !== 'string' || name.length === 0) throw fail(`${where}.name`, 'a non-empty string', name);
  if (!Array.isArray(raw.layers) || raw.layers.length === 0 || raw.layers.length > MAX_LAYERS) {
    throw fail(`${where}.layers`, `an array of 1 to ${MAX_LAYERS} layers`, raw.layers);
  }
  const layers = raw.layers.map((entry, i) => layerFromConfig(entry, `${where}.layers[${i}]`, overrides?.(i)));
  if (raw.className === 'Sequential') return sequentialBlueprint(name, layers);
  if (raw.className === 'Model') return graphBlueprint(raw, name, layers, where, anyLayerOrder);
  throw fail(`${where}.className`, "'Sequential' or 'Model'", raw.className);
}

function sequentialBlueprint(name: string, layers: Layer[]): ModelBlueprint {
  const first = layers[0];
  if (!first.inputShape) throw new RnnError('ARGUMENT', `Expected an inputShape on the first layer ('${first.name}') but it has none`);
  let shape = first.inputShape.slice();
  const plan = layers.map((layer) => {
    const step = { layer, inputShape: shape, specs: layer.weightSpecs(shape) };
    shape = layer.computeOutputShape(shape);
    return step;
  });
  return { name, plan, build: () => new Sequential({ name, layers }) };
}

function graphBlueprint(raw: Record<string, unknown>, name: string, layers: Layer[], where: string, anyLayerOrder: boolean): ModelBlueprint {
  if (!Array.isArray(raw.inputs) || raw.inputs.length === 0) throw fail(`${where}.inputs`, 'a non-empty array', raw.inputs);
  const inputs = raw.inputs.map((entry, i) => {
    if (!isPlainObject(entry) || typeof entry.name !== 'string' || entry.name.length === 0) throw fail(`${where}.inputs[${i}]`, 'an object { name, shape, dtype }', entry);
    const dtype = entry.dtype === undefined ? 'float32' : entry.dtype;
    if (dtype !== 'float32' && dtype !== 'int32') throw fail(`${where}.inputs[${i}].dtype`, "'float32' or 'int32'", dtype);
    // Not rk.input: a rebuilt model must not advance the counter that names the user's next unnamed input.
    return new SymbolicTensor(checkSampleShape(entry.shape, `${where}.inputs[${i}].shape`), entry.name, dtype);
  });
  if (!Array.isArray(raw.nodes) || raw.nodes.length === 0) throw fail(`${where}.nodes`, 'a non-empty array', raw.nodes);
  const produced: SymbolicTensor[][] = [];
  const resolve = (ref: unknown, what: string): SymbolicTensor => {
    if (Array.isArray(ref) && ref.length === 2 && Number.isSafeInteger(ref[0]) && Number.isSafeInteger(ref[1])) {
      const [source, index] = ref as number[];
      const tensor = source === -1 ? inputs[index] : source >= 0 && source < produced.length ? produced[source][index] : undefined;
      if (tensor) return tensor;
    }
    throw fail(what, `[-1, an input index] or [an earlier node, one of its outputs] (${produced.length} earlier nodes)`, ref);
  };
  raw.nodes.forEach((entry, n) => {
    const at = `${where}.nodes[${n}]`;
    if (!isPlainObject(entry) || !Array.isArray(entry.inputs) || entry.inputs.length === 0) throw fail(at, 'an object { layer, inputs, initialStates }', entry);
    const layer = Number.isSafeInteger(entry.layer) ? layers[entry.layer as number] : undefined;
    if (!layer) throw fail(`${at}.layer`, `a layer index below ${layers.length}`, entry.layer);
    const all = entry.inputs.map((ref, k) => resolve(ref, `${at}.inputs[${k}]`));
    const states = entry.initialStates ?? 0;
    if (!Number.isSafeInteger(states) || (states as number) < 0 || (states as number) >= all.length) {
      throw fail(`${at}.initialStates`, `an integer from 0 to ${all.length - 1}`, states);
    }
    const main = all.slice(0, all.length - (states as number));
    const initial = all.slice(all.length - (states as number));
    const result = layer.apply(main.length === 1 ? main[0] : main, initial.length > 0 ? { initialState: initial } : undefined);
    produced.push(Array.isArray(result) ? result : [result]);
  });
  if (!Array.isArray(raw.outputs) || raw.outputs.length === 0) throw fail(`${where}.outputs`, 'a non-empty array', raw.outputs);
  const outputs = raw.outputs.map((ref, i) => resolve(ref, `${where}.outputs[${i}]`));
  const topology = buildTopology(inputs, outputs, name);
  checkLayerOrder(topology, layers, where, anyLayerOrder);
  return { name, plan: planOf(topology), build: () => new Model({ inputs, outputs, name }) };
}

/**
 * Every layer listed must be used; unless `anyOrder` (files whose weights are matched by name), in the order the graph
 * first uses them, the order of the weights.
 */
function checkLayerOrder(topology: Topology, layers: readonly Layer[], where: string, anyOrder: boolean): void {
  const same = topology.layers.length === layers.length && (anyOrder ? layers.every((l) => topology.firstUse.has(l)) : topology.layers.every((l, i) => l === layers[i]));
  if (!same) {
    throw fail(`${where}.layers`, `the layers in the order the graph first uses them (${topology.layers.map((l) => `'${l.name}'`).join(', ')})`,
      `${layers.map((l) => `'${l.name}'`).join(', ')}`);
  }
}

/** Each layer of a topology with the shape of its first input and the weights that shape gives it. */
export function planOf(topology: Topology): LayerPlan[] {
  return topology.layers.map((layer) => {
    const inputShape = topology.firstUse.get(layer)!.inputs[0].sampleShape.slice();
    return { layer, inputShape, specs: layer.weightSpecs(inputShape) };
  });
}

function fail(what: string, expected: string, received: unknown): RnnError {
  return new RnnError('FORMAT', `Expected ${expected} for ${what} but received ${typeof received === 'string' ? received : describeValue(received)}`);
}
