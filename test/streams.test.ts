/**
 * The stream pool: random interleavings and chunk sizes of many streams give, after every chunk, exactly the
 * output of predicting that stream's whole prefix alone; batching really happens (fewer native calls than steps);
 * state export/import resumes exactly; eviction; typed errors that leave other streams intact; models with two
 * sequence inputs (a chunk per input, as an array or keyed by name); token id inputs through an embedding (with and
 * without maskZero); a non-sequence input given with every step; rk.sample.
 */
import * as rk from '../lib';

const F = 3;

function sequence(rng: rk.Random, steps: number): number[][] {
  return Array.from({ length: steps }, () => Array.from({ length: F }, () => rng.uniformRange(-1, 1)));
}

function recurrent(kind: string): rk.Layer {
  switch (kind) {
    case 'simpleRNN': return rk.layers.simpleRNN({ units: 5, returnSequences: true, inputShape: [null, F] });
    case 'lstm': return rk.layers.lstm({ units: 5, returnSequences: true, inputShape: [null, F] });
    case 'gruAfter': return rk.layers.gru({ units: 5, returnSequences: true, inputShape: [null, F] });
    default: return rk.layers.gru({ units: 5, resetAfter: false, returnSequences: true, inputShape: [null, F] });
  }
}

/** Two stacked recurrent layers (two state slots) and a dense head on the last step. */
function makeModel(kind: string, returnSequences = false): rk.Model {
  rk.setSeed(7);
  return rk.sequential({
    layers: [
      recurrent(kind),
      rk.layers.lstm({ units: 4, returnSequences }),
      ...(returnSequences ? [rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }) })] : [rk.layers.dense({ units: 2 })]),
    ],
  });
}

function sequenceOf(rng: rk.Random, steps: number, features: number): number[][] {
  return Array.from({ length: steps }, () => Array.from({ length: features }, () => rng.uniformRange(-1, 1)));
}

/** Two sequence inputs ('frames' [null, 3], 'speed' [null, 2]) joined per step, a GRU and an LSTM, a dense head. */
function twoInputModel(): rk.Model {
  rk.setSeed(17);
  const frames = rk.input({ shape: [null, F], name: 'frames' });
  const speed = rk.input({ shape: [null, 2], name: 'speed' });
  const joined = rk.layers.concatenate().apply([frames, rk.layers.dense({ units: 2, activation: 'tanh' }).apply(speed) as rk.SymbolicTensor]);
  const h = rk.layers.gru({ units: 4, returnSequences: true }).apply(joined);
  const last = rk.layers.lstm({ units: 3 }).apply(h);
  return rk.model({ inputs: [frames, speed], outputs: rk.layers.dense({ units: 2 }).apply(last) as rk.SymbolicTensor });
}

/** Token ids [null] through an embedding (maskZero or not), an LSTM and a GRU, a dense head on the last step. */
function idModel(maskZero: boolean): rk.Model {
  rk.setSeed(29);
  return rk.sequential({
    layers: [
      rk.layers.embedding({ inputDim: 9, outputDim: 4, maskZero, inputShape: [null] }),
      rk.layers.lstm({ units: 5, returnSequences: true }),
      rk.layers.gru({ units: 4 }),
      rk.layers.dense({ units: 2 }),
    ],
  });
}

/** ids 'chars' [null] (embedding) and 'frames' [null, 3] per step, an LSTM, and a non-sequence 'speaker' [2]. */
function conditionedModel(): rk.Model {
  rk.setSeed(31);
  const chars = rk.input({ shape: [null], name: 'chars', dtype: 'int32' });
  const frames = rk.input({ shape: [null, F], name: 'frames' });
  const speaker = rk.input({ shape: [2], name: 'speaker' });
  const embedded = rk.layers.embedding({ inputDim: 6, outputDim: 3 }).apply(chars) as rk.SymbolicTensor;
  const h = rk.layers.lstm({ units: 4 }).apply(rk.layers.concatenate().apply([embedded, frames])) as rk.SymbolicTensor;
  const joined = rk.layers.concatenate().apply([h, rk.layers.dense({ units: 2, activation: 'tanh' }).apply(speaker) as rk.SymbolicTensor]);
  return rk.model({ inputs: [chars, frames, speaker], outputs: rk.layers.dense({ units: 2 }).apply(joined) as rk.SymbolicTensor });
}

