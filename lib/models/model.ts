/**
 * The one model class (tfjs's LayersModel): a graph of layers from one or more inputs to one or more outputs, run as
 * one native network. `rk.model({ inputs, outputs })` builds one from symbolic tensors; `Sequential` is the chain
 * case. Weights live natively in the model that last used a layer (the layer's host): a layer shared by two models
 * (an inference encoder built from a trained model's layers) moves its weights into the model that runs it, so every
 * model sees the latest values. Weights, kept states and the task guard: lib/models/model_base.ts.
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import { toRnnError } from '../native';
import type { NativeBatch, NativeLossConfig } from '../native';
import type { Optimizer } from '../optimizers';
import { globalRandom } from '../random';
import { Tensor } from '../tensor';
import { fitLoop, FitOptions } from '../training/fit';
import { evaluateLoop, EvaluateOptions, predictLoop, PredictOptions } from '../training/evaluate';
import { History } from '../training/history';
import { batchLogs } from '../training/losses';
import { DataSpec, ModelData, prepareModelData, prepareModelInputs } from '../training/model_data';
import { Batcher } from '../training/data';
import { checkFunction, checkKnownKeys, describeValue, optionsOrEmpty } from '../validate';
import { buildNetwork } from './build_network';
import { CompileArgs, CompiledState, parseCompileArgs } from './compile_args';
import { LoadWeightsOptions, LoadWeightsReport, modelIo, SaveOptions } from './model_io';
import { ModelBase } from './model_base';
import { StateSlot, stateTopology } from './state_topology';
import { isStatefulLayer } from './stateful_hook';
import { BatchRunner, checkStatefulSamples, plainRunner, StateCursor, StatefulPlan } from './stateful_runner';
import { printGraphSummary } from './summary';
import { ApplyArgs, SymbolicTensor, symbolicList } from './symbolic';
import { buildTopology, dataSpecOf, outputNames, replayTopology, Topology } from './topology';

/** Arguments of `rk.model`. */
export interface ModelArgs {
  /** The model's inputs (from rk.input), in the order data is given. */
  inputs: SymbolicTensor | SymbolicTensor[];
  /** The model's outputs (from layer.apply), in the order losses and predictions are given. */
  outputs: SymbolicTensor | SymbolicTensor[];
  /** Model name. Default 'model'. */
  name?: string;
}

/** Arguments Sequential passes: a model without a graph yet (its add() builds the chain). */
const emptyGraphs = new WeakMap<object, string>();

/** @internal The constructor arguments of a model named `name` whose graph comes later (Sequential). */
export function emptyGraphArgs(name: string): ModelArgs {
  const token = {};
  emptyGraphs.set(token, name);
  return token as ModelArgs;
}

/** A graph of layers trained as one native network; build one with `rk.model()` (or `rk.sequential()`). */
export class Model extends ModelBase {
  /** The model's name. */
  readonly name: string;
  /** Set by callbacks (e.g. earlyStopping) to end fit after the current epoch. */
  stopTraining = false;
  private topologyValue?: Topology;
  private compiledState?: CompiledState;
  private statefulPlan?: StatefulPlan;

