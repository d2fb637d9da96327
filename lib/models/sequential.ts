/**
 * A linear stack of layers, tfjs/Keras style. The model owns one native network; it is (re)built whenever the layer
 * list changes, keeping the weights of the layers it already had. Weights and optimizer state live natively and are
 * copied in and out only through getWeights / setWeights and the persistence functions.
 */
import { RnnError } from '../errors';
import { saveModel, SaveOptions } from '../io';
import { Embedding } from '../layers/core';
import { Layer } from '../layers/layer';
import { NativeNetwork, NativeParamInfo, toRnnError } from '../native';
import type { Optimizer } from '../optimizers';
import { globalRandom } from '../random';
import { Tensor, TensorLike } from '../tensor';
import { fitLoop, FitOptions } from '../training/fit';
import { evaluateLoop, EvaluateOptions, predictLoop, PredictOptions } from '../training/evaluate';
import { History } from '../training/history';
import { batchLogs, LossName } from '../training/losses';
import { ModelShapes, prepareInputs, prepareTargets } from '../training/data';
import { checkFunction, checkKnownKeys, describeValue, optionsOrEmpty } from '../validate';
import { printSummary } from './summary';
import { checkLayerWeights } from './weight_checks';
import { buildNetwork, singleBatch, singleMetrics } from './build_network';
import { stackShapes } from './layer_stack';
import { CompileArgs, CompiledState, parseCompileArgs } from './compile_args';

/** Arguments of `rk.sequential`. */
export interface SequentialArgs {
  /** Model name. Default 'sequential'. */
  name?: string;
  /** Layers to add in order. */
  layers?: Layer[];
}

export type { CompileArgs, CompiledState } from './compile_args';

/** A linear stack of layers trained as one native network; build one with `rk.sequential()`. */
export class Sequential {
  /** The model's name. */
  readonly name: string;
  /** Set by callbacks (e.g. earlyStopping) to end fit after the current epoch. */
  stopTraining = false;
  private readonly layerList: Layer[] = [];
  private shapes: number[][] = [];  // shapes[i] = per-sample input shape of layer i; last = model output
  private network?: NativeNetwork;
  private paramIndices = new Map<Layer, number[]>();
  private paramInfos: NativeParamInfo[] = [];  // network.params(), read once per build (it builds a JS array)
  private compiledState?: CompiledState;
  private activeTask?: string;
  private disposed = false;

  /** Validates the options eagerly and adds `args.layers` in order. */
  constructor(args: SequentialArgs = {}) {
    const options = optionsOrEmpty(args, 'sequential options');
    checkKnownKeys(options, ['name', 'layers'], 'sequential options');
    if (options.name !== undefined && typeof options.name !== 'string') throw new RnnError('ARGUMENT', `Expected a string for name but received ${describeValue(options.name)}`);
    this.name = options.name ?? 'sequential';
    if (options.layers !== undefined) {
      if (!Array.isArray(options.layers)) throw new RnnError('ARGUMENT', `Expected an array of layers for layers but received ${describeValue(options.layers)}`);
      this.addLayers(options.layers);
    }
  }

  /** Appends a layer; the first one must have an inputShape. Weights are created at once (Keras behaviour). */
  add(layer: Layer): void {
    this.addLayers([layer]);
  }

  /**
   * Appends layers with one native build for all of them (add() per layer rebuilds the network each time, which is
   * quadratic in the layer count: loading a 2,000-layer file took 42 s). All or nothing: on any error the model
   * keeps its previous layers and weights.
   */
  private addLayers(layers: readonly Layer[]): void {
    this.ensureIdle('add a layer');
    const shapes = stackShapes(this.layerList, this.shapes, layers, this.name);
    const previous = this.snapshotWeights();
    const before = { layers: this.layerList.length, shapes: this.shapes };
    this.layerList.push(...layers);
    this.shapes = shapes;
    try {
      this.rebuild(previous);
    } catch (error) {
      this.layerList.length = before.layers;
      this.shapes = before.shapes;
      this.rebuild(previous);
      throw toRnnError(error);
    }
    for (const layer of layers) layer.host = this;
  }

  /** The layers, in order. */
  get layers(): readonly Layer[] {
    return this.layerList.slice();
  }
  /** Per-sample input shape. */
  get inputShape(): readonly number[] {
    return this.requireLayers().shapes[0];
  }
  /** Per-sample output shape. */
  get outputShape(): readonly number[] {
    return this.requireLayers().shapes[this.shapes.length - 1];
  }
  /** The optimizer given to compile. */
  get optimizer(): Optimizer {
    return this.requireCompiled().optimizer;
  }
  /** True while fit / evaluate / predict runs on this model. */
  get isBusy(): boolean {
    return this.activeTask !== undefined;
  }

