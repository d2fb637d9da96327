import { gatherRows, sliceRows, tensor, Tensor, toTensor } from '../lib/tensor';
import { thrown } from './helpers/checks';

describe('Tensor', () => {
  it('wraps data with a shape and exposes size, rank, array() and dataSync()', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const t = new Tensor(data, [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.size).toBe(6);
    expect(t.rank).toBe(2);
    expect(t.array()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.dataSync()).toBe(data);
    expect(Object.isFrozen(t.shape)).toBe(true);
  });

  it('array() nests rank 3', () => {
    const t = new Tensor(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), [2, 2, 2]);
    expect(t.array()).toEqual([
      [
        [0, 1],
        [2, 3],
      ],
      [
        [4, 5],
        [6, 7],
      ],
    ]);
  });

  it('rejects a data length that does not match the shape', () => {
    const e = thrown(() => new Tensor(new Float32Array(5), [2, 3]));
    expect(e.code).toBe('SHAPE');
    expect(e.message).toBe('Expected 6 values for shape [2, 3] but received 5');
    expect(thrown(() => new Tensor(new Float32Array(2), [2, -1])).code).toBe('SHAPE');
    expect(thrown(() => new Tensor([1, 2] as unknown as Float32Array, [2])).code).toBe('DTYPE');
  });

  it('reshape shares data, infers -1 and checks the size', () => {
    const t = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const r = t.reshape([3, 2]);
    expect(r.data).toBe(t.data);
    expect(r.array()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(t.reshape([-1]).shape).toEqual([6]);
    expect(t.reshape([1, -1, 2]).shape).toEqual([1, 3, 2]);
    const e = thrown(() => t.reshape([4, 2]));
    expect(e.code).toBe('SHAPE');
    expect(e.message).toContain('[4, 2]');
    expect(thrown(() => t.reshape([-1, 4])).code).toBe('SHAPE');
  });
});

describe('tensor()', () => {
  it('infers the shape of nested arrays', () => {
    const t = tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes a shape for flat values and makes rank 1 without one', () => {
    expect(tensor([1, 2, 3, 4], [2, 2]).array()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(tensor([1, 2, 3]).shape).toEqual([3]);
    const f = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const t = tensor(f, [3, 2]);
    expect(t.data).toBe(f);
    expect(tensor(f).shape).toEqual([6]);
    expect(thrown(() => tensor([1, 2, 3], [2, 2])).code).toBe('SHAPE');
  });

  it('accepts Float32Array rows', () => {
    const t = tensor([Float32Array.from([1, 2]), Float32Array.from([3, 4])]);
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4]);
  });

  it('names the ragged row', () => {
    const x = [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8],
    ];
    const e = thrown(() => tensor(x));
    expect(e.code).toBe('SHAPE');
    expect(e.message).toContain('values[2] has length 2, expected 3');
  });

  it('names a number where a row was expected, and a non-number', () => {
    expect(thrown(() => tensor([[1, 2], 3] as unknown as number[][])).message).toBe(
      'Expected an array of length 2 for values[1] but received 3',
    );
    const e = thrown(() => tensor([[1, 'a']] as unknown as number[][]));
    expect(e.code).toBe('DTYPE');
    expect(e.message).toBe('Expected a number for values[0][1] but received "a"');
  });
});