  /** Builds the graph from `inputs` to `outputs` and its native network; every graph error is raised here. */
  constructor(args: ModelArgs) {
    super();
    const emptyName = args !== null && typeof args === 'object' ? emptyGraphs.get(args) : undefined;
    if (emptyName !== undefined) {
      this.name = emptyName;
      return;
    }
    const options = optionsOrEmpty(args, 'model options');
    checkKnownKeys(options, ['inputs', 'outputs', 'name'], 'model options');
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
      throw new RnnError('ARGUMENT', `Expected a non-empty string for name but received ${describeValue(options.name)}`);
    }
    this.name = options.name ?? 'model';
    this.setTopology(buildTopology(options.inputs, options.outputs, this.name));
  }

  /** @internal The graph (undefined for a sequential model without layers). */
  get topology(): Topology | undefined {
    return this.topologyValue;
  }

  /** @internal Replaces the graph and rebuilds the network, keeping the weights of known layers; all or nothing. */
  protected setTopology(topology: Topology | undefined): void {
    this.ensureIdle('change the layers');
    if (topology === undefined) {
      this.weights.replace(undefined);
    } else {
      const stateful = topology.layers.find((l) => isStatefulLayer(l) || isStatefulLayer((l as { layer?: Layer }).layer ?? l));
      if (stateful && topology.layers[0]?.batchSize === undefined) {
        throw new RnnError('ARGUMENT', `Expected batchInputShape [batch, ...] on the first layer of model '${this.name}' (stateful layer '${stateful.name}' keeps one state per batch row, so the batch size must be fixed, as in Keras) but '${topology.layers[0]?.name}' has none`);
      }
      const previous = this.weights.collect(topology);
      const state = stateful ? this.networkTopology(topology) : undefined;
      const plan = state && { slots: state.slots, outputCount: topology.outputs.length, batchSize: topology.layers[0].batchSize! };
      const built = buildNetwork(state?.topology ?? topology, previous);
      if (this.compiledState) {
        try {
          built.network.compile(this.nativeLosses(this.compiledState, plan), this.compiledState.optimizer.getConfig());
        } catch (error) {
          built.network.dispose();
          throw toRnnError(error);
        }
      }
      this.weights.replace(built, topology);
      this.statefulPlan = plan;
    }
    this.topologyValue = topology;
    if (this.weights.network && this.compiledState) this.applyTrainable();
  }

  /**
   * @internal The graph the network of a stateful model runs: its state topology (lib/models/stateful_runner.ts).
   * The stream pool's hidden model, whose topology is a state topology already, returns undefined.
   */
  protected networkTopology(topology: Topology): { topology: Topology; slots: StateSlot[] } | undefined {
    return stateTopology(topology, this.name);
  }

  /** @internal True for Sequential (its summary is a plain layer table). */
  protected get isSequential(): boolean {
    return false;
  }

  /** The layers, in order of first use (getWeights order). */
  get layers(): readonly Layer[] {
    return this.topologyValue?.layers.slice() ?? [];
  }
  /** The model's inputs. */
  get inputs(): readonly SymbolicTensor[] {
    return this.requireGraph().inputs.slice();
  }
  /** The model's outputs. */
  get outputs(): readonly SymbolicTensor[] {
    return this.requireGraph().outputs.slice();
  }
  /** Input names (keys of x objects). */
  get inputNames(): string[] {
    return this.requireGraph().inputs.map((t) => t.name);
  }
  /** Output names (keys of y, loss and metrics objects; history keys such as `dense_1_loss`): the producing layer's. */
  get outputNames(): string[] {
    return outputNames(this.requireGraph());
  }
  /** Per-sample shape of the first input (-1: any length). */
  get inputShape(): readonly number[] {
    return this.requireGraph().inputs[0].sampleShape;
  }
  /** Per-sample shape of the first output (-1: any length). */
  get outputShape(): readonly number[] {
    return this.requireGraph().outputs[0].sampleShape;
  }
  /** The optimizer given to compile. */
  get optimizer(): Optimizer {
    return this.requireCompiled().optimizer;
  }
  /** True after compile. */
  get isCompiled(): boolean {
    return this.compiledState !== undefined;
  }
  /** A layer by name or index (getWeights order). */
  getLayer(nameOrIndex: string | number): Layer {
    const layers = this.layers;
    const layer = typeof nameOrIndex === 'number' ? layers[nameOrIndex] : layers.find((l) => l.name === nameOrIndex);
    if (!layer) {
      throw new RnnError('ARGUMENT', `Expected a layer name (${layers.map((l) => `'${l.name}'`).join(', ')}) or an index below ${layers.length} but received ${describeValue(nameOrIndex)}`);
    }
    return layer;
  }

  /** Per-sample input shape of the first use of layer i (its weights' shapes follow from it). @internal */
  layerInputShape(index: number): readonly number[] {
    const topology = this.requireGraph();
    return topology.firstUse.get(topology.layers[index])!.inputs[0].sampleShape;
  }

  /** Number of weight values in every layer. */
  countParams(): number {
    return this.layers.reduce((sum, layer, i) => sum + layer.countParams(this.layerInputShape(i)), 0);
  }

  /** Prints a table of layers, output shapes, parameter counts and (for graphs) the tensors each layer reads. */
  summary(printFn: (line: string) => void = console.log): void {
    if (this.isDisposed) throw this.disposedError('print a summary');
    printGraphSummary(this.name, this.requireGraph(), this.isSequential, checkFunction(printFn, 'summary printFn'));
  }

  /**
   * Applies the whole model to symbolic tensors, as a layer of another model: its nodes are added to the outer
   * graph with the same Layer objects, so the weights are shared. Returns one tensor per output.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[], args?: ApplyArgs): SymbolicTensor | SymbolicTensor[] {
    if (args !== undefined) throw new RnnError('ARGUMENT', `Expected no apply options for model '${this.name}' (initialState belongs to recurrent layers) but received ${describeValue(args)}`);
    const outputs = replayTopology(this.requireGraph(), symbolicList(inputs, `the input of model '${this.name}'`), this.name);
    return outputs.length === 1 ? outputs[0] : outputs;
  }

  /**
   * Sets the losses, the optimizer and the metrics; needed before fit, evaluate and trainOnBatch. loss, metrics and
   * lossWeights may be given per output (array in output order, or object keyed by output name). Compiling again
   * keeps the weights and, with the same optimizer object, its state.
   */
  compile(args: CompileArgs): void {
    this.ensureIdle('compile');
    const network = this.requireNetwork();
    const state = parseCompileArgs(args, this.compiledState?.optimizer, this.outputNames);
    try {
      network.compile(this.nativeLosses(state, this.statefulPlan), state.optimizer.getConfig());
    } catch (error) {
      throw toRnnError(error);
    }
    if (this.compiledState && this.compiledState.optimizer !== state.optimizer) this.compiledState.optimizer.sink = undefined;
    state.optimizer.sink = { setLearningRate: (rate) => this.requireNetwork().setLearningRate(rate) };
    this.compiledState = state;
    this.applyTrainable();
  }

  /** The model outputs' losses; a stateful model's state outputs take none (they only return their values). */
  private nativeLosses(state: CompiledState, plan: StatefulPlan | undefined): NativeLossConfig[] {
    const stateOutputs = plan?.slots.reduce((n, slot) => n + slot.sizes.length, 0) ?? 0;
    return [...state.outputs.map((o) => ({ loss: o.loss, huberDelta: state.huberDelta, weight: o.weight })),
      ...Array.from({ length: stateOutputs }, () => ({ loss: 'none', weight: 0 }))];
  }

  /**
   * @internal The batch calls of fit, evaluate and predict: the network, or for a stateful model a cursor that
   * carries the kept states through the batches (`keepEach`: keeps them after every batch, as fit does).
   */
  batchRunner(keepEach: boolean): BatchRunner {
    const network = this.requireNetwork();
    return this.statefulPlan ? new StateCursor(network, this.statefulPlan, this.name, keepEach) : plainRunner(network);
  }

  /** @internal The state slots and batch size of a stateful model; undefined without stateful layers. */
  get stateful(): StatefulPlan | undefined {
    return this.statefulPlan;
  }

  /**
   * Trains the model; see FitOptions. x and y: a tensor, an array in input/output order, or an object by name.
   * A stateful model (`stateful: true` layers, `batchInputShape: [B, ...]`) trains as Keras does: batches of exactly
   * B samples (batchSize defaults to B; another value is an ARGUMENT error), the sample count a multiple of B (SHAPE
   * error), in order: `shuffle` defaults to false, and `shuffle: true` is an ARGUMENT error, since shuffling would
   * feed each row's state to another row's sequence. Every batch starts from the states the previous one left
   * (truncated backpropagation through time: no gradient flows into them) and fit keeps its final states, so a
   * later fit, evaluate or predict continues from them; call resetStates() where a new sequence starts (between
   * epochs: a callback's `onEpochBegin` calling `model.resetStates()` on the model it is given). Validation
   * (validationData / validationSplit) runs after each epoch from the states the epoch left and then leaves them
   * untouched: the next epoch continues from the training states (Keras would carry the validation's states on).
   */
  async fit(x: ModelData, y: ModelData, options: FitOptions = {}): Promise<History> {
    return this.runTask('fit', () => fitLoop(this, x, y, options));
  }

  /**
   * Loss and metrics on the given data, e.g. `{ loss, accuracy }` (per output too with several outputs). A stateful
   * model runs batches of B samples from its kept states and keeps the final ones, as predict does.
   */
  async evaluate(x: ModelData, y: ModelData, options: EvaluateOptions = {}): Promise<Record<string, number>> {
    return this.runTask('evaluate', () => evaluateLoop(this, x, y, options));
  }

  /**
   * Outputs for x, in batches: a Tensor [N, ...outputShape] for one output, an array for several. A stateful model
   * runs batches of exactly B samples (batchInputShape), each from the states the previous batch (or call) left.
   */
  async predict(x: ModelData, options: PredictOptions = {}): Promise<Tensor | Tensor[]> {
    return this.runTask('predict', async () => this.oneOrMany(await predictLoop(this, x, options)));
  }

  /** Outputs for one batch (no splitting; a stateful model's batch is exactly B samples and moves its states). */
  async predictOnBatch(x: ModelData): Promise<Tensor | Tensor[]> {
    return this.runTask('predict', async () => {
      const { samples, xs } = await prepareModelInputs(this.dataSpec(), x);
      if (this.statefulPlan) checkStatefulSamples(this.statefulPlan, this.name, samples, 'predictOnBatch', true);
      const runner = this.batchRunner(true);
      const out = await runner.predict(new Batcher(xs).batch(null, 0, samples)).catch((e) => { throw toRnnError(e); });
      return this.oneOrMany(out.outputs.map((values, k) => new Tensor(values, [samples, ...out.shapes[k]])));
    });
  }

  private oneOrMany(tensors: Tensor[]): Tensor | Tensor[] {
    return tensors.length === 1 ? tensors[0] : tensors;
  }

  /**
   * One optimizer step on one batch; returns `{ loss, ...metrics }` of that batch (before the update). A stateful
   * model's batch is exactly B samples and starts from (and keeps) its states.
   */
  async trainOnBatch(x: ModelData, y: ModelData): Promise<Record<string, number>> {
    return this.runTask('train', async () => {
      const { compiled, batch } = await this.checkedBatch(x, y, 'trainOnBatch');
      const seed = globalRandom().integer(0x7fffffff);
      const metrics = await this.batchRunner(true).trainBatch(batch, seed);
      return batchLogs(metrics, compiled.outputs, batch.batch);
    });
  }

  /**
   * Loss and metrics of one batch without updating the weights (Keras `test_on_batch`); a stateful model's batch is
   * exactly B samples and starts from (and keeps) its states.
   */
  async testOnBatch(x: ModelData, y: ModelData): Promise<Record<string, number>> {
    return this.runTask('test', async () => {
      const { compiled, batch } = await this.checkedBatch(x, y, 'testOnBatch');
      const metrics = await this.batchRunner(true).evaluateBatch(batch);
      return batchLogs(metrics, compiled.outputs, batch.batch);
    });
  }

  /**
   * The loss on one batch and its gradient with respect to every weight (getWeights order), without updating
   * anything; dropout is active, as in a training step. For checking models and for custom training schemes. A
   * stateful model starts from its kept states and leaves them as they are.
   */
  async computeGradients(x: ModelData, y: ModelData, options: { seed?: number } = {}): Promise<{
    /** The batch loss (regularization included). */
    loss: number;
    /** One gradient per weight, in getWeights order. */
    gradients: Tensor[];
  }> {
    return this.runTask('computeGradients', async () => {
      const { batch } = await this.checkedBatch(x, y, 'computeGradients');
      const seed = options.seed ?? globalRandom().integer(0x7fffffff);
      const result = await this.batchRunner(false).computeGradients(batch, seed);
      const infos = this.weights.infos;
      return { loss: result.metrics.loss, gradients: this.weights.order().map((i) => new Tensor(result.gradients[i], infos[i].shape)) };
    });
  }

  /**
   * @internal Full-batch L-BFGS over the trainable weights on one batch (no dropout): loss plus weight penalties
   * minimised in one native call; the weights end at the best point found (rk.fineTune's linear probe).
   */
  async minimizeOnBatch(x: ModelData, y: ModelData, options: { maxIterations: number; gradientTolerance: number; valueTolerance: number }) {
    if (this.statefulPlan) throw new RnnError('STATE', `Cannot minimize stateful model '${this.name}' over one batch (its states are network inputs the full-batch solver does not feed); build the same layers without stateful: true`);
    return this.runTask('minimize', async () => {
      const { batch } = await this.checkedBatch(x, y, 'minimize');
      return this.requireNetwork().minimize(batch, options).catch((e) => { throw toRnnError(e); });
    });
  }

  private async checkedBatch(x: ModelData, y: ModelData, what: string): Promise<{ compiled: CompiledState; batch: NativeBatch }> {
    const compiled = this.requireCompiled();
    const data = await prepareModelData(this.dataSpec(compiled), x, y);
    if (this.statefulPlan) checkStatefulSamples(this.statefulPlan, this.name, data.samples, what, true);
    return { compiled, batch: new Batcher(data.xs, data.ys).batch(null, 0, data.samples) };
  }

  /**
   * Saves the model: by default to one file (topology, weights, compile settings; the optimizer state too with
   * `includeOptimizer: true`), or with `format: 'tfjs'` to a directory tfjs can load. Load it with rk.loadModel.
   */
  async save(path: string, options?: SaveOptions): Promise<void> {
    this.ensureIdle('save');
    return this.saveBetweenBatches(path, options);
  }

  /**
   * Loads weights trained in another framework into this model's layers, all or nothing (docs/interchange.md):
   * `loadWeights('state.safetensors', { from: 'pytorch', map })` reads a PyTorch state dict,
   * `loadWeights('x.weights.h5', { from: 'keras', map })` Keras weights by layer name. Returns which layers received
   * which tensors.
   */
  async loadWeights(path: string, options: LoadWeightsOptions): Promise<LoadWeightsReport> {
    return this.runTask('load weights', () => modelIo().loadWeights(this, path, options));
  }

  /** @internal save without the busy check (modelCheckpoint between batches of fit). */
  saveBetweenBatches(path: string, options?: SaveOptions): Promise<void> {
    this.weights.claim();
    return modelIo().save(this, path, options);
  }

  /** @internal The compile settings, or undefined when the model is not compiled. */
  get compiledSettings(): CompiledState | undefined {
    return this.compiledState;
  }

  /** @internal What data for this model must look like (checked before any batch runs). */
  dataSpec(compiled?: CompiledState): DataSpec {
    return dataSpecOf(this.requireGraph(), compiled?.outputs.map((o) => o.loss));
  }

  /** @internal */
  requireCompiled(): CompiledState {
    if (!this.compiledState) throw new RnnError('STATE', `Model '${this.name}' is not compiled; call model.compile({ optimizer, loss }) first`);
    return this.compiledState;
  }

  private requireGraph(): Topology {
    if (!this.topologyValue) throw new RnnError('STATE', `Model '${this.name}' has no layers yet`);
    return this.topologyValue;
  }
}

/** Creates a functional model from symbolic inputs to outputs (tfjs: tf.model, Keras: keras.Model). */
export function model(args: ModelArgs): Model {
  return new Model(args);
}

