/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna), a 128-bit-state generator with 32-bit outputs
 * that passes BigCrush, seeded through splitmix32 so that nearby seeds give unrelated streams.
 * Not for cryptography.
 */
import { randomBytes } from 'crypto';
import { checkInteger } from './validate';

const TWO_POW_32 = 4294967296;

/** splitmix32 step: a bijective integer hash of a Weyl sequence; returns [nextState, output]. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return [next, (z ^ (z >>> 15)) >>> 0];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded generator; the same seed always gives the same sequence. */
export class Random {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Box-Muller makes two normals at a time; the second waits here. */
  private spareNormal: number | undefined;

  /** `seed`: any safe integer (negative allowed). */
  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Restarts the stream as if constructed with `seed`. */
  reseed(seed: number): void {
    checkInteger(seed, 'seed', { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    // Low and high 32 bits seed separate chains, so distinct safe-integer seeds give distinct states.
    this.setStateFromWords(seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0);
  }

  /**
   * Seeds the state from two splitmix32 chains started at `a` and at `b` (offset so that a == b still gives
   * different chains), XORed word by word so every state word (and so the first output) depends on both.
   * For a fixed `b` the state is injective in `a`, since splitmix32's first output is a bijection of its seed.
   */
  private setStateFromWords(a: number, b: number): void {
    let stateA = a | 0;
    let stateB = (b ^ 0x6a09e667) | 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nextA, outA] = splitmix32(stateA);
      const [nextB, outB] = splitmix32(stateB);
      stateA = nextA;
      stateB = nextB;
      words.push((outA ^ outB) | 0);
    }
    // xoshiro's only forbidden state is all zeros.
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
    [this.s0, this.s1, this.s2, this.s3] = words;
    this.spareNormal = undefined;
  }

  /** Seeds from 16 bytes of OS entropy (used for the global generator before `setSeed`). */
  static fromEntropy(): Random {
    const bytes = randomBytes(16);
    const rng = new Random(0);
    rng.s0 = bytes.readInt32LE(0);
    rng.s1 = bytes.readInt32LE(4);
    rng.s2 = bytes.readInt32LE(8);
    rng.s3 = bytes.readInt32LE(12) | 1; // never all zero
    return rng;
  }

  /** The next raw 32-bit output, in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform in [lo, hi). */
  uniformRange(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Normal with the given mean (default 0) and standard deviation (default 1), by Box-Muller. */
  normal(mean = 0, std = 1): number {
    let z = this.spareNormal;
    if (z === undefined) {
      // 1 - u lies in (0, 1], so the log is finite.
      const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
      const angle = 2 * Math.PI * this.uniform();
      z = radius * Math.cos(angle);
      this.spareNormal = radius * Math.sin(angle);
    } else {
      this.spareNormal = undefined;
    }
    return mean + std * z;
  }

  /** Normal redrawn until within 2 standard deviations of the mean, like Keras' TruncatedNormal. */
  truncatedNormal(mean = 0, std = 1): number {
    let z: number;
    do {
      z = this.normal();
    } while (z < -2 || z > 2);
    return mean + std * z;
  }

  /** Uniform integer in [0, maxExclusive), without modulo bias. `maxExclusive`: integer in [1, 2^32]. */
  integer(maxExclusive: number): number {
    checkInteger(maxExclusive, 'maxExclusive', { min: 1, max: TWO_POW_32 });
    return this.integerUnchecked(maxExclusive);
  }

  private integerUnchecked(maxExclusive: number): number {
    // Reject the top partial block of 2^32 so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    let x: number;
    do {
      x = this.nextUint32();
    } while (x >= limit);
    return x % maxExclusive;
  }

  /** Shuffles in place (Fisher-Yates): every permutation equally likely. */
  shuffle(array: number[] | Int32Array): void {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.integerUnchecked(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
  }

  /** A new generator whose stream is derived from (and advances) this one; deterministic given this state. */
  fork(): Random {
    const child = new Random(0);
    child.setStateFromWords(this.nextUint32(), this.nextUint32());
    return child;
  }
}

let globalGenerator: Random | undefined;

/** The shared generator used for weight initialization and shuffling when no generator is given. */
export function globalRandom(): Random {
  if (globalGenerator === undefined) globalGenerator = Random.fromEntropy();
  return globalGenerator;
}

/** Makes everything drawn from the shared generator (initialization, shuffling, dropout masks) repeatable from now on. `seed`: any safe integer. */
export function setSeed(seed: number): void {
  // Reseed in place so that references obtained earlier from globalRandom() follow the new seed too.
  globalRandom().reseed(seed);
}

/**
 * @internal Runs `body` synchronously with `rng` standing in for the global generator (e.g. fresh initial weights
 * drawn from a seed of rk.fineTune's), then puts the global generator back untouched.
 */
export function withGlobalRandom<T>(rng: Random, body: () => T): T {
  const saved = globalRandom();
  globalGenerator = rng;
  try {
    return body();
  } finally {
    globalGenerator = saved;
  }
}
