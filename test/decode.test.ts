/**
 * rk.decode: greedy and beam search over a one-step decoder model.
 * - A Markov decoder whose next-token probabilities are set by hand (one-hot token -> SimpleRNN relu with identity
 *   kernel and zero recurrent kernel, so h = the one-hot previous token -> dense softmax with a log-probability
 *   table): greedy takes 'a' (p 0.5) then ends (0.34): 0.17; the best sequence is 'b' (0.4) then end (0.95): 0.38.
 *   Beam search (width 2) finds it; enumerating every sequence through the model confirms it is the best.
 * - A random LSTM decoder with dot attention over constant encoder outputs (ids through an embedding): beamWidth 1
 *   equals greedy; greedy equals a hand-written step loop over predictOnBatch; a batch decodes like its samples
 *   one at a time; a beam wider than every hypothesis set is exhaustive (equals enumeration).
 */
import * as rk from '../lib';
import { seededUniform } from './helpers/checks';

const START = 0, END = 1, A = 2, B = 3, V = 4;

function markovDecoder(): rk.Model {
  const token = rk.input({ shape: [1, V], name: 'token' });
  const hIn = rk.input({ shape: [V], name: 'h_in' });
  const rnn = rk.layers.simpleRNN({ units: V, activation: 'relu', returnSequences: true, returnState: true, name: 'rnn' });
  const [out, hOut] = rnn.apply(token, { initialState: [hIn] }) as rk.SymbolicTensor[];
  const softmax = rk.layers.dense({ units: V, activation: 'softmax', name: 'next' });
  const model = rk.model({ inputs: [token, hIn], outputs: [softmax.apply(out) as rk.SymbolicTensor, hOut] });
  const identity = new Float32Array(V * V).map((_, i) => (i % (V + 1) === 0 ? 1 : 0));
  rnn.setWeights([new rk.Tensor(identity, [V, V]), new rk.Tensor(new Float32Array(V * V), [V, V]), new rk.Tensor(new Float32Array(V), [V])]);
  // Row = previous token, column = next token (START is never emitted: probability 1e-6).
  const table = [
    [1e-6, 0.1, 0.5, 0.4 - 1e-6],      // after START
    [1e-6, 0.5, 0.25, 0.25 - 1e-6],    // after END (never read)
    [1e-6, 0.34, 0.33, 0.33 - 1e-6],   // after 'a'
    [1e-6, 0.95, 0.03, 0.02 - 1e-6],   // after 'b'
  ];
  softmax.setWeights([new rk.Tensor(Float32Array.from(table.flat().map(Math.log)), [V, V]), new rk.Tensor(new Float32Array(V), [V])]);
  return model;
}

/** log P(tokens, then END if ended) by running the model one step at a time (batch of 1). */
async function sequenceLogProb(model: rk.Model, tokens: number[], ended: boolean): Promise<number> {
  let h = new rk.Tensor(new Float32Array(V), [1, V]);
  let previous = START, total = 0;
  for (const next of ended ? [...tokens, END] : tokens) {
    const x = new rk.Tensor(new Float32Array(V).map((_, k) => (k === previous ? 1 : 0)), [1, 1, V]);
    const [p, hNext] = (await model.predictOnBatch([x, h])) as rk.Tensor[];
    total += Math.log(p.data[next]);
    [h, previous] = [hNext, next];
  }
  return total;
}

describe('beam search on a decoder whose best sequence is known', () => {
  const h0 = new rk.Tensor(new Float32Array(V), [1, V]);

  test('greedy takes the locally best token; beam width 2 finds the best sequence, confirmed by enumeration', async () => {
    const model = markovDecoder();
    const options = { initialState: [h0], startToken: START, endToken: END, maxLength: 3 };
    const greedy = await rk.decode(model, options);
    expect(greedy.sequences).toEqual([[A]]);
    expect(greedy.scores[0]).toBeCloseTo(Math.log(0.5 * 0.34), 4);
    const beam = await rk.decode(model, { ...options, strategy: { beamWidth: 2 } });
    expect(beam.sequences).toEqual([[B]]);
    expect(beam.finished).toEqual([true]);
    expect(beam.scores[0]).toBeCloseTo(Math.log(0.4 * 0.95), 4);

    // Every sequence of at most 3 tokens over {END, a, b} (START has p 1e-6 and cannot win).
    let best = { tokens: [] as number[], score: -Infinity };
    const body: number[][] = [[]];
    for (const prefix of body) {
      if (prefix.length < 3) for (const v of [A, B]) body.push([...prefix, v]);
    }
    for (const tokens of body) {
      // Shorter than maxLength: it ends with END; 3 tokens: cut at maxLength (END would be a 4th token).
      const score = await sequenceLogProb(model, tokens, tokens.length < 3);
      if (score > best.score) best = { tokens, score };
    }
    expect(best.tokens).toEqual([B]);
    expect(beam.scores[0]).toBeCloseTo(best.score, 5);
    for (const h of beam.hypotheses[0]) {
      expect(h.score).toBeCloseTo(await sequenceLogProb(model, h.tokens, h.finished), 5);
    }
    model.dispose();
  });

  test('beamWidth 1 equals greedy on the Markov decoder, and no endToken decodes maxLength tokens', async () => {
    const model = markovDecoder();
    const options = { initialState: [h0], startToken: START, endToken: END, maxLength: 3 };
    expect(await rk.decode(model, { ...options, strategy: { beamWidth: 1 } })).toEqual(await rk.decode(model, options));
    const free = await rk.decode(model, { initialState: [h0], startToken: START, maxLength: 3 });
    expect(free.sequences[0]).toHaveLength(3);
    expect(free.finished).toEqual([false]);
    model.dispose();
  });
});