/** Cuts of 1..3 steps of each stream, issued in random order across streams (several per tick); resolves all. */
async function interleave<T>(rng: rk.Random, lengths: number[], run: (s: number, from: number, to: number) => Promise<T>): Promise<Array<[number, number, T]>> {
  const next = lengths.map(() => 0);
  const results: Array<Promise<[number, number, T]>> = [];
  while (next.some((t, s) => t < lengths[s])) {
    const s = rng.integer(lengths.length);
    const from = next[s];
    if (from >= lengths[s]) continue;
    const to = Math.min(lengths[s], from + 1 + rng.integer(3));
    next[s] = to;
    results.push(run(s, from, to).then((out) => [s, to, out]));
    if (rng.uniform() < 0.3) await new Promise((r) => setImmediate(r));
  }
  return Promise.all(results);
}

async function predictPrefix(model: rk.Model, seq: number[][], end: number): Promise<Float32Array> {
  const out = await model.predict(rk.tensor([seq.slice(0, end)]));
  return (out as rk.Tensor).data;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 2e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tol);
}

describe('stream pool', () => {
  it.each(['simpleRNN', 'lstm', 'gruAfter', 'gruBefore'])('random interleavings and chunks of %s streams equal per-stream predict', async (kind) => {
    const model = makeModel(kind);
    const pool = rk.streams(model, { maxBatch: 4 });
    const rng = new rk.Random(11);
    const streams = Array.from({ length: 7 }, () => sequence(rng, 4 + rng.integer(8)));
    // Each stream is cut into chunks of 1..3 steps; chunks are issued in random order across streams, several per tick.
    const chunks = streams.map((seq) => {
      const cuts: Array<[number, number]> = [];
      for (let t = 0; t < seq.length;) { const n = Math.min(seq.length - t, 1 + rng.integer(3)); cuts.push([t, t + n]); t += n; }
      return cuts;
    });
    const next = streams.map(() => 0);
    const results: Array<Promise<[number, number, rk.Tensor]>> = [];
    while (next.some((n, s) => n < chunks[s].length)) {
      const s = rng.integer(streams.length);
      if (next[s] >= chunks[s].length) continue;
      const [from, to] = chunks[s][next[s]++];
      const x = to - from === 1 && rng.uniform() < 0.5 ? streams[s][from] : streams[s].slice(from, to);
      results.push(pool.step(`s${s}`, x).then((out) => [s, to, out as rk.Tensor]));
      if (rng.uniform() < 0.3) await new Promise((r) => setImmediate(r));
    }
    const done = await Promise.all(results);
    const stats = pool.stats();
    expect(stats.calls).toBe(done.length);
    expect(stats.batches).toBeLessThan(done.length);
    expect(stats.meanBatch).toBeGreaterThan(1);
    for (const [s, end, out] of done) {
      expect(out.shape).toEqual([2]);
      expectClose(out.data, await predictPrefix(model, streams[s], end));
    }
    await pool.close();
  });

  it('returns every step of a chunk when the model returns sequences', async () => {
    const model = makeModel('lstm', true);
    const pool = rk.streams(model);
    const seq = sequence(new rk.Random(3), 6);
    const first = (await pool.step('a', seq.slice(0, 2))) as rk.Tensor;
    // The object form keyed by the input's name works for a single-input model too.
    const second = (await pool.step('a', { [model.inputNames[0]]: seq.slice(2) })) as rk.Tensor;
    expect(first.shape).toEqual([2, 2]);
    expect(second.shape).toEqual([4, 2]);
    expectClose([...first.data, ...second.data], await predictPrefix(model, seq, 6));
    await pool.close();
  });

  it('takes the values of a Float32Array step when it is given, whatever the caller writes to it afterwards', async () => {
    const model = makeModel('lstm');
    const pool = rk.streams(model, { maxBatch: 2 });
    const rng = new rk.Random(17);
    const seqs = [sequence(rng, 4), sequence(rng, 4), sequence(rng, 4)];
    // One reused buffer, rewritten before the queued steps run: several steps of a stream are queued at once (its
    // one-step buffer is taken, so later steps are copied elsewhere), a NaN step is refused in between, and three
    // streams share batches of at most 2, so some steps wait for a later batch while the buffer keeps changing.
    const buffer = new Float32Array(F);
    const pending: Array<Promise<rk.Tensor | rk.Tensor[]>> = [];
    for (let t = 0; t < 4; t++) {
      for (let s = 0; s < seqs.length; s++) {
        buffer.set(seqs[s][t]);
        pending.push(pool.step(`s${s}`, buffer));
        buffer.fill(NaN);
        if (t === 1 && s === 0) await expect(pool.step('s0', buffer)).rejects.toMatchObject({ code: 'NOT_FINITE' });
      }
    }
    const outputs = (await Promise.all(pending)) as rk.Tensor[];
    for (let s = 0; s < seqs.length; s++) {
      expectClose(outputs[3 * seqs.length + s].data, await predictPrefix(model, seqs[s], 4));
      expectClose(outputs[s].data, await predictPrefix(model, seqs[s], 1));
    }
    expect(pool.stats().batches).toBeGreaterThanOrEqual(6);  // 12 steps, at most 2 per native call
    await pool.close();
  });

  it('keeps the order of the streams it leaves out of a full batch', async () => {
    const model = makeModel('simpleRNN');
    const pool = rk.streams(model, { maxBatch: 2 });
    const rng = new rk.Random(19);
    const seqs = Array.from({ length: 5 }, () => sequence(rng, 3));
    // Lengths 1, 3, 1, 1, 3 in one tick: the first call takes the two oldest 1-step chunks, the leftovers run after.
    const chunks = [1, 3, 1, 1, 3];
    const order: number[] = [];
    const pending = chunks.map((n, s) => pool.step(`s${s}`, seqs[s].slice(0, n)).then((out) => { order.push(s); return out; }));
    const outputs = (await Promise.all(pending)) as rk.Tensor[];
    for (let s = 0; s < 5; s++) expectClose(outputs[s].data, await predictPrefix(model, seqs[s], chunks[s]));
    expect(order.slice(0, 2)).toEqual([0, 2]);
    expect(pool.stats()).toMatchObject({ calls: 5, batches: 3 });
    await pool.close();
  });

  it('exports a state that resumes exactly in another pool', async () => {
    const model = makeModel('gruAfter');
    const a = rk.streams(model);
    const b = rk.streams(model);
    const seq = sequence(new rk.Random(5), 8);
    await a.step('x', seq.slice(0, 5));
    const state = a.getState('x');
    expect(state).toBeInstanceOf(Float32Array);
    expect(state.length).toBe(a.stateSize);
    expect(a.stateSize).toBe(5 + 2 * 4);
    await b.setState('y', state);
    const resumed = (await b.step('y', seq.slice(5))) as rk.Tensor;
    expectClose(resumed.data, await predictPrefix(model, seq, 8));
    // Reset starts from zero again.
    await b.reset('y');
    expect(Array.from(b.getState('y')).every((v) => v === 0)).toBe(true);
    const fresh = (await b.step('y', seq.slice(0, 3))) as rk.Tensor;
    expectClose(fresh.data, await predictPrefix(model, seq, 3));
    await a.close();
    await b.close();
  });

  it('evicts idle streams; their next step is a STATE error until reset', async () => {
    const model = makeModel('simpleRNN');
    const pool = rk.streams(model, { idleMs: 20 });
    const seq = sequence(new rk.Random(9), 3);
    await pool.step('idle', seq[0]);
    await new Promise((r) => setTimeout(r, 80));
    expect(pool.stats().streams).toBe(0);
    await expect(pool.step('idle', seq[1])).rejects.toMatchObject({ code: 'STATE', message: expect.stringContaining('evicted') });
    await pool.reset('idle');
    const out = (await pool.step('idle', seq)) as rk.Tensor;
    expectClose(out.data, await predictPrefix(model, seq, 3));
    await pool.close();
  });

  it('refuses bad steps, steps after end and after close with typed errors, without touching other streams', async () => {
    const model = makeModel('lstm');
    const pool = rk.streams(model);
    const seq = sequence(new rk.Random(13), 4);
    await pool.step('good', seq.slice(0, 2));
    const before = pool.getState('good');
    await expect(pool.step('good', [1, 2])).rejects.toMatchObject({ code: 'SHAPE' });
    await expect(pool.step('other', [[1, 2, 3], [1, 2]])).rejects.toMatchObject({ code: 'SHAPE' });
    await expect(pool.step('good', [NaN, 0, 0])).rejects.toMatchObject({ code: 'NOT_FINITE' });
    await expect(pool.step({} as unknown as string, seq[0])).rejects.toMatchObject({ code: 'ARGUMENT' });
    await expect(pool.step('good', { wrongName: seq[2] })).rejects.toMatchObject({ code: 'ARGUMENT', message: expect.stringContaining("key 'wrongName'") });
    await expect(pool.setState('good', new Float32Array(3))).rejects.toMatchObject({ code: 'SHAPE' });
    expect(Array.from(pool.getState('good'))).toEqual(Array.from(before));
    await pool.step('ending', seq[0]);
    await pool.end('ending');
    await expect(pool.step('ending', seq[1])).rejects.toMatchObject({ code: 'STATE', message: expect.stringContaining('ended') });
    expect(() => pool.getState('never')).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    const out = (await pool.step('good', seq.slice(2))) as rk.Tensor;
    expectClose(out.data, await predictPrefix(model, seq, 4));
    await pool.close();
    await expect(pool.step('good', seq[0])).rejects.toMatchObject({ code: 'STATE', message: expect.stringContaining('closed') });
    expect(() => rk.streams(model, { maxBatch: 0 })).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.streams(model, { bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
  });

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

  it('refuses a model whose inputs are not sequences or vectors beside one', () => {
    const speaker = rk.input({ shape: [2], name: 'speaker' });
    const vectorsOnly = rk.model({ inputs: speaker, outputs: rk.layers.dense({ units: 2 }).apply(speaker) as rk.SymbolicTensor });
    expect(() => rk.streams(vectorsOnly)).toThrow(expect.objectContaining({ code: 'ARGUMENT', message: expect.stringContaining('at least one sequence') }));
  });

  it('refuses a model without recurrent layers', () => {
    const model = rk.sequential({ layers: [rk.layers.dense({ units: 2, inputShape: [F] })] });
    expect(() => rk.streams(model)).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
  });
});

describe('rk.sample', () => {
  it('is reproducible with a seeded random, follows the probabilities, and filters', () => {
    const probs = [0.1, 0.6, 0.3];
    const draw = (seed: number, options: rk.SampleOptions = {}) => {
      const rng = new rk.Random(seed);
      return Array.from({ length: 3000 }, () => rk.sample(probs, { ...options, random: () => rng.uniform() }));
    };
    expect(draw(1)).toEqual(draw(1));
    const counts = [0, 0, 0];
    for (const i of draw(2)) counts[i]++;
    expect(counts[1] / 3000).toBeCloseTo(0.6, 1);
    expect(counts[0] / 3000).toBeCloseTo(0.1, 1);
    expect(new Set(draw(3, { topK: 1 }))).toEqual(new Set([1]));
    expect(new Set(draw(3, { topK: 2 }))).toEqual(new Set([1, 2]));
    expect(new Set(draw(3, { topP: 0.85 }))).toEqual(new Set([1, 2]));
    expect(rk.sample(probs, { temperature: 0 })).toBe(1);
    const sharp = draw(4, { temperature: 0.2 }).filter((i) => i === 1).length / 3000;
    expect(sharp).toBeGreaterThan(0.9);
  });

  it('validates its options and probabilities', () => {
    expect(() => rk.sample([0.5, 0.5], { temperature: -1 })).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.sample([0.5, 0.5], { topP: 0 })).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.sample([0.5, 0.5], { topK: 1.5 })).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.sample([0.5, 0.5], { random: () => 1 })).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.sample([0.5, -0.5])).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.sample([0, 0])).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.sample([])).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
    expect(() => rk.sample([1], { seed: 1 } as never)).toThrow(expect.objectContaining({ code: 'ARGUMENT' }));
  });
});
