/**
 * Every public entry point refuses odd arguments with an RnnError (a stable code, a message naming what was
 * expected and received), never a TypeError or RangeError from deep inside: each is called with each odd value in
 * each argument position. Prototype names ('toString', 'constructor', 'hasOwnProperty') are refused as names, with
 * the list of valid ones. The transfer functions are swept in their first three positions (the model or source, x, y);
 * their options are covered by test/fine-tune*.test.ts and test/transfer.test.ts.
 */
import * as os from 'os';
import * as path from 'path';
import * as rk from '../lib';
import { expectRnnError } from './helpers/checks';

const ODD: Array<[string, unknown]> = [
  ['42', 42], ['null', null], ["'toString'", 'toString'], ["'constructor'", 'constructor'], ['{}', {}], ['[]', []],
  ['NaN', NaN], ['-1', -1], ['a symbol', Symbol('odd')], ['a function', () => 1], ['{ length: -1 }', { length: -1 }],
  ['Object.create(null)', Object.create(null)], ['1e39', 1e39],
];

function compiledModel(): rk.Sequential {
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 3, inputShape: [2, 2] }));
  model.add(rk.layers.dense({ units: 2, activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  return model;
}

/** Runs `call` and fails unless it succeeded or threw an RnnError (whose message must name something). */
async function onlyRnnErrors(label: string, call: () => unknown): Promise<void> {
  try {
    await call();
  } catch (error) {
    const summary = error instanceof rk.RnnError ? 'RnnError' : `${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`;
    expect({ label, thrown: summary }).toEqual({ label, thrown: 'RnnError' });
    expect((error as Error).message.length).toBeGreaterThan(10);
  }
}

type Entry = [string, (...args: unknown[]) => unknown];
const scratch = path.join(os.tmpdir(), `rnnkit-public-errors-${process.pid}`);
// rk.setThreads(42) succeeds and is process-wide (so are seeds): put back what other test files in this worker expect.
const threadsBefore = rk.getThreads();
afterEach(() => rk.setThreads(threadsBefore));

function entries(model: rk.Sequential): Entry[] {
  const m = model as unknown as Record<string, (...args: unknown[]) => unknown>;
  const fns = (object: object, names: string[], prefix: string): Entry[] =>
    names.map((name) => [`${prefix}.${name}`, (...args: unknown[]) => (object as Record<string, (...a: unknown[]) => unknown>)[name](...args)]);
  return [
    ['rk.sequential', (a) => rk.sequential(a as never)],
    ['rk.tensor', (a, b) => rk.tensor(a as never, b as never)],
    ['rk.loadModel', (a) => rk.loadModel(a as never)],
    ['rk.setSeed', (a) => rk.setSeed(a as never)],
    ['rk.setThreads', (a) => rk.setThreads(a as never)],
    ['new rk.Optimizer', (a, b) => new rk.Optimizer(a as never, b as never)],
    ['rk.transfer', (a, b) => rk.transfer(a as never, b as never)],
    ['rk.fineTune', (a, b, c) => rk.fineTune(a as never, b as never, c as never)],
    ['rk.pretrain', (a, b, c) => rk.pretrain(a as never, b as never, c as never)],
    ['rk.crossValidate', (a, b, c) => rk.crossValidate(a as never, b as never, c as never)],
    ...fns(rk.layers, Object.keys(rk.layers), 'rk.layers'),
    ...fns(rk.optimizers, ['sgd', 'rmsprop', 'adam', 'adamw', 'adagrad'], 'rk.optimizers'),
    ...fns(rk.regularizers, ['l1', 'l2', 'l1l2'], 'rk.regularizers'),
    ...fns(rk.callbacks, Object.keys(rk.callbacks), 'rk.callbacks'),
    ...['add', 'getLayer', 'summary', 'compile', 'fit', 'evaluate', 'predict', 'predictOnBatch', 'trainOnBatch',
      'computeGradients', 'setWeights', 'dispose'].map((name): Entry => [`model.${name}`, (...args) => m[name].apply(model, args)]),
    ['model.save', (a, b) => model.save(typeof a === 'string' ? path.join(scratch, a) : a as never, b as never)],
    ['layer.setWeights', (a) => model.getLayer(0).setWeights(a as never)],
    ['layer.trainable =', (a) => { model.getLayer(0).trainable = a as never; }],
    ['optimizer.learningRate =', (a) => { model.optimizer.learningRate = a as never; }],
  ];
}

test.each(ODD)('every public entry point given %s in any argument position throws only RnnErrors', async (_label, value) => {
  const model = compiledModel();
  for (const [name, call] of entries(model)) {
    if (name === 'model.dispose') continue;  // succeeds whatever its (ignored-free, zero) arguments: checked below
    for (let position = 0; position < 3; position++) {
      const args: unknown[] = [undefined, undefined, undefined];
      args[position] = value;
      await onlyRnnErrors(`${name} with ${_label} at argument ${position}`, () => call(...args.slice(0, position + 1)));
    }
  }
  // The model is intact after all of it.
  expect(model.getWeights().length).toBe(5);
});

test('summary(42) is an ARGUMENT error naming the expected function', async () => {
  await expectRnnError(() => compiledModel().summary(42 as never), 'ARGUMENT', /Expected a function for summary printFn but received 42/);
});

test.each(['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf'])('%s is refused as a loss, a metric and an optimizer name', async (name) => {
  const model = compiledModel();
  await expectRnnError(() => model.compile({ optimizer: 'adam', loss: name as never }), 'ARGUMENT', new RegExp(`Expected one of categoricalCrossentropy, .* for loss but received "${name}"`));
  await expectRnnError(() => model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: [name] }), 'ARGUMENT', new RegExp(`Expected one of accuracy, .* for metrics\\[0\\] but received "${name}"`));
  await expectRnnError(() => model.compile({ optimizer: name as never, loss: 'categoricalCrossentropy' }), 'ARGUMENT', /Expected an optimizer name/);
  await expectRnnError(() => new rk.Optimizer(name as never), 'ARGUMENT', /Expected an optimizer kind among sgd, .* but received/);
  await expectRnnError(() => rk.layers.dense({ units: 2, activation: name as never }), 'ARGUMENT', /activation/);
});
