/**
 * Weight penalties for the *Regularizer layer options: loss += l1 * sum|w| + l2 * sum w^2 (Keras).
 * @module
 */
import type { RegularizerSpec } from './layers/layer';
import { checkFloat32, checkKnownKeys } from './validate';

/** An L1 penalty: loss += factor * sum |w|. Default factor 0.01 (Keras). */
export function l1(factor = 0.01): RegularizerSpec {
  return { l1: checkFloat32(factor, 'l1', { min: 0 }), l2: 0 };
}
/** An L2 penalty: loss += factor * sum w^2. Default factor 0.01 (Keras). */
export function l2(factor = 0.01): RegularizerSpec {
  return { l1: 0, l2: checkFloat32(factor, 'l2', { min: 0 }) };
}
/** Both penalties: loss += l1 * sum |w| + l2 * sum w^2. Both factors default to 0. */
export function l1l2(args: { l1?: number; l2?: number } = {}): RegularizerSpec {
  checkKnownKeys(args, ['l1', 'l2'], 'l1l2 options');
  return { l1: checkFloat32(args.l1 ?? 0, 'l1', { min: 0 }), l2: checkFloat32(args.l2 ?? 0, 'l2', { min: 0 }) };
}
