/**
 * The types of rnnkit's compiled addon: what the native network receives and returns. Loading the addon is
 * lib/native.ts's job; this file only describes it.
 * @internal
 */

/** Metrics of one batch as sums, so the training loop can aggregate them over an epoch. */
export interface NativeMetrics {
  loss: number;
  correct: number;
  accuracyTotal: number;
  absoluteError: number;
  squaredError: number;
  elements: number;
}

export interface NativeRegularizer {
  l1: number;
  l2: number;
}

export type NativeLayerSpec =
  | {
      kind: 'recurrent';
      name: string;
      cell: 'simpleRNN' | 'lstm' | 'gru';
      units: number;
      activation: string;
      recurrentActivation: string;
      useBias: boolean;
      resetAfter: boolean;
      returnSequences: boolean;
      /** Outputs [output, ...final states] (forward h (c), then backward h (c)); inputs may add the initial states. */
      returnState?: boolean;
      goBackwards: boolean;
      bidirectional: boolean;
      /** 'none': a bidirectional layer's two outputs unmerged (forward, backward), before the states. */
      mergeMode: 'concat' | 'sum' | 'mul' | 'ave' | 'none';
      dropout: number;
      /** Rate in [0, 1): training-only mask on h_{t-1} where it meets the recurrent kernel (Keras). */
      recurrentDropout: number;
      kernelRegularizer?: NativeRegularizer;
      recurrentRegularizer?: NativeRegularizer;
      biasRegularizer?: NativeRegularizer;
    }
  | {
      kind: 'dense';
      name: string;
      units: number;
      activation: string;
      useBias: boolean;
      kernelRegularizer?: NativeRegularizer;
      biasRegularizer?: NativeRegularizer;
    }
  | { kind: 'dropout'; name: string; rate: number }
  | { kind: 'masking'; name: string; maskValue: number }
  | {
      kind: 'embedding';
      name: string;
      inputDim: number;
      outputDim: number;
      maskZero: boolean;
      embeddingsRegularizer?: NativeRegularizer;
    }
  /** Merges of 2+ inputs (subtract: exactly 2); concatenate's axis counts the batch dimension as 0, as Keras. */
  | { kind: 'add' | 'subtract' | 'multiply' | 'average' | 'maximum'; name: string }
  | { kind: 'concatenate'; name: string; axis: number }
  | { kind: 'repeatVector'; name: string; n: number }
  /** targetShape: per sample, one -1 may be inferred. */
  | { kind: 'reshape'; name: string; targetShape: number[] }
  | { kind: 'flatten'; name: string }
  | {
      /** Keras Attention ('dot', 'concat') and AdditiveAttention ('additive'): inputs [query, value(, key)]. */
      kind: 'attention';
      name: string;
      score: 'dot' | 'concat' | 'additive';
      useScale: boolean;
      dropout: number;
      /** A second output, the attention weights [Tq, Tv]. */
      returnAttentionScores: boolean;
      useCausalMask: boolean;
    };

/** An optimizer's complete settings, defaults filled in, as the native optimizer receives them. */
export interface NativeOptimizerConfig {
  /** Which update rule. */
  kind: 'sgd' | 'rmsprop' | 'adam' | 'adamw' | 'adagrad';
  /** Step size. */
  learningRate: number;
  /** Adam, AdamW: decay of the first moment. */
  beta1?: number;
  /** Adam, AdamW: decay of the second moment. */
  beta2?: number;
  /** Added to the denominator for stability. */
  epsilon?: number;
  /** SGD, RMSprop: momentum. */
  momentum?: number;
  /** SGD: Nesterov momentum. */
  nesterov?: boolean;
  /** RMSprop: decay of the mean square. */
  rho?: number;
  /** RMSprop: normalise by the variance. */
  centered?: boolean;
  /** AdamW: decoupled weight decay. */
  weightDecay?: number;
  /** Adagrad: starting value of the accumulator. */
  initialAccumulatorValue?: number;
  /** Per-weight gradient norm limit. */
  clipnorm?: number;
  /** Per-value gradient limit. */
  clipvalue?: number;
  /** Joint gradient norm limit. */
  globalClipnorm?: number;
}

