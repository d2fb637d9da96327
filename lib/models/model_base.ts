/**
 * What a model holds besides its graph: the native network and the weights of its layers (lib/models/model_weights.ts
 * moves a shared layer's weights between models), the kept states of its stateful recurrent layers, the
 * one-task-at-a-time guard and dispose. `Model` (lib/models/model.ts) extends it with the graph, compile and the
 * training / inference entry points.
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import type { NativeNetwork, NativeParamInfo } from '../native';
import { Tensor } from '../tensor';
import { ModelWeights } from './model_weights';
import { isStatefulLayer, readStates, writeStates } from './stateful_hook';

/** The weights, kept states and task guard every model has (the base of `Model`; build models with rk.model). */
export abstract class ModelBase {
  /** The model's name. */
  abstract readonly name: string;
  /** The layers, in order of first use (getWeights order). */
  abstract get layers(): readonly Layer[];
  /** @internal The native network and which of its parameters belong to which layer. */
  protected readonly weights = new ModelWeights(this);
  private activeTask?: string;
  private disposed = false;

  /** True while fit / evaluate / predict runs on this model. */
  get isBusy(): boolean {
    return this.activeTask !== undefined;
  }
  /** True after dispose(). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Frees the model's native memory at once, instead of when the garbage collector gets to it. Layers it shares
   * with other models keep their weights. Every later call that needs the model is a STATE error. Idempotent.
   */
  dispose(): void {
    this.ensureIdle('dispose the model');
    this.weights.detachAll();
    this.disposed = true;
  }

  /** Copies of every weight, layer by layer (order of first use), in Keras order within a layer. */
  getWeights(): Tensor[] {
    this.ensureIdle('read weights');
    return this.readAllWeights();
  }

  /** Replaces every weight; shapes are checked first, and on any mismatch nothing changes. */
  setWeights(weights: Tensor[]): void {
    this.ensureIdle('set weights');
    this.writeAllWeights(weights);
  }

  /** @internal getWeights without the busy check (callbacks between batches). */
  readAllWeights(): Tensor[] {
    this.requireNetwork();
    return this.weights.readAll();
  }

  /** @internal One layer's weights without the busy check (loadWeights runs as a task). */
  readLayerWeights(layer: Layer): Tensor[] {
    this.requireNetwork();
    return this.weights.readLayer(layer);
  }

  /** @internal setWeights without the busy check (callbacks between batches). */
  writeAllWeights(weights: Tensor[]): void {
    this.requireNetwork();
    this.weights.writeAll(weights);
  }

  /** @internal LayerHost */
  getLayerWeights(layer: Layer): Tensor[] {
    this.ensureIdle('read weights');
    return this.weights.readLayer(layer);
  }

  /** @internal LayerHost */
  setLayerWeights(layer: Layer, weights: Tensor[]): void {
    this.ensureIdle('set weights');
    this.weights.writeLayer(layer, weights);
  }

  /** @internal LayerHost */
  layerTrainableChanged(): void {
    if (this.weights.network && !this.activeTask) this.applyTrainable();
  }

  /** @internal Native parameter indices of a layer. */
  paramIndicesOf(layer: Layer): readonly number[] {
    return this.weights.indicesOf(layer);
  }

  /** @internal The native parameters (name, shape, layer) of the network. */
  get paramInfos(): readonly NativeParamInfo[] {
    return this.weights.infos;
  }

  /** @internal Pushes each layer's trainable flag to the native parameters (done before every fit). */
  applyTrainable(): void {
    const network = this.requireNetwork();
    for (const layer of this.layers) {
      for (const index of this.weights.indicesOf(layer)) network.setTrainable(index, layer.trainable);
    }
  }

  /** True when a recurrent layer keeps its states between batches (`stateful: true`). */
  get isStateful(): boolean {
    return this.layers.some((l) => isStatefulLayer(l) || isStatefulLayer((l as { layer?: Layer }).layer ?? l));
  }

  /** Zeros the kept states of every stateful layer (Keras `reset_states`). */
  resetStates(): void {
    this.ensureIdle('reset states');
    for (const layer of this.layers) (layer as { resetStates?: () => void }).resetStates?.();
  }

  /** @internal resetStates for callbacks between batches of fit: the stateful layers only, no busy check. */
  resetStatesBetweenBatches(): void {
    for (const layer of this.layers) if (isStatefulLayer(layer)) (layer as { resetStates?: () => void }).resetStates?.();
  }

  /**
   * The kept states of every stateful layer, layer by layer (bidirectional: forward then backward), each state
   * tensor one Float32Array of batchSize * units values (row-major; zeros before the first predict), so a run can
   * be saved and resumed elsewhere with setStates.
   */
  getStates(): Float32Array[] {
    this.ensureIdle('read states');
    return readStates(this);
  }

  /** Replaces the kept states of every stateful layer (getStates' order and sizes); checked first, all or nothing. */
  setStates(states: Float32Array[]): void {
    this.ensureIdle('set states');
    writeStates(this, states);
  }

  /** @internal The native network (built), with every layer's latest weights in it. */
  requireNetwork(): NativeNetwork {
    if (this.disposed) throw this.disposedError('use it');
    const network = this.weights.network;
    if (!network) throw new RnnError('STATE', `Model '${this.name}' has no layers yet; add layers first`);
    this.weights.claim();
    return network;
  }

  /** @internal Runs one task at a time: a second fit, or a weight change during fit, is a BUSY error. */
  async runTask<T>(task: string, body: () => Promise<T>): Promise<T> {
    this.ensureIdle(task);
    this.activeTask = task;
    try {
      return await body();
    } finally {
      this.activeTask = undefined;
    }
  }

  /** @internal Throws BUSY while a task runs, STATE after dispose. */
  ensureIdle(what: string): void {
    if (this.disposed && what !== 'dispose the model') throw this.disposedError(what);
    if (this.activeTask) {
      throw new RnnError('BUSY', `Cannot ${what} while ${this.activeTask} is running on model '${this.name}'; await it first`);
    }
  }

  /** @internal The STATE error of a call on a disposed model. */
  protected disposedError(what: string): RnnError {
    return new RnnError('STATE', `Cannot ${what}: model '${this.name}' was disposed (its native memory is freed)`);
  }
}
