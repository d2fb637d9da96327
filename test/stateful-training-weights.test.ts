/**
 * Stateful fit with masks, sample weights and class weights (test/stateful-training.test.ts covers the plain case).
 * The reference is the one that file uses, hand-built truncated BPTT: the same layers without state in a functional
 * model whose recurrent layer takes explicit initialState inputs and returns its final states; chunk after chunk,
 * the states one chunk ends with (predicted with the weights before that chunk's step) feed the next chunk, and the
 * step is a one-batch fit of that model with the same optimizer. Here the reference's fit gets the sample weights
 * (for class weights: the per-sample weights looked up by hand from the class table), and its masking layer or
 * maskZero embedding sees the same padded steps: at a chunk's start, at its end, a whole row of a chunk, and inside
 * a chunk. Stateful fit over the same chunks must give the same loss per batch and the same final weights (1e-5).
 * Independently of the reference: a row whose chunk is all padding keeps its state (Keras skips masked steps).
 */
import * as rk from '../lib';

const B = 2;
const CHUNK = 3;
const CHUNKS = 4;
const F = 2;
const U = 3;
const V = 6; // vocabulary of the id models (id 0 is padding with maskZero)

type Front = 'none' | 'masking' | 'embedding';
type Cell = 'lstm' | 'gru';

interface Setup {
  front: Front;
  cell: Cell;
  /** 'mse': one regression unit; 'classes': a 2-class softmax with sparse targets. */
  head: 'mse' | 'classes';
}

function frontLayer(front: Front, args: Record<string, unknown>): rk.Layer[] {
  if (front === 'masking') return [rk.layers.masking({ maskValue: 0, ...args })];
  if (front === 'embedding') return [rk.layers.embedding({ inputDim: V, outputDim: F, maskZero: true, ...args })];
  return [];
}

function cellLayer(cell: Cell, args: Record<string, unknown>): rk.Layer {
  return cell === 'lstm' ? rk.layers.lstm({ units: U, ...args }) : rk.layers.gru({ units: U, ...args });
}

function headLayer(setup: Setup): rk.Layer {
  return setup.head === 'mse' ? rk.layers.dense({ units: 1 }) : rk.layers.dense({ units: 2, activation: 'softmax' });
}

const stateCount = (cell: Cell) => (cell === 'lstm' ? 2 : 1);
const inputShape = (front: Front) => (front === 'embedding' ? [CHUNK] : [CHUNK, F]);

/** The stateful model: the first layer carries the batch input shape, the recurrent layer keeps its states. */
function statefulModel(setup: Setup): rk.Model {
  const batchInputShape = [B, ...inputShape(setup.front)];
  const front = frontLayer(setup.front, { batchInputShape });
  const cell = cellLayer(setup.cell, front.length > 0 ? { stateful: true } : { stateful: true, batchInputShape });
  return rk.sequential({ layers: [...front, cell, headLayer(setup)] });
}

/** The same layers without state: initial states as inputs, final states as outputs. */
function reference(setup: Setup) {
  const x = rk.input({ shape: inputShape(setup.front), name: 'x', dtype: setup.front === 'embedding' ? 'int32' : 'float32' });
  const front = frontLayer(setup.front, {});
  const seq = front.reduce((t, layer) => layer.apply(t) as rk.SymbolicTensor, x);
  const states = Array.from({ length: stateCount(setup.cell) }, (_, k) => rk.input({ shape: [U], name: `s${k}` }));
  const [out, ...finals] = cellLayer(setup.cell, { returnState: true }).apply(seq, { initialState: states }) as rk.SymbolicTensor[];
  const train = rk.model({ inputs: [x, ...states], outputs: headLayer(setup).apply(out) as rk.SymbolicTensor });
  const carry = rk.model({ inputs: [x, ...states], outputs: finals });
  return { train, carry };
}

/** Padded steps (all zero features, or id 0): [chunk, row, step]. */
const PADS: Array<[number, number, number]> = [
  [0, 0, 2], // at the end of a chunk
  [1, 1, 0], // at the start
  [2, 0, 0], [2, 0, 1], [2, 0, 2], // a whole row of a chunk
  [3, 1, 1], // inside a chunk (rnnkit masks are windows: it runs as an ordinary step, the same on both sides)
];

/** x [CHUNKS][B][CHUNK](F), y [CHUNKS][B], sample weights [CHUNKS][B]. */
function data(setup: Setup, seed: number, padded: boolean) {
  const rng = new rk.Random(seed);
  const step = () => (setup.front === 'embedding' ? 1 + rng.integer(V - 1) : Array.from({ length: F }, () => rng.uniformRange(-1, 1)));
  const x = Array.from({ length: CHUNKS }, () => Array.from({ length: B }, () => Array.from({ length: CHUNK }, step)));
  if (padded) for (const [c, b, t] of PADS) x[c][b][t] = setup.front === 'embedding' ? 0 : [0, 0];
  const y = Array.from({ length: CHUNKS }, () => Array.from({ length: B }, () => (setup.head === 'mse' ? rng.uniformRange(-1, 1) : rng.integer(2))));
  const w = Array.from({ length: CHUNKS }, () => Array.from({ length: B }, () => rng.uniformRange(0.2, 2)));
  return { x, y, w };
}

const optimizer = () => rk.optimizers.adam({ learningRate: 0.05 });
const loss = (setup: Setup) => (setup.head === 'mse' ? 'mse' : 'sparseCategoricalCrossentropy');
const targets = (setup: Setup, y: number[]) => (setup.head === 'mse' ? rk.tensor(y.map((v) => [v])) : rk.tensor(y));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

