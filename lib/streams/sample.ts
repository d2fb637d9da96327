/**
 * Drawing a token from a probability vector, as text generation does: temperature, top-k and nucleus (top-p)
 * filtering, and a `random` function in [0, 1) so a seeded generator makes the draws repeatable.
 */
import { RnnError } from '../errors';
import { Tensor } from '../tensor';
import { checkFunction, checkInteger, checkKnownKeys, checkNumber, describeValue, optionsOrEmpty } from '../validate';

/** Options of `rk.sample`. */
export interface SampleOptions {
  /** Divides the log-probabilities: below 1 sharpens, above 1 flattens; 0 picks the most probable. Default 1. */
  temperature?: number;
  /** Keep only the k most probable entries (0: all). Default 0. */
  topK?: number;
  /** Keep the smallest set of most probable entries whose mass reaches p (1: all). Default 1. */
  topP?: number;
  /** Uniform numbers in [0, 1); default Math.random. Pass a seeded generator (e.g. `() => rng.uniform()`). */
  random?: () => number;
}

/**
 * Draws an index from `probs` (non-negative weights, need not sum to 1; a Tensor [n], a Float32Array or a number
 * array) after temperature, top-k and top-p filtering. Ties in the filters keep the lower index.
 */
export function sample(probs: Tensor | ArrayLike<number>, options?: SampleOptions): number {
  const o = optionsOrEmpty(options, 'sample options');
  checkKnownKeys(o, ['temperature', 'topK', 'topP', 'random'], 'sample options');
  const temperature = o.temperature === undefined ? 1 : checkNumber(o.temperature, 'temperature', { min: 0 });
  const topK = o.topK === undefined ? 0 : checkInteger(o.topK, 'topK', { min: 0 });
  const topP = o.topP === undefined ? 1 : checkNumber(o.topP, 'topP', { minExclusive: 0, max: 1 });
  const random = o.random === undefined ? Math.random : checkFunction(o.random, 'random') as () => number;
  const values = probs instanceof Tensor ? probs.data : probs;
  if (values === null || typeof values !== 'object' || typeof (values as ArrayLike<number>).length !== 'number' || values.length === 0) {
    throw new RnnError('ARGUMENT', `Expected a non-empty probability vector but received ${describeValue(probs)}`);
  }
  const n = values.length;
  let positive = 0;
  for (let i = 0; i < n; i++) {
    const p = values[i];
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) throw new RnnError('ARGUMENT', `Expected finite non-negative probabilities but entry ${i} is ${describeValue(p)}`);
    if (p > 0) positive++;
  }
  if (positive === 0) throw new RnnError('ARGUMENT', `Expected at least one positive probability among ${n}`);
  // Most probable first; ties keep the lower index.
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => values[i] > 0).sort((a, b) => values[b] - values[a] || a - b);
  if (temperature === 0) return order[0];
  const weights = order.map((i) => Math.exp(Math.log(values[i]) / temperature - Math.log(values[order[0]]) / temperature));
  let keep = topK > 0 ? Math.min(topK, order.length) : order.length;
  if (topP < 1) {
    const total = weights.slice(0, keep).reduce((a, b) => a + b, 0);
    let mass = 0;
    for (let k = 0; k < keep; k++) {
      mass += weights[k] / total;
      if (mass >= topP) { keep = k + 1; break; }
    }
  }
  let total = 0;
  for (let k = 0; k < keep; k++) total += weights[k];
  const u = random();
  if (typeof u !== 'number' || !(u >= 0 && u < 1)) throw new RnnError('ARGUMENT', `Expected random() to return a number in [0, 1) but it returned ${describeValue(u)}`);
  let target = u * total;
  for (let k = 0; k < keep; k++) {
    target -= weights[k];
    if (target < 0) return order[k];
  }
  return order[keep - 1];
}
