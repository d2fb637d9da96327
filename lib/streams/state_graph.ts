/**
 * The state graph of a model: the same layers (same Layer objects, so the same weights) in a graph whose recurrent
 * nodes also take their initial states as inputs and return their final states (the graph engine's state inputs and
 * outputs, lib/models). Stateful layers, model.getStates / setStates and the stream pool all run a model through
 * this one mechanism: gather each sample's state rows into the state inputs, run one native predict, scatter the
 * returned states back.
 *
 * A sample's state is one flat Float32Array of `stateSize` values: for every recurrent node in graph order, its
 * state tensors in Keras order (forward h, c for an LSTM, then backward h, c for a bidirectional layer), `units`
 * values each.
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import { RecurrentLayer } from '../layers/recurrent';
import { Bidirectional } from '../layers/wrappers';
import { toRnnError } from '../native';
import { emptyGraphArgs, Model } from '../models/model';
import { ANY_LENGTH, GraphNode, SymbolicTensor } from '../models/symbolic';
import type { Topology } from '../models/topology';

/** One recurrent node's state tensors. @internal */
export interface StateSlot {
  /** The recurrent layer (a bidirectional wrapper counts as one). */
  readonly layer: Layer;
  /** Values of each state tensor ([units] each). */
  readonly sizes: readonly number[];
  /** Offset of the slot's first value in a sample's flat state. */
  readonly offset: number;
}

/** True for layers that carry state across steps (simpleRNN, lstm, gru, bidirectional). @internal */
export function isRecurrent(layer: Layer): layer is RecurrentLayer | Bidirectional {
  return layer instanceof RecurrentLayer || layer instanceof Bidirectional;
}

function stateShape(layer: RecurrentLayer | Bidirectional): number[] {
  if (layer instanceof Bidirectional) return new Array<number>(2 * layer.layer.stateCount).fill(layer.layer.units);
  return new Array<number>(layer.stateCount).fill(layer.units);
}

/** The state topology of `base` and the state slots, in node order. */
function stateTopology(base: Topology, modelName: string): { topology: Topology; slots: StateSlot[] } {
  const slots: StateSlot[] = [];
  const stateInputs: SymbolicTensor[] = [];
  const stateOutputs: SymbolicTensor[] = [];
  const nodes: GraphNode[] = [];
  const firstUse = new Map<Layer, GraphNode>();
  const recurrentLayers = new Set<Layer>();
  let offset = 0;
  // The sequence inputs take any number of steps: a chunk of a stream has its own length.
  const inputs = base.inputs.map((t) => (t.sampleShape.length >= 2
    ? new SymbolicTensor([ANY_LENGTH, ...t.sampleShape.slice(1)], t.name, t.dtype) : t));
  const mapped = new Map<SymbolicTensor, SymbolicTensor>(base.inputs.map((t, i) => [t, inputs[i]]));
  const map = (t: SymbolicTensor) => mapped.get(t) ?? t;
  for (const node of base.nodes) {
    const layer = node.layer;
    let next: GraphNode = { layer, inputs: node.inputs.map(map), outputs: node.outputs, initialStates: node.initialStates };
    if (isRecurrent(layer)) {
      if (node.initialStates > 0) {
        throw new RnnError('ARGUMENT', `Expected the recurrent layers of model '${modelName}' to start from their own state to run it with kept state, but layer '${layer.name}' is given initialState tensors`);
      }
      const sizes = stateShape(layer);
      const ins = sizes.map((u, k) => new SymbolicTensor([u], `${layer.name}/state_in_${k}`, 'float32'));
      const outs = layer.returnState ? node.outputs.slice(1)
        : sizes.map((u, k) => new SymbolicTensor([u], `${layer.name}/state_out_${k}`, 'float32'));
      next = { layer, inputs: [...next.inputs, ...ins], outputs: [node.outputs[0], ...outs], initialStates: sizes.length };
      stateInputs.push(...ins);
      stateOutputs.push(...outs);
      slots.push({ layer, sizes, offset });
      offset += sizes.reduce((a, b) => a + b, 0);
      recurrentLayers.add(layer);
    }
    nodes.push(next);
    if (!firstUse.has(layer)) firstUse.set(layer, { ...next, inputs: node.inputs });
  }
  if (slots.length === 0) {
    throw new RnnError('ARGUMENT', `Expected model '${modelName}' to have a recurrent layer (simpleRNN, lstm, gru, bidirectional) to keep state but it has none`);
  }
  const topology: Topology = {
    inputs: [...inputs, ...stateInputs],
    outputs: [...base.outputs, ...stateOutputs],
    nodes,
    layers: base.layers,
    firstUse,
    returnStateLayers: recurrentLayers,
  };
  return { topology, slots };
}

