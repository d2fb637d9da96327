/** Models and checks shared by the stream pool tests (test/streams.test.ts, test/stream-inputs.test.ts). */
import * as rk from '../../lib';

export const F = 3;

export function sequence(rng: rk.Random, steps: number): number[][] {
  return Array.from({ length: steps }, () => Array.from({ length: F }, () => rng.uniformRange(-1, 1)));
}

export function recurrent(kind: string): rk.Layer {
  switch (kind) {
    case 'simpleRNN': return rk.layers.simpleRNN({ units: 5, returnSequences: true, inputShape: [null, F] });
    case 'lstm': return rk.layers.lstm({ units: 5, returnSequences: true, inputShape: [null, F] });
    case 'gruAfter': return rk.layers.gru({ units: 5, returnSequences: true, inputShape: [null, F] });
    default: return rk.layers.gru({ units: 5, resetAfter: false, returnSequences: true, inputShape: [null, F] });
  }
}

/** Two stacked recurrent layers (two state slots) and a dense head on the last step. */
export function makeModel(kind: string, returnSequences = false): rk.Model {
  rk.setSeed(7);
  return rk.sequential({
    layers: [
      recurrent(kind),
      rk.layers.lstm({ units: 4, returnSequences }),
      ...(returnSequences ? [rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }) })] : [rk.layers.dense({ units: 2 })]),
    ],
  });
}

export function sequenceOf(rng: rk.Random, steps: number, features: number): number[][] {
  return Array.from({ length: steps }, () => Array.from({ length: features }, () => rng.uniformRange(-1, 1)));
}

/** Two sequence inputs ('frames' [null, 3], 'speed' [null, 2]) joined per step, a GRU and an LSTM, a dense head. */
export function twoInputModel(): rk.Model {
  rk.setSeed(17);
  const frames = rk.input({ shape: [null, F], name: 'frames' });
  const speed = rk.input({ shape: [null, 2], name: 'speed' });
  const joined = rk.layers.concatenate().apply([frames, rk.layers.dense({ units: 2, activation: 'tanh' }).apply(speed) as rk.SymbolicTensor]);
  const h = rk.layers.gru({ units: 4, returnSequences: true }).apply(joined);
  const last = rk.layers.lstm({ units: 3 }).apply(h);
  return rk.model({ inputs: [frames, speed], outputs: rk.layers.dense({ units: 2 }).apply(last) as rk.SymbolicTensor });
}

/** Token ids [null] through an embedding (maskZero or not), an LSTM and a GRU, a dense head on the last step. */
export function idModel(maskZero: boolean): rk.Model {
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
export function conditionedModel(): rk.Model {
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
export async function interleave<T>(rng: rk.Random, lengths: number[], run: (s: number, from: number, to: number) => Promise<T>): Promise<Array<[number, number, T]>> {
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

export async function predictPrefix(model: rk.Model, seq: number[][], end: number): Promise<Float32Array> {
  const out = await model.predict(rk.tensor([seq.slice(0, end)]));
  return (out as rk.Tensor).data;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 2e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(tol);
}