export interface NativeOptimizerState {
  step: number;
  slots: Float32Array[];
}

export interface NativeParamInfo {
  layer: number;
  name: string;
  shape: number[];
}

/**
 * A network as the native engine builds it: a graph of nodes in an order where every tensor is produced before it is
 * used. Tensor ids 0..inputs.length-1 are the model inputs; each node names the ids of its outputs (ids are unique;
 * the JS side numbers them). A layer (weight owner) may be used by several nodes: they share its weights, and their
 * gradients add up. A sequential model is the chain input -> node 0 -> node 1 -> ... .
 */
export interface NativeGraphSpec {
  /** Model inputs: a name for messages and the per-sample shape; -1 is a time dimension of any length. */
  inputs: { name: string; shape: number[] }[];
  /** The layers that own weights; NativeParamInfo.layer indexes this list. */
  layers: NativeLayerSpec[];
  /** The nodes: which layer runs, on which tensors, producing which tensors. */
  nodes: { layer: number; inputs: number[]; outputs: number[] }[];
  /** Tensor ids of the model outputs, in order (each gets a loss when compiled). */
  outputs: number[];
}

/** One batch for the native engine. Every array is copied before the call returns. */
export interface NativeBatch {
  /** Samples in the batch. */
  batch: number;
  /** One array per model input, [batch, ...shapes[k]] row-major. */
  inputs: Float32Array[];
  /** The per-sample shape of each input in this batch (no -1: a variable time dimension takes its length here). */
  shapes: number[][];
  /** One array per model output (train, evaluate, gradients): the targets its loss expects. */
  targets?: Float32Array[];
  /** [batch] per-sample weights applied to every output's loss, or null. */
  sampleWeights?: Float32Array | null;
}

/** Metrics of one batch: the total loss (weighted sum of the outputs' losses plus weight penalties) and per output. */
export interface NativeBatchMetrics {
  loss: number;
  outputs: NativeMetrics[];
  /** The values [batch, ...shape] of each output compiled with loss 'none', in output order. */
  values?: Float32Array[];
}

/**
 * The loss of one model output, and its weight in the total loss. Loss 'none': the output takes no targets (an
 * empty array) and no gradient, and train / evaluate steps return its values (a stateful model's final states).
 */
export interface NativeLossConfig {
  loss: string;
  huberDelta?: number;
  weight: number;
}

/** The raw `Network` class of the addon. Every batch method copies its inputs before returning. */
export interface NativeNetwork {
  params(): NativeParamInfo[];
  getParam(index: number): Float32Array;
  setParam(index: number, values: Float32Array): void;
  setTrainable(index: number, trainable: boolean): void;
  setLearningRateScale(index: number, scale: number): void;
  /** L2-SP: adds factor * sum (w - anchor)^2 to the loss of weight `index`; null (or factor 0) removes it. */
  setAnchor(index: number, anchor: Float32Array | null, factor: number): void;
  /** One loss per model output, in output order. */
  compile(losses: NativeLossConfig[], optimizer: NativeOptimizerConfig): void;
  getLearningRate(): number;
  setLearningRate(rate: number): void;
  getOptimizerState(): NativeOptimizerState;
  setOptimizerState(state: NativeOptimizerState): void;
  trainBatch(batch: NativeBatch, seed: number): Promise<NativeBatchMetrics>;
  evaluateBatch(batch: NativeBatch): Promise<NativeBatchMetrics>;
  computeGradients(batch: NativeBatch, seed: number): Promise<{ metrics: NativeBatchMetrics; gradients: Float32Array[] }>;
  /**
   * Full-batch L-BFGS over the trainable weights on one batch, without dropout: loss plus weight penalties minimised
   * in one native call (rk.fineTune's linear probe). The weights end at the best point found.
   */
  minimize(batch: NativeBatch, options: { maxIterations: number; gradientTolerance: number; valueTolerance: number }):
    Promise<{ value: number; gradientMax: number; iterations: number; evaluations: number; stopped: string }>;
  /** One array per model output, [batch, ...shapes[k]], with the per-sample output shapes of this batch. */
  predict(batch: NativeBatch): Promise<{ outputs: Float32Array[]; shapes: number[][] }>;
  predictSync(batch: NativeBatch): { outputs: Float32Array[]; shapes: number[][] };
  /**
   * Makes the network's native store of per-sequence state rows (the stream pool's states, ops::StateStore): its
   * last `count` inputs are initial states `[size]` and its last `count` outputs the matching final states (a state
   * topology). A row holds every state tensor back to back. Replaces any earlier store.
   */
  createStates(count: number): void;
  /** Sets state row `row` to zeros, growing the store to hold it. Allowed while a batch runs, except on its rows. */
  resetStateRow(row: number): void;
  /** A copy of state row `row` (a row in a running batch reads as it was before that batch). */
  getStateRow(row: number): Float32Array;
  /** Replaces state row `row`; not allowed on a row of a running batch (STATE). */
  setStateRow(row: number, values: Float32Array): void;
  /**
   * predict over the model inputs of `batch` (every input but the states) with sample b's states gathered from
   * state row `rows[b]` on the worker thread; the final states are written back to the rows only if the batch
   * succeeds. Resolves to the model outputs only. Rows must be distinct and held by the store.
   */
  predictRows(batch: NativeBatch, rows: Int32Array): Promise<{ outputs: Float32Array[]; shapes: number[][] }>;
  /** Bytes the native network holds (weights, gradients, optimizer state, activations); reported to V8 as well. */
  memoryBytes(): number;
  isBusy(): boolean;
  /** Frees the native network at once; every later call but isBusy / isDisposed / dispose is a STATE error. */
  dispose(): void;
  isDisposed(): boolean;
}

