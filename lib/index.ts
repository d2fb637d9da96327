/**
 * rnnkit: recurrent neural networks for Node.js with a tfjs/Keras-style API over native SIMD kernels.
 *
 *   import * as rk from 'rnnkit';
 *   const model = rk.sequential();
 *   model.add(rk.layers.lstm({ units: 64, inputShape: [28, 28] }));
 *   model.add(rk.layers.dense({ units: 10, activation: 'softmax' }));
 *   model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
 *   await model.fit(x, y, { epochs: 5, batchSize: 32, validationSplit: 0.1 });
 *
 * Functional models (several inputs or outputs, shared layers, encoder-decoders) are built from symbolic tensors:
 *
 *   const tokens = rk.input({ shape: [null, 8], name: 'tokens' });
 *   const [seq, h, c] = rk.layers.lstm({ units: 32, returnState: true }).apply(tokens);
 *   const m = rk.model({ inputs: tokens, outputs: rk.layers.dense({ units: 3 }).apply(h) });
 */
import * as layers from './layers';
import * as optimizers from './optimizers';
import * as regularizers from './regularizers';
import * as plots from './plot';
import * as onnx from './io/onnx';
import { loadNative, NativeBuildInfo } from './native';

export { layers, optimizers, regularizers, plots, onnx };
export { Sequential, sequential } from './models/sequential';
export type { SequentialArgs } from './models/sequential';
export { Model, model } from './models/model';
export { ModelBase } from './models/model_base';
export type { ModelArgs } from './models/model';
export { SymbolicTensor, input } from './models/symbolic';
export type { InputArgs, InputDtype, ApplyArgs } from './models/symbolic';
export type { CompileArgs, LossArg } from './models/compile_args';
export type { ModelData } from './training/model_data';
export { loadModel } from './io';
export { streams, StreamPool } from './streams/pool';
export type { StreamPoolOptions, StreamPoolStats } from './streams/pool';
export type { StreamInput, StreamStep } from './streams/chunk';
export { sample } from './streams/sample';
export type { SampleOptions } from './streams/sample';
export type { SaveOptions, LoadOptions } from './io';
export type { LoadWeightsOptions, LoadWeightsReport, LoadedLayer } from './io/load_weights';
export { Layer } from './layers/layer';
export type { ActivationName, BaseLayerArgs, RegularizerSpec, WeightSpec } from './layers/layer';
export { RecurrentLayer } from './layers/recurrent';
export type { CellType, RecurrentLayerArgs, GatedLayerArgs, LSTMLayerArgs, GRULayerArgs } from './layers/recurrent';
export { Dense, Dropout, Masking, Embedding } from './layers/core';
export type { DenseLayerArgs, DropoutLayerArgs, MaskingLayerArgs, EmbeddingLayerArgs } from './layers/core';
export { Bidirectional, TimeDistributed } from './layers/wrappers';
export type { BidirectionalLayerArgs, TimeDistributedLayerArgs, MergeMode } from './layers/wrappers';
export { Merge, Concatenate, Add, Subtract, Multiply, Average, Maximum } from './layers/merge';
export type { ConcatenateLayerArgs, MergeKind, MergeLayerArgs } from './layers/merge';
export { RepeatVector, Reshape, Flatten } from './layers/reshape';
export type { FlattenLayerArgs, RepeatVectorLayerArgs, ReshapeLayerArgs } from './layers/reshape';
export { Attention, AdditiveAttention, BaseAttention } from './layers/attention';
export { decode } from './decode';
export type { BeamSearch, DecodeOptions, DecodeResult, Hypothesis } from './decode';
export type {
  AttentionLayerArgs, AdditiveAttentionLayerArgs, BaseAttentionLayerArgs, AttentionScoreMode,
} from './layers/attention';
export { Optimizer } from './optimizers';
export type { OptimizerName, ClipArgs, SgdArgs, RmspropArgs, AdamArgs, AdamwArgs, AdagradArgs } from './optimizers';
export { Tensor, tensor } from './tensor';
export type { TensorLike, TensorLikeObject, NestedArray } from './tensor';
export { RnnError } from './errors';
export type { RnnErrorCode } from './errors';
export { setSeed, Random } from './random';
export { setThreads, getThreads } from './threads';
export type { NativeBuildInfo, NativeOptimizerConfig } from './native';
export { History } from './training/history';
export type { Logs } from './training/history';
export { callbacks, CallbackList } from './training/callbacks';
export type { Callback, CallbackModel, TrainParams, MonitorMode } from './training/callbacks';
export {
  BaseCallback, CsvLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, PlotCallback, ReduceLROnPlateau,
  TerminateOnNaN,
} from './training/callbacks';
export type {
  CsvLoggerOptions, EarlyStoppingOptions, LearningRateSchedule, ModelCheckpointOptions, PlotOptions,
  ReduceLROnPlateauOptions,
} from './training/callbacks';
export type { LossName, MetricName } from './training/losses';
export type { FitOptions, NonFinitePolicy } from './training/fit';
export type { EvaluateOptions, PredictOptions } from './training/evaluate';
export type { InitializerSpec, InitializerName, InitializerConfig } from './initializers';
export { transfer } from './transfer/transfer';
export type { TransferOptions, TransferHead, TransferResult, InputAdapter } from './transfer/transfer';
export { TransferReport } from './transfer/report';
export type { WeightTransfer, WeightAction } from './transfer/report';
export { fineTune } from './transfer/fine_tune';
export type { FineTuneOptions, FineTuneStage, FineTuneResult, FineTuneStageResult, FineTuneStrategy } from './transfer/fine_tune';
export type { FineTuneRecipe, L2spOptions } from './transfer/recipes';
export type { ProbeOptions, ProbeResult } from './transfer/probe';
export { FineTuneReport } from './transfer/fine_tune_report';
export type { FineTuneCost } from './transfer/fine_tune_report';
export type { CandidateScore } from './transfer/select';
export { pretrain } from './transfer/pretrain';
export type { PretrainOptions, PretrainResult } from './transfer/pretrain';
export { crossValidate } from './transfer/cross_validate';
export type { CrossValidateOptions, CrossValidationResult, CandidatesResult } from './transfer/cross_validate';

/** Facts about the loaded native addon: instruction set, SIMD in use, Eigen version, variant and file loaded. */
export function backendInfo(): NativeBuildInfo {
  return { ...loadNative().build };
}
