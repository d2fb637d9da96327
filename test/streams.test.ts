/**
 * The stream pool: random interleavings and chunk sizes of many streams give, after every chunk, exactly the
 * output of predicting that stream's whole prefix alone; batching really happens (fewer native calls than steps);
 * state export/import resumes exactly; eviction; typed errors that leave other streams intact; rk.sample. The
 * pool's input kinds (several inputs, token ids, non-sequence inputs) are tested in test/stream-inputs.test.ts.
 */
import * as rk from '../lib';
import { expectClose, F, makeModel, predictPrefix, recurrent, sequence } from './helpers/stream-models';

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