describe('a random LSTM decoder with attention over constant encoder outputs', () => {
  const VOCAB = 5, EMBED = 3, UNITS = 4, STEPS = 6, SAMPLES = 5;
  const TOKEN_START = 0, TOKEN_END = 1;

  function attentionDecoder(): rk.Model {
    const token = rk.input({ shape: [1], name: 'token', dtype: 'int32' });
    const hIn = rk.input({ shape: [UNITS], name: 'h_in' });
    const cIn = rk.input({ shape: [UNITS], name: 'c_in' });
    const encoded = rk.input({ shape: [null, UNITS], name: 'encoded' });
    const embedded = rk.layers.embedding({ inputDim: VOCAB, outputDim: EMBED }).apply(token) as rk.SymbolicTensor;
    const [out, h, c] = rk.layers.lstm({ units: UNITS, returnSequences: true, returnState: true }).apply(embedded, { initialState: [hIn, cIn] }) as rk.SymbolicTensor[];
    const context = rk.layers.attention().apply([out, encoded]) as rk.SymbolicTensor;
    const joined = rk.layers.concatenate().apply([context, out]) as rk.SymbolicTensor;
    const probs = rk.layers.dense({ units: VOCAB, activation: 'softmax' }).apply(joined) as rk.SymbolicTensor;
    const model = rk.model({ inputs: [token, hIn, cIn, encoded], outputs: [probs, h, c] });
    model.setWeights(model.getWeights().map((w, k) => new rk.Tensor(seededUniform(w.size, 11 + k, 1.5), w.shape)));
    return model;
  }

  const rows = (n: number, width: number, seed: number) => new rk.Tensor(seededUniform(n * width, seed), [n, width]);
  const inputs = () => ({
    initialState: [rows(SAMPLES, UNITS, 1), rows(SAMPLES, UNITS, 2)],
    constants: [new rk.Tensor(seededUniform(SAMPLES * STEPS * UNITS, 3), [SAMPLES, STEPS, UNITS])],
    startToken: TOKEN_START, endToken: TOKEN_END, maxLength: 6,
  });
  const sample = (t: rk.Tensor, i: number) => new rk.Tensor(t.data.slice(i * t.size / t.shape[0], (i + 1) * t.size / t.shape[0]), [1, ...t.shape.slice(1)]);

  test('beamWidth 1 equals greedy', async () => {
    const model = attentionDecoder();
    const greedy = await rk.decode(model, inputs());
    const beam = await rk.decode(model, { ...inputs(), strategy: { beamWidth: 1 } });
    expect(beam.sequences).toEqual(greedy.sequences);
    expect(beam.scores).toEqual(greedy.scores);
    expect(new Set(greedy.sequences.map((s) => s.join(','))).size).toBeGreaterThan(1);  // the samples differ
    model.dispose();
  });

  test('greedy equals a hand-written step loop over predictOnBatch carrying the states', async () => {
    const model = attentionDecoder();
    const opts = inputs();
    const result = await rk.decode(model, opts);
    for (let i = 0; i < SAMPLES; i++) {
      let [h, c] = opts.initialState.map((t) => sample(t, i));
      const encoded = sample(opts.constants[0], i);
      let previous = TOKEN_START, score = 0;
      const tokens: number[] = [];
      for (let t = 0; t < opts.maxLength; t++) {
        const [p, hNext, cNext] = (await model.predictOnBatch([new rk.Tensor(Float32Array.of(previous), [1, 1]), h, c, encoded])) as rk.Tensor[];
        let best = 0;
        for (let v = 1; v < VOCAB; v++) if (p.data[v] > p.data[best]) best = v;
        score += Math.log(p.data[best]);
        if (best === TOKEN_END) break;
        tokens.push(best);
        [h, c, previous] = [hNext, cNext, best];
      }
      expect(result.sequences[i]).toEqual(tokens);
      expect(result.scores[i]).toBeCloseTo(score, 5);
    }
    model.dispose();
  });

  test('a batch decodes as its samples one at a time (greedy and beam width 3)', async () => {
    const model = attentionDecoder();
    for (const strategy of ['greedy', { beamWidth: 3 }] as const) {
      const all = await rk.decode(model, { ...inputs(), strategy });
      for (let i = 0; i < SAMPLES; i++) {
        const opts = inputs();
        const one = await rk.decode(model, {
          ...opts, strategy, initialState: opts.initialState.map((t) => sample(t, i)), constants: [sample(opts.constants[0], i)],
        });
        expect(one.hypotheses[0].map((h) => h.tokens)).toEqual(all.hypotheses[i].map((h) => h.tokens));
        one.hypotheses[0].forEach((h, k) => expect(h.score).toBeCloseTo(all.hypotheses[i][k].score, 5));
      }
    }
    model.dispose();
  });

  test('a beam wider than every hypothesis set is exhaustive: its best equals enumeration', async () => {
    const model = attentionDecoder();
    const opts = { ...inputs(), maxLength: 3 };
    const wide = await rk.decode(model, { ...opts, strategy: { beamWidth: VOCAB ** 3 } });
    // Enumerate per sample: every sequence over the non-end tokens of length < 3 ending with END, or length 3 cut.
    for (let i = 0; i < SAMPLES; i++) {
      let best = -Infinity;
      const walk = async (tokens: number[], h: rk.Tensor, c: rk.Tensor, score: number): Promise<void> => {
        if (tokens.length === opts.maxLength) { best = Math.max(best, score); return; }
        const previous = tokens.length === 0 ? TOKEN_START : tokens[tokens.length - 1];
        const [p, hNext, cNext] = (await model.predictOnBatch([new rk.Tensor(Float32Array.of(previous), [1, 1]), h, c, sample(opts.constants[0], i)])) as rk.Tensor[];
        best = Math.max(best, score + Math.log(p.data[TOKEN_END]));
        for (let v = 0; v < VOCAB; v++) if (v !== TOKEN_END) await walk([...tokens, v], hNext, cNext, score + Math.log(p.data[v]));
      };
      await walk([], sample(opts.initialState[0], i), sample(opts.initialState[1], i), 0);
      expect(wide.scores[i]).toBeCloseTo(best, 5);
    }
    model.dispose();
  });

  test('every option is validated with an error naming the expected and received value', async () => {
    const model = attentionDecoder();
    const ok = inputs();
    const bad = async (options: unknown, code: string, pattern: RegExp) => {
      await expect(rk.decode(model, options as rk.DecodeOptions)).rejects.toMatchObject({ code, message: expect.stringMatching(pattern) });
    };
    await bad({ ...ok, constants: undefined }, 'ARGUMENT', /= 3 inputs .* but received 4/);
    await bad({ ...ok, initialState: [ok.initialState[0]] }, 'ARGUMENT', /1 state inputs .* but received 4/);
    await bad({ ...ok, maxLength: 0 }, 'ARGUMENT', /maxLength/);
    await bad({ ...ok, startToken: 1.5 }, 'ARGUMENT', /startToken/);
    await bad({ ...ok, endToken: VOCAB }, 'ARGUMENT', /endToken/);
    await bad({ ...ok, strategy: 'beam' }, 'ARGUMENT', /'greedy' or \{ beamWidth \}.*beam/);
    await bad({ ...ok, strategy: { beamWidth: 0 } }, 'ARGUMENT', /beamWidth/);
    await bad({ ...ok, strategy: { beamWidth: 2, lengthPenalty: 1 } }, 'ARGUMENT', /lengthPenalty/);
    await bad({ ...ok, beam: 2 }, 'ARGUMENT', /beam/);
    await bad({ ...ok, initialState: [rows(SAMPLES, UNITS + 1, 1), ok.initialState[1]] }, 'SHAPE', /initialState\[0\].*\[B, 4\].*\[5, 5\]/);
    await bad({ ...ok, initialState: [rows(SAMPLES - 1, UNITS, 1), ok.initialState[1]] }, 'SHAPE', /initialState\[1\] to have 4 rows/);
    await bad({ ...ok, initialState: [[1, 2], ok.initialState[1]] }, 'ARGUMENT', /Tensor/);
    await expect(rk.decode({} as rk.Model, ok)).rejects.toMatchObject({ code: 'ARGUMENT' });
    model.dispose();
  });
});