const flat = (tensors: rk.Tensor[]) => tensors.flatMap((t) => Array.from(t.data));

interface Weighting {
  sampleWeight?: boolean;
  classWeight?: Record<number, number>;
}

/** Stateful fit over the chunks (one call) and the reference chunk by chunk: losses per batch and final weights. */
async function compare(setup: Setup, weighting: Weighting, padded: boolean, seed: number) {
  rk.setSeed(seed);
  const ref = reference(setup);
  const model = statefulModel(setup);
  model.setWeights(ref.train.getWeights());
  ref.train.compile({ optimizer: optimizer(), loss: loss(setup) });
  model.compile({ optimizer: optimizer(), loss: loss(setup) });
  const { x, y, w } = data(setup, seed, padded);
  // The reference's per-sample weights: the given ones, or the class table looked up by hand.
  const classTable = weighting.classWeight;
  const refWeights = (c: number) => (classTable ? y[c].map((label) => classTable[label]) : w[c]);

  let states = Array.from({ length: stateCount(setup.cell) }, () => rk.tensor(new Float32Array(B * U), [B, U]));
  const expected: number[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    const inputs = [rk.tensor(x[c]), ...states];
    const next = await ref.carry.predict(inputs);
    const weighted = weighting.sampleWeight || classTable ? { sampleWeight: refWeights(c) } : {};
    const history = await ref.train.fit(inputs, targets(setup, y[c]), { batchSize: B, epochs: 1, shuffle: false, verbose: 0, ...weighted });
    expected.push(history.history.loss[0]);
    states = Array.isArray(next) ? next : [next];
  }

  const losses: number[] = [];
  const record = { onBatchEnd: (_: number, logs?: Record<string, number>) => { losses.push(logs!.loss); } };
  await model.fit(rk.tensor(x.flat()), targets(setup, y.flat()), {
    epochs: 1, verbose: 0, callbacks: [record],
    ...(weighting.sampleWeight ? { sampleWeight: w.flat() } : {}),
    ...(classTable ? { classWeight: classTable } : {}),
  });
  return { model, ref, expected, losses, finalStates: states };
}

describe('stateful fit with masks and weights equals truncated BPTT by hand', () => {
  it.each<[Front, Cell]>([['masking', 'lstm'], ['embedding', 'gru'], ['embedding', 'lstm']])(
    '%s (padding at chunk edges, whole rows, inside) before a stateful %s', async (front, cell) => {
      const setup: Setup = { front, cell, head: 'mse' };
      const { model, ref, expected, losses, finalStates } = await compare(setup, {}, true, 31);
      expect(maxDiff(losses, expected)).toBeLessThan(1e-5);
      expect(maxDiff(flat(model.getWeights()), flat(ref.train.getWeights()))).toBeLessThan(1e-5);
      // The kept states are the reference's final states (the last chunk's, from the weights before its step).
      expect(maxDiff(model.getStates().flatMap((s) => Array.from(s)), flat(finalStates))).toBeLessThan(1e-5);
      expect(expected[CHUNKS - 1]).not.toBeCloseTo(expected[0], 3);
    });

  it('sampleWeight: the weighted loss per batch and the weights after it', async () => {
    const setup: Setup = { front: 'none', cell: 'lstm', head: 'mse' };
    const { model, ref, expected, losses } = await compare(setup, { sampleWeight: true }, false, 32);
    expect(maxDiff(losses, expected)).toBeLessThan(1e-5);
    expect(maxDiff(flat(model.getWeights()), flat(ref.train.getWeights()))).toBeLessThan(1e-5);
    // The weights matter: unweighted stateful fit of the same data ends elsewhere.
    const plain = await compare(setup, {}, false, 32);
    expect(maxDiff(flat(plain.model.getWeights()), flat(model.getWeights()))).toBeGreaterThan(1e-4);
  });

  it('classWeight (sparse classes, masked ids): equals the reference given per-sample weights from the class table', async () => {
    const setup: Setup = { front: 'embedding', cell: 'gru', head: 'classes' };
    const { model, ref, expected, losses } = await compare(setup, { classWeight: { 0: 0.3, 1: 2.5 } }, true, 33);
    expect(maxDiff(losses, expected)).toBeLessThan(1e-5);
    expect(maxDiff(flat(model.getWeights()), flat(ref.train.getWeights()))).toBeLessThan(1e-5);
    const plain = await compare(setup, {}, true, 33);
    expect(maxDiff(flat(plain.model.getWeights()), flat(model.getWeights()))).toBeGreaterThan(1e-4);
  });

  it('a row whose chunk is all padding keeps its state; the other row moves', async () => {
    for (const front of ['masking', 'embedding'] as const) {
      rk.setSeed(34);
      const setup: Setup = { front, cell: 'lstm', head: 'mse' };
      const model = statefulModel(setup);
      const { x } = data(setup, 34, true);
      await model.predict(rk.tensor(x[0]));
      const before = model.getStates();
      await model.predict(rk.tensor(x[2])); // row 0 of chunk 2 is all padding
      const after = model.getStates();
      for (let k = 0; k < after.length; k++) {
        expect(maxDiff(after[k].subarray(0, U), before[k].subarray(0, U))).toBe(0);
        expect(maxDiff(after[k].subarray(U), before[k].subarray(U))).toBeGreaterThan(1e-4);
      }
    }
  });
});
