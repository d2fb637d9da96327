/**
 * Keras stateful recurrent layers: predict, evaluate, fit and the *OnBatch calls of a model whose recurrent layers
 * have `stateful: true` run its network, which is built from the model's state topology (lib/models/state_topology.ts):
 * every batch of exactly B rows (the first layer's batchInputShape) feeds each stateful layer's kept states in as
 * inputs and gets its final states back, in the same native call as the forward pass (predict) or as forward, loss,
 * backward and update (train; the state outputs are compiled with loss 'none', which returns their values). The
 * other recurrent layers of the model start from zeros every batch, as without state. The initial states are inputs
 * without gradient: truncated backpropagation through time, as in Keras.
 *
 * A StateCursor carries the states from batch to batch of one call; `keep()` makes them the layers' kept states.
 * fit keeps them after every step (the weights moved too); evaluate and predict keep them once all their batches
 * succeeded, so a failed call leaves the states as they were; fit's validation keeps nothing.
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import { toRnnError } from '../native';
import type { NativeBatch, NativeBatchMetrics, NativeNetwork } from '../native';
import { checkInteger } from '../validate';
import type { StateSlot } from './state_topology';
import { isStatefulLayer } from './stateful_hook';

/** The batch calls the training and inference loops make: the network itself, or a StateCursor. @internal */
export interface BatchRunner {
  trainBatch(batch: NativeBatch, seed: number): Promise<NativeBatchMetrics>;
  evaluateBatch(batch: NativeBatch): Promise<NativeBatchMetrics>;
  computeGradients(batch: NativeBatch, seed: number): Promise<{ metrics: NativeBatchMetrics; gradients: Float32Array[] }>;
  predict(batch: NativeBatch): Promise<{ outputs: Float32Array[]; shapes: number[][] }>;
  /** Makes the states the batches reached the stateful layers' kept states (nothing without stateful layers). */
  keep(): void;
}

/** What a stateful model's network has beyond the model's graph. @internal */
export interface StatefulPlan {
  /** The recurrent nodes' state tensors, in node order (the network's extra inputs and outputs). */
  readonly slots: readonly StateSlot[];
  /** Number of model outputs (the network's outputs after them are the final states). */
  readonly outputCount: number;
  /** Rows of every batch (batchInputShape[0]). */
  readonly batchSize: number;
}

/** The network's own calls (errors as RnnErrors), for a model without stateful layers. @internal */
export function plainRunner(network: NativeNetwork): BatchRunner {
  const rethrow = (error: unknown): never => { throw toRnnError(error); };
  return {
    trainBatch: (batch, seed) => network.trainBatch(batch, seed).catch(rethrow),
    evaluateBatch: (batch) => network.evaluateBatch(batch).catch(rethrow),
    computeGradients: (batch, seed) => network.computeGradients(batch, seed).catch(rethrow),
    predict: (batch) => network.predict(batch).catch(rethrow),
    keep: () => undefined,
  };
}

type Keeper = Layer & { keptStates?: Float32Array[] };

/** Carries the states of a stateful model's layers through the batches of one call. @internal */
export class StateCursor implements BatchRunner {
  private states: Float32Array[][];
  private readonly stateful: boolean[];

  /**
   * Starts from the kept states (zeros after resetStates). `keepEach` (fit): keeps them after every batch and reads
   * them again before every batch, so a callback's resetStates between batches takes effect.
   */
  constructor(private readonly network: NativeNetwork, private readonly plan: StatefulPlan, private readonly modelName: string, private readonly keepEach: boolean) {
    this.stateful = plan.slots.map((slot) => isStatefulLayer(slot.layer));
    this.states = this.keptStates();
  }

  /** The stateful layers' kept states (zeros where none), checked against B rows. */
  private keptStates(): Float32Array[][] {
    const B = this.plan.batchSize;
    return this.plan.slots.map((slot, s) => {
      const kept = this.stateful[s] ? (slot.layer as Keeper).keptStates : undefined;
      if (kept && kept.some((values, k) => values.length !== B * slot.sizes[k])) {
        throw new RnnError('SHAPE', `Expected the states of layer '${slot.layer.name}' to hold ${B} rows (batchInputShape) but they hold ${kept[0].length / slot.sizes[0]}`);
      }
      return slot.sizes.map((size, k) => kept?.[k] ?? new Float32Array(B * size));
    });
  }

