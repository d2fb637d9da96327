/**
 * Layer factories in the tfjs style: `rk.layers.lstm({ units: 64, inputShape: [28, 28] })`.
 * @module
 */
import { Dense, DenseLayerArgs, Dropout, DropoutLayerArgs, Embedding, EmbeddingLayerArgs, Masking, MaskingLayerArgs } from './core';
import { GRULayerArgs, LSTMLayerArgs, RecurrentLayer, RecurrentLayerArgs } from './recurrent';
import { Bidirectional, BidirectionalLayerArgs, TimeDistributed, TimeDistributedLayerArgs } from './wrappers';
import { Add, Average, Concatenate, ConcatenateLayerArgs, Maximum, MergeLayerArgs, Multiply, Subtract } from './merge';
import { Flatten, FlattenLayerArgs, RepeatVector, RepeatVectorLayerArgs, Reshape, ReshapeLayerArgs } from './reshape';
import { AdditiveAttention, AdditiveAttentionLayerArgs, Attention, AttentionLayerArgs } from './attention';

export type { DenseLayerArgs, DropoutLayerArgs, EmbeddingLayerArgs, MaskingLayerArgs } from './core';
export type { RecurrentLayerArgs, LSTMLayerArgs, GRULayerArgs } from './recurrent';
export type { BidirectionalLayerArgs, TimeDistributedLayerArgs, MergeMode } from './wrappers';
export type { ConcatenateLayerArgs, MergeLayerArgs } from './merge';
export type { FlattenLayerArgs, RepeatVectorLayerArgs, ReshapeLayerArgs } from './reshape';
export type { AttentionLayerArgs, AdditiveAttentionLayerArgs, BaseAttentionLayerArgs, AttentionScoreMode } from './attention';

/** A fully connected recurrent layer: h_t = activation(x_t W + h_{t-1} U + b). See {@link RecurrentLayerArgs}. */
export function simpleRNN(args: RecurrentLayerArgs): RecurrentLayer {
  return new RecurrentLayer('simpleRNN', args as LSTMLayerArgs & GRULayerArgs);
}
/** A long short-term memory layer (Hochreiter 1997; gate order i, f, c, o as Keras). See {@link LSTMLayerArgs}. */
export function lstm(args: LSTMLayerArgs): RecurrentLayer {
  return new RecurrentLayer('lstm', args as LSTMLayerArgs & GRULayerArgs);
}
/** A gated recurrent unit layer (Cho 2014), reset-after form by default as Keras. See {@link GRULayerArgs}. */
export function gru(args: GRULayerArgs): RecurrentLayer {
  return new RecurrentLayer('gru', args as LSTMLayerArgs & GRULayerArgs);
}
/** A fully connected layer; on `[T, F]` inputs it applies to every time step. See {@link DenseLayerArgs}. */
export function dense(args: DenseLayerArgs): Dense {
  return new Dense(args);
}
/** Zeroes a fraction `rate` of its inputs during training (scaling the rest by 1 / (1 - rate)). */
export function dropout(args: DropoutLayerArgs): Dropout {
  return new Dropout(args);
}
/** Marks the time steps whose every feature equals `maskValue` (default 0) as padding, skipped downstream. */
export function masking(args?: MaskingLayerArgs): Masking {
  return new Masking(args);
}
/** Maps integer token ids `[T]` to learned vectors `[T, outputDim]`. See {@link EmbeddingLayerArgs}. */
export function embedding(args: EmbeddingLayerArgs): Embedding {
  return new Embedding(args);
}
/** Runs a recurrent layer forwards and a copy backwards and merges the two outputs. */
export function bidirectional(args: BidirectionalLayerArgs): Bidirectional {
  return new Bidirectional(args);
}
/** Applies a dense layer to every time step of a `[T, F]` input. */
export function timeDistributed(args: TimeDistributedLayerArgs): TimeDistributed {
  return new TimeDistributed(args);
}
/** Joins 2 or more inputs along `axis` (default -1, the features; the batch dimension is axis 0, as Keras). */
export function concatenate(args?: ConcatenateLayerArgs): Concatenate {
  return new Concatenate(args);
}
/** Element-wise sum of 2 or more inputs of one shape. */
export function add(args?: MergeLayerArgs): Add {
  return new Add(args);
}
/** Element-wise difference `x0 - x1` of exactly 2 inputs of one shape. */
export function subtract(args?: MergeLayerArgs): Subtract {
  return new Subtract(args);
}
/** Element-wise product of 2 or more inputs of one shape. */
export function multiply(args?: MergeLayerArgs): Multiply {
  return new Multiply(args);
}
/** Element-wise mean of 2 or more inputs of one shape. */
export function average(args?: MergeLayerArgs): Average {
  return new Average(args);
}
/** Element-wise maximum of 2 or more inputs of one shape. */
export function maximum(args?: MergeLayerArgs): Maximum {
  return new Maximum(args);
}
/** Repeats a `[features]` vector `n` times: `[n, features]`. */
export function repeatVector(args: RepeatVectorLayerArgs): RepeatVector {
  return new RepeatVector(args);
}
/** Reshapes each sample to `targetShape` (one dimension may be -1, inferred). */
export function reshape(args: ReshapeLayerArgs): Reshape {
  return new Reshape(args);
}
/** Flattens each sample to one dimension: `[T, F]` -> `[T * F]`. */
export function flatten(args?: FlattenLayerArgs): Flatten {
  return new Flatten(args);
}
/**
 * Dot-product (Luong) or concat attention: `apply([query, value])` or `apply([query, value, key])`, query [Tq, D],
 * value [Tv, Dv] -> [Tq, Dv]. See {@link AttentionLayerArgs}.
 */
export function attention(args?: AttentionLayerArgs): Attention {
  return new Attention(args);
}
/** Additive (Bahdanau) attention, applied as {@link attention}. See {@link AdditiveAttentionLayerArgs}. */
export function additiveAttention(args?: AdditiveAttentionLayerArgs): AdditiveAttention {
  return new AdditiveAttention(args);
}
