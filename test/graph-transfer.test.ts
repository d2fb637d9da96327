/**
 * rk.transfer, rk.fineTune and rk.crossValidate on functional models: layers mapped by name between graphs (a
 * trained encoder carried into a new rk.model with another head), head specs on one-output graphs, graphs cloned as
 * graphs, and clear refusals where a recipe cannot apply (several outputs).
 */
import * as rk from '../lib';
import { cloneModel } from '../lib/transfer/clone';
import { seededUniform, thrown } from './helpers/checks';

const N = 12;
const T = 4;

function encoderModel(name: string, headUnits: number, headName: string): rk.Model {
  const x = rk.input({ shape: [T, 3], name: 'x' });
  const encoded = rk.layers.lstm({ units: 5, name: 'enc' }).apply(x) as rk.SymbolicTensor;
  const proj = rk.layers.dense({ units: 4, activation: 'tanh', name: 'proj' }).apply(encoded) as rk.SymbolicTensor;
  const head = rk.layers.dense({ units: headUnits, activation: 'softmax', name: headName }).apply(proj) as rk.SymbolicTensor;
  return rk.model({ inputs: x, outputs: head, name });
}

function data(classes: number, seed: number) {
  const x = new rk.Tensor(seededUniform(N * T * 3, seed), [N, T, 3]);
  const y = new rk.Tensor(Float32Array.from({ length: N * classes }, (_, i) => (Math.floor(i / classes) % classes === i % classes ? 1 : 0)), [N, classes]);
  return { x, y };
}

const same = (a: rk.Tensor[], b: rk.Tensor[]) => a.length === b.length && a.every((t, i) => t.data.every((v, k) => v === b[i].data[k]));

