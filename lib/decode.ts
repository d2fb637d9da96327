/**
 * `rk.decode`: token-by-token generation with an inference decoder model (greedy or beam search).
 *
 * The decoder model is one step of a sequence-to-sequence decoder, as in Keras's seq2seq examples:
 *   inputs  = [token, ...states, ...constants]
 *   outputs = [probabilities, ...states]   (the new states, in the order of the state inputs)
 * `token` is a token id (per-sample shape [1] or [null]: an Embedding follows) or a one-hot vector (per-sample
 * shape [1, V] or [null, V]); `probabilities` is a softmax over the V tokens ([1, V] or [V] per sample);
 * `constants` are fed unchanged at every step (the encoder outputs an attention layer reads).
 *
 * Every step is one native call (`predictOnBatch`) for all live sequences of the batch (all live beams of all
 * samples for beam search); the states each row returns become the initial states of its continuations.
 * Scores are sums of natural-log probabilities of the emitted tokens, the end token included; there is no length
 * penalty. At most `maxLength` tokens are emitted per sequence (the end token counts as one); a sequence that reaches
 * `maxLength` without the end token is returned with `finished: false`, ranked by its score like the others.
 * Without an end token every sequence is maxLength long. A one-hot token input may be wider than the output
 * vocabulary (a start token outside it, as in Keras's lstm_seq2seq example).
 */
import { RnnError } from './errors';
import { Model } from './models/model';
import { gatherRows, Tensor } from './tensor';
import { checkInteger, checkKnownKeys, describeValue, invalid, isPlainObject } from './validate';

/** Options of {@link decode}. */
export interface DecodeOptions {
  /** Initial states [B, ...] in the order of the decoder's state inputs (e.g. the encoder's final h and c). */
  initialState: Tensor[];
  /** Tensors [B, ...] given to the decoder unchanged at every step, after the states (default none). */
  constants?: Tensor[];
  /** The token fed at the first step. */
  startToken: number;
  /** The token that ends a sequence (not included in the returned tokens); without it every sequence is maxLength long. */
  endToken?: number;
  /** The most tokens emitted per sequence, the end token included. */
  maxLength: number;
  /**
   * `'greedy'` (default): the most probable token at every step. `{ beamWidth }`: beam search keeping the
   * `beamWidth` best hypotheses per sample (finished ones stay in the beam while they rank among the best); with
   * beamWidth 1 it is greedy decoding.
   */
  strategy?: 'greedy' | BeamSearch;
}

/** Beam search settings of {@link DecodeOptions.strategy}. */
export interface BeamSearch {
  /** Hypotheses kept per sample (an integer >= 1). */
  beamWidth: number;
}

/** One decoded sequence. */
export interface Hypothesis {
  /** Emitted tokens, without the start and end tokens. */
  tokens: number[];
  /** Sum of the natural-log probabilities of the emitted tokens (the end token's included when finished). */
  score: number;
  /** Whether the sequence ended with the end token (false: cut at maxLength). */
  finished: boolean;
}

/** What {@link decode} returns: the best sequence of each sample, and every hypothesis kept. */
export interface DecodeResult {
  /** The best token sequence of each sample (= hypotheses[i][0].tokens). */
  sequences: number[][];
  /** The score of each best sequence. */
  scores: number[];
  /** Whether each best sequence ended with the end token. */
  finished: boolean[];
  /** Per sample, the hypotheses of the final beam, best first (one for greedy decoding). */
  hypotheses: Hypothesis[][];
}

/** How the decoder model's inputs and outputs are laid out. */
interface DecoderLayout {
  oneHot: boolean;
  /** Features of a one-hot token input (0 for ids). */
  inputWidth: number;
  vocabulary: number;
  states: number;
  constants: number;
}

/** A live or finished hypothesis during decoding; `row` is its row in the last step's batch. */
interface Beam extends Hypothesis {
  row: number;
}

const OPTION_KEYS = ['initialState', 'constants', 'startToken', 'endToken', 'maxLength', 'strategy'];

