/**
 * The stream pool's view of a model: its state topology (lib/models/state_topology.ts: the same layers, so the same
 * weights, with every recurrent node's initial states as inputs and final states as outputs) in a hidden model;
 * each run gathers the samples' state rows into the state inputs, runs one native predict and scatters the
 * returned states back. A stateful model's own network is built from the same state topology
 * (lib/models/stateful_runner.ts carries its kept states through predict, evaluate and fit).
 *
 * A sample's state is one flat Float32Array of `stateSize` values: for every recurrent node in graph order, its
 * state tensors in Keras order (forward h, c for an LSTM, then backward h, c for a bidirectional layer), `units`
 * values each.
 */
import { RnnError } from '../errors';
import { toRnnError } from '../native';
import { emptyGraphArgs, Model } from '../models/model';
import { StateSlot, stateTopology } from '../models/state_topology';
import type { Topology } from '../models/topology';

export { isRecurrent } from '../models/state_topology';
export type { StateSlot } from '../models/state_topology';

/** A hidden model over the state topology: it hosts the shared layers' weights while it runs. */
class StateModel extends Model {
  constructor(name: string, topology: Topology) {
    super(emptyGraphArgs(name));
    this.setTopology(topology);
  }

  /** Its topology is a state topology already (its recurrent nodes take their states as inputs). */
  protected override networkTopology(): undefined {
    return undefined;
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
