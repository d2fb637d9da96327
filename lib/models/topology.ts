/**
 * From symbolic tensors to a model's graph: walks back from the outputs to the inputs, orders the nodes so every
 * tensor is produced before it is used, and refuses what cannot run (a missing input, an unused or repeated input,
 * a cycle, two layers with one name, a shared layer whose uses need weights of different shapes). Every error is
 * raised here, when the model is built, never mid-fit.
 */
import { RnnError } from '../errors';
import { Embedding } from '../layers/core';
import { Layer } from '../layers/layer';
import type { LossName } from '../training/losses';
import type { DataSpec } from '../training/model_data';
import { describeValue } from '../validate';
import { GraphNode, shapeText, SymbolicTensor } from './symbolic';

/** A model's graph: what build_network turns into a native network and what save/load describe. @internal */
export interface Topology {
  /** Model inputs, in order. */
  readonly inputs: readonly SymbolicTensor[];
  /** Model outputs, in order. */
  readonly outputs: readonly SymbolicTensor[];
  /** Every node, each after the nodes producing its inputs. */
  readonly nodes: readonly GraphNode[];
  /** Every layer, in order of first use (the weight owners; getWeights order). */
  readonly layers: readonly Layer[];
  /** The first node of each layer: its first input's shape decides the layer's weights. */
  readonly firstUse: ReadonlyMap<Layer, GraphNode>;
  /** Recurrent layers whose nodes also return their final states natively (the state graph of lib/streams). */
  readonly returnStateLayers?: ReadonlySet<Layer>;
}

function tensorList(value: unknown, what: string, modelName: string): SymbolicTensor[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new RnnError('ARGUMENT', `Expected at least one symbolic tensor for ${what} of model '${modelName}' but received an empty array`);
  list.forEach((t, i) => {
    if (!(t instanceof SymbolicTensor)) {
      throw new RnnError('ARGUMENT', `Expected symbolic tensors (from rk.input or layer.apply) for ${what} of model '${modelName}' but received ${describeValue(t)}${Array.isArray(value) ? ` at ${i}` : ''}`);
    }
  });
  return list as SymbolicTensor[];
}

/** The graph from `inputs` to `outputs` (tensors or arrays of them). */
export function buildTopology(inputsValue: unknown, outputsValue: unknown, modelName: string): Topology {
  const inputs = tensorList(inputsValue, 'inputs', modelName);
  const outputs = tensorList(outputsValue, 'outputs', modelName);
  const inputSet = new Set<SymbolicTensor>();
  for (const t of inputs) {
    if (!t.isInput) throw new RnnError('ARGUMENT', `Expected model inputs made by rk.input but '${t.name}' of model '${modelName}' is the output of layer '${t.node!.layer.name}'`);
    if (inputSet.has(t)) throw new RnnError('ARGUMENT', `Expected each input once in model '${modelName}' but received '${t.name}' twice`);
    inputSet.add(t);
  }
  const names = new Set<string>();
  for (const t of inputs) {
    if (names.has(t.name)) throw new RnnError('ARGUMENT', `Expected unique input names in model '${modelName}' but two inputs are named '${t.name}'`);
    names.add(t.name);
  }

  // Depth-first from every output; a node is listed after all the nodes its inputs come from.
  const order: GraphNode[] = [];
  const state = new Map<GraphNode, 'active' | 'done'>();
  const usedInputs = new Set<SymbolicTensor>();
  const visit = (tensor: SymbolicTensor, output: SymbolicTensor): void => {
    if (tensor.isInput) {
      if (!inputSet.has(tensor)) {
        throw new RnnError('ARGUMENT', `Expected every tensor that output '${output.name}' needs to come from the inputs of model '${modelName}' but it needs input '${tensor.name}' ${shapeText(tensor.sampleShape)}, which is not among them (${inputs.map((t) => `'${t.name}'`).join(', ')}); add it to inputs`);
      }
      usedInputs.add(tensor);
      return;
    }
    const node = tensor.node!;
    const seen = state.get(node);
    if (seen === 'done') return;
    if (seen === 'active') throw new RnnError('ARGUMENT', `Expected a graph without cycles in model '${modelName}' but layer '${node.layer.name}' needs its own output`);
    state.set(node, 'active');
    for (const inbound of node.inputs) visit(inbound, output);
    state.set(node, 'done');
    order.push(node);
  };
  for (const output of outputs) visit(output, output);
  for (const t of inputs) {
    if (!usedInputs.has(t)) throw new RnnError('ARGUMENT', `Expected every input of model '${modelName}' to reach an output but input '${t.name}' reaches none (${outputs.map((o) => `'${o.name}'`).join(', ')})`);
  }

  const layers: Layer[] = [];
  const firstUse = new Map<Layer, GraphNode>();
  const layerNames = new Map<string, Layer>();
  for (const node of order) {
    const layer = node.layer;
    const first = firstUse.get(layer);
    if (first === undefined) {
      const other = layerNames.get(layer.name);
      if (other !== undefined) throw new RnnError('ARGUMENT', `Expected unique layer names but model '${modelName}' holds two different layers named '${layer.name}'`);
      if (names.has(layer.name)) throw new RnnError('ARGUMENT', `Expected layer names distinct from the input names but model '${modelName}' has an input and a layer named '${layer.name}'`);
      layerNames.set(layer.name, layer);
      firstUse.set(layer, node);
      layers.push(layer);
    } else {
      checkSharedUse(layer, first, node);
    }
  }
  return { inputs, outputs, nodes: order, layers, firstUse };
}

