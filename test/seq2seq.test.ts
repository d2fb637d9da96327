/**
 * Encoder-decoder models from Keras's examples, on tasks with a known answer:
 * - lstm_seq2seq: the encoder LSTM returns its states, the decoder LSTM starts from them (initialState) and is
 *   trained with teacher forcing; then separate inference encoder and decoder models are built from the trained
 *   layers and decode greedily, one step per call. Task: reverse a sequence of digits.
 * - addition_rnn: LSTM encoder -> repeatVector -> LSTM decoder (returnSequences) -> timeDistributed dense softmax.
 *   Task: 3-digit addition.
 * Accuracy is exact match on held-out samples.
 */
import * as rk from '../lib';

function oneHot(index: number, size: number): number[] {
  const row = new Array<number>(size).fill(0);
  row[index] = 1;
  return row;
}

function argmax(values: ArrayLike<number>, from: number, size: number): number {
  let best = 0;
  for (let k = 1; k < size; k++) if (values[from + k] > values[from + best]) best = k;
  return best;
}

describe('lstm_seq2seq', () => {
  const DIGITS = 5;
  const LENGTH = 4;
  const START = DIGITS; // decoder vocabulary: the digits and a start token
  const UNITS = 48;

  test('learns to reverse digit sequences; inference models from the trained layers decode held-out ones', async () => {
    rk.setSeed(7);
    const all: number[][] = [];
    for (let code = 0; code < DIGITS ** LENGTH; code++) {
      all.push(Array.from({ length: LENGTH }, (_, t) => Math.floor(code / DIGITS ** t) % DIGITS));
    }
    const rng = new rk.Random(3);
    for (let i = all.length - 1; i > 0; i--) {
      const j = rng.integer(i + 1);
      [all[i], all[j]] = [all[j], all[i]];
    }
    const test = all.slice(0, 100);
    const train = all.slice(100);
    const encoderX = (seqs: number[][]) => seqs.map((s) => s.map((d) => oneHot(d, DIGITS)));
    const targets = (seqs: number[][]) => seqs.map((s) => s.slice().reverse());
    // Teacher forcing: the decoder reads the start token then the true previous outputs.
    const decoderX = train.map((s) => [START, ...targets([s])[0].slice(0, -1)].map((d) => oneHot(d, DIGITS + 1)));
    const decoderY = train.map((s) => targets([s])[0].map((d) => oneHot(d, DIGITS)));

    const encoderInput = rk.input({ shape: [LENGTH, DIGITS], name: 'encoder_input' });
    const encoder = rk.layers.lstm({ units: UNITS, returnState: true, name: 'encoder' });
    const [, stateH, stateC] = encoder.apply(encoderInput) as rk.SymbolicTensor[];
    const decoderInput = rk.input({ shape: [null, DIGITS + 1], name: 'decoder_input' });
    const decoder = rk.layers.lstm({ units: UNITS, returnSequences: true, returnState: true, name: 'decoder' });
    const [decoded] = decoder.apply(decoderInput, { initialState: [stateH, stateC] }) as rk.SymbolicTensor[];
    const softmax = rk.layers.dense({ units: DIGITS, activation: 'softmax', name: 'next_digit' });
    const training = rk.model({ inputs: [encoderInput, decoderInput], outputs: softmax.apply(decoded), name: 'seq2seq' });
    training.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const history = await training.fit([encoderX(train), decoderX], decoderY, { epochs: 25, batchSize: 32, verbose: 0 });
    expect(history.history.accuracy[history.history.accuracy.length - 1]).toBeGreaterThan(0.95);

    // Inference: the encoder gives the states; the decoder runs one step per call from the states it returned.
    const encoderModel = rk.model({ inputs: encoderInput, outputs: [stateH, stateC], name: 'inference_encoder' });
    const stepInput = rk.input({ shape: [null, DIGITS + 1], name: 'step_input' });
    const hIn = rk.input({ shape: [UNITS], name: 'h_in' });
    const cIn = rk.input({ shape: [UNITS], name: 'c_in' });
    const [stepOut, hOut, cOut] = decoder.apply(stepInput, { initialState: [hIn, cIn] }) as rk.SymbolicTensor[];
    const decoderModel = rk.model({ inputs: [stepInput, hIn, cIn], outputs: [softmax.apply(stepOut) as rk.SymbolicTensor, hOut, cOut], name: 'inference_decoder' });

    let [h, c] = (await encoderModel.predict(encoderX(test))) as rk.Tensor[];
    let previous = test.map(() => START);
    const decodedDigits: number[][] = test.map(() => []);
    for (let t = 0; t < LENGTH; t++) {
      const step = previous.map((d) => [oneHot(d, DIGITS + 1)]);
      const [probabilities, hNext, cNext] = (await decoderModel.predict([step, h, c])) as rk.Tensor[];
      expect(probabilities.shape).toEqual([test.length, 1, DIGITS]);
      previous = test.map((_, i) => argmax(probabilities.data, i * DIGITS, DIGITS));
      previous.forEach((d, i) => decodedDigits[i].push(d));
      [h, c] = [hNext, cNext];
    }
    const expected = targets(test);
    const exact = decodedDigits.filter((d, i) => d.join() === expected[i].join()).length / test.length;
    expect(exact).toBeGreaterThan(0.9);
  }, 120_000);
});