  /** A layer by name or index. */
  getLayer(nameOrIndex: string | number): Layer {
    const layer = typeof nameOrIndex === 'number' ? this.layerList[nameOrIndex] : this.layerList.find((l) => l.name === nameOrIndex);
    if (!layer) {
      throw new RnnError('ARGUMENT', `Expected a layer name (${this.layerList.map((l) => `'${l.name}'`).join(', ')}) or an index below ${this.layerList.length} but received ${describeValue(nameOrIndex)}`);
    }
    return layer;
  }

  /** Per-sample input shape of layer i (i = layers.length: the model output). @internal */
  layerInputShape(index: number): readonly number[] {
    return this.shapes[index];
  }

  /** Number of weight values in every layer. */
  countParams(): number {
    return this.layerList.reduce((sum, layer, i) => sum + layer.countParams(this.shapes[i]), 0);
  }

  /** Prints a table of layers, output shapes and parameter counts. */
  summary(printFn: (line: string) => void = console.log): void {
    if (this.disposed) throw this.disposedError('print a summary');
    printSummary(this, this.shapes, checkFunction(printFn, 'summary printFn'));
  }

  /**
   * Sets the loss, the optimizer and the metrics; needed before fit, evaluate and trainOnBatch. Compiling again keeps
   * the weights and, with the same optimizer object, its state.
   */
  compile(args: CompileArgs): void {
    this.ensureIdle('compile');
    const state = parseCompileArgs(args, this.compiledState?.optimizer);
    const network = this.requireNetwork();
    try {
      network.compile([{ loss: state.loss, huberDelta: state.huberDelta, weight: 1 }], state.optimizer.getConfig());
    } catch (error) {
      throw toRnnError(error);
    }
    if (this.compiledState && this.compiledState.optimizer !== state.optimizer) this.compiledState.optimizer.sink = undefined;
    state.optimizer.sink = { setLearningRate: (rate) => this.requireNetwork().setLearningRate(rate) };
    this.compiledState = state;
    this.applyTrainable();
  }

  /**
   * Frees the model's native memory (weights, gradients, optimizer state, activations) at once, instead of when the
   * garbage collector gets to it. Every later call that needs the model is a STATE error. Idempotent.
   */
  dispose(): void {
    this.ensureIdle('dispose the model');
    this.network?.dispose();
    this.disposed = true;
  }

  /** True after dispose(). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Trains the model; see FitOptions. Returns the History (history.history.loss etc.). */
  async fit(x: TensorLike, y: TensorLike, options: FitOptions = {}): Promise<History> {
    return this.runTask('fit', () => fitLoop(this, x, y, options));
  }

  /** Loss and metrics on the given data, e.g. `{ loss, accuracy }`. */
  async evaluate(x: TensorLike, y: TensorLike, options: EvaluateOptions = {}): Promise<Record<string, number>> {
    return this.runTask('evaluate', () => evaluateLoop(this, x, y, options));
  }

  /** Outputs for x, in batches: a Tensor [N, ...outputShape]. */
  async predict(x: TensorLike, options: PredictOptions = {}): Promise<Tensor> {
    return this.runTask('predict', () => predictLoop(this, x, options));
  }

  /** Outputs for one batch (no splitting). */
  async predictOnBatch(x: TensorLike): Promise<Tensor> {
    return this.runTask('predict', async () => {
      const input = await prepareInputs(x, this.dataShapes());
      const out = await this.requireNetwork().predict(singleBatch(input.data, input.shape[0], this.inputShape)).catch((e) => { throw toRnnError(e); });
      return new Tensor(out.outputs[0], [input.shape[0], ...out.shapes[0]]);
    });
  }

  /** One optimizer step on one batch; returns `{ loss, ...metrics }` of that batch (before the update). */
  async trainOnBatch(x: TensorLike, y: TensorLike): Promise<Record<string, number>> {
    return this.runTask('train', async () => {
      const { compiled, input, targets } = await this.checkedBatch(x, y);
      const seed = globalRandom().integer(0x7fffffff);
      const metrics = await this.requireNetwork().trainBatch(singleBatch(input.data, input.shape[0], this.inputShape, targets.data), seed).catch((e) => { throw toRnnError(e); });
      return batchLogs(singleMetrics(metrics), compiled.metrics, input.shape[0]);
    });
  }

