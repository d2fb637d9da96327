import { checkInitializer, computeFans, initialize, InitializerSpec } from '../lib/initializers';
import { Random } from '../lib/random';
import { thrown } from './helpers/checks';

function stats(values: Float32Array): { mean: number; variance: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, variance: squares / values.length, min, max };
}

/** max |(A A^T)_ij - scale * I_ij| for A [rows, cols] row-major, or of A^T A when `columns`. */
function orthogonalityError(a: Float32Array, rows: number, cols: number, columns: boolean, scale = 1): number {
  const n = columns ? cols : rows;
  const len = columns ? rows : cols;
  const at = (i: number, k: number): number => (columns ? a[k * cols + i] : a[i * cols + k]);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < len; k++) dot += at(i, k) * at(j, k);
      worst = Math.max(worst, Math.abs(dot - (i === j ? scale : 0)));
    }
  }
  return worst;
}

describe('computeFans', () => {
  it('follows Keras', () => {
    expect(computeFans([])).toEqual([1, 1]);
    expect(computeFans([5])).toEqual([5, 5]);
    expect(computeFans([3, 7])).toEqual([3, 7]);
    expect(computeFans([2, 3, 4, 5])).toEqual([24, 30]);
  });
});

describe('constant initializers', () => {
  const rng = new Random(0);
  it('zeros, ones, constant, identity', () => {
    expect(Array.from(initialize('zeros', [2, 2], rng))).toEqual([0, 0, 0, 0]);
    expect(Array.from(initialize('ones', [3], rng))).toEqual([1, 1, 1]);
    expect(Array.from(initialize({ name: 'constant', value: 0.5 }, [2], rng))).toEqual([0.5, 0.5]);
    expect(Array.from(initialize('constant', [2], rng))).toEqual([0, 0]);
    expect(Array.from(initialize('identity', [2, 3], rng))).toEqual([1, 0, 0, 0, 1, 0]);
    expect(Array.from(initialize({ name: 'identity', gain: 2 }, [2, 2], rng))).toEqual([2, 0, 0, 2]);
  });
});

describe('variance scaling', () => {
  // [fanIn, fanOut] = [200, 300]; 60000 draws: relative standard error of a variance estimate is < 1%.
  const shape = [200, 300];

  it.each<[InitializerSpec, number]>([
    ['glorotUniform', 2 / 500],
    ['heUniform', 2 / 200],
    ['lecunUniform', 1 / 200],
  ])('%s: U(-l, l) with l = sqrt(3 variance)', (name, variance) => {
    const values = initialize(name, shape, new Random(1));
    const s = stats(values);
    const limit = Math.sqrt(3 * variance);
    expect(s.min).toBeGreaterThanOrEqual(-limit);
    expect(s.max).toBeLessThanOrEqual(limit);
    expect(s.max).toBeGreaterThan(0.99 * limit);
    expect(Math.abs(s.mean)).toBeLessThan(0.02 * limit);
    expect(Math.abs(s.variance / variance - 1)).toBeLessThan(0.03);
  });

  it('glorotUniform limit for [200, 300] is sqrt(6/500) = 0.109545', () => {
    const s = stats(initialize('glorotUniform', shape, new Random(2)));
    expect(s.max).toBeLessThanOrEqual(0.109545);
    expect(s.max).toBeGreaterThan(0.1094);
  });

  it.each<[InitializerSpec, number]>([
    ['glorotNormal', 2 / 500],
    ['heNormal', 2 / 200],
    ['lecunNormal', 1 / 200],
  ])('%s: truncated normal whose variance after truncation is the target', (name, variance) => {
    const s = stats(initialize(name, shape, new Random(3)));
    // Truncation happens at 2 std of the untruncated normal, std = sqrt(variance) / 0.87962566.
    const bound = (2 * Math.sqrt(variance)) / 0.87962566103423978;
    expect(s.min).toBeGreaterThanOrEqual(-bound * (1 + 1e-6));
    expect(s.max).toBeLessThanOrEqual(bound * (1 + 1e-6));
    expect(Math.abs(s.mean)).toBeLessThan(0.02 * bound);
    expect(Math.abs(s.variance / variance - 1)).toBeLessThan(0.03);
  });
});