/** A layer used twice shares one set of weights: both uses must need the same weight shapes. */
function checkSharedUse(layer: Layer, first: GraphNode, node: GraphNode): void {
  const a = layer.weightSpecs(first.inputs[0].sampleShape);
  const b = layer.weightSpecs(node.inputs[0].sampleShape);
  const same = a.length === b.length && a.every((w, k) => w.shape.join() === b[k].shape.join());
  if (!same) {
    throw new RnnError('SHAPE', `Expected every use of shared layer '${layer.name}' to fit its weights (first used on ${shapeText(first.inputs[0].sampleShape)}) but it is also applied to ${shapeText(node.inputs[0].sampleShape)}`);
  }
}

/**
 * Re-applies the nodes of `topology` to new input tensors (a model used as a layer): the same Layer objects, so
 * the weights are shared. Returns the tensors matching the topology's outputs.
 */
export function replayTopology(topology: Topology, inputs: readonly SymbolicTensor[], modelName: string): SymbolicTensor[] {
  if (inputs.length !== topology.inputs.length) {
    throw new RnnError('ARGUMENT', `Expected ${topology.inputs.length} input tensor(s) for model '${modelName}' but received ${inputs.length}`);
  }
  const mapped = new Map<SymbolicTensor, SymbolicTensor>();
  topology.inputs.forEach((t, i) => {
    const given = inputs[i];
    if (given.sampleShape.length !== t.sampleShape.length || given.sampleShape.some((d, k) => t.sampleShape[k] !== -1 && d !== t.sampleShape[k])) {
      throw new RnnError('SHAPE', `Expected input '${t.name}' of model '${modelName}' to be ${shapeText(t.sampleShape)} but received ${shapeText(given.sampleShape)}`);
    }
    mapped.set(t, given);
  });
  for (const node of topology.nodes) {
    const all = node.inputs.map((t) => mapped.get(t)!);
    const main = all.slice(0, all.length - node.initialStates);
    const states = all.slice(all.length - node.initialStates);
    const result = node.layer.apply(main.length === 1 ? main[0] : main, states.length > 0 ? { initialState: states } : undefined);
    const outs = Array.isArray(result) ? result : [result];
    node.outputs.forEach((t, k) => mapped.set(t, outs[k]));
  }
  return topology.outputs.map((t) => mapped.get(t)!);
}

/** The chain topology of a sequential stack: input -> layer 0 -> layer 1 -> ... (shapes already checked). */
export function chainTopology(layers: readonly Layer[], inputShape: readonly number[], inputName: string): Topology {
  let tensor = new SymbolicTensor(inputShape, inputName, 'float32');
  const inputs = [tensor];
  const nodes: GraphNode[] = [];
  const firstUse = new Map<Layer, GraphNode>();
  for (const layer of layers) {
    const outputs: SymbolicTensor[] = [];
    const node: GraphNode = { layer, inputs: [tensor], outputs, initialStates: 0 };
    outputs.push(new SymbolicTensor(layer.computeOutputShape(tensor.sampleShape), layer.name, 'float32', node, 0));
    nodes.push(node);
    firstUse.set(layer, node);
    tensor = outputs[0];
  }
  return { inputs, outputs: [tensor], nodes, layers: layers.slice(), firstUse };
}

/** Output names (the producing layer's, Keras): `_1`, `_2` ... added when one layer gives several outputs. */
export function outputNames(topology: Topology): string[] {
  const seen = new Set<string>();
  return topology.outputs.map((t) => {
    let name = t.node!.layer.name;
    for (let k = 1; seen.has(name); k++) name = `${t.node!.layer.name}_${k}`;
    seen.add(name);
    return name;
  });
}

/** What data for the graph must look like; an input read by embeddings must hold ids below their vocabularies. */
export function dataSpecOf(topology: Topology, losses?: LossName[]): DataSpec {
  const names = outputNames(topology);
  return {
    inputs: topology.inputs.map((t) => {
      const limits = topology.nodes.filter((n) => n.inputs[0] === t && n.layer instanceof Embedding).map((n) => (n.layer as Embedding).inputDim);
      return { name: t.name, shape: t.sampleShape, tokenLimit: limits.length > 0 ? Math.min(...limits) : undefined };
    }),
    outputs: topology.outputs.map((t, k) => ({ name: names[k], shape: t.sampleShape })),
    losses,
  };
}