/**
 * Decodes a batch with a one-step decoder model (see the file comment for the model's inputs and outputs): greedy
 * or beam search, one native call per step for the whole batch, carrying the decoder's returned states.
 * Throws an `ARGUMENT` / `SHAPE` {@link RnnError} naming the expected and received value for a bad option, and
 * an `ARGUMENT` error if the decoder's first output is not a probability distribution.
 */
export async function decode(decoder: Model, options: DecodeOptions): Promise<DecodeResult> {
  const layout = checkDecoder(decoder, options);
  const checked = checkOptions(decoder, layout, options);
  return checked.beamWidth === 0 ? greedy(decoder, layout, checked) : beamSearch(decoder, layout, checked);
}

interface CheckedOptions {
  samples: number;
  states: Tensor[];
  constants: Tensor[];
  startToken: number;
  /** -1 = no end token. */
  endToken: number;
  maxLength: number;
  /** 0 = greedy. */
  beamWidth: number;
}

function checkDecoder(decoder: unknown, options: DecodeOptions): DecoderLayout {
  if (!(decoder instanceof Model) || decoder.topology === undefined) {
    throw invalid('ARGUMENT', 'a built model (rk.model) as the decoder', 'decode decoder', decoder);
  }
  if (!isPlainObject(options)) throw invalid('ARGUMENT', 'an options object', 'decode options', options);
  checkKnownKeys(options, OPTION_KEYS, 'decode options');
  if (!Array.isArray(options.initialState)) throw invalid('ARGUMENT', 'an array of tensors', 'decode initialState', options.initialState);
  if (options.constants !== undefined && !Array.isArray(options.constants)) {
    throw invalid('ARGUMENT', 'an array of tensors', 'decode constants', options.constants);
  }
  const states = options.initialState.length;
  const constants = options.constants?.length ?? 0;
  const { inputs, outputs } = decoder;
  if (inputs.length !== 1 + states + constants) {
    throw new RnnError('ARGUMENT', `Expected a decoder with 1 token input + ${states} state inputs + ${constants} constant inputs = ${1 + states + constants} inputs (as many as initialState and constants) but received ${inputs.length}`);
  }
  if (outputs.length !== 1 + states) {
    throw new RnnError('ARGUMENT', `Expected a decoder with 1 probability output + ${states} state outputs = ${1 + states} outputs but received ${outputs.length}`);
  }
  const token = inputs[0].sampleShape;
  const oneStep = (d: number): boolean => d === 1 || d === -1;
  if (!(token.length === 1 && oneStep(token[0])) && !(token.length === 2 && oneStep(token[0]))) {
    throw new RnnError('SHAPE', `Expected the decoder's token input '${inputs[0].name}' to have per-sample shape [1] (ids) or [1, V] (one-hot) but received ${showShape(token)}`);
  }
  const probs = outputs[0].sampleShape;
  if (!(probs.length === 1 || (probs.length === 2 && oneStep(probs[0]))) || probs[probs.length - 1] < 1) {
    throw new RnnError('SHAPE', `Expected the decoder's first output '${outputs[0].name}' to have per-sample shape [V] or [1, V] but received ${showShape(probs)}`);
  }
  const vocabulary = probs[probs.length - 1];
  if (token.length === 2 && token[1] < vocabulary) {
    throw new RnnError('SHAPE', `Expected the decoder's one-hot token input to have at least ${vocabulary} features (the output's vocabulary, fed back) but received ${token[1]}`);
  }
  for (let s = 0; s < states; s++) {
    const [into, from] = [inputs[1 + s], outputs[1 + s]];
    if (!sameShape(into.sampleShape, from.sampleShape)) {
      throw new RnnError('SHAPE', `Expected the decoder's state output ${s} '${from.name}' to have the shape of state input '${into.name}' ${showShape(into.sampleShape)} but received ${showShape(from.sampleShape)}`);
    }
  }
  return { oneHot: token.length === 2, inputWidth: token.length === 2 ? token[1] : 0, vocabulary, states, constants };
}

