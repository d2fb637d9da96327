/**
 * Keras's lstm_seq2seq recipe on a task with a known answer (reverse a sequence of digits): the encoder LSTM
 * returns its states, the decoder LSTM starts from them (initialState) and is trained with teacher forcing; then
 * separate inference encoder and decoder models are built from the trained layers and decode greedily, one step per
 * call. Accuracy is exact match on held-out sequences.
 */
import * as rk from '../lib';
import { argmax, oneHot } from './helpers/encoding';

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