describe('toTensor', () => {
  it('returns a Tensor as is', () => {
    const t = tensor([1, 2]);
    expect(toTensor(t, 'x')).toBe(t);
  });

  it('copies a tfjs-like tensor without touching it', () => {
    const source = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const tfjsLike = { shape: [3, 2], dtype: 'float32', dataSync: () => source };
    const t = toTensor(tfjsLike, 'x', { rank: 2 });
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    t.data[0] = 100;
    expect(source[0]).toBe(1);
    const labels = { shape: [2], dtype: 'int32', dataSync: () => Int32Array.from([3, 7]) };
    expect(Array.from(toTensor(labels, 'y').data)).toEqual([3, 7]);
  });

  it('rejects string and bool tfjs tensors, strings, booleans and plain objects with DTYPE', () => {
    const stringTensor = { shape: [1], dtype: 'string', dataSync: () => [0] };
    expect(thrown(() => toTensor(stringTensor, 'x')).code).toBe('DTYPE');
    expect(thrown(() => toTensor({ shape: [1], dtype: 'bool', dataSync: () => [1] }, 'x')).code).toBe('DTYPE');
    expect(thrown(() => toTensor('abc' as never, 'x')).code).toBe('DTYPE');
    expect(thrown(() => toTensor([true, false] as never, 'x')).code).toBe('DTYPE');
    const e = thrown(() => toTensor({ a: 1 } as never, 'x'));
    expect(e.code).toBe('DTYPE');
    expect(e.message).toBe('Expected a Tensor, a (nested) array of numbers or a tfjs tensor for x but received object');
  });

  it('checks the rank', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    expect(toTensor(x, 'x', { rank: [2, 3] })).toBe(x);
    const e = thrown(() => toTensor(x, 'x', { rank: 3 }));
    expect(e.code).toBe('SHAPE');
    expect(e.message).toBe('Expected a tensor of rank 3 for x but received shape [2, 3]');
    expect(thrown(() => toTensor(x, 'x', { rank: [1, 3] })).message).toContain('rank 1 or 3');
  });

  it('names the first non-finite value by flat index and multi-index', () => {
    const data = new Float32Array(2 * 3 * 2);
    data[8] = NaN; // [1][1][0]
    data[11] = Infinity;
    const e = thrown(() => toTensor(new Tensor(data, [2, 3, 2]), 'x'));
    expect(e.code).toBe('NOT_FINITE');
    expect(e.message).toBe('Expected finite values for x but x[1][1][0] (flat index 8) is NaN');
    expect(toTensor(new Tensor(data, [2, 3, 2]), 'x', { allowNonFinite: true }).size).toBe(12);
    // Values beyond the float32 range become Infinity on conversion and are caught too.
    expect(thrown(() => toTensor([1, 1e39], 'y')).message).toBe(
      'Expected finite values for y but y[1] (flat index 1) is Infinity',
    );
  });
});

describe('gatherRows', () => {
  const t = tensor([
    [0, 1],
    [10, 11],
    [20, 21],
    [30, 31],
  ]);

  it('copies the given rows in order', () => {
    expect(Array.from(gatherRows(t, [3, 0, 2]))).toEqual([30, 31, 0, 1, 20, 21]);
  });

  it('reuses a large enough buffer and returns a view of its start', () => {
    const out = new Float32Array(10).fill(-1);
    const gathered = gatherRows(t, Int32Array.from([1, 1]), out);
    expect(gathered.buffer).toBe(out.buffer);
    expect(Array.from(gathered)).toEqual([10, 11, 10, 11]);
    expect(out[4]).toBe(-1);
    const small = new Float32Array(2);
    expect(gatherRows(t, [0, 1], small).buffer).not.toBe(small.buffer);
  });

  it('copies long rows too (set path)', () => {
    const wide = new Tensor(Float32Array.from({ length: 3 * 20 }, (_, i) => i), [3, 20]);
    const rows = gatherRows(wide, [2, 0]);
    expect(rows[0]).toBe(40);
    expect(rows[19]).toBe(59);
    expect(rows[20]).toBe(0);
    expect(rows[39]).toBe(19);
  });

  it('rejects out-of-range indices', () => {
    expect(thrown(() => gatherRows(t, [0, 4])).message).toBe(
      'Expected a row index in [0, 4) for indices[1] but received 4',
    );
  });
});

describe('sliceRows', () => {
  it('is a view of rows [start, end), clamping end', () => {
    const t = tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const s = sliceRows(t, 1, 3);
    expect(s.shape).toEqual([2, 2]);
    expect(s.array()).toEqual([
      [3, 4],
      [5, 6],
    ]);
    s.data[0] = 33;
    expect(t.data[2]).toBe(33);
    expect(sliceRows(t, 2, 10).shape).toEqual([1, 2]);
    expect(sliceRows(t, 3, 3).shape).toEqual([0, 2]);
    expect(thrown(() => sliceRows(t, 4, 5)).code).toBe('ARGUMENT');
    expect(thrown(() => sliceRows(t, 2, 1)).code).toBe('ARGUMENT');
  });
});

describe('toTensor with @tensorflow/tfjs', () => {
  it('copies a real tfjs tensor with its shape', async () => {
    const tf = await import('@tensorflow/tfjs');
    // tfjs suggests tfjs-node on first use; keep the test output clean.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const source = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
    const t = toTensor(source, 'x', { rank: 3 });
    expect(t.shape).toEqual([2, 2, 2]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    t.data[0] = -5;
    expect(source.dataSync()[0]).toBe(1);
    source.dispose();
    warn.mockRestore();
  });
});