describe('rk.transfer between graphs', () => {
  test('a trained functional encoder moves into a new rk.model with another head, by name; the source is untouched', async () => {
    rk.setSeed(41);
    const source = encoderModel('src', 2, 'head');
    source.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const { x, y } = data(2, 1);
    await source.fit(x, y, { epochs: 2, verbose: 0 });
    const sourceWeights = source.getWeights();

    const target = encoderModel('target', 3, 'new_head');
    const { model, report } = rk.transfer(source, { head: target, freeze: ['enc'] });
    expect(model).not.toBeInstanceOf(rk.Sequential);
    expect(model.outputShape).toEqual([3]);
    const actions = Object.fromEntries(report.weights.map((e) => [`${e.layer}/${e.weight}`, e.action]));
    expect(actions['enc/kernel']).toBe('copied');
    expect(actions['proj/kernel']).toBe('copied');
    expect(actions['new_head/kernel']).toBe('reinitialised');
    expect(same(model.getLayer('enc').getWeights(), source.getLayer('enc').getWeights())).toBe(true);
    expect(model.getLayer('enc').trainable).toBe(false);

    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const other = data(3, 2);
    await model.fit(other.x, other.y, { epochs: 2, verbose: 0 });
    expect(same(source.getWeights(), sourceWeights)).toBe(true);
    expect(same(model.getLayer('enc').getWeights(), source.getLayer('enc').getWeights())).toBe(true); // frozen
    expect(same(model.getLayer('proj').getWeights(), source.getLayer('proj').getWeights())).toBe(false); // trained
  });

  test('a head spec replaces the one output layer of a graph; several outputs need a target model', () => {
    rk.setSeed(42);
    const source = encoderModel('one_out', 2, 'head');
    const { model, report } = rk.transfer(source, { head: { units: 4 } });
    expect(model.outputShape).toEqual([4]);
    expect(model.layers.map((l) => l.name)).toEqual(['enc', 'proj', 'head']);
    expect(report.weights.filter((e) => e.action === 'copied').map((e) => e.layer)).toEqual(['enc', 'enc', 'enc', 'proj', 'proj']);
    expect(report.weights.find((e) => e.layer === 'head')!.reason).toMatch(/new head \(replaces 'head'\)/);

    const x = rk.input({ shape: [T, 3], name: 'x' });
    const h = rk.layers.lstm({ units: 3, name: 'enc2' }).apply(x) as rk.SymbolicTensor;
    const a = rk.layers.dense({ units: 2, name: 'a' }).apply(h) as rk.SymbolicTensor;
    const b = rk.layers.dense({ units: 1, name: 'b' }).apply(h) as rk.SymbolicTensor;
    const twoOut = rk.model({ inputs: x, outputs: [a, b] });
    const error = thrown(() => rk.transfer(twoOut, { head: { units: 2 } }));
    expect(error.code).toBe('ARGUMENT');
    expect(error.message).toMatch(/one output for a head spec .* has 2 outputs \('a', 'b'\)/);
    expect(thrown(() => rk.transfer(source, { head: encoderModel('t', 2, 'h2'), map: [0] as never })).message).toMatch(/a layer name \(a graph maps layers by name/);
    expect(thrown(() => rk.transfer(source, { head: { units: 2 }, inputShape: [5, 3] })).message).toMatch(/Expected no inputShape/);
  });
  test('a Sequential source feeds a graph target by name, and a graph source a Sequential target', () => {
    rk.setSeed(46);
    const seq = rk.sequential({ layers: [rk.layers.lstm({ units: 5, inputShape: [T, 3], name: 'enc' }), rk.layers.dense({ units: 2, name: 'old_head' })] });
    const toGraph = rk.transfer(seq, { head: encoderModel('g', 3, 'new_head') });
    expect(toGraph.model).not.toBeInstanceOf(rk.Sequential);
    expect(same(toGraph.model.getLayer('enc').getWeights(), seq.getLayer('enc').getWeights())).toBe(true);
    expect(toGraph.report.weights.filter((w) => w.action === 'copied').map((w) => w.layer)).toEqual(['enc', 'enc', 'enc']);

    const graph = encoderModel('src_graph', 2, 'head');
    const target = rk.sequential({ layers: [rk.layers.lstm({ units: 5, inputShape: [T, 3], name: 'enc' }), rk.layers.dense({ units: 4, name: 'proj' })] });
    const toSeq = rk.transfer(graph, { head: target });
    expect(same(toSeq.model.getLayer('proj').getWeights(), graph.getLayer('proj').getWeights())).toBe(true);
  });
});

describe('fineTune and crossValidate on graphs', () => {
  test('a graph clones as a graph: same outputs with copied weights, other weights when fresh', async () => {
    rk.setSeed(43);
    const model = encoderModel('orig', 2, 'head');
    const copy = cloneModel(model, 'copy');
    expect(copy).not.toBeInstanceOf(rk.Sequential);
    expect(copy.inputNames).toEqual(['x']);
    const { x } = data(2, 3);
    expect(Array.from((await copy.predict(x) as rk.Tensor).data)).toEqual(Array.from((await model.predict(x) as rk.Tensor).data));
    const fresh = cloneModel(model, new rk.Random(5));
    expect(same(fresh.getWeights(), model.getWeights())).toBe(false);
  });

  test('fineTune runs recipes on a one-output graph, the probe on its Dense output layer; other heads and several outputs are refused', async () => {
    rk.setSeed(44);
    const model = encoderModel('ft', 2, 'head');
    const { x, y } = data(2, 4);
    const result = await rk.fineTune(model, x, y, { strategy: 'finetune', loss: 'categoricalCrossentropy', epochs: 1, verbose: 0 });
    expect(result.strategy).toBe('finetune');
    const before = model.getLayer('enc').getWeights();
    const probed = await rk.fineTune(model, x, y, { strategy: 'probe', loss: 'categoricalCrossentropy', verbose: 0 });
    expect(probed.strategy).toBe('probe');
    expect(same(model.getLayer('enc').getWeights(), before)).toBe(true); // the probe trains the head only
    const lpft = await rk.fineTune(model, x, y, { strategy: 'lpft', loss: 'categoricalCrossentropy', epochs: 1, verbose: 0 });
    expect(lpft.strategy).toBe('lpft');
    expect(Number.isFinite((await model.evaluate(x, y)).loss)).toBe(true);

    const seq = rk.input({ shape: [T, 3] });
    const recurrentHead = rk.model({ inputs: seq, outputs: rk.layers.lstm({ units: 2, name: 'rec_head' }).apply(seq) as rk.SymbolicTensor });
    await expect(rk.fineTune(recurrentHead, x, y, { strategy: 'lpft', loss: 'categoricalCrossentropy', epochs: 1, verbose: 0 }))
      .rejects.toThrow(/last layer 'rec_head' is a LSTM, not a Dense head/);
    const inp = rk.input({ shape: [T, 3] });
    const h = rk.layers.gru({ units: 2 }).apply(inp) as rk.SymbolicTensor;
    const two = rk.model({ inputs: inp, outputs: [rk.layers.dense({ units: 2 }).apply(h) as rk.SymbolicTensor, h] });
    await expect(rk.fineTune(two, x, y, { strategy: 'finetune', loss: 'categoricalCrossentropy', verbose: 0 }))
      .rejects.toThrow(/one input and one output for fineTune .* 1 input\(s\) and 2 output\(s\)/);
  });

  test('crossValidate accepts a graph builder', async () => {
    rk.setSeed(45);
    const { x, y } = data(2, 5);
    const result = await rk.crossValidate(() => encoderModel('cv', 2, 'head'), x, y, {
      folds: 2, compile: { optimizer: 'adam', loss: 'categoricalCrossentropy' }, fitOptions: { epochs: 1 }, verbose: 0,
    });
    expect(result.folds.length).toBe(2);
    expect(Number.isFinite(result.mean.loss)).toBe(true);
  });
});