describe('random initializers', () => {
  it('randomUniform defaults to [-0.05, 0.05) and takes bounds', () => {
    const s = stats(initialize('randomUniform', [100, 100], new Random(4)));
    expect(s.min).toBeGreaterThanOrEqual(-0.05);
    expect(s.max).toBeLessThan(0.05);
    expect(Math.abs(s.variance - 0.1 ** 2 / 12)).toBeLessThan(0.03 * (0.1 ** 2 / 12));
    const t = stats(initialize({ name: 'randomUniform', minval: 2, maxval: 3 }, [1000], new Random(4)));
    expect(t.min).toBeGreaterThanOrEqual(2);
    expect(t.max).toBeLessThan(3);
  });

  it('randomNormal defaults to std 0.05 and takes mean and stddev', () => {
    const s = stats(initialize('randomNormal', [100, 100], new Random(5)));
    expect(Math.abs(s.mean)).toBeLessThan(0.002);
    expect(Math.abs(Math.sqrt(s.variance) - 0.05)).toBeLessThan(0.001);
    const t = stats(initialize({ name: 'randomNormal', mean: 1, stddev: 2 }, [100, 100], new Random(5)));
    expect(Math.abs(t.mean - 1)).toBeLessThan(0.08);
    expect(Math.abs(Math.sqrt(t.variance) - 2)).toBeLessThan(0.04);
  });

  it('truncatedNormal stays within 2 stddev (0.1 by default)', () => {
    const s = stats(initialize('truncatedNormal', [100, 100], new Random(6)));
    expect(s.min).toBeGreaterThanOrEqual(-0.1);
    expect(s.max).toBeLessThanOrEqual(0.1);
    expect(Math.abs(Math.sqrt(s.variance) - 0.05 * 0.8796)).toBeLessThan(0.001);
    const t = stats(initialize({ name: 'truncatedNormal', mean: 3, stddev: 1 }, [1000], new Random(6)));
    expect(t.min).toBeGreaterThanOrEqual(1);
    expect(t.max).toBeLessThanOrEqual(5);
  });

  it('is repeatable for a seed', () => {
    for (const name of ['glorotUniform', 'heNormal', 'orthogonal', 'randomNormal'] as const) {
      const a = initialize(name, [8, 32], new Random(99));
      expect(initialize(name, [8, 32], new Random(99))).toEqual(a);
      expect(initialize(name, [8, 32], new Random(100))).not.toEqual(a);
    }
  });
});

describe('orthogonal', () => {
  it('a recurrent kernel [16, 64] has orthonormal rows', () => {
    const q = initialize('orthogonal', [16, 64], new Random(7));
    expect(orthogonalityError(q, 16, 64, false)).toBeLessThan(1e-5);
  });

  it('[64, 16] has orthonormal columns', () => {
    const q = initialize('orthogonal', [64, 16], new Random(8));
    expect(orthogonalityError(q, 64, 16, true)).toBeLessThan(1e-5);
  });

  it('square [32, 32] is orthogonal both ways; gain scales', () => {
    const q = initialize('orthogonal', [32, 32], new Random(9));
    expect(orthogonalityError(q, 32, 32, false)).toBeLessThan(1e-5);
    expect(orthogonalityError(q, 32, 32, true)).toBeLessThan(1e-5);
    const g = initialize({ name: 'orthogonal', gain: 2 }, [32, 32], new Random(9));
    expect(orthogonalityError(g, 32, 32, false, 4)).toBeLessThan(4e-5);
    expect(g[5]).toBeCloseTo(2 * q[5], 6);
  });

  it('handles column counts that are not a multiple of the 4-column block', () => {
    const q = initialize('orthogonal', [7, 10], new Random(12));
    expect(orthogonalityError(q, 7, 10, false)).toBeLessThan(1e-5);
  });

  it('flattens leading dims into rows', () => {
    const q = initialize('orthogonal', [2, 3, 4], new Random(10));
    expect(orthogonalityError(q, 6, 4, true)).toBeLessThan(1e-5);
  });

  it('is not degenerate: entries spread like 1/sqrt(n)', () => {
    const s = stats(initialize('orthogonal', [64, 64], new Random(11)));
    expect(Math.abs(s.variance - 1 / 64)).toBeLessThan(0.1 / 64);
  });
});

describe('invalid specs', () => {
  const rng = new Random(0);
  it('names the problem with an ARGUMENT error', () => {
    expect(thrown(() => initialize('xavier' as never, [2], rng)).code).toBe('ARGUMENT');
    expect(thrown(() => initialize('xavier' as never, [2], rng)).message).toContain("'glorotUniform'");
    const unknown = thrown(() => initialize({ name: 'glorotUniform', gain: 2 } as never, [2, 2], rng));
    expect(unknown.message).toContain("Unknown option 'gain' in initializer (glorotUniform)");
    expect(thrown(() => initialize({ name: 'randomNormal', stddev: -1 }, [2], rng)).message).toBe(
      'Expected a number >= 0 for initializer.stddev but received -1',
    );
    expect(thrown(() => initialize({ name: 'randomUniform', minval: 1, maxval: 0 }, [2], rng)).code).toBe('ARGUMENT');
    expect(thrown(() => initialize({ name: 'constant', value: NaN }, [2], rng)).code).toBe('ARGUMENT');
    expect(thrown(() => initialize(5 as never, [2], rng)).code).toBe('ARGUMENT');
    expect(thrown(() => initialize('orthogonal', [4], rng)).code).toBe('ARGUMENT');
    expect(thrown(() => initialize('identity', [2, 2, 2], rng)).code).toBe('ARGUMENT');
    expect(thrown(() => initialize('zeros', [2, -1], rng)).code).toBe('ARGUMENT');
  });

  it('checkInitializer fills in the defaults', () => {
    expect(checkInitializer('randomUniform', 'kernelInitializer')).toEqual({
      name: 'randomUniform', minval: -0.05, maxval: 0.05, mean: 0, stddev: 0.05, gain: 1, value: 0,
    });
    expect(checkInitializer({ name: 'orthogonal', gain: 3 }, 'k').gain).toBe(3);
    expect(thrown(() => checkInitializer({ name: 'nope' }, 'recurrentInitializer')).message).toContain(
      'recurrentInitializer.name',
    );
  });
});
