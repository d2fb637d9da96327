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
      goBackwards: boolean;
      bidirectional: boolean;
      mergeMode: 'concat' | 'sum' | 'mul' | 'ave';
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

/** The raw `Network` class of the addon. Every batch method copies its inputs before returning. */
export interface NativeNetwork {
  outputShape(): number[];
  layerOutputShape(layer: number): number[];
  params(): NativeParamInfo[];
  getParam(index: number): Float32Array;
  setParam(index: number, values: Float32Array): void;
  setTrainable(index: number, trainable: boolean): void;
  setLearningRateScale(index: number, scale: number): void;
  /** L2-SP: adds factor * sum (w - anchor)^2 to the loss of weight `index`; null (or factor 0) removes it. */
  setAnchor(index: number, anchor: Float32Array | null, factor: number): void;
  compile(loss: { loss: string; huberDelta?: number }, optimizer: NativeOptimizerConfig): void;
  getLearningRate(): number;
  setLearningRate(rate: number): void;
  getOptimizerState(): NativeOptimizerState;
  setOptimizerState(state: NativeOptimizerState): void;
  trainBatch(x: Float32Array, batch: number, y: Float32Array, sampleWeights: Float32Array | null, seed: number): Promise<NativeMetrics>;
  evaluateBatch(x: Float32Array, batch: number, y: Float32Array, sampleWeights: Float32Array | null): Promise<NativeMetrics>;
  computeGradients(x: Float32Array, batch: number, y: Float32Array, sampleWeights: Float32Array | null, seed: number):
    Promise<{ metrics: NativeMetrics; gradients: Float32Array[] }>;
  /**
   * Full-batch L-BFGS over the trainable weights on one batch, without dropout: loss plus weight penalties minimised
   * in one native call (rk.fineTune's linear probe). The weights end at the best point found.
   */
  minimize(x: Float32Array, batch: number, y: Float32Array, sampleWeights: Float32Array | null,
    options: { maxIterations: number; gradientTolerance: number; valueTolerance: number }):
    Promise<{ value: number; gradientMax: number; iterations: number; evaluations: number; stopped: string }>;
  predict(x: Float32Array, batch: number): Promise<Float32Array>;
  predictSync(x: Float32Array, batch: number): Float32Array;
  /** Bytes the native network holds (weights, gradients, optimizer state, activations); reported to V8 as well. */
  memoryBytes(): number;
  isBusy(): boolean;
  /** Frees the native network at once; every later call but isBusy / isDisposed / dispose is a STATE error. */
  dispose(): void;
  isDisposed(): boolean;
}

/** The CPU variants shipped as x64 prebuilds, most portable first. */
export const NATIVE_VARIANTS = ['baseline', 'avx2'] as const;
export type NativeVariant = (typeof NATIVE_VARIANTS)[number];

/** What this CPU and OS can run (`cpuFeatures()` of the addon, CPUID + XGETBV). */
export interface NativeCpuFeatures {
  x64: boolean;
  /** x86-64-v2 (SSE4.2, POPCNT, ...): what the baseline variant is compiled for. */
  baseline: boolean;
  /** x86-64-v3 (AVX2, FMA, BMI2, ...) with YMM state saved by the OS: what the avx2 variant is compiled for. */
  avx2: boolean;
  /** CPUID features (and 'os-ymm-state (XGETBV)') this CPU lacks for each variant; empty when it runs it. */
  missingForBaseline: string[];
  missingForAvx2: string[];
}

/** Facts about the loaded native addon (`rk.backendInfo()`). */
export interface NativeBuildInfo {
  /** Instruction set the binary was compiled for: 'avx2' | 'baseline' | 'generic'. */
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
  Network: new (spec: { inputShape: number[]; layers: NativeLayerSpec[] }) => NativeNetwork;
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

