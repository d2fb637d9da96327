/**
 * Parity with @tensorflow/tfjs (cpu backend) for Keras stateful recurrent layers: the same stateful model (batch
 * size fixed by batchInputShape) on both sides with the same weights, fed three chunks of two steps in three
 * predict calls, then resetStates and the first chunk again: every output matches within 1e-5, so the states kept
 * between calls and the reset are tfjs's. tfjs GRU is the reset-before form with hardSigmoid by default, so ours
 * uses resetAfter: false and both sigmoid.
 */
import * as tf from '@tensorflow/tfjs';
import * as rk from '../lib';
import { maxAbsDiff, seededUniform } from './helpers/checks';

const B = 3, CHUNK = 2, F = 3, UNITS = 4;
type Cell = 'simpleRNN' | 'lstm' | 'gru';

function pair(cell: Cell): { ours: rk.Model; theirs: tf.LayersModel } {
  const common = { units: UNITS, stateful: true, returnSequences: true, batchInputShape: [B, CHUNK, F] };
  const ourLayer = cell === 'simpleRNN' ? rk.layers.simpleRNN(common)
    : cell === 'lstm' ? rk.layers.lstm({ ...common, recurrentActivation: 'sigmoid' })
      : rk.layers.gru({ ...common, recurrentActivation: 'sigmoid', resetAfter: false });
  const theirLayer = cell === 'simpleRNN' ? tf.layers.simpleRNN({ ...common, activation: 'tanh' })
    : cell === 'lstm' ? tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid' })
      : tf.layers.gru({ ...common, recurrentActivation: 'sigmoid' });
  const ours = rk.sequential({ layers: [ourLayer] });
  const theirs = tf.sequential({ layers: [theirLayer] });
  const weights = ours.getWeights().map((w, i) => rk.tensor(seededUniform(w.size, 500 + i, 0.6), w.shape.slice()));
  ours.setWeights(weights);
  theirs.setWeights(weights.map((w) => tf.tensor(w.data, w.shape.slice())));
  return { ours, theirs };
}

describe('stateful layers match tfjs', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(['simpleRNN', 'lstm', 'gru'] as Cell[])('%s keeps and resets its states as tfjs does', async (cell) => {
    const { ours, theirs } = pair(cell);
    const chunks = [0, 1, 2].map((k) => seededUniform(B * CHUNK * F, 900 + k, 1));
    const feed = async (values: Float32Array) => {
      const mine = ((await ours.predict(rk.tensor(values, [B, CHUNK, F]))) as rk.Tensor).data;
      const out = theirs.predict(tf.tensor(values, [B, CHUNK, F])) as tf.Tensor;
      const theirsValues = out.dataSync() as Float32Array;
      out.dispose();
      return maxAbsDiff(mine, theirsValues);
    };
    for (const chunk of chunks) expect(await feed(chunk)).toBeLessThan(1e-5);
    ours.resetStates();
    theirs.resetStates();
    expect(await feed(chunks[0])).toBeLessThan(1e-5);
  });
});
