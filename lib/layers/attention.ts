/**
 * Attention layers (Keras `Attention`, Luong style, and `AdditiveAttention`, Bahdanau style), applied to
 * `[query, value]` or `[query, value, key]` (the key is the value when absent):
 *
 *   query [Tq, D], value [Tv, Dv], key [Tv, D]  ->  output [Tq, Dv] (and the attention weights [Tq, Tv])
 *
 * Scores: dot `c q.k` (c = `scale`, Attention with useScale), concat `w sum tanh(a (q + k))` (w =
 * `concat_score_weight`, a = `scale` with useScale), additive `sum_d u_d tanh(q_d + k_d)` (u = `scale` [D] with
 * useScale). Weights: softmax over the value steps, masked steps (the value's mask) getting exactly 0; a query step
 * with no value step to attend to gets uniform weights (what Keras computes in float32). Output rows of masked query
 * steps are 0, and the output carries the query's mask. Keras passes `return_attention_scores` and `use_causal_mask`
 * to each call; here they are options of the layer, since a layer's outputs are fixed when the model is built.
 * tfjs has no attention layer: the tfjs format refuses these layers by name; the rnnkit format saves them.
 */
import { RnnError } from '../errors';
import { checkBoolean, checkKnownKeys, checkNumber, checkOneOf, optionsOrEmpty } from '../validate';
import type { NativeLayerSpec } from '../native';
import { Layer, WeightSpec } from './layer';

/** How `Attention` scores a query step against a key step. */
export type AttentionScoreMode = 'dot' | 'concat';

/** Options both attention layers take (Keras defaults). */
export interface BaseAttentionLayerArgs {
  /** Unique name within the model. Default: `attention` / `additive_attention` with a counter. */
  name?: string;
  /** Whether fit updates this layer's weights. Default true. */
  trainable?: boolean;
  /** Fraction of the attention weights dropped during training (kept ones scaled by 1 / (1 - rate)). Default 0. */
  dropout?: number;
  /**
   * Also output the attention weights [Tq, Tv] (after masking, softmax and dropout), so `apply` returns
   * `[output, scores]`. Default false. (Keras: the call argument `return_attention_scores`.)
   */
  returnAttentionScores?: boolean;
  /**
   * Query step i attends to value steps j <= i only (decoder self-attention). Default false. (Keras: the call
   * argument `use_causal_mask`.)
   */
  useCausalMask?: boolean;
}

/** Arguments of `rk.layers.attention`. */
export interface AttentionLayerArgs extends BaseAttentionLayerArgs {
  /** Learn a scalar `scale` (initialised to 1) multiplying the dot scores, or inside the tanh in concat mode. Default false. */
  useScale?: boolean;
  /** 'dot' (q.k) or 'concat' (w sum tanh(q + k), with the learned scalar `concat_score_weight` w). Default 'dot'. */
  scoreMode?: AttentionScoreMode;
}

/** Arguments of `rk.layers.additiveAttention`. */
export interface AdditiveAttentionLayerArgs extends BaseAttentionLayerArgs {
  /** Learn `scale` [D] (glorotUniform) weighting each tanh term of the score. Default true. */
  useScale?: boolean;
}

const BASE_KEYS = ['name', 'trainable', 'dropout', 'returnAttentionScores', 'useCausalMask'] as const;

/** What the two attention layers share: the inputs, the masks, the outputs and the options. */
export abstract class BaseAttention extends Layer {
  /** Whether the layer learns a scale (see each layer's `useScale`). */
  readonly useScale: boolean;
  /** Fraction of the attention weights dropped during training. */
  readonly dropout: number;
  /** Whether the layer also outputs its attention weights [Tq, Tv]. */
  readonly returnAttentionScores: boolean;
  /** Whether query step i may attend to value steps j <= i only. */
  readonly useCausalMask: boolean;

  /** Checks the options both layers share; `useScaleDefault` is Keras's for the layer. */
  protected constructor(options: BaseAttentionLayerArgs & { useScale?: boolean }, prefix: string, useScaleDefault: boolean) {
    super(options, prefix);
    const n = this.name;
    this.useScale = options.useScale === undefined ? useScaleDefault : checkBoolean(options.useScale, `${n}.useScale`);
    this.dropout = options.dropout === undefined ? 0 : checkNumber(options.dropout, `${n}.dropout`, { min: 0, max: 0.999 });
    this.returnAttentionScores = options.returnAttentionScores === undefined ? false
      : checkBoolean(options.returnAttentionScores, `${n}.returnAttentionScores`);
    this.useCausalMask = options.useCausalMask === undefined ? false : checkBoolean(options.useCausalMask, `${n}.useCausalMask`);
  }

  /** An attention layer takes two or three inputs: always refuses a single one (use computeOutputShapes). */
  computeOutputShape(inputShape: readonly number[]): number[] {
    throw new RnnError('SHAPE', `Expected [query, value] or [query, value, key] as inputs of layer '${this.name}' but received one input of per-sample shape [${inputShape.join(', ')}]`);
  }