describe('addition_rnn', () => {
  const CHARS = '0123456789+ ';
  const QUESTION = 7; // 'abc+def', padded with spaces
  const ANSWER = 4; // up to 1998, padded

  function encode(text: string, length: number): number[][] {
    return text.padEnd(length, ' ').split('').map((ch) => oneHot(CHARS.indexOf(ch), CHARS.length));
  }

  test('an LSTM encoder, repeatVector and an LSTM decoder learn 3-digit addition', async () => {
    rk.setSeed(9);
    const rng = new rk.Random(4);
    const seen = new Set<string>();
    const questions: string[] = [];
    const answers: string[] = [];
    while (questions.length < 12_000) {
      const a = rng.integer(1000);
      const b = rng.integer(1000);
      const key = `${Math.min(a, b)}+${Math.max(a, b)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      questions.push(`${a}+${b}`);
      answers.push(String(a + b));
    }
    // Keras's example reverses the question: the digits that add up first come first.
    const x = questions.map((q) => encode(q.padEnd(QUESTION, ' ').split('').reverse().join(''), QUESTION));
    const y = answers.map((a) => encode(a, ANSWER));
    const split = 11_000;

    const input = rk.input({ shape: [QUESTION, CHARS.length], name: 'question' });
    const encoded = rk.layers.lstm({ units: 128, name: 'encoder' }).apply(input) as rk.SymbolicTensor;
    const repeated = rk.layers.repeatVector({ n: ANSWER }).apply(encoded) as rk.SymbolicTensor;
    const decoded = rk.layers.lstm({ units: 128, returnSequences: true, name: 'decoder' }).apply(repeated) as rk.SymbolicTensor;
    const output = rk.layers.timeDistributed({ layer: rk.layers.dense({ units: CHARS.length, activation: 'softmax' }) }).apply(decoded);
    const model = rk.model({ inputs: input, outputs: output, name: 'addition' });
    model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.005 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    await model.fit(x.slice(0, split), y.slice(0, split), { epochs: 20, batchSize: 64, verbose: 0 });

    const predicted = (await model.predict(x.slice(split))) as rk.Tensor;
    let exact = 0;
    for (let i = 0; i < predicted.shape[0]; i++) {
      const text = Array.from({ length: ANSWER }, (_, t) => CHARS[argmax(predicted.data, (i * ANSWER + t) * CHARS.length, CHARS.length)]).join('');
      if (text.trim() === answers[split + i]) exact++;
    }
    expect(exact / predicted.shape[0]).toBeGreaterThan(0.9);
  }, 300_000);
});
