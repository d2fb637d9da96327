/**
 * The stream pool's input kinds: models with two sequence inputs (a chunk per input, as an array or keyed by name);
 * token id inputs through an embedding (with and without maskZero, a fixed-length id input lifted to any length); a
 * non-sequence input given with every step. Random interleavings equal per-stream predict, and bad steps are typed
 * errors that leave other streams intact.
 */
import * as rk from '../lib';
import { conditionedModel, expectClose, F, idModel, interleave, sequence, sequenceOf, twoInputModel } from './helpers/stream-models';

describe('stream pool inputs', () => {
  it('batches every input of a two-input model: random interleavings equal per-stream predict', async () => {
    const model = twoInputModel();
    const pool = rk.streams(model, { maxBatch: 3 });
    const rng = new rk.Random(21);
    const streams = Array.from({ length: 6 }, () => {
      const a = sequence(rng, 3 + rng.integer(6));
      return { a, b: sequenceOf(rng, a.length, 2) };
    });
    const next = streams.map(() => 0);
    const results: Array<Promise<[number, number, rk.Tensor]>> = [];
    while (next.some((t, s) => t < streams[s].a.length)) {
      const s = rng.integer(streams.length);
      const from = next[s];
      if (from >= streams[s].a.length) continue;
      const to = Math.min(streams[s].a.length, from + 1 + rng.integer(3));
      next[s] = to;
      const { a, b } = streams[s];
      // Alternate the two forms: an array in input order, an object keyed by input name; single steps as [F].
      const x = to - from === 1 ? [a[from], b[from]] : { speed: b.slice(from, to), frames: a.slice(from, to) };
      results.push(pool.step(s, x).then((out) => [s, to, out as rk.Tensor]));
      if (rng.uniform() < 0.3) await new Promise((r) => setImmediate(r));
    }
    const done = await Promise.all(results);
    expect(pool.stats().batches).toBeLessThan(done.length);
    for (const [s, end, out] of done) {
      const whole = await model.predict([rk.tensor([streams[s].a.slice(0, end)]), rk.tensor([streams[s].b.slice(0, end)])]);
      expectClose(out.data, (whole as rk.Tensor).data);
    }
    await pool.close();
  });

  it('refuses a two-input step with the wrong inputs or feature counts, without touching other streams', async () => {
    const model = twoInputModel();
    const pool = rk.streams(model);
    const rng = new rk.Random(23);
    const a = sequence(rng, 4);
    const b = sequenceOf(rng, 4, 2);
    await pool.step('good', [a.slice(0, 2), b.slice(0, 2)]);
    const before = pool.getState('good');
    const refused: Array<[unknown, string, string]> = [
      [[a[2]], 'ARGUMENT', 'each of the 2 model inputs'],
      [[a[2], b[2], b[2]], 'ARGUMENT', 'array of 3'],
      [{ frames: a[2] }, 'ARGUMENT', "'speed' but it is missing"],
      [{ frames: a[2], speed: b[2], extra: b[2] }, 'ARGUMENT', "key 'extra'"],
      [Float32Array.from(a[2]), 'ARGUMENT', 'keyed by those input names'],
      [[a[2], [1, 2, 3]], 'SHAPE', "input 'speed'"],
      [[[1, 2], b[2]], 'SHAPE', "input 'frames'"],
      [[a.slice(2, 4), b.slice(2, 3)], 'SHAPE', 'same number of steps'],
      [[a[2], [NaN, 0]], 'NOT_FINITE', "input 'speed'"],
    ];
    for (const [x, code, text] of refused) {
      await expect(pool.step('good', x as rk.StreamStep)).rejects.toMatchObject({ code, message: expect.stringContaining(text) });
      await expect(pool.step('fresh', x as rk.StreamStep)).rejects.toMatchObject({ code });
    }
    expect(pool.stats().streams).toBe(1);
    expect(Array.from(pool.getState('good'))).toEqual(Array.from(before));
    const out = (await pool.step('good', { frames: a.slice(2), speed: b.slice(2) })) as rk.Tensor;
    const whole = await model.predict([rk.tensor([a]), rk.tensor([b])]);
    expectClose(out.data, (whole as rk.Tensor).data);
    await pool.close();
  });

  it.each([false, true])('takes token ids for an embedding (maskZero %s): interleavings equal per-stream predict', async (maskZero) => {
    const model = idModel(maskZero);
    const pool = rk.streams(model, { maxBatch: 3 });
    const rng = new rk.Random(maskZero ? 41 : 43);
    // With maskZero, id 0 is padding, which a stream never needs (refused, next test): ids 1..8.
    const streams = Array.from({ length: 6 }, () => Array.from({ length: 3 + rng.integer(7) }, () => 1 + rng.integer(8)));
    const done = await interleave(rng, streams.map((ids) => ids.length), (s, from, to) => {
      const ids = streams[s].slice(from, to);
      // One id as a number, a chunk as an array, an Int32Array or a Tensor [t].
      const forms: rk.StreamInput[] = [ids, Int32Array.from(ids), rk.tensor(ids)];
      const x = ids.length === 1 && rng.uniform() < 0.5 ? ids[0] : forms[rng.integer(3)];
      return pool.step(`s${s}`, x) as Promise<rk.Tensor>;
    });
    expect(pool.stats().batches).toBeLessThan(done.length);
    for (const [s, end, out] of done) {
      expect(out.shape).toEqual([2]);
      const whole = await model.predict(rk.tensor([streams[s].slice(0, end)]));
      expectClose(out.data, (whole as rk.Tensor).data);
    }
    await pool.close();
  });

  it('lifts the fixed length of an id input [T] (embedding inputLength): chunks of any length', async () => {
    const fixed = rk.sequential({ layers: [rk.layers.embedding({ inputDim: 9, outputDim: 4, inputLength: 5 }), rk.layers.gru({ units: 3 })] });
    const free = rk.sequential({ layers: [rk.layers.embedding({ inputDim: 9, outputDim: 4, inputShape: [null] }), rk.layers.gru({ units: 3 })] });
    free.setWeights(fixed.getWeights());
    const pool = rk.streams(fixed);
    const ids = [4, 1, 8, 2, 6, 3, 5];
    const outs = [(await pool.step('a', ids.slice(0, 2))) as rk.Tensor, (await pool.step('a', ids[2])) as rk.Tensor, (await pool.step('a', ids.slice(3))) as rk.Tensor];
    const ends = [2, 3, 7];
    for (let k = 0; k < 3; k++) expectClose(outs[k].data, ((await free.predict(rk.tensor([ids.slice(0, ends[k])]))) as rk.Tensor).data);
    await pool.close();
  });

  it('refuses bad token ids with the checks of model.predict, without touching other streams', async () => {
    const model = idModel(false);
    const pool = rk.streams(model);
    await pool.step('good', [1, 2, 3]);
    const before = pool.getState('good');
    // The same message model.predict gives for an id outside the vocabulary.
    await expect(model.predict(rk.tensor([[1, 9]]))).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining('integers in [0, 9)') });
    const refused: Array<[unknown, string, string]> = [
      [9, 'ARGUMENT', 'integers in [0, 9) in the step but received 9 at step 0'],
      [[1, -1], 'ARGUMENT', 'received -1 at step 1'],
      [[2, 1.5], 'ARGUMENT', 'received 1.5'],
      [NaN, 'NOT_FINITE', 'finite'],
      [[[1], [2]], 'SHAPE', 'chunk of ids [t]'],
      [rk.tensor([[1], [2]]), 'SHAPE', 'a tensor [2, 1]'],
      [[], 'SHAPE', 'chunk of ids'],
      ['a', 'ARGUMENT', 'one id'],
    ];
    for (const [x, code, text] of refused) {
      await expect(pool.step('good', x as rk.StreamStep)).rejects.toMatchObject({ code, message: expect.stringContaining(text) });
      await expect(pool.step('fresh', x as rk.StreamStep)).rejects.toMatchObject({ code });
    }
    expect(pool.stats().streams).toBe(1);
    expect(Array.from(pool.getState('good'))).toEqual(Array.from(before));
    const out = (await pool.step('good', 4)) as rk.Tensor;
    expectClose(out.data, ((await model.predict(rk.tensor([[1, 2, 3, 4]]))) as rk.Tensor).data);
    await pool.close();
    // Padding: id 0 of a maskZero embedding, a step of maskValue of a masking layer (masks are windows, so padding
    // would count inside a chunk and not at its edge).
    const masked = rk.streams(idModel(true));
    await expect(masked.step('a', [3, 0, 4])).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining('step 1 of the chunk is all 0') });
    expect(masked.stats().streams).toBe(0);
    await masked.close();
    const masking = rk.streams(rk.sequential({ layers: [rk.layers.masking({ maskValue: -1, inputShape: [null, 2] }), rk.layers.lstm({ units: 2 })] }));
    await expect(masking.step('a', [[1, -1], [-1, -1]])).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining('step 1 of the chunk is all -1') });
    await expect(masking.step('a', [1, -1])).resolves.toBeInstanceOf(rk.Tensor);
    await masking.close();
  });

  it('takes a non-sequence input with every step beside id and float sequences: interleavings equal per-stream predict', async () => {
    const model = conditionedModel();
    const pool = rk.streams(model, { maxBatch: 4 });
    const rng = new rk.Random(47);
    const streams = Array.from({ length: 7 }, () => {
      const frames = sequence(rng, 2 + rng.integer(6));
      return { chars: frames.map(() => rng.integer(6)), frames, speaker: [rng.uniformRange(-1, 1), rng.uniformRange(-1, 1)] };
    });
    const done = await interleave(rng, streams.map((s) => s.frames.length), (s, from, to) => {
      const { chars, frames, speaker } = streams[s];
      // Every step gives the stream's speaker vector (the array form in input order, or the object form).
      const x = rng.uniform() < 0.5
        ? [chars.slice(from, to), frames.slice(from, to), speaker]
        : { speaker: Float32Array.from(speaker), frames: to - from === 1 ? frames[from] : frames.slice(from, to), chars: to - from === 1 ? chars[from] : chars.slice(from, to) };
      return pool.step(s, x) as Promise<rk.Tensor>;
    });
    expect(pool.stats().batches).toBeLessThan(done.length);
    for (const [s, end, out] of done) {
      const { chars, frames, speaker } = streams[s];
      const whole = await model.predict([rk.tensor([chars.slice(0, end)]), rk.tensor([frames.slice(0, end)]), rk.tensor([speaker])]);
      expectClose(out.data, (whole as rk.Tensor).data);
    }
    await pool.close();
  });

  it('refuses a step without its non-sequence input or with one per time step, without touching other streams', async () => {
    const model = conditionedModel();
    const pool = rk.streams(model);
    const rng = new rk.Random(53);
    const frames = sequence(rng, 4);
    const chars = [1, 2, 3, 4];
    const speaker = [0.5, -0.25];
    await pool.step('good', [chars.slice(0, 2), frames.slice(0, 2), speaker]);
    const before = pool.getState('good');
    const refused: Array<[unknown, string, string]> = [
      [{ chars: chars[2], frames: frames[2] }, 'ARGUMENT', "non-sequence input 'speaker' is given with every pool.step"],
      [[chars[2], frames[2]], 'ARGUMENT', 'the pool keeps no per-stream inputs'],
      [[chars.slice(2), frames.slice(2), [speaker, speaker]], 'SHAPE', 'not one per time step'],
      [[chars[2], frames[2], [1, 2, 3]], 'SHAPE', "non-sequence input 'speaker'"],
      [[chars[2], frames[2], 7], 'ARGUMENT', "non-sequence input 'speaker'"],
      [[chars[2], frames[2], [NaN, 0]], 'NOT_FINITE', "input 'speaker'"],
      [[chars.slice(2), frames.slice(2, 3), speaker], 'SHAPE', 'same number of steps'],
      [[6, frames[2], speaker], 'ARGUMENT', "input 'chars'"],
    ];
    for (const [x, code, text] of refused) {
      await expect(pool.step('good', x as rk.StreamStep)).rejects.toMatchObject({ code, message: expect.stringContaining(text) });
      await expect(pool.step('fresh', x as rk.StreamStep)).rejects.toMatchObject({ code });
    }
    expect(pool.stats().streams).toBe(1);
    expect(Array.from(pool.getState('good'))).toEqual(Array.from(before));
    const out = (await pool.step('good', { chars: chars.slice(2), frames: frames.slice(2), speaker })) as rk.Tensor;
    const whole = await model.predict([rk.tensor([chars]), rk.tensor([frames]), rk.tensor([speaker])]);
    expectClose(out.data, (whole as rk.Tensor).data);
    await pool.close();
  });
});