/** A hidden model over the state topology: it hosts the shared layers' weights while it runs. */
class StateModel extends Model {
  constructor(name: string, topology: Topology) {
    super(emptyGraphArgs(name));
    this.setTopology(topology);
  }
}

/** The model outputs of one run (row-major, [batch, ...shape]) and their per-sample shapes. @internal */
export interface StateRunResult {
  outputs: Float32Array[];
  shapes: number[][];
}

/** Runs a model with every recurrent layer's state passed in and out. @internal */
export class StateGraph {
  /** The recurrent nodes' state tensors, in node order. */
  readonly slots: readonly StateSlot[];
  /** Values in one sample's flat state. */
  readonly stateSize: number;
  /** Number of model outputs (the native outputs after them are the states). */
  readonly outputCount: number;
  /** Per-sample shapes of the model inputs (time dimension -1). */
  readonly inputShapes: readonly (readonly number[])[];
  private readonly runner: StateModel;
  private readonly stateInputs: Float32Array[];
  private capacity = 0;

  constructor(readonly model: Model) {
    const base = model.topology;
    if (!base) throw new RnnError('STATE', `Model '${model.name}' has no layers yet`);
    const { topology, slots } = stateTopology(base, model.name);
    this.slots = slots;
    this.stateSize = slots.reduce((sum, s) => sum + s.sizes.reduce((a, b) => a + b, 0), 0);
    this.outputCount = base.outputs.length;
    this.inputShapes = topology.inputs.slice(0, base.inputs.length).map((t) => t.sampleShape);
    this.runner = new StateModel(`${model.name}/state`, topology);
    this.stateInputs = slots.flatMap((s) => s.sizes.map(() => new Float32Array(0)));
  }

  /** The topology this graph was built from (a model whose layers change needs a new StateGraph). */
  get builtFrom(): Topology | undefined {
    return this.runner.topology;
  }

  private reserve(batch: number): void {
    if (batch <= this.capacity) return;
    this.capacity = Math.max(batch, 2 * this.capacity);
    let k = 0;
    for (const slot of this.slots) for (const size of slot.sizes) this.stateInputs[k++] = new Float32Array(this.capacity * size);
  }

  /**
   * One native predict over `batch` samples: `inputs` are the model inputs ([batch, ...shapes[i]]); the initial
   * state of sample b is `states[rows[b] * stateSize ...]`; on success its final state is written back there. On
   * any error nothing is written.
   */
  async run(batch: number, inputs: Float32Array[], shapes: number[][], states: Float32Array, rows: ArrayLike<number>): Promise<StateRunResult> {
    this.reserve(batch);
    const ins: Float32Array[] = [];
    const stateShapes: number[][] = [];
    let k = 0;
    for (const slot of this.slots) {
      let offset = slot.offset;
      for (const size of slot.sizes) {
        const buffer = this.stateInputs[k++];
        for (let b = 0; b < batch; b++) {
          const from = rows[b] * this.stateSize + offset;
          buffer.set(states.subarray(from, from + size), b * size);
        }
        ins.push(buffer.subarray(0, batch * size));
        stateShapes.push([size]);
        offset += size;
      }
    }
    const network = this.runner.requireNetwork();
    const result = await network.predict({ batch, inputs: [...inputs, ...ins], shapes: [...shapes, ...stateShapes] })
      .catch((error) => { throw toRnnError(error); });
    k = this.outputCount;
    for (const slot of this.slots) {
      let offset = slot.offset;
      for (const size of slot.sizes) {
        const values = result.outputs[k++];
        for (let b = 0; b < batch; b++) {
          const to = rows[b] * this.stateSize + offset;
          states.set(values.subarray(b * size, (b + 1) * size), to);
        }
        offset += size;
      }
    }
    return { outputs: result.outputs.slice(0, this.outputCount), shapes: result.shapes.slice(0, this.outputCount) };
  }

  /** Frees the hidden model's native memory (the shared layers keep their weights for the model). */
  dispose(): void {
    if (!this.runner.isDisposed) this.runner.dispose();
  }
}