function checkOptions(decoder: Model, layout: DecoderLayout, options: DecodeOptions): CheckedOptions {
  const given = [...options.initialState, ...(options.constants ?? [])];
  let samples = -1;
  given.forEach((t, k) => {
    const input = decoder.inputs[1 + k];
    const name = k < layout.states ? `decode initialState[${k}]` : `decode constants[${k - layout.states}]`;
    if (!(t instanceof Tensor)) throw invalid('ARGUMENT', 'a Tensor', name, t);
    if (!fits(t.shape.slice(1), input.sampleShape) || t.rank === 0) {
      throw new RnnError('SHAPE', `Expected ${name} to have shape [B, ${input.sampleShape.map((d) => (d < 0 ? 'null' : d)).join(', ')}] (decoder input '${input.name}') but received [${t.shape.join(', ')}]`);
    }
    if (samples >= 0 && t.shape[0] !== samples) {
      throw new RnnError('SHAPE', `Expected ${name} to have ${samples} rows (the batch of the tensors before it) but received ${t.shape[0]}`);
    }
    samples = t.shape[0];
  });
  if (samples < 1) {
    throw new RnnError('ARGUMENT', `Expected at least one initial state or constant with at least one row (the batch) but received ${given.length === 0 ? 'none' : '0 rows'}`);
  }
  const startToken = checkInteger(options.startToken, 'decode startToken', layout.oneHot ? { min: 0, max: layout.inputWidth - 1 } : { min: 0 });
  const endToken = options.endToken === undefined ? -1 : checkInteger(options.endToken, 'decode endToken', { min: 0, max: layout.vocabulary - 1 });
  const maxLength = checkInteger(options.maxLength, 'decode maxLength', { min: 1 });
  return { samples, states: options.initialState, constants: options.constants ?? [], startToken, endToken, maxLength, beamWidth: checkStrategy(options.strategy) };
}

function checkStrategy(strategy: unknown): number {
  if (strategy === undefined || strategy === 'greedy') return 0;
  if (!isPlainObject(strategy)) {
    throw new RnnError('ARGUMENT', `Expected 'greedy' or { beamWidth } for decode strategy but received ${describeValue(strategy)}`);
  }
  checkKnownKeys(strategy, ['beamWidth'], 'decode strategy');
  return checkInteger(strategy.beamWidth, 'decode strategy.beamWidth', { min: 1 });
}

/** Runs one step for `tokens.length` rows; returns log-probabilities [rows, V] and the new states. */
async function step(
  decoder: Model, layout: DecoderLayout, tokens: number[], states: Tensor[], constants: Tensor[],
): Promise<{ logProbs: Float32Array; states: Tensor[] }> {
  const rows = tokens.length;
  const V = layout.vocabulary;
  const W = layout.inputWidth;
  const ids = new Float32Array(layout.oneHot ? rows * W : rows);
  tokens.forEach((t, r) => { ids[layout.oneHot ? r * W + t : r] = layout.oneHot ? 1 : t; });
  const token = new Tensor(ids, layout.oneHot ? [rows, 1, W] : [rows, 1]);
  const out = await decoder.predictOnBatch([token, ...states, ...constants]);
  const [probs, ...next] = Array.isArray(out) ? out : [out];
  if (probs.size !== rows * V) {
    throw new RnnError('SHAPE', `Expected the decoder's probabilities for one step ([${rows}, 1, ${V}] or [${rows}, ${V}]) but received [${probs.shape.join(', ')}]`);
  }
  const logProbs = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let v = 0; v < V; v++) {
      const p = probs.data[r * V + v];
      if (!(p >= 0)) throw new RnnError('ARGUMENT', `Expected probabilities (a softmax output) from the decoder but received ${p} at row ${r}, token ${v}`);
      sum += p;
      logProbs[r * V + v] = Math.log(p);
    }
    if (Math.abs(sum - 1) > 1e-3) {
      throw new RnnError('ARGUMENT', `Expected probabilities summing to 1 (a softmax output) from the decoder but received a sum of ${sum} at row ${r}`);
    }
  }
  return { logProbs, states: next };
}

/** Rows `indices` of every tensor. */
function gatherAll(tensors: Tensor[], indices: number[]): Tensor[] {
  return tensors.map((t) => new Tensor(gatherRows(t, indices), [indices.length, ...t.shape.slice(1)]));
}

