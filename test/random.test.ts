import { RnnError } from '../lib/errors';
import { globalRandom, Random, setSeed } from '../lib/random';

function draws(rng: Random, count: number, draw: (r: Random) => number): number[] {
  return Array.from({ length: count }, () => draw(rng));
}

function meanAndVariance(values: number[]): [number, number] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return [mean, variance];
}

describe('Random', () => {
  it('matches a C reference of splitmix32-seeded xoshiro128**', () => {
    // Expected values from an independent C implementation (uint32 arithmetic) of the same seeding and generator.
    expect(draws(new Random(42), 5, (r) => r.nextUint32())).toEqual([
      3209382747, 3686285956, 830126901, 671712768, 2144912549,
    ]);
    // -1: low word 0xffffffff, high word floor(-1 / 2^32) = -1 -> 0xffffffff.
    expect(draws(new Random(-1), 3, (r) => r.nextUint32())).toEqual([2251669027, 1500475906, 3357105222]);
  });

  it('is repeatable per seed, differs across seeds, and reseed restarts the stream', () => {
    const a = draws(new Random(7), 10, (r) => r.uniform());
    expect(draws(new Random(7), 10, (r) => r.uniform())).toEqual(a);
    expect(draws(new Random(8), 10, (r) => r.uniform())).not.toEqual(a);
    // Seeds differing only above bit 32 give different streams.
    expect(new Random(2 ** 40).nextUint32()).toBe(627592928);
    expect(new Random(0).nextUint32()).toBe(3343876305);
    const rng = new Random(7);
    rng.normal(); // leaves a cached spare normal, which reseed must drop
    rng.reseed(7);
    expect(draws(rng, 10, (r) => r.uniform())).toEqual(a);
  });

  it('rejects non-integer seeds', () => {
    expect(() => new Random(1.5)).toThrow(RnnError);
    expect(() => new Random(NaN)).toThrow(/seed/);
  });

  it('uniform is in [0, 1) with mean 1/2 and variance 1/12', () => {
    const values = draws(new Random(1), 100000, (r) => r.uniform());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const [mean, variance] = meanAndVariance(values);
    // Standard errors: 0.29 / sqrt(1e5) ~ 0.0009 for the mean; tolerances are ~5 of them.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
  });

  it('uniformRange maps to [lo, hi)', () => {
    const values = draws(new Random(2), 10000, (r) => r.uniformRange(-3, 5));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...values)).toBeLessThan(5);
    expect(Math.min(...values)).toBeLessThan(-2.9);
    expect(Math.max(...values)).toBeGreaterThan(4.9);
  });

  it('normal has the requested mean and std', () => {
    const values = draws(new Random(3), 100000, (r) => r.normal(2, 3));
    const [mean, variance] = meanAndVariance(values);
    // se(mean) = 3 / sqrt(1e5) ~ 0.0095; se(variance) = 9 * sqrt(2 / 1e5) ~ 0.04.
    expect(Math.abs(mean - 2)).toBeLessThan(0.05);
    expect(Math.abs(variance - 9)).toBeLessThan(0.2);
    // Fraction within one std of a normal: 0.6827.
    const within = values.filter((v) => Math.abs(v - 2) < 3).length / values.length;
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.01);
  });

  it('truncatedNormal stays within 2 std and has the truncated variance', () => {
    const values = draws(new Random(4), 100000, (r) => r.truncatedNormal(1, 0.5));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(2);
    const [mean, variance] = meanAndVariance(values);
    expect(Math.abs(mean - 1)).toBeLessThan(0.01);
    // Var of N(0,1) truncated to [-2, 2] is 0.87962566^2 = 0.773741.
    expect(Math.abs(variance - 0.25 * 0.773741)).toBeLessThan(0.005);
  });

  it('integer is uniform over [0, n) and validates n', () => {
    const counts = [0, 0, 0, 0, 0, 0, 0];
    const rng = new Random(5);
    for (let i = 0; i < 70000; i++) counts[rng.integer(7)]++;
    // Each count ~ 10000 +- 93 (binomial std); allow 5 std.
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(465);
    expect(() => rng.integer(0)).toThrow(RnnError);
    expect(() => rng.integer(2.5)).toThrow(RnnError);
    expect(rng.integer(1)).toBe(0);
  });

  it('shuffle is a permutation, repeatable, and uniform over positions', () => {
    const a = Array.from({ length: 10 }, (_, i) => i);
    new Random(9).shuffle(a);
    expect([...a].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const b = Int32Array.from({ length: 10 }, (_, i) => i);
    new Random(9).shuffle(b);
    expect(Array.from(b)).toEqual(a);
    // Element 0 of [0, 1, 2] lands in each position with probability 1/3.
    const rng = new Random(10);
    const position = [0, 0, 0];
    for (let i = 0; i < 30000; i++) {
      const p = [0, 1, 2];
      rng.shuffle(p);
      position[p.indexOf(0)]++;
    }
    for (const c of position) expect(Math.abs(c - 10000)).toBeLessThan(410);
  });

  it('fork gives a deterministic stream different from the parent', () => {
    const parent = new Random(11);
    const child = parent.fork();
    const again = new Random(11).fork();
    const childValues = draws(child, 5, (r) => r.nextUint32());
    expect(draws(again, 5, (r) => r.nextUint32())).toEqual(childValues);
    expect(draws(parent, 5, (r) => r.nextUint32())).not.toEqual(childValues);
    expect(draws(new Random(11), 5, (r) => r.nextUint32())).not.toEqual(childValues);
  });
});

describe('global generator', () => {
  it('is repeatable after setSeed, also through references taken earlier', () => {
    const early = globalRandom();
    setSeed(123);
    const first = draws(globalRandom(), 5, (r) => r.uniform());
    setSeed(123);
    expect(draws(early, 5, (r) => r.uniform())).toEqual(first);
    expect(first).toEqual(draws(new Random(123), 5, (r) => r.uniform()));
    expect(() => setSeed(0.5)).toThrow(RnnError);
  });
});