  async trainBatch(batch: NativeBatch, seed: number): Promise<NativeBatchMetrics> {
    return this.metrics(await this.step(batch, (full) => this.network.trainBatch(full, seed), (m) => m.values ?? []));
  }

  async evaluateBatch(batch: NativeBatch): Promise<NativeBatchMetrics> {
    return this.metrics(await this.step(batch, (full) => this.network.evaluateBatch(full), (m) => m.values ?? []));
  }

  /** The gradients from the current states; the states do not move (no step was taken). */
  async computeGradients(batch: NativeBatch, seed: number): Promise<{ metrics: NativeBatchMetrics; gradients: Float32Array[] }> {
    const result = await this.step(batch, (full) => this.network.computeGradients(full, seed), () => undefined);
    return { metrics: this.metrics(result.metrics), gradients: result.gradients };
  }

  async predict(batch: NativeBatch): Promise<{ outputs: Float32Array[]; shapes: number[][] }> {
    const count = this.plan.outputCount;
    const result = await this.step(batch, (full) => this.network.predict(full), (r) => r.outputs.slice(count));
    return { outputs: result.outputs.slice(0, count), shapes: result.shapes.slice(0, count) };
  }

  keep(): void {
    this.plan.slots.forEach((slot, s) => {
      // Copied into this realm's Float32Arrays: the addon's arrays fail instanceof checks under jest's vm contexts.
      if (this.stateful[s]) (slot.layer as Keeper).keptStates = this.states[s].map((values) => new Float32Array(values));
    });
  }

  /** One native call with the states as extra inputs; on success `finals` (undefined: none) become the states. */
  private async step<T>(batch: NativeBatch, call: (full: NativeBatch) => Promise<T>, finals: (result: T) => Float32Array[] | undefined): Promise<T> {
    const B = this.plan.batchSize;
    if (batch.batch !== B) throw new RnnError('SHAPE', `Expected batches of ${B} samples (batchInputShape) for stateful model '${this.modelName}' but received ${batch.batch}`);
    if (this.keepEach) this.states = this.keptStates();
    const inputs: Float32Array[] = [];
    const shapes: number[][] = [];
    this.plan.slots.forEach((slot, s) => slot.sizes.forEach((size, k) => {
      // Only stateful layers carry their states; the model's other recurrent layers start every batch from zeros.
      inputs.push(this.stateful[s] ? this.states[s][k] : new Float32Array(B * size));
      shapes.push([size]);
    }));
    const full: NativeBatch = {
      ...batch,
      inputs: [...batch.inputs, ...inputs],
      shapes: [...batch.shapes, ...shapes],
      targets: batch.targets && [...batch.targets, ...inputs.map(() => new Float32Array(0))],
    };
    const result = await call(full).catch((error) => { throw toRnnError(error); });
    const values = finals(result);
    if (values) {
      let k = 0;
      this.states = this.plan.slots.map((slot) => slot.sizes.map(() => values[k++]));
      if (this.keepEach) this.keep();
    }
    return result;
  }

  private metrics(metrics: NativeBatchMetrics): NativeBatchMetrics {
    return { loss: metrics.loss, outputs: metrics.outputs.slice(0, this.plan.outputCount) };
  }
}

/** The batch size of a stateful call: B when not given, an ARGUMENT error when given otherwise. @internal */
export function statefulBatchSize(plan: StatefulPlan, modelName: string, option: unknown, what: string): number {
  if (option === undefined) return plan.batchSize;
  const batchSize = checkInteger(option, 'batchSize', { min: 1 });
  if (batchSize !== plan.batchSize) {
    throw new RnnError('ARGUMENT', `Expected batchSize ${plan.batchSize} (the batchInputShape of stateful model '${modelName}') for ${what} but received ${batchSize}`);
  }
  return batchSize;
}

/** SHAPE unless `samples` is a multiple of B (exactly B for the *OnBatch calls). @internal */
export function checkStatefulSamples(plan: StatefulPlan, modelName: string, samples: number, what: string, exact = false): void {
  const B = plan.batchSize;
  if (exact ? samples !== B : samples % B !== 0) {
    throw new RnnError('SHAPE', `Expected ${exact ? `exactly ${B}` : `a multiple of ${B}`} samples (the batchInputShape of stateful model '${modelName}', each row one sequence whose state carries to the next batch) for ${what} but received ${samples}`);
  }
}
