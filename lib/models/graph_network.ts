/**
 * The native network as the model sees it: the graph contract of issue 13 (NativeGraphSpec in, one array per input
 * and output per batch). Until the graph engine lands in the addon (branch `graph`), the addon builds layer chains
 * only; this file adapts it, running every chain graph (one input, nodes in a line, one output: every sequential
 * model) and refusing other graphs with a STATE error that says so. When the engine lands this file shrinks to
 * `new Network(spec)`.
 * @internal
 */
import { RnnError } from '../errors';
import { loadNative, NativeMetrics, NativeNetwork, NativeOptimizerConfig, NativeOptimizerState, NativeParamInfo, NativeLayerSpec } from '../native';

/** A network's graph: inputs, weight-owning layers, nodes over tensor ids, outputs (binding_types.new.ts). */
export interface NativeGraphSpec {
  inputs: { name: string; shape: number[] }[];
  layers: NativeLayerSpec[];
  nodes: { layer: number; inputs: number[]; outputs: number[] }[];
  outputs: number[];
}

/** One batch: one array per input (and per output's targets), copied before the call returns. */
export interface NativeBatch {
  batch: number;
  inputs: Float32Array[];
  shapes: number[][];
  targets?: Float32Array[];
  sampleWeights?: Float32Array | null;
}

/** The total loss of a batch and the metric sums of each output. */
export interface NativeBatchMetrics {
  loss: number;
  outputs: NativeMetrics[];
}

/** The loss of one output and its weight in the total. */
export interface NativeLossConfig {
  loss: string;
  huberDelta?: number;
  weight: number;
}

/** Options of the native L-BFGS. */
export interface MinimizeOptions {
  maxIterations: number;
  gradientTolerance: number;
  valueTolerance: number;
}

/** The network methods a model uses (the graph contract). */
export interface GraphNetwork {
  params(): NativeParamInfo[];
  getParam(index: number): Float32Array;
  setParam(index: number, values: Float32Array): void;
  setTrainable(index: number, trainable: boolean): void;
  setLearningRateScale(index: number, scale: number): void;
  setAnchor(index: number, anchor: Float32Array | null, factor: number): void;
  compile(losses: NativeLossConfig[], optimizer: NativeOptimizerConfig): void;
  getLearningRate(): number;
  setLearningRate(rate: number): void;
  getOptimizerState(): NativeOptimizerState;
  setOptimizerState(state: NativeOptimizerState): void;
  trainBatch(batch: NativeBatch, seed: number): Promise<NativeBatchMetrics>;
  evaluateBatch(batch: NativeBatch): Promise<NativeBatchMetrics>;
  computeGradients(batch: NativeBatch, seed: number): Promise<{ metrics: NativeBatchMetrics; gradients: Float32Array[] }>;
  minimize(batch: NativeBatch, options: MinimizeOptions):
    Promise<{ value: number; gradientMax: number; iterations: number; evaluations: number; stopped: string }>;
  predict(batch: NativeBatch): Promise<{ outputs: Float32Array[]; shapes: number[][] }>;
  memoryBytes(): number;
  isBusy(): boolean;
  dispose(): void;
  isDisposed(): boolean;
}

function isChain(spec: NativeGraphSpec): boolean {
  if (spec.inputs.length !== 1 || spec.outputs.length !== 1) return false;
  let tensor = 0;
  for (const node of spec.nodes) {
    if (node.inputs.length !== 1 || node.inputs[0] !== tensor || node.outputs.length !== 1) return false;
    tensor = node.outputs[0];
  }
  const used = new Set(spec.nodes.map((n) => n.layer));
  return spec.outputs[0] === tensor && used.size === spec.nodes.length && spec.nodes.every((n, i) => n.layer === i)
    && spec.inputs[0].shape.every((d) => d > 0);
}

function needsEngine(what: string): RnnError {
  return new RnnError('STATE', `Expected a sequential chain with fixed lengths for this build of the native addon but received ${what}; graph models need the graph engine (issue 13)`);
}

function wrap(metrics: NativeMetrics): NativeBatchMetrics {
  return { loss: metrics.loss, outputs: [metrics] };
}

/** The chain network of the current addon behind the graph contract. */
class ChainNetwork implements GraphNetwork {
  private readonly outputShape: number[];
  constructor(private readonly raw: NativeNetwork) {
    this.outputShape = raw.outputShape();
  }
  params(): NativeParamInfo[] { return this.raw.params(); }
  getParam(index: number): Float32Array { return this.raw.getParam(index); }
  setParam(index: number, values: Float32Array): void { this.raw.setParam(index, values); }
  setTrainable(index: number, trainable: boolean): void { this.raw.setTrainable(index, trainable); }
  setLearningRateScale(index: number, scale: number): void { this.raw.setLearningRateScale(index, scale); }
  setAnchor(index: number, anchor: Float32Array | null, factor: number): void { this.raw.setAnchor(index, anchor, factor); }
  compile(losses: NativeLossConfig[], optimizer: NativeOptimizerConfig): void {
    if (losses.length !== 1 || losses[0].weight !== 1) throw needsEngine(`a loss weight of ${losses[0]?.weight}`);
    this.raw.compile({ loss: losses[0].loss, huberDelta: losses[0].huberDelta }, optimizer);
  }
  getLearningRate(): number { return this.raw.getLearningRate(); }
  setLearningRate(rate: number): void { this.raw.setLearningRate(rate); }
  getOptimizerState(): NativeOptimizerState { return this.raw.getOptimizerState(); }
  setOptimizerState(state: NativeOptimizerState): void { this.raw.setOptimizerState(state); }
  async trainBatch(b: NativeBatch, seed: number): Promise<NativeBatchMetrics> {
    return wrap(await this.raw.trainBatch(b.inputs[0], b.batch, b.targets![0], b.sampleWeights ?? null, seed));
  }
  async evaluateBatch(b: NativeBatch): Promise<NativeBatchMetrics> {
    return wrap(await this.raw.evaluateBatch(b.inputs[0], b.batch, b.targets![0], b.sampleWeights ?? null));
  }
  async computeGradients(b: NativeBatch, seed: number): Promise<{ metrics: NativeBatchMetrics; gradients: Float32Array[] }> {
    const result = await this.raw.computeGradients(b.inputs[0], b.batch, b.targets![0], b.sampleWeights ?? null, seed);
    return { metrics: wrap(result.metrics), gradients: result.gradients };
  }
  minimize(b: NativeBatch, options: MinimizeOptions) {
    return this.raw.minimize(b.inputs[0], b.batch, b.targets![0], b.sampleWeights ?? null, options);
  }
  async predict(b: NativeBatch): Promise<{ outputs: Float32Array[]; shapes: number[][] }> {
    return { outputs: [await this.raw.predict(b.inputs[0], b.batch)], shapes: [this.outputShape.slice()] };
  }
  memoryBytes(): number { return this.raw.memoryBytes(); }
  isBusy(): boolean { return this.raw.isBusy(); }
  dispose(): void { this.raw.dispose(); }
  isDisposed(): boolean { return this.raw.isDisposed(); }
}

/** Builds the native network of a graph (throws the addon's errors as they are; the caller converts them). */
export function createGraphNetwork(spec: NativeGraphSpec): GraphNetwork {
  if (!isChain(spec)) throw needsEngine(`a graph of ${spec.inputs.length} input(s), ${spec.nodes.length} node(s) and ${spec.outputs.length} output(s)`);
  const { Network } = loadNative();
  return new ChainNetwork(new Network({ inputShape: spec.inputs[0].shape.slice(), layers: spec.layers }));
}