async function greedy(decoder: Model, layout: DecoderLayout, o: CheckedOptions): Promise<DecodeResult> {
  const V = layout.vocabulary;
  const result: Beam[] = Array.from({ length: o.samples }, (_, row) => ({ tokens: [], score: 0, finished: false, row }));
  let live = result.map((_, i) => i);
  let states = o.states;
  let tokens = live.map(() => o.startToken);
  for (let t = 0; t < o.maxLength && live.length > 0; t++) {
    const constants = t === 0 ? o.constants : gatherAll(o.constants, live);
    const out = await step(decoder, layout, tokens, states, constants);
    const keep: number[] = [];
    live.forEach((sample, r) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (out.logProbs[r * V + v] > out.logProbs[r * V + best]) best = v;
      const beam = result[sample];
      beam.score += out.logProbs[r * V + best];
      if (best === o.endToken) {
        beam.finished = true;
      } else {
        beam.tokens.push(best);
        keep.push(r);
      }
    });
    tokens = keep.map((r) => result[live[r]].tokens[result[live[r]].tokens.length - 1]);
    states = gatherAll(out.states, keep);
    live = keep.map((r) => live[r]);
  }
  return resultOf(result.map((b) => [b]));
}

async function beamSearch(decoder: Model, layout: DecoderLayout, o: CheckedOptions): Promise<DecodeResult> {
  const V = layout.vocabulary;
  const width = o.beamWidth;
  let beams: Beam[][] = Array.from({ length: o.samples }, (_, row) => [{ tokens: [], score: 0, finished: false, row }]);
  let states = o.states;
  for (let t = 0; t < o.maxLength; t++) {
    // Rows of this step: every live beam, sample by sample; its state is row `beam.row` of the last step.
    const rows: Beam[] = [];
    const owners: number[] = [];
    beams.forEach((list, sample) => list.forEach((b) => { if (!b.finished) { rows.push(b); owners.push(sample); } }));
    if (rows.length === 0) break;
    const stepStates = t === 0 ? states : gatherAll(states, rows.map((b) => b.row));
    const tokens = rows.map((b) => (b.tokens.length === 0 ? o.startToken : b.tokens[b.tokens.length - 1]));
    const out = await step(decoder, layout, tokens, stepStates, gatherAll(o.constants, owners));
    let r = 0;
    beams = beams.map((list) => {
      // Candidates in beam order: a finished beam stays as it is; a live one offers its best `width` tokens (no
      // more can be chosen from one parent). A stable sort by score keeps that order among equal scores.
      const candidates: Beam[] = [];
      for (const b of list) {
        if (b.finished) { candidates.push(b); continue; }
        for (const v of topTokens(out.logProbs, r * V, V, width)) {
          const score = b.score + out.logProbs[r * V + v];
          const end = v === o.endToken;
          candidates.push({ tokens: end ? b.tokens : [...b.tokens, v], score, finished: end, row: r });
        }
        r++;
      }
      return candidates.sort((a, b) => b.score - a.score).slice(0, width);
    });
    states = out.states;
  }
  return resultOf(beams);
}

/** The `k` token ids with the highest values in `values[offset, offset + V)`, best first (lower id on ties). */
function topTokens(values: Float32Array, offset: number, V: number, k: number): number[] {
  const best: number[] = [];
  for (let v = 0; v < V; v++) {
    const x = values[offset + v];
    let at = best.length;
    while (at > 0 && x > values[offset + best[at - 1]]) at--;
    if (at >= k) continue;
    best.splice(at, 0, v);
    if (best.length > k) best.pop();
  }
  return best;
}

function resultOf(beams: Beam[][]): DecodeResult {
  const hypotheses = beams.map((list) => list.map(({ tokens, score, finished }) => ({ tokens, score, finished })));
  return {
    sequences: hypotheses.map((h) => h[0].tokens),
    scores: hypotheses.map((h) => h[0].score),
    finished: hypotheses.map((h) => h[0].finished),
    hypotheses,
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Whether a concrete per-sample shape fits a declared one (-1 = any length). */
function fits(shape: readonly number[], declared: readonly number[]): boolean {
  return shape.length === declared.length && shape.every((d, i) => declared[i] < 0 || d === declared[i]);
}

function showShape(shape: readonly number[]): string {
  return `[${shape.map((d) => (d < 0 ? 'null' : d)).join(', ')}]`;
}
