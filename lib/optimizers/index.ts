/**
 * Optimizers with Keras semantics and defaults. Pass one to `compile` by name (`'adam'`) or as an object
 * (`rk.optimizers.adam({ learningRate: 1e-3, clipnorm: 1 })`). `learningRate` can be changed at any time between
 * batches (e.g. between epochs); the change applies to the next batch.
 * @module
 */
import { RnnError } from '../errors';
import { checkBoolean, checkFloat32, checkKnownKeys, describeValue, optionsOrEmpty } from '../validate';
import type { NativeOptimizerConfig } from '../native';

/** The optimizers, by the name `compile` accepts. */
export type OptimizerName = 'sgd' | 'rmsprop' | 'adam' | 'adamw' | 'adagrad';
/** Every {@link OptimizerName}. */
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['sgd', 'rmsprop', 'adam', 'adamw', 'adagrad'];

/** Gradient clipping, available on every optimizer (0 or absent = off). */
export interface ClipArgs {
  /** Scale each weight's gradient so its L2 norm is at most this. */
  clipnorm?: number;
  /** Clip each gradient value to [-clipvalue, clipvalue]. */
  clipvalue?: number;
  /** Scale all gradients together so their joint L2 norm is at most this. */
  globalClipnorm?: number;
}
/** Arguments of `rk.optimizers.sgd` (Keras defaults). */
export interface SgdArgs extends ClipArgs {
  /** Default 0.01. */ learningRate?: number;
  /** Default 0. */ momentum?: number;
  /** Default false. */ nesterov?: boolean;
}
/** Arguments of `rk.optimizers.rmsprop` (Keras defaults). */
export interface RmspropArgs extends ClipArgs {
  /** Default 0.001. */ learningRate?: number;
  /** Decay of the mean square. Default 0.9. */ rho?: number;
  /** Default 0. */ momentum?: number;
  /** Default 1e-7. */ epsilon?: number;
  /** Normalise by the variance instead of the mean square. Default false. */ centered?: boolean;
}
/** Arguments of `rk.optimizers.adam` (Keras defaults). */
export interface AdamArgs extends ClipArgs {
  /** Default 0.001. */ learningRate?: number;
  /** Default 0.9. */ beta1?: number;
  /** Default 0.999. */ beta2?: number;
  /** Default 1e-7 (Keras). */ epsilon?: number;
}
/** Arguments of `rk.optimizers.adamw` (Keras defaults). */
export interface AdamwArgs extends AdamArgs {
  /** Decoupled weight decay. Default 0.004 (Keras). */ weightDecay?: number;
}
/** Arguments of `rk.optimizers.adagrad` (Keras defaults). */
export interface AdagradArgs extends ClipArgs {
  /** Default 0.001. */ learningRate?: number;
  /** Default 0.1. */ initialAccumulatorValue?: number;
  /** Default 1e-7. */ epsilon?: number;
}

const DEFAULT_LEARNING_RATE: Record<OptimizerName, number> = { sgd: 0.01, rmsprop: 0.001, adam: 0.001, adamw: 0.001, adagrad: 0.001 };
const CLIP_KEYS = ['clipnorm', 'clipvalue', 'globalClipnorm'] as const;
const KEYS: Record<OptimizerName, readonly string[]> = {
  sgd: ['learningRate', 'momentum', 'nesterov', ...CLIP_KEYS],
  rmsprop: ['learningRate', 'rho', 'momentum', 'epsilon', 'centered', ...CLIP_KEYS],
  adam: ['learningRate', 'beta1', 'beta2', 'epsilon', ...CLIP_KEYS],
  adamw: ['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', ...CLIP_KEYS],
  adagrad: ['learningRate', 'initialAccumulatorValue', 'epsilon', ...CLIP_KEYS],
};

/** Where a compiled model applies learning-rate changes. @internal */
export interface LearningRateSink {
  setLearningRate(rate: number): void;
}

/** An optimizer with its settings; give it to `compile` (one model per optimizer object). */
export class Optimizer {
  /** Which update rule. */
  readonly kind: OptimizerName;
  private readonly settings: NativeOptimizerConfig;
  /** @internal */
  sink?: LearningRateSink;

