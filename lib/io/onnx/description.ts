/**
 * What the ONNX exporter reads from a model: its inputs, the layer calls (nodes) with the tensors each one takes and
 * makes, and its outputs. A sequential model is a chain of nodes; a functional model (a DAG of layer calls) fits the
 * same description, so the exporter does not care which kind of model it came from.
 */
import { RnnError } from '../../errors';
import type { Layer } from '../../layers/layer';
import { Model } from '../../models/model';
import { Sequential } from '../../models/sequential';
import type { SymbolicTensor } from '../../models/symbolic';
import type { Tensor } from '../../tensor';

/** A tensor of the model, by id; `shape` is per sample (no batch), -1 for a time dimension of any length. */
export interface TensorDescription {
  id: string;
  shape: number[];
}

/** One call of a layer: the tensors it reads and writes, and the layer's weights (Keras order). */
export interface NodeDescription {
  layer: Layer;
  inbound: TensorDescription[];
  outbound: TensorDescription[];
  weights: Tensor[];
}

/** A model as the exporter sees it. Nodes are in an order where every inbound tensor is made before it is read. */
export interface ModelDescription {
  name: string;
  /** The model inputs, with the names the exported graph gives them. */
  inputs: Array<TensorDescription & { name: string }>;
  nodes: NodeDescription[];
  /** The model outputs, with the names the exported graph gives them. */
  outputs: Array<TensorDescription & { name: string }>;
}

/** The description of a sequential model: input -> layer 0 -> ... -> last layer -> output. */
export function describeSequential(model: Sequential): ModelDescription {
  if (!(model instanceof Sequential)) {
    throw new RnnError('FORMAT', `Expected a model from rk.sequential or rk.model for the ONNX export but received ${model && typeof model === 'object' && 'name' in model ? `model '${String((model as { name: unknown }).name)}'` : typeof model}`);
  }
  const layers = model.layers;
  if (layers.length === 0) throw new RnnError('STATE', `Model '${model.name}' has no layers yet; there is nothing to export`);
  let current: TensorDescription = { id: 'input', shape: model.inputShape.slice() };
  const nodes: NodeDescription[] = layers.map((layer, i) => {
    const shape = i + 1 < layers.length ? model.layerInputShape(i + 1) : model.outputShape;
    const outbound: TensorDescription = { id: `${layer.name}/output`, shape: shape.slice() };
    const node = { layer, inbound: [current], outbound: [outbound], weights: layer.getWeights() };
    current = outbound;
    return node;
  });
  return {
    name: model.name,
    inputs: [{ id: 'input', shape: model.inputShape.slice(), name: 'input' }],
    nodes,
    outputs: [{ ...current, name: 'output' }],
  };
}

/** The description of any model: a Sequential's chain, or a functional model's graph. */
export function describeModel(model: Model): ModelDescription {
  if (model instanceof Sequential) return describeSequential(model);
  if (!(model instanceof Model) || model.topology === undefined) return describeSequential(model as Sequential);
  return describeFunctional(model);
}

/**
 * The description of a functional model from its topology: the inputs with their names, every node in topological
 * order (a shared layer is several nodes with the same weights), the outputs named after their tensors.
 */
export function describeFunctional(model: Model): ModelDescription {
  const topology = model.topology;
  if (topology === undefined) throw new RnnError('STATE', `Model '${model.name}' has no graph yet; there is nothing to export`);
  const tensor = (t: SymbolicTensor): TensorDescription => ({ id: String(t.id), shape: t.sampleShape.slice() });
  const names = new Set<string>();
  const named = (t: SymbolicTensor, what: string) => {
    // ONNX value names must be unique across the graph's inputs and outputs.
    if (names.has(t.name)) throw new RnnError('ARGUMENT', `Expected distinct names for the inputs and outputs of model '${model.name}' in the ONNX export but ${what} '${t.name}' repeats one`);
    names.add(t.name);
    return { ...tensor(t), name: t.name };
  };
  const inputs = topology.inputs.map((t) => named(t, 'input'));
  const outputs = topology.outputs.map((t) => named(t, 'output'));
  const nodes: NodeDescription[] = topology.nodes.map((node) => ({
    layer: node.layer,
    inbound: node.inputs.map(tensor),
    outbound: node.outputs.map(tensor),
    weights: node.layer.getWeights(),
  }));
  return { name: model.name, inputs, nodes, outputs };
}