  /** `[[Tq, Dv]]`, or `[[Tq, Dv], [Tq, Tv]]` with returnAttentionScores; -1 is a time dimension of any length. */
  computeOutputShapes(inputShapes: readonly (readonly number[])[]): number[][] {
    if (inputShapes.length !== 2 && inputShapes.length !== 3) {
      throw new RnnError('SHAPE', `Expected 2 or 3 inputs ([query, value] or [query, value, key]) for layer '${this.name}' but received ${inputShapes.length}`);
    }
    const names = ['query', 'value', 'key'];
    inputShapes.forEach((shape, k) => {
      const fits = shape.length === 2 && Number.isSafeInteger(shape[1]) && shape[1] >= 1 &&
        Number.isSafeInteger(shape[0]) && (shape[0] >= 1 || shape[0] === -1);
      if (!fits) {
        throw new RnnError('SHAPE', `Expected the ${names[k]} of layer '${this.name}' as sequences [timeSteps, features] but received per-sample shape [${shape.join(', ')}]`);
      }
    });
    const [query, value] = inputShapes;
    const key = inputShapes[2] ?? value;
    if (key[1] !== query[1]) {
      throw new RnnError('SHAPE', `Expected the ${inputShapes.length === 3 ? 'key' : 'value (the key)'} of layer '${this.name}' to have the query's ${query[1]} features but received per-sample shape [${key.join(', ')}]`);
    }
    if (key[0] !== value[0] && key[0] !== -1 && value[0] !== -1) {
      throw new RnnError('SHAPE', `Expected the key of layer '${this.name}' to have the value's ${value[0]} time steps but received per-sample shape [${key.join(', ')}]`);
    }
    const outputs = [[query[0], value[1]]];
    if (this.returnAttentionScores) outputs.push([query[0], value[0] !== -1 ? value[0] : key[0]]);
    return outputs;
  }

  /** The native layer's options shared by both layers. @internal */
  protected nativeSpec(score: 'dot' | 'concat' | 'additive'): NativeLayerSpec {
    return {
      kind: 'attention', name: this.name, score, useScale: this.useScale, dropout: this.dropout,
      returnAttentionScores: this.returnAttentionScores, useCausalMask: this.useCausalMask,
    };
  }

  /** The configuration both layers share (constructor arguments, defaults filled in). @internal */
  protected baseConfig(): Record<string, unknown> {
    return {
      name: this.name, trainable: this.trainable, useScale: this.useScale, dropout: this.dropout,
      returnAttentionScores: this.returnAttentionScores, useCausalMask: this.useCausalMask,
    };
  }
}

/** Dot-product (Luong) or concat attention over `[query, value]` or `[query, value, key]` (Keras `Attention`). */
export class Attention extends BaseAttention {
  /** How a query step is scored against a key step. */
  readonly scoreMode: AttentionScoreMode;

  /** Validates every option eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: AttentionLayerArgs = {}) {
    const options = optionsOrEmpty(args, 'attention layer options');
    checkKnownKeys(options, [...BASE_KEYS, 'useScale', 'scoreMode'], 'attention layer options');
    super(options, 'attention', false);
    this.scoreMode = options.scoreMode === undefined ? 'dot' : checkOneOf(options.scoreMode, `${this.name}.scoreMode`, ['dot', 'concat'] as const);
  }

  get className(): string {
    return 'Attention';
  }

  /** Keras's weights: `scale` [] (useScale, ones), then `concat_score_weight` [] (concat, ones). */
  weightSpecs(inputShape: readonly number[]): WeightSpec[] {
    void inputShape;  // scalars whatever the features
    const specs: WeightSpec[] = [];
    if (this.useScale) specs.push({ name: 'scale', shape: [], initializer: 'ones' });
    if (this.scoreMode === 'concat') specs.push({ name: 'concat_score_weight', shape: [], initializer: 'ones' });
    return specs;
  }

  toNative(): NativeLayerSpec {
    return this.nativeSpec(this.scoreMode);
  }

  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), scoreMode: this.scoreMode };
  }
}

/** Additive (Bahdanau) attention over `[query, value]` or `[query, value, key]` (Keras `AdditiveAttention`). */
export class AdditiveAttention extends BaseAttention {
  /** Validates every option eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(args: AdditiveAttentionLayerArgs = {}) {
    const options = optionsOrEmpty(args, 'additiveAttention layer options');
    checkKnownKeys(options, [...BASE_KEYS, 'useScale'], 'additiveAttention layer options');
    super(options, 'additive_attention', true);
  }

  get className(): string {
    return 'AdditiveAttention';
  }

  /** Keras's weight: `scale` [D] (useScale, glorotUniform), D the query's features. */
  weightSpecs(inputShape: readonly number[]): WeightSpec[] {
    if (!this.useScale) return [];
    if (inputShape.length !== 2 || !(inputShape[1] >= 1)) {
      throw new RnnError('SHAPE', `Expected the query of layer '${this.name}' as sequences [timeSteps, features] but received per-sample shape [${inputShape.join(', ')}]`);
    }
    return [{ name: 'scale', shape: [inputShape[1]], initializer: 'glorotUniform' }];
  }

  toNative(): NativeLayerSpec {
    return this.nativeSpec('additive');
  }

  getConfig(): Record<string, unknown> {
    return this.baseConfig();
  }
}