  /** Validates `args` eagerly against the options of `kind`; prefer the factories (`rk.optimizers.adam(...)`). */
  constructor(kind: OptimizerName, args: Record<string, unknown> = {}) {
    if (typeof kind !== 'string' || !OPTIMIZER_NAMES.includes(kind)) {
      throw new RnnError('ARGUMENT', `Expected an optimizer kind among ${OPTIMIZER_NAMES.join(', ')} but received ${describeValue(kind)}`);
    }
    const options = optionsOrEmpty(args, `${kind} options`) as Record<string, unknown>;
    checkKnownKeys(options, KEYS[kind], `${kind} options`);
    this.kind = kind;
    const settings: NativeOptimizerConfig = { kind, learningRate: DEFAULT_LEARNING_RATE[kind] };
    for (const key of KEYS[kind]) {
      const value = options[key];
      if (value === undefined) continue;
      const target = settings as unknown as Record<string, unknown>;
      // Every number as the float32 the native update uses: an epsilon of 1e-50 is 0 there (0 / 0 = NaN).
      if (key === 'nesterov' || key === 'centered') target[key] = checkBoolean(value, `${kind}.${key}`);
      else if (key === 'beta1' || key === 'beta2' || key === 'rho') target[key] = checkFloat32(value, `${kind}.${key}`, { min: 0, max: 0.999999 });
      else if (key === 'epsilon') target[key] = checkFloat32(value, `${kind}.${key}`, { minExclusive: 0 });
      else target[key] = checkFloat32(value, `${kind}.${key}`, { min: 0 });
    }
    this.settings = settings;
  }

  /** The step size; settable between batches. */
  get learningRate(): number {
    return this.settings.learningRate;
  }
  /** Sets the step size; the next batch uses it. */
  set learningRate(rate: number) {
    const checked = checkFloat32(rate, `${this.kind}.learningRate`, { min: 0 });
    this.sink?.setLearningRate(checked);
    this.settings.learningRate = checked;
  }

  /** The full configuration with defaults, as the native optimizer receives it. */
  getConfig(): NativeOptimizerConfig {
    return { ...this.settings };
  }

  /**
   * A new optimizer of the same kind and settings, with no state and bound to no model (e.g. for another model, or
   * another stage of rk.fineTune). `learningRate` replaces the step size. Default: this one's.
   */
  clone(learningRate: number = this.learningRate): Optimizer {
    const { kind, ...settings } = this.getConfig();
    return new Optimizer(kind, { ...settings, learningRate });
  }
}

/**
 * The optimizer that `value` names (a fresh one with Keras defaults) or is (an rk.optimizers object, as it is);
 * undefined for undefined; an ARGUMENT error for anything else. The one place option parsing turns names into
 * optimizers (compile, rk.fineTune, rk.pretrain). @internal
 */
export function resolveOptimizer(value: unknown): Optimizer | undefined {
  if (value === undefined || value instanceof Optimizer) return value;
  if (typeof value === 'string' && (OPTIMIZER_NAMES as readonly string[]).includes(value)) return new Optimizer(value as OptimizerName);
  throw new RnnError('ARGUMENT', `Expected an optimizer name (${OPTIMIZER_NAMES.join(', ')}) or rk.optimizers object but received ${describeValue(value)}`);
}

/** Stochastic gradient descent, with optional (Nesterov) momentum. */
export function sgd(args?: SgdArgs): Optimizer {
  return new Optimizer('sgd', args as Record<string, unknown>);
}
/** RMSprop (Hinton): steps scaled by a running root mean square of the gradients. */
export function rmsprop(args?: RmspropArgs): Optimizer {
  return new Optimizer('rmsprop', args as Record<string, unknown>);
}
/** Adam (Kingma & Ba 2015). */
export function adam(args?: AdamArgs): Optimizer {
  return new Optimizer('adam', args as Record<string, unknown>);
}
/** Adam with decoupled weight decay (Loshchilov & Hutter 2019). */
export function adamw(args?: AdamwArgs): Optimizer {
  return new Optimizer('adamw', args as Record<string, unknown>);
}
/** Adagrad: steps scaled by the root of the summed squared gradients. */
export function adagrad(args?: AdagradArgs): Optimizer {
  return new Optimizer('adagrad', args as Record<string, unknown>);
}
