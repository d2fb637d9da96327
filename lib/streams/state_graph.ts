/**
 * The stream pool's view of a model: its state topology (lib/models/state_topology.ts: the same layers, so the same
 * weights, with every recurrent node's initial states as inputs and final states as outputs) in a hidden model
 * whose native network keeps one state row per stream (ops::StateStore); each run passes the row of every sample,
 * and the worker thread gathers the rows into the state inputs, runs the network and scatters the final states back
 * (only on success), so no state crosses to JS per step. A stateful model's own network is built from the same state topology
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
import type { NativeNetwork } from '../binding_types';

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
  /** The hidden model's network, which holds the state rows (ops::StateStore). */
  private readonly network: NativeNetwork;

  constructor(readonly model: Model) {
    const base = model.topology;
    if (!base) throw new RnnError('STATE', `Model '${model.name}' has no layers yet`);
    const { topology, slots } = stateTopology(base, model.name);
    this.slots = slots;
    this.stateSize = slots.reduce((sum, s) => sum + s.sizes.reduce((a, b) => a + b, 0), 0);
    this.outputCount = base.outputs.length;
    this.inputShapes = topology.inputs.slice(0, base.inputs.length).map((t) => t.sampleShape);
    this.runner = new StateModel(`${model.name}/state`, topology);
    this.network = this.runner.requireNetwork();
    try {
      this.network.createStates(slots.reduce((count, s) => count + s.sizes.length, 0));
    } catch (error) {
      this.dispose();
      throw toRnnError(error);
    }
  }

  /** The topology this graph was built from (a model whose layers change needs a new StateGraph). */
  get builtFrom(): Topology | undefined {
    return this.runner.topology;
  }

  /** Sets state row `row` to zeros (growing the native store to hold it). */
  resetRow(row: number): void {
    this.live().resetStateRow(row);
  }

  /** A copy of state row `row` (stateSize values), as it is after the completed batches. */
  readRow(row: number): Float32Array {
    // Copied into this realm's Float32Array (the addon's arrays fail instanceof checks under jest).
    const values = new Float32Array(this.stateSize);
    values.set(this.live().getStateRow(row));
    return values;
  }

  /** Replaces state row `row` with `values` (stateSize values). */
  writeRow(row: number, values: Float32Array): void {
    this.live().setStateRow(row, values);
  }

  /**
   * One native predict over `batch` samples: `inputs` are the model inputs ([batch, ...shapes[i]]); sample b starts
   * from state row `rows[b]` and, on success, its final state is written back there on the worker thread (the
   * states never cross to JS). On any error no row changes.
   */
  async run(batch: number, inputs: Float32Array[], shapes: number[][], rows: Int32Array): Promise<StateRunResult> {
    const ids = rows.length === batch ? rows : rows.subarray(0, batch);
    return this.live().predictRows({ batch, inputs, shapes }, ids).catch((error) => { throw toRnnError(error); });
  }

  /** The network holding the rows; a STATE error once the pool's model was disposed. */
  private live(): NativeNetwork {
    if (this.runner.requireNetwork() !== this.network) {
      throw new RnnError('STATE', `The state graph of model '${this.model.name}' lost its native network`);
    }
    return this.network;
  }

  /** Frees the hidden model's native memory (the shared layers keep their weights for the model). */
  dispose(): void {
    if (!this.runner.isDisposed) this.runner.dispose();
  }
}
