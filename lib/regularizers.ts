/** Weight penalties for the *Regularizer layer options: loss += l1 * sum|w| + l2 * sum w^2 (Keras). */
import type { RegularizerSpec } from './layers/layer';
import { checkFloat32, checkKnownKeys } from './validate';

export function l1(factor = 0.01): RegularizerSpec {
  return { l1: checkFloat32(factor, 'l1', { min: 0 }), l2: 0 };
}
export function l2(factor = 0.01): RegularizerSpec {
  return { l1: 0, l2: checkFloat32(factor, 'l2', { min: 0 }) };
}
export function l1l2(args: { l1?: number; l2?: number } = {}): RegularizerSpec {
  checkKnownKeys(args, ['l1', 'l2'], 'l1l2 options');
  return { l1: checkFloat32(args.l1 ?? 0, 'l1', { min: 0 }), l2: checkFloat32(args.l2 ?? 0, 'l2', { min: 0 }) };
}