  /**
   * The loss on one batch and its gradient with respect to every weight (getWeights order), without updating
   * anything; dropout is active, as in a training step. For checking models and for custom training schemes.
   */
  async computeGradients(x: TensorLike, y: TensorLike, options: { seed?: number } = {}): Promise<{
    /** The batch loss (regularization included). */
    loss: number;
    /** One gradient per weight, in getWeights order. */
    gradients: Tensor[];
  }> {
    return this.runTask('computeGradients', async () => {
      const { input, targets } = await this.checkedBatch(x, y);
      const seed = options.seed ?? globalRandom().integer(0x7fffffff);
      const network = this.requireNetwork();
      const result = await network.computeGradients(singleBatch(input.data, input.shape[0], this.inputShape, targets.data), seed).catch((e) => { throw toRnnError(e); });
      const infos = this.paramInfos;
      const order = this.layerList.flatMap((layer) => this.paramIndices.get(layer) ?? []);
      return { loss: result.metrics.loss, gradients: order.map((i) => new Tensor(result.gradients[i], infos[i].shape)) };
    });
  }

  /**
   * @internal Full-batch L-BFGS over the trainable weights on one batch (no dropout): loss plus weight penalties
   * minimised in one native call; the weights end at the best point found (rk.fineTune's linear probe).
   */
  async minimizeOnBatch(x: TensorLike, y: TensorLike, options: { maxIterations: number; gradientTolerance: number; valueTolerance: number }) {
    return this.runTask('minimize', async () => {
      const { input, targets } = await this.checkedBatch(x, y);
      return this.requireNetwork().minimize(singleBatch(input.data, input.shape[0], this.inputShape, targets.data), options).catch((e) => { throw toRnnError(e); });
    });
  }

  /** The inputs and targets of one batch, checked against the compiled model. */
  private async checkedBatch(x: TensorLike, y: TensorLike): Promise<{ compiled: CompiledState; input: Tensor; targets: Tensor }> {
    const compiled = this.requireCompiled();
    const shapes = this.dataShapes(compiled.loss);
    const input = await prepareInputs(x, shapes);
    const targets = await prepareTargets(y, shapes, input.shape[0]);
    return { compiled, input, targets };
  }

  /**
   * Saves the model: by default to one file (topology, weights, compile settings; the optimizer state too with
   * `includeOptimizer: true`), or with `format: 'tfjs'` to a directory tfjs can load. Load it with rk.loadModel.
   */
  async save(path: string, options?: SaveOptions): Promise<void> {
    this.ensureIdle('save');
    return saveModel(this, path, options);
  }

  /** @internal save without the busy check (modelCheckpoint between batches of fit). */
  saveBetweenBatches(path: string, options?: SaveOptions): Promise<void> {
    return saveModel(this, path, options);
  }

  /** @internal The compile settings, or undefined when the model is not compiled. */
  get compiledSettings(): CompiledState | undefined {
    return this.compiledState;
  }

