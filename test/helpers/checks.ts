/** Shared test utilities: repeatable random data, array comparison and RnnError expectations. */
import { RnnError, RnnErrorCode } from '../../lib';

/** `count` values uniform in [-scale, scale) from a fixed seed (mulberry32), so every run checks the same numbers. */
export function seededUniform(count: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (2 * unit - 1) * scale;
  }
  return out;
}

/** max_i |actual_i - expected_i|, after checking both have the same length. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return worst;
}

/** max_i |expected_i|. */
export function maxAbs(values: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i]));
  return largest;
}

/**
 * Runs `action` (sync or async) and returns the RnnError it raised, after checking its code and that its message
 * matches `message` (each caller's pattern names both the expected and the received value). Fails when nothing is
 * thrown or something other than an RnnError is.
 */
export async function expectRnnError(action: () => unknown, code: RnnErrorCode, message: RegExp): Promise<RnnError> {
  let error: unknown;
  try {
    await action();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`expected an RnnError with code ${code}, but the call succeeded`);
  expect(error).toBeInstanceOf(RnnError);
  const rnnError = error as RnnError;
  // One comparison so a failure shows the code and the message together.
  expect({ code: rnnError.code, matches: message.test(rnnError.message), message: rnnError.message })
    .toEqual({ code, matches: true, message: rnnError.message });
  return rnnError;
}

/** Runs fn and returns the RnnError it throws (fails the test when it throws nothing or something else). */
export function thrown(fn: () => unknown): RnnError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RnnError);
    return e as RnnError;
  }
  throw new Error('expected an RnnError, nothing was thrown');
}