/** The CPU variants shipped as x64 prebuilds, most portable first. */
export const NATIVE_VARIANTS = ['baseline', 'avx2', 'avx512'] as const;
export type NativeVariant = (typeof NATIVE_VARIANTS)[number];

/** What this CPU and OS can run (`cpuFeatures()` of the addon, CPUID + XGETBV). */
export interface NativeCpuFeatures {
  x64: boolean;
  /** x86-64-v2 (SSE4.2, POPCNT, ...): what the baseline variant is compiled for. */
  baseline: boolean;
  /** x86-64-v3 (AVX2, FMA, BMI2, ...) with YMM state saved by the OS: what the avx2 variant is compiled for. */
  avx2: boolean;
  /**
   * x86-64-v4 (AVX-512 F, BW, CD, DQ, VL on top of v3) with opmask and ZMM state saved by the OS: what the avx512
   * variant is compiled for. Absent in binaries built before that variant existed.
   */
  avx512?: boolean;
  /**
   * CPUID features (and 'os-ymm-state (XGETBV)' / 'os-zmm-state (XGETBV)') this CPU lacks for each variant; empty
   * when it runs it.
   */
  missingForBaseline: string[];
  missingForAvx2: string[];
  missingForAvx512?: string[];
}

/** Facts about the loaded native addon (`rk.backendInfo()`). */
export interface NativeBuildInfo {
  /** Instruction set the binary was compiled for: 'avx512' | 'avx2' | 'baseline' | 'generic'. */
  isa: string;
  /** The SIMD instruction sets Eigen uses in this binary, as Eigen reports them (e.g. 'AVX2, FMA'). */
  simd: string;
  /** Eigen's version, e.g. '3.4.0'. */
  eigen: string;
  /** Set by the loader: the prebuilt variant, or the isa of an override / local build. */
  variant?: string;
  /** Set by the loader: where the binary came from. */
  source?: 'override' | 'local-build' | 'prebuild';
  /** Set by the loader: the file loaded. */
  path?: string;
}

export interface NativeAddon {
  Network: new (spec: NativeGraphSpec) => NativeNetwork;
  build: NativeBuildInfo;
  setThreads(threads: number): void;
  getThreads(): number;
  /** Absent in binaries built before it existed. */
  cpuFeatures?(): NativeCpuFeatures;
  /** Index of the first NaN / +-Infinity in values[from, to), or -1 (runs on the calling thread, memory speed). */
  firstNonFinite(values: Float32Array, from: number, to: number): number;
  /** V8's total of memory reported with napi_adjust_external_memory (networks report their native buffers). */
  externalMemory(): number;
}