  /** Copies of every weight, layer by layer, in Keras order. */
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
    return this.layerList.flatMap((layer) => this.readLayerWeights(layer));
  }

  /** @internal setWeights without the busy check (callbacks between batches). */
  writeAllWeights(weights: Tensor[]): void {
    const expected = this.layerList.reduce((n, l) => n + (this.paramIndices.get(l)?.length ?? 0), 0);
    if (!Array.isArray(weights) || weights.length !== expected) {
      throw new RnnError('SHAPE', `Expected ${expected} weight tensors for model '${this.name}' but received ${Array.isArray(weights) ? weights.length : describeValue(weights)}`);
    }
    let offset = 0;
    const plan: Array<[Layer, Tensor[]]> = this.layerList.map((layer) => {
      const count = this.paramIndices.get(layer)?.length ?? 0;
      const part = weights.slice(offset, offset + count);
      offset += count;
      return [layer, part];
    });
    for (const [layer, part] of plan) this.checkLayerWeights(layer, part);
    for (const [layer, part] of plan) this.writeLayerWeights(layer, part);
  }

  /** @internal LayerHost */
  getLayerWeights(layer: Layer): Tensor[] {
    this.ensureIdle('read weights');
    return this.readLayerWeights(layer);
  }

  private readLayerWeights(layer: Layer): Tensor[] {
    const network = this.requireNetwork();
    const infos = this.paramInfos;
    return (this.paramIndices.get(layer) ?? []).map((i) => new Tensor(network.getParam(i), infos[i].shape));
  }

  /** @internal LayerHost */
  setLayerWeights(layer: Layer, weights: Tensor[]): void {
    this.ensureIdle('set weights');
    this.checkLayerWeights(layer, weights);
    this.writeLayerWeights(layer, weights);
  }

  /** @internal LayerHost */
  layerTrainableChanged(): void {
    if (this.network && !this.activeTask) this.applyTrainable();
  }

  /** @internal What data for this model must look like (checked before any batch runs). */
  dataShapes(loss?: LossName): ModelShapes {
    const first = this.requireLayers().layerList[0];
    return {
      inputShape: this.inputShape, outputShape: this.outputShape, loss,
      tokenLimit: first instanceof Embedding ? first.inputDim : undefined,
    };
  }

  /** @internal The native network (built). */
  requireNetwork(): NativeNetwork {
    if (this.disposed) throw this.disposedError('use it');
    if (!this.network) throw new RnnError('STATE', `Model '${this.name}' has no layers yet; add layers first`);
    return this.network;
  }

  /** @internal */
  requireCompiled(): CompiledState {
    if (!this.compiledState) throw new RnnError('STATE', `Model '${this.name}' is not compiled; call model.compile({ optimizer, loss }) first`);
    return this.compiledState;
  }

  /** @internal Native parameter indices of a layer. */
  paramIndicesOf(layer: Layer): readonly number[] {
    return this.paramIndices.get(layer) ?? [];
  }

  /** @internal Pushes each layer's trainable flag to the native parameters (done before every fit). */
  applyTrainable(): void {
    const network = this.requireNetwork();
    for (const layer of this.layerList) {
      for (const index of this.paramIndices.get(layer) ?? []) network.setTrainable(index, layer.trainable);
    }
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

  private ensureIdle(what: string): void {
    if (this.disposed && what !== 'dispose the model') throw this.disposedError(what);
    if (this.activeTask) {
      throw new RnnError('BUSY', `Cannot ${what} while ${this.activeTask} is running on model '${this.name}'; await it first`);
    }
  }

  private disposedError(what: string): RnnError {
    return new RnnError('STATE', `Cannot ${what}: model '${this.name}' was disposed (its native memory is freed)`);
  }

  private requireLayers(): this {
    if (this.layerList.length === 0) throw new RnnError('STATE', `Model '${this.name}' has no layers yet`);
    return this;
  }

  private checkLayerWeights(layer: Layer, weights: Tensor[]): void {
    this.requireNetwork();
    const infos = this.paramInfos;
    checkLayerWeights(layer.name, (this.paramIndices.get(layer) ?? []).map((index) => infos[index]), weights);
  }

  private writeLayerWeights(layer: Layer, weights: Tensor[]): void {
    const network = this.requireNetwork();
    (this.paramIndices.get(layer) ?? []).forEach((index, k) => network.setParam(index, Float32Array.from(weights[k].dataSync())));
  }

  private snapshotWeights(): Map<Layer, Float32Array[]> {
    const snapshot = new Map<Layer, Float32Array[]>();
    if (!this.network) return snapshot;
    for (const layer of this.layerList) {
      snapshot.set(layer, (this.paramIndices.get(layer) ?? []).map((i) => this.network!.getParam(i)));
    }
    return snapshot;
  }

  /** Creates the native network for the current layers; known layers keep their weights, new ones are initialised. */
  private rebuild(previous: Map<Layer, Float32Array[]>): void {
    if (this.layerList.length === 0) {
      this.network = undefined;
      this.paramIndices.clear();
      this.paramInfos = [];
      return;
    }
    const { network, paramIndices } = buildNetwork(this.layerList, this.shapes, previous);
    this.network = network;
    this.paramIndices = paramIndices;
    this.paramInfos = network.params();
    if (this.compiledState) {
      // A changed network needs its loss and a fresh optimizer state, as after a Keras recompile.
      network.compile([{ loss: this.compiledState.loss, huberDelta: this.compiledState.huberDelta, weight: 1 }], this.compiledState.optimizer.getConfig());
      this.applyTrainable();
    }
  }
}

/** Creates a sequential model (tfjs: tf.sequential). */
export function sequential(args?: SequentialArgs): Sequential {
  return new Sequential(args);
}
