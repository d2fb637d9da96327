/**
 * The one place that loads rnnkit's compiled addon and types its raw interface.
 *
 * Load order: the RNNKIT_NATIVE_PATH override (a .node file), then a prebuilt binary shipped in the package
 * (`prebuilds/<platform>-<arch>/`), then a local source build (`build/Release/rnnkit.node`). When nothing loads,
 * the error lists every path tried, why each failed, and how to build from source.
 * @internal
 */
import * as fs from 'fs';
import * as path from 'path';
import { RnnError } from './errors';

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
    };

export interface NativeOptimizerConfig {
  kind: 'sgd' | 'rmsprop' | 'adam' | 'adamw' | 'adagrad';
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  momentum?: number;
  nesterov?: boolean;
  rho?: number;
  centered?: boolean;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  clipnorm?: number;
  clipvalue?: number;
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
  compile(loss: { loss: string; huberDelta?: number }, optimizer: NativeOptimizerConfig): void;
  getLearningRate(): number;
  setLearningRate(rate: number): void;
  getOptimizerState(): NativeOptimizerState;
  setOptimizerState(state: NativeOptimizerState): void;
  trainBatch(x: Float32Array, batch: number, y: Float32Array, sampleWeights: Float32Array | null, seed: number): Promise<NativeMetrics>;
  evaluateBatch(x: Float32Array, batch: number, y: Float32Array, sampleWeights: Float32Array | null): Promise<NativeMetrics>;
  computeGradients(x: Float32Array, batch: number, y: Float32Array, sampleWeights: Float32Array | null, seed: number):
    Promise<{ metrics: NativeMetrics; gradients: Float32Array[] }>;
  predict(x: Float32Array, batch: number): Promise<Float32Array>;
  predictSync(x: Float32Array, batch: number): Float32Array;
  isBusy(): boolean;
}

export interface NativeAddon {
  Network: new (spec: { inputShape: number[]; layers: NativeLayerSpec[] }) => NativeNetwork;
  build: { isa: string; simd: string; eigen: string };
  setThreads(threads: number): void;
  getThreads(): number;
}

const packageRoot = path.join(__dirname, '..');

function candidatePaths(): string[] {
  const override = process.env.RNNKIT_NATIVE_PATH;
  if (override) return [path.resolve(override)];
  const prebuildDir = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  const prebuilt = fs.existsSync(prebuildDir)
    ? fs.readdirSync(prebuildDir).filter((f) => f.endsWith('.node')).sort().map((f) => path.join(prebuildDir, f))
    : [];
  return [...prebuilt, path.join(packageRoot, 'build', 'Release', 'rnnkit.node')];
}

let cached: NativeAddon | undefined;

/** Loads the addon once; throws an RnnError('NATIVE') explaining every failed attempt. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const attempts: string[] = [];
  for (const file of candidatePaths()) {
    if (!fs.existsSync(file)) {
      attempts.push(`  ${file}: not found`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      cached = require(file) as NativeAddon;
      return cached;
    } catch (error) {
      attempts.push(`  ${file}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new RnnError(
    'NATIVE',
    `rnnkit could not load its native addon for ${process.platform}-${process.arch} (Node ${process.version}). Tried:\n` +
      `${attempts.join('\n')}\n` +
      'Build it from source with `npm run build` (needs a C++17 compiler, CMake >= 3.15 and Eigen 3.4: ' +
      '`apt-get install libeigen3-dev`, `brew install eigen`, or vcpkg with VCPKG_ROOT set).',
  );
}

/**
 * Converts an error thrown by the addon (an Error with a `code`) into an RnnError with the same code. The check is
 * structural, not `instanceof Error`: errors created by the addon can come from another realm (e.g. under jest).
 */
export function toRnnError(error: unknown): unknown {
  if (error instanceof RnnError) return error;
  const candidate = error as { code?: unknown; message?: unknown } | null;
  if (typeof candidate === 'object' && candidate !== null && typeof candidate.code === 'string' &&
      typeof candidate.message === 'string') {
    return new RnnError(candidate.code as RnnError['code'], candidate.message);
  }
  return error;
}
